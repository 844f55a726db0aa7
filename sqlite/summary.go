package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/bluehelm/bluehelm"
)

// sqlFetchSummaries reads the summaries of a page by a JSON array of incident
// ids; key is the position in the array. The title and casualties are taken
// out of the document by SQLite's JSON functions: decoding whole documents in Go
// is most of what a page of full incidents costs (see decodeAll), and a map of
// 20,000 incidents needs neither narratives nor sources.
const sqlFetchSummaries = `SELECT j.key, i.status, i.category, i.lon, i.lat, i.classification, i.component, i.releasability,
	json_extract(v.doc, '$.title'), json_extract(v.doc, '$.casualties'), json_extract(v.doc, '$.admin1')
	FROM json_each(?) j CROSS JOIN incidents i ON i.id = j.value CROSS JOIN incident_revisions v ON v.rev = i.rev`

// FindIncidentSummaries is FindIncidents (same plans, order, access rule and
// cursors) answering summaries, in pages of up to 10,000 (default 1000).
func (db *DB) FindIncidentSummaries(ctx context.Context, f bluehelm.IncidentFilter) (*bluehelm.IncidentSummaryPage, error) {
	page := &bluehelm.IncidentSummaryPage{Summaries: []*bluehelm.IncidentSummary{}}
	next, err := db.findPage(ctx, f, 1000, 10000, func(tx *sql.Tx, hits []hit) (err error) {
		page.Summaries, err = fetchSummaries(ctx, tx, hits)
		return err
	})
	if err != nil {
		return nil, err
	}
	page.NextCursor = next
	return page, nil
}

// fetchSummaries reads the summaries of a page's hits, in the hits' order.
func fetchSummaries(ctx context.Context, tx *sql.Tx, hits []hit) ([]*bluehelm.IncidentSummary, error) {
	b := []byte{'['}
	for i, h := range hits {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, h.id, 10)
	}
	rows, err := tx.QueryContext(ctx, sqlFetchSummaries, string(append(b, ']')))
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	out := make([]*bluehelm.IncidentSummary, len(hits))
	for rows.Next() {
		var (
			k        int
			s        bluehelm.IncidentSummary
			rel      string
			title    sql.NullString
			casualty []byte
			admin1   sql.NullString
		)
		if err := rows.Scan(&k, &s.Status, &s.Category, &s.Location.Lon, &s.Location.Lat, &s.Classification, &s.Component, &rel,
			&title, &casualty, &admin1); err != nil {
			return nil, dbErr(err)
		}
		if k < 0 || k >= len(hits) {
			continue
		}
		h := hits[k]
		s.ID, s.Version, s.Title, s.Admin1 = h.id, h.version, title.String, admin1.String
		s.OccurredStart = time.UnixMilli(h.occurred).UTC()
		s.Releasability = components(rel)
		if len(casualty) > 0 {
			if err := json.Unmarshal(casualty, &s.Casualties); err != nil {
				return nil, fmt.Errorf("sqlite: incident %d: casualties: %w", h.id, err)
			}
		}
		out[k] = &s
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(err)
	}
	for i, s := range out {
		if s == nil {
			return nil, fmt.Errorf("sqlite: incident %d: row is missing", hits[i].id)
		}
	}
	return out, nil
}
