package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ErrSchemaTooNew is returned by Open for a database written by a newer bluehelm:
// running old code on a newer schema could corrupt it, so we refuse.
var ErrSchemaTooNew = errors.New("database schema is newer than this binary")

// migration is one numbered schema step. Steps are append-only: once released a
// step never changes, a later step alters what an earlier one made.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations is the schema history. Version numbers are 1..n in order.
var migrations = []migration{
	{1, "initial schema", schemaV1},
	{2, "tak devices, chat and attachments", schemaV2},
	{3, "user language preference", schemaV3},
	{4, "units, patrols, response tasks and medical facilities", schemaV4},
	{5, "proximity rules", schemaV5},
	{6, "UN peacekeeping fatalities", schemaV6},
	{7, "smart camp sensors, readings, roll-ups, alarm rules and stock", schemaV7},
	{8, "sensor credentials and quarantined readings", schemaV8},
	{9, "camp profiles, assets, work orders and the webhook outbox", schemaV9},
	{10, "casualty evacuation requests", schemaV10},
	{11, "community alerts", schemaV11},
}

// SchemaVersion is the schema version this binary creates and understands.
func SchemaVersion() int { return migrations[len(migrations)-1].version }

const schemaV1 = `
-- The columns queries filter and sort on, and nothing else: a compact row, so
-- the rows a search examines share few pages. The document of each version is
-- in incident_revisions; rev is the rowid there of the current one, so a page
-- reads its documents with one lookup each.
CREATE TABLE incidents (
	id             INTEGER PRIMARY KEY,
	version        INTEGER NOT NULL,
	rev            INTEGER NOT NULL,      -- incident_revisions.rowid of this version
	external_id    TEXT UNIQUE,           -- NULL when the incident was not imported
	status         TEXT NOT NULL,
	category       TEXT NOT NULL,
	occurred_start INTEGER NOT NULL,      -- unix ms
	lon            REAL NOT NULL,
	lat            REAL NOT NULL,
	classification INTEGER NOT NULL,
	component      TEXT NOT NULL,
	releasability  TEXT NOT NULL          -- ",police,civilian," or ""
);
-- Time-ordered pages without a box: walk this index backwards.
CREATE INDEX incidents_time ON incidents (occurred_start, id);

-- Space and time. Coordinates are float32 inside the R*Tree, rounded outwards on
-- insert, so the tree is a filter and the exact predicate is re-checked on the
-- table. Time is in units of 90 days since 2000-01-01 (see rtTimeUnit: the axes
-- must have comparable scales).
CREATE VIRTUAL TABLE incidents_rt USING rtree (id, minlon, maxlon, minlat, maxlat, mint, maxt);

-- Full text, contentless: the text lives in the documents; rowid = incident id.
-- contentless_delete lets an update delete the old terms.
CREATE VIRTUAL TABLE incidents_fts USING fts5 (
	title, narrative, places, actors,
	content = '', contentless_delete = 1,
	tokenize = 'unicode61 remove_diacritics 2'
);

-- Every version of every incident as its JSON document. A rowid table, not
-- WITHOUT ROWID keyed by (incident_id, version): rows of a kilobyte would make
-- a WITHOUT ROWID B-tree's interior pages hold few keys.
CREATE TABLE incident_revisions (
	rev         INTEGER PRIMARY KEY,      -- assigned by the store (see incidents.rev)
	incident_id INTEGER NOT NULL REFERENCES incidents (id),
	version     INTEGER NOT NULL,
	at          INTEGER NOT NULL,         -- unix µs
	actor       TEXT NOT NULL,
	action      TEXT NOT NULL,
	doc         TEXT NOT NULL,
	UNIQUE (incident_id, version)
);

-- One row per track: its metadata, and its latest position among the packed
-- history (position_segments); newer reports may still wait in position_log.
CREATE TABLE tracks (
	id             INTEGER PRIMARY KEY,
	uid            TEXT NOT NULL UNIQUE,
	callsign       TEXT NOT NULL DEFAULT '',
	kind           TEXT NOT NULL DEFAULT '',
	cot_type       TEXT NOT NULL DEFAULT '',
	sidc           TEXT NOT NULL DEFAULT '',
	unit           TEXT NOT NULL DEFAULT '',
	nationality    TEXT NOT NULL DEFAULT '',
	classification INTEGER NOT NULL DEFAULT 0,
	component      TEXT NOT NULL DEFAULT '',
	releasability  TEXT NOT NULL DEFAULT '',
	updated_at     INTEGER,               -- unix µs
	last_t         INTEGER,               -- unix ms; NULL until a segment holds a report
	last_lat REAL, last_lon REAL, last_hae REAL, last_ce REAL, last_le REAL,
	last_course REAL, last_speed REAL, last_battery INTEGER, last_source TEXT
);

-- Position history in two stages (see positions.go for why and the measurements):
--
-- position_log: every acknowledged report, appended in arrival order. Appending
-- to a rowid table touches only its last pages, so a commit costs little however
-- many tracks it covers. (No REFERENCES on the position tables: a foreign key
-- check is an extra lookup per report, and only the committer writes them.)
CREATE TABLE position_log (
	seq      INTEGER PRIMARY KEY,
	track_id INTEGER NOT NULL,
	t_ms     INTEGER NOT NULL,            -- unix ms
	data     BLOB NOT NULL                -- the rest of the report (see appendLogPoint):
	                                      -- one value to bind instead of nine
);

-- position_segments: compaction moves the log here, one row per track holding a
-- run of its reports (at most an hour and 1024 reports) as a binary blob, so the
-- indexes grow by one entry per run rather than per report.
CREATE TABLE position_segments (
	id       INTEGER PRIMARY KEY,
	track_id INTEGER NOT NULL,
	t_min    INTEGER NOT NULL,            -- unix ms of the first and last report
	t_max    INTEGER NOT NULL,
	n        INTEGER NOT NULL,
	min_lat REAL NOT NULL, max_lat REAL NOT NULL, min_lon REAL NOT NULL, max_lon REAL NOT NULL,
	data     BLOB NOT NULL
);
CREATE INDEX position_segments_track ON position_segments (track_id, t_min);
CREATE INDEX position_segments_time ON position_segments (t_min);
-- The 0.1° grid cells (see cellOf) each segment has reports in, for box queries.
CREATE TABLE position_segment_cells (
	cell       INTEGER NOT NULL,
	t_min      INTEGER NOT NULL,
	segment_id INTEGER NOT NULL,
	PRIMARY KEY (cell, t_min, segment_id)
) WITHOUT ROWID;

-- AUTOINCREMENT: areas are deleted, and a deleted area's id must never name a
-- new one (audit entries and clients refer to areas by id).
CREATE TABLE areas (
	id             INTEGER PRIMARY KEY AUTOINCREMENT,
	version        INTEGER NOT NULL,
	doc            TEXT NOT NULL
);

CREATE TABLE alerts (
	id             INTEGER PRIMARY KEY,
	version        INTEGER NOT NULL,
	state          TEXT NOT NULL,
	raised_at      INTEGER NOT NULL,      -- unix µs
	classification INTEGER NOT NULL,
	component      TEXT NOT NULL,
	releasability  TEXT NOT NULL,
	doc            TEXT NOT NULL
);
CREATE INDEX alerts_raised ON alerts (raised_at, id);

CREATE TABLE users (
	id            INTEGER PRIMARY KEY,
	username      TEXT NOT NULL UNIQUE,
	name          TEXT NOT NULL,
	role          TEXT NOT NULL,
	component     TEXT NOT NULL,
	clearance     INTEGER NOT NULL,
	disabled      INTEGER NOT NULL,
	created_at    INTEGER,
	password_hash TEXT NOT NULL
);

CREATE TABLE tokens (
	id         INTEGER PRIMARY KEY,
	user_id    INTEGER NOT NULL REFERENCES users (id),
	name       TEXT NOT NULL,
	hash       TEXT NOT NULL UNIQUE,
	created_at INTEGER,
	expires_at INTEGER,
	revoked    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX tokens_user ON tokens (user_id);

CREATE TABLE sessions (
	hash       TEXT PRIMARY KEY,
	user_id    INTEGER NOT NULL REFERENCES users (id),
	csrf       TEXT NOT NULL,
	created_at INTEGER,
	expires_at INTEGER
) WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions (user_id);

-- The hash-chained audit log (see bluehelm.AuditEntry). at is unix µs, which is
-- the precision the chain hashes.
CREATE TABLE audit (
	seq       INTEGER PRIMARY KEY,
	at        INTEGER NOT NULL,
	actor     TEXT NOT NULL,
	action    TEXT NOT NULL,
	object    TEXT NOT NULL,
	detail    TEXT,
	prev_hash TEXT NOT NULL,
	hash      TEXT NOT NULL
);
`

