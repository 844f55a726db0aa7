package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/bluehelm/bluehelm"
	"github.com/jackc/pgx/v5"
)

// importIncidentRecords stores incidents with every revision, areas and
// alerts, for Import. The search row (box, words) is rebuilt from the
// current document.
func importIncidentRecords(ctx context.Context, tx pgx.Tx, b *bluehelm.DumpBatch, count func(string, int)) error {
	switch {
	case len(b.Incidents) > 0:
		count("incident", len(b.Incidents))
		var batch pgx.Batch
		for _, h := range b.Incidents {
			cur := *h.Incident
			r, err := flattenIncident(&cur, h.Incident.ID, h.Incident.Version)
			if err != nil {
				return fmt.Errorf("incident %d: %w", h.Incident.ID, err)
			}
			batch.Queue(sqlIncInsert, r.args()...)
			batch.Queue(sqlIncWordsInsert, r.id, r.words)
			for _, rev := range h.Revisions {
				doc, err := json.Marshal(&rev.Incident)
				if err != nil {
					return fmt.Errorf("incident %d revision %d: %w", rev.IncidentID, rev.Version, err)
				}
				batch.Queue(sqlIncRevision, rev.IncidentID, rev.Version, utc(rev.At), rev.Actor, rev.Action, doc)
			}
			count("incident_revision", len(h.Revisions))
		}
		if err := tx.SendBatch(ctx, &batch).Close(); err != nil {
			return fmt.Errorf("import incidents: %w", err)
		}
		return nil
	case len(b.Areas) > 0:
		count("area", len(b.Areas))
		return restoreAll(ctx, tx, areaTable, b.Areas)
	case len(b.Alerts) > 0:
		count("alert", len(b.Alerts))
		return restoreAll(ctx, tx, alertTable, b.Alerts)
	case b.IDs != nil || b.Len() == 0:
		return nil // the ids are Import's (setSequences)
	}
	return fmt.Errorf("import: a batch of a kind this store does not know (%d records)", b.Len())
}
