package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"

	"github.com/bluehelm/bluehelm"
)

var _ bluehelm.Exporter = (*DB)(nil)

// exportBatch is the most records one DumpBatch carries: big enough that a
// batch costs the destination one round trip per few thousand rows, small
// enough that the walk holds only a few megabytes however big the store.
const exportBatch = 2000

// Export walks the whole store in one read-only transaction (one snapshot: a
// write committed meanwhile is either wholly in the copy or wholly absent) and
// sends it to put batch by batch, each of one kind and at most exportBatch
// records, parents before the records that name them. Every table is read as a
// stream in key order, so memory does not grow with positions, readings or the
// audit log. Values are decoded by the same code the Store methods use and carry
// what those hide (password, token and session hashes, sensor secret hashes,
// community senders). The last batch holds the ids (see exportIDs). put's first
// error stops the walk and is returned as is.
//
// The transaction holds its snapshot until the walk ends, so the WAL cannot be
// checkpointed past it meanwhile: the WAL grows by what is written during an
// export (journal_size_limit trims it after the next checkpoint).
//
// What is not sent is derived from what is: the incidents' R*Tree and full-text
// index, attachment_keywords, patrol_units, position_segment_cells, tracks'
// latest positions, community alerts' grouping keys (place, text key: see
// bluehelm.TextKey) and stock balances (the movements replayed). Positions are
// sent as reports, not as the log and segments that hold them here.
func (db *DB) Export(ctx context.Context, put func(ctx context.Context, b *bluehelm.DumpBatch) error) error {
	r, err := db.reader()
	if err != nil {
		return err
	}
	tx, err := r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return dbErr(err)
	}
	defer tx.Rollback()
	x := &exporter{ctx: ctx, tx: tx, put: put, sensors: map[int64]sensorLabel{}}
	// The order is the one DumpBatch promises: parents first. Areas come
	// early because camps (profiles, sensors, assets) and alerts name them;
	// rules before the alerts they raise; the audit log, which names
	// everything, last but for the ids.
	for _, step := range []func() error{
		x.users, x.tokens, x.sessions, x.devices,
		x.areas, x.units, x.facilities,
		x.incidents, x.attachments, x.tasks, x.casevacs, x.patrols,
		x.tracks, x.positions, x.chat,
		x.proximityRules, x.fatalities,
		x.campProfiles, x.sensorRecords, x.sensorSecrets, x.alarmRules, x.readings, x.rollups, x.quarantine,
		x.stockItems, x.stockMovements,
		x.assets, x.workOrders, x.webhooks,
		x.community, x.alerts,
		x.audit, x.ids,
	} {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// The walks of the tables that grow without bound, whose plans
// TestExportQueryPlans pins: each reads a key in the order asked, so rows
// stream without a sort. The log is the exception: it is sorted (SQLite spills
// a big sort to temporary files), which costs little because compaction keeps
// it short, and lets a report's earlier copy be the previous row. The LEFT
// JOIN makes a log row naming no track an error, not a report lost.
const (
	exportIncidentsQuery = `SELECT i.id, i.version, i.rev, v.rev, v.version, v.at, v.actor, v.action, v.doc
		FROM incidents i CROSS JOIN incident_revisions v ON v.incident_id = i.id ORDER BY i.id, v.version`
	exportSegmentsQuery = `SELECT t.uid, s.t_min, s.data FROM position_segments s CROSS JOIN tracks t ON t.id = s.track_id
		ORDER BY s.track_id, s.t_min`
	exportLogQuery = `SELECT l.seq, l.track_id, l.t_ms, l.data, t.uid, t.last_t
		FROM position_log l LEFT JOIN tracks t ON t.id = l.track_id ORDER BY l.track_id, l.t_ms, l.seq`
	exportReadingsQuery = `SELECT sensor_id, t, value FROM readings ORDER BY sensor_id, t`
	exportRollupsQuery  = `SELECT ` + rollupCols + ` FROM sensor_rollups ORDER BY sensor_id, res, start`
	exportAuditQuery    = `SELECT ` + auditCols + ` FROM audit ORDER BY seq`
)

// exporter is the state of one Export walk.
type exporter struct {
	ctx context.Context
	tx  *sql.Tx
	put func(ctx context.Context, b *bluehelm.DumpBatch) error
	// sensors are kept from their batch to give readings the code and unit
	// that Readings gives them; a camp has thousands at most.
	sensors map[int64]sensorLabel
}

// sensorLabel is what a reading repeats of its sensor. A copy, not the
// *Sensor sent: put may change what it is given.
type sensorLabel struct{ code, unit string }

// stream runs q in the walk's transaction, decodes each row with scan and sends
// the values exportBatch at a time, wrapped by batch. Each batch gets a fresh
// slice: put may keep what it is given.
func stream[T any](x *exporter, q string, scan func(scanner) (T, error), batch func([]T) *bluehelm.DumpBatch) error {
	rows, err := x.tx.QueryContext(x.ctx, q)
	if err != nil {
		return dbErr(err)
	}
	defer rows.Close()
	buf := make([]T, 0, exportBatch)
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return dbErr(err)
		}
		buf = append(buf, v)
		if len(buf) == exportBatch {
			if err := x.put(x.ctx, batch(buf)); err != nil {
				return err
			}
			buf = make([]T, 0, exportBatch)
		}
	}
	if err := rows.Err(); err != nil {
		return dbErr(err)
	}
	if len(buf) > 0 {
		return x.put(x.ctx, batch(buf))
	}
	return nil
}