// schemaV2 stores what TAK devices bring: the devices themselves, GeoChat and
// shared files. Times are unix µs like the other non-position tables.
const schemaV2 = `
-- A device is found by name (the certificate's common name) and by serial on
-- every TLS handshake, so both are unique keys. The username is not stored:
-- it is read from users, so renaming a user does not leave devices speaking
-- under the old name.
CREATE TABLE devices (
	id             INTEGER PRIMARY KEY,
	name           TEXT NOT NULL UNIQUE,
	user_id        INTEGER NOT NULL REFERENCES users (id),
	serial         TEXT NOT NULL UNIQUE,
	fingerprint    TEXT NOT NULL,
	groups_json    TEXT NOT NULL,         -- JSON array; "groups" is an SQL keyword
	classification INTEGER NOT NULL,
	not_after      INTEGER,
	created_at     INTEGER,
	revoked_at     INTEGER,               -- NULL while the device may connect
	revoke_reason  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX devices_user ON devices (user_id);

-- uid is unique so that a message a device resends (TAK clients do on
-- reconnect) is stored once.
CREATE TABLE chat_messages (
	id              INTEGER PRIMARY KEY,
	uid             TEXT NOT NULL UNIQUE,
	t               INTEGER NOT NULL,     -- unix µs
	chatroom        TEXT NOT NULL,
	sender_uid      TEXT NOT NULL,
	sender_callsign TEXT NOT NULL,
	sender_user     TEXT NOT NULL,
	recipient_uids  TEXT NOT NULL,        -- JSON array
	text            TEXT NOT NULL,
	classification  INTEGER NOT NULL,
	component       TEXT NOT NULL,
	releasability   TEXT NOT NULL
);
CREATE INDEX chat_messages_time ON chat_messages (t, id);
CREATE INDEX chat_messages_room ON chat_messages (chatroom, t, id);

-- incident_id is NULL until the attachment is linked to an incident.
CREATE TABLE attachments (
	id             INTEGER PRIMARY KEY,
	sha256         TEXT NOT NULL,
	name           TEXT NOT NULL,
	content_type   TEXT NOT NULL,
	size           INTEGER NOT NULL,
	keywords       TEXT NOT NULL,         -- JSON array, as given (order kept)
	creator_uid    TEXT NOT NULL,
	uploaded_by    TEXT NOT NULL,
	incident_id    INTEGER REFERENCES incidents (id),
	created_at     INTEGER NOT NULL,      -- unix µs
	classification INTEGER NOT NULL,
	component      TEXT NOT NULL,
	releasability  TEXT NOT NULL
);
CREATE INDEX attachments_sha256 ON attachments (sha256);
CREATE INDEX attachments_incident ON attachments (incident_id, created_at, id);
CREATE INDEX attachments_created ON attachments (created_at, id);
-- One row per distinct keyword of an attachment, so an exact keyword match is
-- an index range instead of a scan of every keywords array.
CREATE TABLE attachment_keywords (
	keyword       TEXT NOT NULL,
	attachment_id INTEGER NOT NULL REFERENCES attachments (id),
	PRIMARY KEY (keyword, attachment_id)
) WITHOUT ROWID;
`

