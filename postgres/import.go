package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/jackc/pgx/v5"
)

// ImportStats counts what Import stored, by kind.
type ImportStats map[string]int

// Import copies a whole store (bluehelm migrate: a team site's SQLite file to
// its mission HQ) into this one, which must be empty, in one transaction: an
// import that fails leaves nothing behind and may simply be run again.
// Records keep their ids and versions, the audit log its entries and hashes
// (so VerifyAudit holds afterwards), secrets the hashes they are stored as.
// Derived data is rebuilt here: search vectors and geometries from the
// documents, stock balances from the movements, id sequences from the
// source's highest issued ids.
//
// Merging into a store that holds data would need every id renumbered and
// every reference to it rewritten; that is federation's job, so Import refuses.
func (db *DB) Import(ctx context.Context, src bluehelm.Exporter) (ImportStats, error) {
	stats := ImportStats{}
	err := db.writeTx(ctx, func(tx pgx.Tx) error {
		// Hold the audit lock throughout: no write may slip in (and chain
		// itself to an empty log) while the copy is under way.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockAudit); err != nil {
			return err
		}
		if err := ensureEmpty(ctx, tx); err != nil {
			return err
		}
		var ids map[string]int64
		err := src.Export(ctx, func(ctx context.Context, b *bluehelm.DumpBatch) error {
			if b.IDs != nil {
				ids = b.IDs
			}
			return importBatch(ctx, tx, b, stats)
		})
		if err != nil {
			return err
		}
		if err := rebuildStockBalances(ctx, tx); err != nil {
			return err
		}
		return setSequences(ctx, tx, ids)
	})
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	return stats, nil
}

// ensureEmpty refuses a store holding any record.
func ensureEmpty(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, `SELECT c.relname FROM pg_class c
		WHERE c.relkind = 'r' AND c.relnamespace = current_schema()::regnamespace AND c.relname <> 'schema_migrations'
		  AND c.relname NOT IN ('spatial_ref_sys')
		ORDER BY c.relname`)
	if err != nil {
		return err
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, t := range tables {
		var any bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+pgx.Identifier{t}.Sanitize()+`)`).Scan(&any); err != nil {
			return err
		}
		if any {
			return bluehelm.Errorf(bluehelm.ECONFLICT, "the destination database already holds data (table %s): import only into an empty one; to join a camp to a running HQ, federate them", t)
		}
	}
	return nil
}

// sequenceOf maps the source's kinds (DumpBatch.IDs) to the tables whose
// identity sequences must continue after them.
var sequenceOf = map[string]string{
	"user": "users", "token": "tokens", "incident": "incidents", "area": "areas", "alert": "alerts",
	"device": "devices", "chat_message": "chat_messages", "attachment": "attachments", "unit": "units",
	"patrol": "patrols", "task": "tasks", "facility": "medical_facilities", "proximity_rule": "proximity_rules",
	"sensor": "sensors", "alarm_rule": "alarm_rules", "quarantined_reading": "quarantined_readings",
	"stock_item": "stock_items", "stock_movement": "stock_movements", "asset": "assets", "work_order": "work_orders",
	"webhook_delivery": "webhook_outbox", "casevac": "casevacs", "community_alert": "community_alerts",
}