// docs streams a document table by id with its docTable's decoder.
func docs[T any](x *exporter, d *docTable[T], batch func([]*T) *bluehelm.DumpBatch) error {
	return stream(x, `SELECT id, version, doc FROM `+d.table+` ORDER BY id`, d.scan, batch)
}

func (x *exporter) users() error {
	return stream(x, `SELECT `+userCols+` FROM users ORDER BY id`, scanUser,
		func(v []*bluehelm.User) *bluehelm.DumpBatch { return &bluehelm.DumpBatch{Users: v} })
}

func (x *exporter) tokens() error {
	return stream(x, `SELECT `+tokenCols+` FROM tokens ORDER BY id`, scanToken,
		func(v []*bluehelm.Token) *bluehelm.DumpBatch { return &bluehelm.DumpBatch{Tokens: v} })
}

func (x *exporter) sessions() error {
	return stream(x, `SELECT `+sessionCols+` FROM sessions ORDER BY hash`, scanSession,
		func(v []*bluehelm.Session) *bluehelm.DumpBatch { return &bluehelm.DumpBatch{Sessions: v} })
}

func (x *exporter) devices() error {
	return stream(x, deviceSelect+` ORDER BY d.id`, scanDevice,
		func(v []*bluehelm.Device) *bluehelm.DumpBatch { return &bluehelm.DumpBatch{Devices: v} })
}

// idVersionDoc adapts a decoder of (id, version, doc) to a row scanner.
func idVersionDoc[T any](decode func(int64, int, string) (*T, error)) func(scanner) (*T, error) {
	return func(s scanner) (*T, error) {
		var (
			id      int64
			version int
			doc     string
		)
		if err := s.Scan(&id, &version, &doc); err != nil {
			return nil, err
		}
		return decode(id, version, doc)
	}
}

func (x *exporter) areas() error {
	return stream(x, `SELECT id, version, doc FROM areas ORDER BY id`, idVersionDoc(decodeArea),
		func(v []*bluehelm.Area) *bluehelm.DumpBatch { return &bluehelm.DumpBatch{Areas: v} })
}

func (x *exporter) alerts() error {
	return stream(x, `SELECT id, version, doc FROM alerts ORDER BY id`, idVersionDoc(decodeAlert),
		func(v []*bluehelm.Alert) *bluehelm.DumpBatch { return &bluehelm.DumpBatch{Alerts: v} })
}

func (x *exporter) units() error {
	return docs(x, units, func(v []*bluehelm.Unit) *bluehelm.DumpBatch { return &bluehelm.DumpBatch{Units: v} })
}

func (x *exporter) facilities() error {
	return docs(x, facilities, func(v []*bluehelm.MedicalFacility) *bluehelm.DumpBatch { return &bluehelm.DumpBatch{Facilities: v} })
}

func (x *exporter) tasks() error {
	return docs(x, tasks, func(v []*bluehelm.Task) *bluehelm.DumpBatch { return &bluehelm.DumpBatch{Tasks: v} })
}

func (x *exporter) casevacs() error {
	return docs(x, casevacs, func(v []*bluehelm.Casevac) *bluehelm.DumpBatch { return &bluehelm.DumpBatch{Casevacs: v} })
}