// schemaV3 remembers each user's interface language ("" = no choice yet, so
// the browser's own preference applies); existing users get "".
const schemaV3 = `
ALTER TABLE users ADD COLUMN language TEXT NOT NULL DEFAULT '';
`

// schemaV4 holds what patrol planning and incident response need. Each record
// is its JSON document plus the columns queries filter and sort on; times are
// unix µs, and the window and assignment columns equal the documents' times
// (the store truncates those to whole µs). Patrols and tasks carry the marking
// columns so that FindPatrols and FindTasks apply the access rule in the query
// (see accessSQL). None of these records is deleted (units are disabled, plans
// aborted), so plain rowids never name a removed record.
const schemaV4 = `
-- code is the designation patrols and tasks name units by.
CREATE TABLE units (
	id      INTEGER PRIMARY KEY,
	version INTEGER NOT NULL,
	code    TEXT NOT NULL UNIQUE,
	doc     TEXT NOT NULL
);

CREATE TABLE patrols (
	id             INTEGER PRIMARY KEY,
	version        INTEGER NOT NULL,
	status         TEXT NOT NULL,
	planned_start  INTEGER NOT NULL,      -- unix µs
	planned_end    INTEGER NOT NULL,      -- unix µs, after planned_start
	classification INTEGER NOT NULL,
	component      TEXT NOT NULL,
	releasability  TEXT NOT NULL,
	doc            TEXT NOT NULL
);
-- Plans in planned order; a window's lower bound is turned into a range on
-- planned_start with the longest stored window, which patrols_length gives
-- from its last entry (see patrolQuery).
CREATE INDEX patrols_start ON patrols (planned_start, id);
CREATE INDEX patrols_length ON patrols (planned_end - planned_start);
-- One row per unit a patrol names, so "patrols of a unit" is an index range.
CREATE TABLE patrol_units (
	unit      TEXT NOT NULL,
	patrol_id INTEGER NOT NULL REFERENCES patrols (id),
	PRIMARY KEY (unit, patrol_id)
) WITHOUT ROWID;

-- incident_id is NULL for a task raised from an alert alone. No REFERENCES:
-- whether the incident exists is the dispatcher's check, and a task's history
-- must not depend on it.
CREATE TABLE tasks (
	id             INTEGER PRIMARY KEY,
	version        INTEGER NOT NULL,
	status         TEXT NOT NULL,
	unit           TEXT NOT NULL,
	incident_id    INTEGER,
	assigned_at    INTEGER NOT NULL,      -- unix µs
	classification INTEGER NOT NULL,
	component      TEXT NOT NULL,
	releasability  TEXT NOT NULL,
	doc            TEXT NOT NULL
);
CREATE INDEX tasks_assigned ON tasks (assigned_at, id);
CREATE INDEX tasks_unit ON tasks (unit, assigned_at, id);
CREATE INDEX tasks_incident ON tasks (incident_id, assigned_at, id);

CREATE TABLE medical_facilities (
	id      INTEGER PRIMARY KEY,
	version INTEGER NOT NULL,
	name    TEXT NOT NULL,
	doc     TEXT NOT NULL
);
CREATE INDEX medical_facilities_name ON medical_facilities (name, id);
`

