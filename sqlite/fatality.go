package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/bluehelm/bluehelm"
)

// ImportFatalities inserts or replaces fatalities keyed by CasualtyID in one
// transaction; a row whose document is unchanged is left alone, so a re-import
// counts neither created nor updated. The audit entry is appended either way.
func (db *DB) ImportFatalities(ctx context.Context, fs []*bluehelm.Fatality, a bluehelm.AuditEntry) (created, updated int, err error) {
	docs := make([]string, len(fs))
	for i, f := range fs {
		if f == nil || f.CasualtyID == "" {
			return 0, 0, bluehelm.Invalid("["+strconv.Itoa(i)+"].casualty_id", "is required for import")
		}
		// The dates are days; storing them at UTC midnight makes a re-import
		// of the same file byte-identical whatever zone the reader used.
		c := *f
		c.IncidentDate = c.IncidentDate.UTC()
		b, err := json.Marshal(&c)
		if err != nil {
			return 0, 0, bluehelm.Invalid("["+strconv.Itoa(i)+"]", "cannot encode fatality: %v", err)
		}
		docs[i] = string(b)
	}
	a = stamp(a)
	err = db.writeTx(ctx, func(tx *sql.Tx) error {
		created, updated = 0, 0
		get, err := tx.PrepareContext(ctx, `SELECT doc FROM fatalities WHERE casualty_id = ?`)
		if err != nil {
			return dbErr(err)
		}
		defer get.Close()
		put, err := tx.PrepareContext(ctx, `INSERT INTO fatalities (casualty_id, mission, year, incident_type, doc) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (casualty_id) DO UPDATE SET mission = excluded.mission, year = excluded.year,
				incident_type = excluded.incident_type, doc = excluded.doc`)
		if err != nil {
			return dbErr(err)
		}
		defer put.Close()
		for i, f := range fs {
			if err := ctx.Err(); err != nil {
				return err
			}
			var old string
			switch err := get.QueryRowContext(ctx, f.CasualtyID).Scan(&old); {
			case err == sql.ErrNoRows:
				created++
			case err != nil:
				return dbErr(err)
			case old == docs[i]:
				continue
			default:
				updated++
			}
			if _, err := put.ExecContext(ctx, f.CasualtyID, f.Mission, f.IncidentDate.UTC().Year(), f.IncidentType, docs[i]); err != nil {
				return dbErr(err)
			}
		}
		return appendAudit(ctx, tx, a, "fatalities")
	})
	if err != nil {
		return 0, 0, fmt.Errorf("import fatalities: %w", err)
	}
	return created, updated, nil
}

// FatalityCounts returns the number of fatalities by mission, year and type of
// incident, in that order.
func (db *DB) FatalityCounts(ctx context.Context) ([]bluehelm.FatalityCount, error) {
	r, err := db.reader()
	if err != nil {
		return nil, err
	}
	return queryAll(ctx, r, `SELECT mission, year, incident_type, count(*) FROM fatalities
		GROUP BY mission, year, incident_type ORDER BY mission, year, incident_type`, nil,
		func(s scanner) (bluehelm.FatalityCount, error) {
			var c bluehelm.FatalityCount
			err := s.Scan(&c.Mission, &c.Year, &c.IncidentType, &c.Count)
			return c, err
		})
}