func (x *exporter) patrols() error {
	return docs(x, patrols, func(v []*bluehelm.Patrol) *bluehelm.DumpBatch { return &bluehelm.DumpBatch{Patrols: v} })
}

func (x *exporter) proximityRules() error {
	return docs(x, proximityRules, func(v []*bluehelm.ProximityRule) *bluehelm.DumpBatch {
		return &bluehelm.DumpBatch{ProximityRules: v}
	})
}

func (x *exporter) alarmRules() error {
	return docs(x, alarmRules, func(v []*bluehelm.AlarmRule) *bluehelm.DumpBatch { return &bluehelm.DumpBatch{AlarmRules: v} })
}

func (x *exporter) stockItems() error {
	return docs(x, stockItems, func(v []*bluehelm.StockItem) *bluehelm.DumpBatch { return &bluehelm.DumpBatch{StockItems: v} })
}

func (x *exporter) assets() error {
	return docs(x, assets, func(v []*bluehelm.Asset) *bluehelm.DumpBatch { return &bluehelm.DumpBatch{Assets: v} })
}

func (x *exporter) workOrders() error {
	return docs(x, workOrders, func(v []*bluehelm.WorkOrder) *bluehelm.DumpBatch { return &bluehelm.DumpBatch{WorkOrders: v} })
}

func (x *exporter) sensorRecords() error {
	return docs(x, sensors, func(v []*bluehelm.Sensor) *bluehelm.DumpBatch {
		for _, s := range v {
			x.sensors[s.ID] = sensorLabel{s.Code, s.Unit}
		}
		return &bluehelm.DumpBatch{Sensors: v}
	})
}

func (x *exporter) attachments() error {
	return stream(x, `SELECT `+attachmentCols+` FROM attachments a ORDER BY a.id`, scanAttachment,
		func(v []*bluehelm.Attachment) *bluehelm.DumpBatch { return &bluehelm.DumpBatch{Attachments: v} })
}

func (x *exporter) chat() error {
	return stream(x, `SELECT `+chatCols+` FROM chat_messages c ORDER BY c.id`, scanChat,
		func(v []*bluehelm.ChatMessage) *bluehelm.DumpBatch { return &bluehelm.DumpBatch{Chat: v} })
}

// fatalities are read by nothing else in the store (only counted), so the
// decoder is here: the document is the record as imported.
func (x *exporter) fatalities() error {
	return stream(x, `SELECT casualty_id, doc FROM fatalities ORDER BY casualty_id`, func(s scanner) (*bluehelm.Fatality, error) {
		var id, doc string
		if err := s.Scan(&id, &doc); err != nil {
			return nil, err
		}
		f := new(bluehelm.Fatality)
		if err := json.Unmarshal([]byte(doc), f); err != nil {
			return nil, fmt.Errorf("sqlite: fatality %s: corrupt document: %w", id, err)
		}
		f.CasualtyID = id
		return f, nil
	}, func(v []*bluehelm.Fatality) *bluehelm.DumpBatch { return &bluehelm.DumpBatch{Fatalities: v} })
}

func (x *exporter) campProfiles() error {
	return stream(x, `SELECT camp_id, version, doc FROM camp_profiles ORDER BY camp_id`, scanProfile,
		func(v []*bluehelm.CampProfile) *bluehelm.DumpBatch { return &bluehelm.DumpBatch{CampProfiles: v} })
}

func (x *exporter) sensorSecrets() error {
	return stream(x, `SELECT sensor_id, hash, created_at FROM sensor_credentials ORDER BY sensor_id`, func(s scanner) (bluehelm.SensorSecret, error) {
		var (
			sec bluehelm.SensorSecret
			at  int64
		)
		err := s.Scan(&sec.SensorID, &sec.Hash, &at)
		sec.CreatedAt = fromMicros(sql.NullInt64{Int64: at, Valid: true})
		return sec, err
	}, func(v []bluehelm.SensorSecret) *bluehelm.DumpBatch { return &bluehelm.DumpBatch{SensorSecrets: v} })
}