// schemaV5 holds the proximity (roaming geofence) rules: documents, read whole
// by the live monitor. AUTOINCREMENT as for areas: rules are deleted, and a
// deleted rule's id must never name a new one (audit entries and alerts name
// rules by id).
const schemaV5 = `
CREATE TABLE proximity_rules (
	id      INTEGER PRIMARY KEY AUTOINCREMENT,
	version INTEGER NOT NULL,
	doc     TEXT NOT NULL
);
`

// migrate brings db to the last version in ms. Each step runs in its own
// transaction together with its schema_migrations row, so a crash leaves the
// database at a step boundary.
func migrate(ctx context.Context, db *sql.DB, ms []migration) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at INTEGER NOT NULL
	)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var cur int
	if err := db.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&cur); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	latest := 0
	if len(ms) > 0 {
		latest = ms[len(ms)-1].version
	}
	if cur > latest {
		return fmt.Errorf("%w: database is at schema version %d, this binary knows up to %d; upgrade bluehelm or restore a matching backup", ErrSchemaTooNew, cur, latest)
	}
	for i, m := range ms {
		if m.version != i+1 {
			return fmt.Errorf("migrate: migration %q has version %d, want %d (versions are 1..n)", m.name, m.version, i+1)
		}
		if m.version <= cur {
			continue
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("migrate to %d: %w", m.version, err)
		}
		// Another process may have applied the step since we looked; the
		// IMMEDIATE transaction makes this re-check authoritative.
		var done int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.version).Scan(&done); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("migrate to %d: %w", m.version, err)
		}
		if done > 0 {
			_ = tx.Rollback()
			continue
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("migrate to %d (%s): %w", m.version, m.name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			m.version, m.name, time.Now().UnixMicro()); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("migrate to %d: %w", m.version, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migrate to %d: %w", m.version, err)
		}
	}
	return nil
}

