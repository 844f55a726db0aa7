-- Map pages from the cell indexes alone. A map page is up to 10,000 summaries
-- of the newest incidents in a viewport; read through the (cell, occurred_start,
-- id) indexes of 001, each summary cost a heap page of its own (the heap is in
-- the order incidents arrive, a cell's incidents are scattered over it), and so
-- did each incident of a partly covered cell that lies outside the box. With
-- every column a summary and the search conditions need INCLUDEd, the search is
-- an index-only scan: a few dozen index pages per thousand summaries.
--
-- An index entry must fit in about 2.7 kB, so the entries must be bounded. The
-- validated limits bound title and admin1 (200 characters each, at most 804
-- bytes) and releasability (distinct components); casualties, up to 21 jsonb
-- objects (2.3 kB), become five integers each (casualty_counts, at most 444
-- bytes): group, kind, low, best, high. The numbering of groups and kinds is
-- the store's (casualtyGroupCodes and casualtyKindCodes in incidents.go) and
-- is never changed, only extended. A test writes the largest summary the
-- validation allows.
ALTER TABLE incidents ADD COLUMN casualty_counts int[]
	CHECK (array_position(casualty_counts, NULL) IS NULL AND cardinality(casualty_counts) % 5 = 0);

-- An unknown group or kind leaves a NULL, which the CHECK refuses: the
-- migration fails and changes nothing rather than lose a count.
UPDATE incidents i SET casualty_counts = (
	SELECT array_agg(v ORDER BY e.n, f.k)
	FROM jsonb_array_elements(i.casualties) WITH ORDINALITY AS e(c, n),
	LATERAL unnest(ARRAY[
		CASE e.c->>'group' WHEN 'civilians' THEN 1 WHEN 'un_military' THEN 2 WHEN 'un_police' THEN 3
			WHEN 'un_civilian' THEN 4 WHEN 'host_forces' THEN 5 WHEN 'armed_groups' THEN 6 WHEN 'unknown' THEN 7 END,
		CASE e.c->>'kind' WHEN 'killed' THEN 1 WHEN 'injured' THEN 2 WHEN 'abducted' THEN 3 END,
		(e.c->>'low')::int, (e.c->>'best')::int, (e.c->>'high')::int]) WITH ORDINALITY AS f(v, k))
WHERE i.casualties IS NOT NULL AND jsonb_array_length(i.casualties) > 0;

ALTER TABLE incidents DROP COLUMN casualties;

DROP INDEX incidents_cell_a, incidents_cell_b, incidents_cell_c;
CREATE INDEX incidents_cell_a ON incidents (cell_a, occurred_start, id)
	INCLUDE (version, geom, category, status, classification, component, releasable_to, title, admin1, casualty_counts);
CREATE INDEX incidents_cell_b ON incidents (cell_b, occurred_start, id)
	INCLUDE (version, geom, category, status, classification, component, releasable_to, title, admin1, casualty_counts);
CREATE INDEX incidents_cell_c ON incidents (cell_c, occurred_start, id)
	INCLUDE (version, geom, category, status, classification, component, releasable_to, title, admin1, casualty_counts);

-- An index-only scan still visits the heap page of an entry whose page is not
-- marked all-visible, which is what VACUUM does. The newest incidents, which
-- the first page of every map shows, are the ones written since the last
-- vacuum: vacuum incidents after 1 % of it has been inserted or changed, not
-- the default 20 %.
ALTER TABLE incidents SET (autovacuum_vacuum_insert_scale_factor = 0.01, autovacuum_vacuum_scale_factor = 0.01);