// readings walk the (sensor_id, t) key: the table's own order, no sort.
func (x *exporter) readings() error {
	return stream(x, exportReadingsQuery, func(s scanner) (bluehelm.Reading, error) {
		var (
			rd bluehelm.Reading
			t  int64
		)
		err := s.Scan(&rd.SensorID, &t, &rd.Value)
		rd.Time = fromMicros(sql.NullInt64{Int64: t, Valid: true})
		// As Readings fills them; a reading of a sensor that is gone (none
		// are deleted) keeps its id alone rather than being dropped.
		if l, ok := x.sensors[rd.SensorID]; ok {
			rd.SensorCode, rd.Unit = l.code, l.unit
		}
		return rd, err
	}, func(v []bluehelm.Reading) *bluehelm.DumpBatch { return &bluehelm.DumpBatch{Readings: v} })
}

func (x *exporter) rollups() error {
	return stream(x, exportRollupsQuery, scanRollup,
		func(v []bluehelm.SensorRollup) *bluehelm.DumpBatch { return &bluehelm.DumpBatch{Rollups: v} })
}

func (x *exporter) quarantine() error {
	return stream(x, `SELECT `+quarantineCols+` FROM quarantined_readings ORDER BY id`, scanQuarantined,
		func(v []bluehelm.QuarantinedReading) *bluehelm.DumpBatch { return &bluehelm.DumpBatch{Quarantine: v} })
}

func (x *exporter) stockMovements() error {
	return stream(x, `SELECT id, item_id, kind, quantity, t, by_user, note FROM stock_movements ORDER BY id`, scanMovement,
		func(v []bluehelm.StockMovement) *bluehelm.DumpBatch { return &bluehelm.DumpBatch{StockMovements: v} })
}

func (x *exporter) webhooks() error {
	return stream(x, `SELECT `+outboxCols+` FROM webhook_outbox ORDER BY id`, scanDelivery,
		func(v []bluehelm.WebhookDelivery) *bluehelm.DumpBatch { return &bluehelm.DumpBatch{Webhooks: v} })
}

// community carries the sender columns (scanCommunity reads them), which the
// alert's JSON leaves out.
func (x *exporter) community() error {
	return stream(x, `SELECT `+communityCols+` FROM community_alerts ORDER BY id`, scanCommunity,
		func(v []*bluehelm.CommunityAlert) *bluehelm.DumpBatch { return &bluehelm.DumpBatch{Community: v} })
}

func (x *exporter) audit() error {
	return stream(x, exportAuditQuery, scanAudit,
		func(v []bluehelm.AuditEntry) *bluehelm.DumpBatch { return &bluehelm.DumpBatch{Audit: v} })
}

func (x *exporter) tracks() error {
	return stream(x, `SELECT `+trackCols+` FROM tracks ORDER BY id`, func(s scanner) (bluehelm.Track, error) {
		var (
			t   bluehelm.Track
			id  int64
			rel string
			upd sql.NullInt64
		)
		err := s.Scan(scanTrack(nil, &id, &t, &rel, &upd)...)
		t.Releasability, t.UpdatedAt = components(rel), fromMicros(upd)
		return t, err
	}, func(v []bluehelm.Track) *bluehelm.DumpBatch { return &bluehelm.DumpBatch{Tracks: v} })
}

