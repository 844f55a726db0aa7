package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/bluehelm/bluehelm"
	"github.com/jackc/pgx/v5"
)

// fatalityPut writes one fatality and says what it did. The CTE's parts share
// one snapshot, so old is the row as it was before put; put's WHERE leaves a
// row whose document is unchanged alone (jsonb equality: key order and spacing
// do not count). existed=1, written=1 is an update; existed=0, written=1 a
// creation; written=0 nothing. A concurrent import of the same casualty id is
// ordered by ON CONFLICT on the primary key.
const fatalityPut = `WITH old AS (SELECT 1 FROM fatalities WHERE casualty_id = $1),
put AS (
	INSERT INTO fatalities (casualty_id, mission, year, incident_type, doc) VALUES ($1, $2, $3, $4, $5)
	ON CONFLICT (casualty_id) DO UPDATE SET mission = excluded.mission, year = excluded.year,
		incident_type = excluded.incident_type, doc = excluded.doc
	WHERE fatalities.doc IS DISTINCT FROM excluded.doc
	RETURNING 1)
SELECT (SELECT count(*) FROM old), (SELECT count(*) FROM put)`

// ImportFatalities inserts or replaces fatalities keyed by CasualtyID in one
// transaction; a row whose document is unchanged is left alone, so a re-import
// counts neither created nor updated. The audit entry is appended either way.
func (db *DB) ImportFatalities(ctx context.Context, fs []*bluehelm.Fatality, a bluehelm.AuditEntry) (created, updated int, err error) {
	docs := make([][]byte, len(fs))
	for i, f := range fs {
		if f == nil || f.CasualtyID == "" {
			return 0, 0, bluehelm.Invalid("["+strconv.Itoa(i)+"].casualty_id", "is required for import")
		}
		// The dates are days; storing them at UTC midnight makes a re-import
		// of the same file identical whatever zone the reader used.
		c := *f
		c.IncidentDate = c.IncidentDate.UTC()
		b, err := json.Marshal(&c)
		if err != nil {
			return 0, 0, bluehelm.Invalid("["+strconv.Itoa(i)+"]", "cannot encode fatality: %v", err)
		}
		docs[i] = b
	}
	err = db.writeTx(ctx, func(tx pgx.Tx) error {
		created, updated = 0, 0
		// One round trip for the whole file; the statements still run in
		// order, so a casualty listed twice is written twice, the last winning.
		batch := &pgx.Batch{}
		for i, f := range fs {
			batch.Queue(fatalityPut, f.CasualtyID, f.Mission, f.IncidentDate.UTC().Year(), f.IncidentType, string(docs[i]))
		}
		res := tx.SendBatch(ctx, batch)
		for range fs {
			var existed, written int
			if err := res.QueryRow().Scan(&existed, &written); err != nil {
				_ = res.Close()
				return err
			}
			switch {
			case written == 0:
			case existed == 0:
				created++
			default:
				updated++
			}
		}
		if err := res.Close(); err != nil {
			return err
		}
		return appendAudit(ctx, tx, a, "fatalities")
	})
	if err != nil {
		return 0, 0, fmt.Errorf("import fatalities: %w", err)
	}
	return created, updated, nil
}

// FatalityCounts returns the number of fatalities by mission, year and type of
// incident, in that order (byte order, as in the SQLite store).
func (db *DB) FatalityCounts(ctx context.Context) ([]bluehelm.FatalityCount, error) {
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	return collect(ctx, r, `SELECT mission, year, incident_type, count(*) FROM fatalities
		GROUP BY mission, year, incident_type ORDER BY mission COLLATE "C", year, incident_type COLLATE "C"`, nil,
		func(row pgx.Row) (bluehelm.FatalityCount, error) {
			var c bluehelm.FatalityCount
			err := row.Scan(&c.Mission, &c.Year, &c.IncidentType, &c.Count)
			return c, err
		})
}