// setSequences moves every identity sequence past the highest id stored or
// ever issued at the source, so that no new record takes a deleted one's id.
func setSequences(ctx context.Context, tx pgx.Tx, ids map[string]int64) error {
	kinds := make([]string, 0, len(sequenceOf))
	for k := range sequenceOf {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, kind := range kinds {
		table := sequenceOf[kind]
		if _, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence($1, 'id'), v, true)
			FROM (SELECT greatest(coalesce(max(id), 0), $2::bigint) AS v FROM `+pgx.Identifier{table}.Sanitize()+`) m WHERE v > 0`,
			table, ids[kind]); err != nil {
			return fmt.Errorf("sequence of %s: %w", table, err)
		}
	}
	return nil
}

// rebuildStockBalances replays every item's book: the balance is a column the
// source does not export (it follows from the movements).
func rebuildStockBalances(ctx context.Context, tx pgx.Tx) error {
	movs, err := queryMovements(ctx, tx, `SELECT `+movementCols+` FROM stock_movements ORDER BY item_id, t, id`)
	if err != nil {
		return err
	}
	bal := map[int64]float64{}
	for _, m := range movs {
		b, err := m.Apply(bal[m.ItemID])
		if err != nil {
			return fmt.Errorf("stock item %d: the imported book goes negative at movement %d: %w", m.ItemID, m.ID, err)
		}
		bal[m.ItemID] = b
	}
	for id, b := range bal {
		if _, err := tx.Exec(ctx, `UPDATE stock_items SET balance = $1 WHERE id = $2`, b, id); err != nil {
			return err
		}
	}
	return nil
}

// restoreAll restores records of a docTable.
func restoreAll[T any](ctx context.Context, tx pgx.Tx, d *docTable[T], vs []*T) error {
	for _, v := range vs {
		if err := d.restore(ctx, tx, v); err != nil {
			return err
		}
	}
	return nil
}

// execAll sends one statement per record in a pipelined batch.
func execAll[T any](ctx context.Context, tx pgx.Tx, kind, sql string, vs []T, args func(T) ([]any, error)) error {
	var b pgx.Batch
	for _, v := range vs {
		a, err := args(v)
		if err != nil {
			return err
		}
		b.Queue(sql, a...)
	}
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return fmt.Errorf("import %s: %w", kind, err)
	}
	return nil
}

func importBatch(ctx context.Context, tx pgx.Tx, b *bluehelm.DumpBatch, stats ImportStats) error {
	count := func(kind string, n int) {
		if n > 0 {
			stats[kind] += n
		}
	}
	var err error
	switch {
	case len(b.Users) > 0:
		count("user", len(b.Users))
		err = execAll(ctx, tx, "user", `INSERT INTO users (id, username, name, role, component, clearance, disabled, created_at, password_hash, language)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, b.Users, func(u *bluehelm.User) ([]any, error) {
			return []any{u.ID, u.Username, u.Name, string(u.Role), string(u.Component), int(u.Clearance), u.Disabled,
				nullTime(u.CreatedAt), u.PasswordHash, u.Language}, nil
		})
	case len(b.Tokens) > 0:
		count("token", len(b.Tokens))
		err = execAll(ctx, tx, "token", `INSERT INTO tokens (id, user_id, name, hash, created_at, expires_at, revoked) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			b.Tokens, func(t *bluehelm.Token) ([]any, error) {
				return []any{t.ID, t.UserID, t.Name, t.Hash, nullTime(t.CreatedAt), nullTimePtr(t.ExpiresAt), t.Revoked}, nil
			})
	case len(b.Sessions) > 0:
		count("session", len(b.Sessions))
		err = execAll(ctx, tx, "session", `INSERT INTO sessions (hash, user_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
			b.Sessions, func(s *bluehelm.Session) ([]any, error) {
				return []any{s.Hash, s.UserID, s.CSRF, nullTime(s.CreatedAt), nullTime(s.ExpiresAt)}, nil
			})
	case len(b.Devices) > 0:
		count("device", len(b.Devices))
		err = execAll(ctx, tx, "device", `INSERT INTO devices (id, name, user_id, serial, fingerprint, device_groups, classification, not_after, created_at, revoked_at, revoke_reason)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, b.Devices, func(d *bluehelm.Device) ([]any, error) {
			return []any{d.ID, d.Name, d.UserID, d.Serial, d.Fingerprint, textArray(d.Groups), int(d.Classification), nullTime(d.NotAfter),
				nullTime(d.CreatedAt), nullTimePtr(d.RevokedAt), d.RevokeReason}, nil
		})
	case len(b.Chat) > 0:
		count("chat_message", len(b.Chat))
		err = execAll(ctx, tx, "chat message", `INSERT INTO chat_messages (id, uid, t, chatroom, sender_uid, sender_callsign, sender_user, recipient_uids, text,
				classification, component, releasability) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			b.Chat, func(m *bluehelm.ChatMessage) ([]any, error) {
				return []any{m.ID, m.UID, utc(m.Time), m.Chatroom, m.SenderUID, m.SenderCallsign, m.SenderUser, textArray(m.RecipientUIDs), m.Text,
					int(m.Classification), string(m.Component), releasabilityList(m.Releasability)}, nil
			})
	case len(b.Attachments) > 0:
		count("attachment", len(b.Attachments))
		err = execAll(ctx, tx, "attachment", `INSERT INTO attachments (id, sha256, name, content_type, size, keywords, creator_uid, uploaded_by, incident_id,
				created_at, classification, component, releasability) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			b.Attachments, func(a *bluehelm.Attachment) ([]any, error) {
				var incident any
				if a.IncidentID != 0 {
					incident = a.IncidentID
				}
				return []any{a.ID, a.SHA256, a.Name, a.ContentType, a.Size, textArray(a.Keywords), a.CreatorUID, a.UploadedBy, incident,
					utc(a.CreatedAt), int(a.Classification), string(a.Component), releasabilityList(a.Releasability)}, nil
			})
	case len(b.Casevacs) > 0:
		count("casevac", len(b.Casevacs))
		err = restoreAll(ctx, tx, casevacs, b.Casevacs)
	case len(b.Community) > 0:
		count("community_alert", len(b.Community))
		err = execAll(ctx, tx, "community alert", `INSERT INTO community_alerts (id, version, received, state, group_id, source, external_id, sender, sealed, place, text_key, doc)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`, b.Community, func(a *bluehelm.CommunityAlert) ([]any, error) {
			next := *a
			normCommunity(&next)
			doc, err := json.Marshal(&next)
			if err != nil {
				return nil, err
			}
			return []any{next.ID, next.Version, next.ReceivedAt, string(next.State), next.GroupID, next.Source, nullText(next.ExternalID),
				nullText(next.SenderPseudonym), nullBytes(next.SenderSealed), communityPlaceKey(next.Place), bluehelm.TextKey(next.Text), string(doc)}, nil
		})
	case len(b.Fatalities) > 0:
		count("fatality", len(b.Fatalities))
		err = execAll(ctx, tx, "fatality", `INSERT INTO fatalities (casualty_id, mission, year, incident_type, doc) VALUES ($1, $2, $3, $4, $5)`,
			b.Fatalities, func(f *bluehelm.Fatality) ([]any, error) {
				c := *f
				c.IncidentDate = c.IncidentDate.UTC()
				doc, err := json.Marshal(&c)
				if err != nil {
					return nil, err
				}
				return []any{c.CasualtyID, c.Mission, c.IncidentDate.Year(), c.IncidentType, string(doc)}, nil
			})
	case len(b.Sensors) > 0:
		count("sensor", len(b.Sensors))
		err = restoreAll(ctx, tx, sensors, b.Sensors)
	case len(b.SensorSecrets) > 0:
		count("sensor_secret", len(b.SensorSecrets))
		err = execAll(ctx, tx, "sensor secret", `INSERT INTO sensor_credentials (sensor_id, hash, created_at) VALUES ($1, $2, $3)`,
			b.SensorSecrets, func(s bluehelm.SensorSecret) ([]any, error) { return []any{s.SensorID, s.Hash, utc(s.CreatedAt)}, nil })
	case len(b.AlarmRules) > 0:
		count("alarm_rule", len(b.AlarmRules))
		err = restoreAll(ctx, tx, alarmRules, b.AlarmRules)
	case len(b.Readings) > 0:
		count("reading", len(b.Readings))
		rows := make([][]any, len(b.Readings))
		for i, r := range b.Readings {
			rows[i] = []any{r.SensorID, utc(r.Time), r.Value}
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"readings"}, []string{"sensor_id", "t", "value"}, pgx.CopyFromRows(rows))
	case len(b.Rollups) > 0:
		count("rollup", len(b.Rollups))
		err = execAll(ctx, tx, "roll-up", `INSERT INTO sensor_rollups (sensor_id, res, start, count, min, max, sum, last, last_t)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, b.Rollups, func(r bluehelm.SensorRollup) ([]any, error) {
			return []any{r.SensorID, int(r.Resolution.Duration() / time.Second), utc(r.Start), r.Count, r.Min, r.Max, r.Sum, r.Last, utc(r.LastTime)}, nil
		})
	case len(b.Quarantine) > 0:
		count("quarantined_reading", len(b.Quarantine))
		err = execAll(ctx, tx, "quarantined reading", `INSERT INTO quarantined_readings (id, received_at, sensor_id, sensor_code, t, value, unit, field, reason, source)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, b.Quarantine, func(q bluehelm.QuarantinedReading) ([]any, error) {
			return []any{q.ID, utc(q.ReceivedAt), q.SensorID, q.SensorCode, nullTime(q.Time), q.Value, q.Unit, q.Field, q.Reason, q.Source}, nil
		})
	case len(b.StockItems) > 0:
		count("stock_item", len(b.StockItems))
		err = restoreAll(ctx, tx, stockItems, b.StockItems)
	case len(b.StockMovements) > 0:
		count("stock_movement", len(b.StockMovements))
		err = execAll(ctx, tx, "stock movement", `INSERT INTO stock_movements (id, item_id, kind, quantity, t, by_user, note) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			b.StockMovements, func(m bluehelm.StockMovement) ([]any, error) {
				return []any{m.ID, m.ItemID, string(m.Kind), m.Quantity, utc(m.Time), m.By, m.Note}, nil
			})
	case len(b.CampProfiles) > 0:
		count("camp_profile", len(b.CampProfiles))
		err = execAll(ctx, tx, "camp profile", `INSERT INTO camp_profiles (camp_id, version, doc) VALUES ($1, $2, $3)`,
			b.CampProfiles, func(p *bluehelm.CampProfile) ([]any, error) {
				next := *p
				next.UpdatedAt = utc(next.UpdatedAt)
				doc, err := json.Marshal(&next)
				return []any{next.CampID, next.Version, doc}, err
			})
	case len(b.Assets) > 0:
		count("asset", len(b.Assets))
		err = restoreAll(ctx, tx, assets, b.Assets)
	case len(b.WorkOrders) > 0:
		count("work_order", len(b.WorkOrders))
		err = restoreAll(ctx, tx, workOrders, b.WorkOrders)
	case len(b.Webhooks) > 0:
		count("webhook_delivery", len(b.Webhooks))
		err = execAll(ctx, tx, "webhook", `INSERT INTO webhook_outbox (id, key, url, body, attempts, next_at, created_at, delivered_at, last_error)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, b.Webhooks, func(d bluehelm.WebhookDelivery) ([]any, error) {
			return []any{d.ID, d.Key, d.URL, d.Body, d.Attempts, utc(d.NextAt), utc(d.CreatedAt), nullTimePtr(d.DeliveredAt), d.LastError}, nil
		})
	case len(b.Audit) > 0:
		count("audit", len(b.Audit))
		rows := make([][]any, len(b.Audit))
		for i, e := range b.Audit {
			var detail any
			if len(e.Detail) > 0 {
				detail = string(e.Detail)
			}
			rows[i] = []any{e.Seq, e.At, e.Actor, e.Action, e.Object, detail, e.PrevHash, e.Hash}
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"audit"}, []string{"seq", "at", "actor", "action", "object", "detail", "prev_hash", "hash"}, pgx.CopyFromRows(rows))
	default:
		err = importRecords(ctx, tx, b, count)
	}
	return err
}

// importRecords stores the kinds importBatch leaves to it: the live picture's
// tracks and positions, the operations records and the incident records.
func importRecords(ctx context.Context, tx pgx.Tx, b *bluehelm.DumpBatch, count func(string, int)) error {
	switch {
	case len(b.Tracks) > 0:
		count("track", len(b.Tracks))
		rows := make([][]any, len(b.Tracks))
		for i, t := range b.Tracks {
			rows[i] = []any{t.UID, t.Callsign, string(t.Kind), t.CoTType, t.SIDC, t.Unit, t.Nationality,
				int32(t.Classification), string(t.Component), releasableTo(t.Releasability), nullTime(t.UpdatedAt)}
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"tracks"}, trackStageCols, pgx.CopyFromRows(rows))
		return err
	case len(b.Positions) > 0:
		count("position", len(b.Positions))
		src := &reportSource{ps: b.Positions, i: -1, row: make([]any, len(reportStageCols)), ewkb: make([]byte, 0, 25*len(b.Positions))}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"positions"}, reportStageCols, src)
		return err
	case len(b.Units) > 0:
		count("unit", len(b.Units))
		return restoreAll(ctx, tx, units, b.Units)
	case len(b.Patrols) > 0:
		count("patrol", len(b.Patrols))
		return restoreAll(ctx, tx, patrols, b.Patrols)
	case len(b.Tasks) > 0:
		count("task", len(b.Tasks))
		return restoreAll(ctx, tx, tasks, b.Tasks)
	case len(b.Facilities) > 0:
		count("facility", len(b.Facilities))
		return restoreAll(ctx, tx, facilities, b.Facilities)
	case len(b.ProximityRules) > 0:
		count("proximity_rule", len(b.ProximityRules))
		return restoreAll(ctx, tx, proximityRules, b.ProximityRules)
	}
	return importIncidentRecords(ctx, tx, b, count)
}