// incidents sends each incident with its revisions, oldest first. One query
// walks incidents by id and, for each, its revisions through the (incident_id,
// version) key, so the rows come in order without a sort. A batch is cut at
// exportBatch incidents or revisions, whichever comes first (an incident
// edited often weighs as much as its revisions).
func (x *exporter) incidents() error {
	rows, err := x.tx.QueryContext(x.ctx, exportIncidentsQuery)
	if err != nil {
		return dbErr(err)
	}
	defer rows.Close()
	var (
		batch []bluehelm.IncidentHistory
		revs  int
		cur   *bluehelm.IncidentHistory
	)
	// done checks the incident just completed and sends the batch when full.
	done := func() error {
		if cur == nil {
			return nil
		}
		if cur.Incident == nil {
			return fmt.Errorf("sqlite: incident %d: its current revision is missing", cur.Revisions[0].IncidentID)
		}
		batch = append(batch, *cur)
		revs += len(cur.Revisions)
		cur = nil
		if len(batch) >= exportBatch || revs >= exportBatch {
			b := &bluehelm.DumpBatch{Incidents: batch}
			batch, revs = nil, 0
			return x.put(x.ctx, b)
		}
		return nil
	}
	for rows.Next() {
		var (
			id, curRev, rev int64
			version         int
			r               bluehelm.Revision
			at              int64
			doc             []byte
		)
		if err := rows.Scan(&id, &version, &curRev, &rev, &r.Version, &at, &r.Actor, &r.Action, &doc); err != nil {
			return dbErr(err)
		}
		r.IncidentID = id
		if err := decodeRevision(&r, at, doc); err != nil {
			return err
		}
		if cur != nil && cur.Revisions[0].IncidentID != id {
			if err := done(); err != nil {
				return err
			}
		}
		if cur == nil {
			cur = &bluehelm.IncidentHistory{}
		}
		cur.Revisions = append(cur.Revisions, r)
		if rev == curRev {
			// Decoded apart from the revision, as Incident does, so the
			// two values share nothing.
			if cur.Incident, err = decodeIncident(id, version, doc); err != nil {
				return err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return dbErr(err)
	}
	if err := done(); err != nil {
		return err
	}
	if len(batch) > 0 {
		return x.put(x.ctx, &bluehelm.DumpBatch{Incidents: batch})
	}
	return nil
}

// positionSender collects reports into batches of exportBatch.
type positionSender struct {
	x   *exporter
	buf []bluehelm.Position
}

func (s *positionSender) add(p bluehelm.Position) error {
	if s.buf == nil {
		s.buf = make([]bluehelm.Position, 0, exportBatch)
	}
	s.buf = append(s.buf, p)
	if len(s.buf) == exportBatch {
		return s.flush()
	}
	return nil
}

func (s *positionSender) flush() error {
	if len(s.buf) == 0 {
		return nil
	}
	b := &bluehelm.DumpBatch{Positions: s.buf}
	s.buf = nil
	return s.x.put(s.x.ctx, b)
}

// positions sends every stored report once, as Positions would answer it:
// each report of the segments, then each report of the log that is the first
// stored copy of its (track, time): not an earlier log row's time, not a time
// a segment holds (see firstCopies). The log is read sorted by track, time and
// seq, so an earlier copy is the previous row; a report at or before its
// track's last_t (the newest time in segments) may also be in a segment, and is
// held until up to exportBatch of them are checked against the track's
// segments in one query. Memory stays at a batch and a segment.
func (x *exporter) positions() error {
	out := &positionSender{x: x}
	rows, err := x.tx.QueryContext(x.ctx, exportSegmentsQuery)
	if err != nil {
		return dbErr(err)
	}
	defer rows.Close()
	var pts []point
	for rows.Next() {
		var (
			uid  string
			tMin int64
			data sql.RawBytes
		)
		if err := rows.Scan(&uid, &tMin, &data); err != nil {
			return dbErr(err)
		}
		if pts, err = decodeSegment(pts[:0], data, tMin); err != nil {
			return fmt.Errorf("sqlite: segment of %s at %d: %w", uid, tMin, err)
		}
		for _, p := range pts {
			if err := out.add(p.position(uid)); err != nil {
				return err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return dbErr(err)
	}
	rows.Close()
	if err := x.logPositions(out); err != nil {
		return err
	}
	return out.flush()
}

func (x *exporter) logPositions(out *positionSender) error {
	rows, err := x.tx.QueryContext(x.ctx, exportLogQuery)
	if err != nil {
		return dbErr(err)
	}
	defer rows.Close()
	var (
		track   int64 = math.MinInt64
		uid     string
		prevT   int64
		pending []point // reports of track that a segment may hold, by time
	)
	check := func() error {
		if len(pending) == 0 {
			return nil
		}
		kept, err := x.notInSegments(track, pending)
		if err != nil {
			return err
		}
		for _, p := range kept {
			if err := out.add(p.position(uid)); err != nil {
				return err
			}
		}
		pending = pending[:0]
		return nil
	}
	for rows.Next() {
		var (
			seq, tid, t int64
			data        sql.RawBytes
			tuid        sql.NullString
			lastT       sql.NullInt64
		)
		if err := rows.Scan(&seq, &tid, &t, &data, &tuid, &lastT); err != nil {
			return dbErr(err)
		}
		if !tuid.Valid {
			return fmt.Errorf("sqlite: position_log seq %d: track %d does not exist", seq, tid)
		}
		if tid == track && t == prevT {
			continue // a later copy: the first stored wins
		}
		if tid != track {
			if err := check(); err != nil {
				return err
			}
			track, uid = tid, tuid.String
		}
		prevT = t
		p := point{t: t}
		if err := decodeLogPoint(data, &p); err != nil {
			return fmt.Errorf("sqlite: position_log seq %d: %w", seq, err)
		}
		if lastT.Valid && t <= lastT.Int64 {
			pending = append(pending, p)
			if len(pending) == exportBatch {
				if err := check(); err != nil {
					return err
				}
			}
			continue
		}
		if err := check(); err != nil {
			return err
		}
		if err := out.add(p.position(uid)); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return dbErr(err)
	}
	return check()
}

// notInSegments returns the reports of pts (one track's, by distinct time)
// whose times no segment of the track holds. Segments span at most
// segmentMaxSpan, so those holding times in [lo, hi] start no earlier than
// lo - segmentMaxSpan.
func (x *exporter) notInSegments(trackID int64, pts []point) ([]point, error) {
	lo, hi := pts[0].t, pts[len(pts)-1].t
	want := make(map[int64]bool, len(pts))
	for _, p := range pts {
		want[p.t] = false
	}
	rows, err := x.tx.QueryContext(x.ctx, `SELECT t_min, data FROM position_segments WHERE track_id = ? AND t_min >= ? AND t_min <= ? AND t_max >= ?`,
		trackID, lo-segmentMaxSpan.Milliseconds(), hi, lo)
	if err != nil {
		return nil, dbErr(err)
	}
	defer rows.Close()
	var buf []point
	for rows.Next() {
		var (
			tMin int64
			data sql.RawBytes
		)
		if err := rows.Scan(&tMin, &data); err != nil {
			return nil, dbErr(err)
		}
		if buf, err = decodeSegment(buf[:0], data, tMin); err != nil {
			return nil, err
		}
		for _, p := range buf {
			if _, ok := want[p.t]; ok {
				want[p.t] = true
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(err)
	}
	out := pts[:0:0]
	for _, p := range pts {
		if !want[p.t] {
			out = append(out, p)
		}
	}
	return out, nil
}

// exportIDs names the kinds of the IDs batch and the table and column of
// each: a kind is the word the audit log's objects use ("incident/42"), and
// every kind whose id a record, a client or an audit entry can name is here:
//
//	user, token, incident, area, alert, device, chat_message, attachment,
//	unit, patrol, task, facility, proximity_rule, sensor, alarm_rule,
//	quarantined_reading, stock_item, stock_movement, asset, work_order,
//	webhook_delivery, casevac, community_alert, audit (the last seq)
//
// The value is the highest id ever issued: for the AUTOINCREMENT tables
// (areas, proximity_rules, alarm_rules, assets, whose records are deleted)
// sqlite_sequence, which remembers deleted ids; for the others, whose records
// are never deleted (or, for quarantined readings, only the oldest), max(id).
// Taking the larger of both for every table needs no list of which is which.
var exportIDs = []struct{ kind, table, col string }{
	{"user", "users", "id"},
	{"token", "tokens", "id"},
	{"incident", "incidents", "id"},
	{"area", "areas", "id"},
	{"alert", "alerts", "id"},
	{"device", "devices", "id"},
	{"chat_message", "chat_messages", "id"},
	{"attachment", "attachments", "id"},
	{"unit", "units", "id"},
	{"patrol", "patrols", "id"},
	{"task", "tasks", "id"},
	{"facility", "medical_facilities", "id"},
	{"proximity_rule", "proximity_rules", "id"},
	{"sensor", "sensors", "id"},
	{"alarm_rule", "alarm_rules", "id"},
	{"quarantined_reading", "quarantined_readings", "id"},
	{"stock_item", "stock_items", "id"},
	{"stock_movement", "stock_movements", "id"},
	{"asset", "assets", "id"},
	{"work_order", "work_orders", "id"},
	{"webhook_delivery", "webhook_outbox", "id"},
	{"casevac", "casevacs", "id"},
	{"community_alert", "community_alerts", "id"},
	{"audit", "audit", "seq"},
}

func (x *exporter) ids() error {
	ids := make(map[string]int64, len(exportIDs))
	for _, k := range exportIDs {
		var n int64
		if err := x.tx.QueryRowContext(x.ctx, `SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = ?), 0),
			coalesce((SELECT max(`+k.col+`) FROM `+k.table+`), 0))`, k.table).Scan(&n); err != nil {
			return dbErr(err)
		}
		ids[k.kind] = n
	}
	return x.put(x.ctx, &bluehelm.DumpBatch{IDs: ids})
}