// schemaV6 holds the UN peacekeeping fatalities (no location: not incidents).
// The key is the UN's casualty id; the columns are the dashboard's groups, so
// counting by mission, year and type reads the index alone.
const schemaV6 = `
CREATE TABLE fatalities (
	casualty_id   TEXT PRIMARY KEY,
	mission       TEXT NOT NULL,
	year          INTEGER NOT NULL,
	incident_type TEXT NOT NULL,
	doc           TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX fatalities_groups ON fatalities (mission, year, incident_type);
`

// schemaV7 holds the smart camp. Sensors, alarm rules and stock items are few
// and read whole: documents, with the columns lookups need. Readings and
// roll-ups are many and narrow: rows keyed by what queries ask for, WITHOUT
// ROWID so the key is the table and a reading costs one B-tree insert; the key
// also makes a repeated (sensor, time) a duplicate the insert can skip.
// Retention deletes by the same key, sensor by sensor, so no index on time
// alone slows ingestion.
const schemaV7 = `
CREATE TABLE sensors (
	id      INTEGER PRIMARY KEY,
	version INTEGER NOT NULL,
	code    TEXT NOT NULL UNIQUE,
	doc     TEXT NOT NULL
);

-- AUTOINCREMENT: rules are deleted, and alarms name rules by id.
CREATE TABLE alarm_rules (
	id        INTEGER PRIMARY KEY AUTOINCREMENT,
	version   INTEGER NOT NULL,
	sensor_id INTEGER NOT NULL DEFAULT 0,   -- 0 for a camp's perimeter rule
	doc       TEXT NOT NULL
);
CREATE INDEX alarm_rules_sensor ON alarm_rules (sensor_id, id);

CREATE TABLE readings (
	sensor_id INTEGER NOT NULL,
	t         INTEGER NOT NULL,   -- unix µs
	value     REAL NOT NULL,
	PRIMARY KEY (sensor_id, t)
) WITHOUT ROWID;

CREATE TABLE sensor_rollups (
	sensor_id INTEGER NOT NULL,
	res       INTEGER NOT NULL,   -- bucket length in seconds: 60 or 3600
	start     INTEGER NOT NULL,   -- unix µs
	count     INTEGER NOT NULL,
	min       REAL NOT NULL,
	max       REAL NOT NULL,
	sum       REAL NOT NULL,
	last      REAL NOT NULL,
	last_t    INTEGER NOT NULL,   -- unix µs
	PRIMARY KEY (sensor_id, res, start)
) WITHOUT ROWID;

-- balance is the book after every movement, kept in the movement's
-- transaction so that the negative-stock check reads one row.
CREATE TABLE stock_items (
	id      INTEGER PRIMARY KEY,
	version INTEGER NOT NULL,
	balance REAL NOT NULL DEFAULT 0,
	doc     TEXT NOT NULL
);

CREATE TABLE stock_movements (
	id       INTEGER PRIMARY KEY,
	item_id  INTEGER NOT NULL REFERENCES stock_items (id),
	kind     TEXT NOT NULL,
	quantity REAL NOT NULL,
	t        INTEGER NOT NULL,   -- unix µs
	by_user  TEXT NOT NULL,
	note     TEXT NOT NULL
);
CREATE INDEX stock_movements_item ON stock_movements (item_id, t, id);
`
