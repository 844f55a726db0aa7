-- The hash-chained audit log (see bluehelm.AuditEntry). seq is assigned by the
-- store under an advisory lock so the chain never forks, even across nodes.
CREATE TABLE audit (
	seq       bigint PRIMARY KEY,
	at        timestamptz NOT NULL,
	actor     text NOT NULL,
	action    text NOT NULL,
	object    text NOT NULL DEFAULT '',
	detail    text,
	prev_hash text NOT NULL,
	hash      text NOT NULL
);
