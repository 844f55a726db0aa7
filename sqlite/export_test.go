package sqlite

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/paulmach/orb"
)

// exportAll runs Export and collects its batches, checking what every batch
// must be: one kind, at most exportBatch records, the IDs batch last.
func exportAll(t *testing.T, db *DB) (all bluehelm.DumpBatch, batches []*bluehelm.DumpBatch) {
	t.Helper()
	err := db.Export(t.Context(), func(_ context.Context, b *bluehelm.DumpBatch) error {
		batches = append(batches, b)
		if n := batchKinds(b); n != 1 {
			t.Errorf("batch %d holds %d kinds, want 1", len(batches), n)
		}
		if b.Len() == 0 || b.Len() > exportBatch {
			t.Errorf("batch %d holds %d records, want 1..%d", len(batches), b.Len(), exportBatch)
		}
		if all.IDs != nil {
			t.Errorf("batch %d comes after the IDs", len(batches))
		}
		appendBatch(&all, b)
		return nil
	})
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	if all.IDs == nil {
		t.Fatal("Export sent no IDs batch")
	}
	return all, batches
}

// batchKinds counts the non-empty fields of b.
func batchKinds(b *bluehelm.DumpBatch) int {
	n := 0
	for _, l := range []int{len(b.Users), len(b.Tokens), len(b.Sessions), len(b.Incidents), len(b.Tracks), len(b.Positions),
		len(b.Areas), len(b.Alerts), len(b.Devices), len(b.Chat), len(b.Attachments), len(b.Units), len(b.Patrols), len(b.Tasks),
		len(b.Facilities), len(b.ProximityRules), len(b.Fatalities), len(b.Sensors), len(b.SensorSecrets), len(b.AlarmRules),
		len(b.Readings), len(b.Rollups), len(b.Quarantine), len(b.StockItems), len(b.StockMovements), len(b.CampProfiles),
		len(b.Assets), len(b.WorkOrders), len(b.Webhooks), len(b.Casevacs), len(b.Community), len(b.Audit), len(b.IDs)} {
		if l > 0 {
			n++
		}
	}
	return n
}

func appendBatch(all, b *bluehelm.DumpBatch) {
	all.Users = append(all.Users, b.Users...)
	all.Tokens = append(all.Tokens, b.Tokens...)
	all.Sessions = append(all.Sessions, b.Sessions...)
	all.Incidents = append(all.Incidents, b.Incidents...)
	all.Tracks = append(all.Tracks, b.Tracks...)
	all.Positions = append(all.Positions, b.Positions...)
	all.Areas = append(all.Areas, b.Areas...)
	all.Alerts = append(all.Alerts, b.Alerts...)
	all.Devices = append(all.Devices, b.Devices...)
	all.Chat = append(all.Chat, b.Chat...)
	all.Attachments = append(all.Attachments, b.Attachments...)
	all.Units = append(all.Units, b.Units...)
	all.Patrols = append(all.Patrols, b.Patrols...)
	all.Tasks = append(all.Tasks, b.Tasks...)
	all.Facilities = append(all.Facilities, b.Facilities...)
	all.ProximityRules = append(all.ProximityRules, b.ProximityRules...)
	all.Fatalities = append(all.Fatalities, b.Fatalities...)
	all.Sensors = append(all.Sensors, b.Sensors...)
	all.SensorSecrets = append(all.SensorSecrets, b.SensorSecrets...)
	all.AlarmRules = append(all.AlarmRules, b.AlarmRules...)
	all.Readings = append(all.Readings, b.Readings...)
	all.Rollups = append(all.Rollups, b.Rollups...)
	all.Quarantine = append(all.Quarantine, b.Quarantine...)
	all.StockItems = append(all.StockItems, b.StockItems...)
	all.StockMovements = append(all.StockMovements, b.StockMovements...)
	all.CampProfiles = append(all.CampProfiles, b.CampProfiles...)
	all.Assets = append(all.Assets, b.Assets...)
	all.WorkOrders = append(all.WorkOrders, b.WorkOrders...)
	all.Webhooks = append(all.Webhooks, b.Webhooks...)
	all.Casevacs = append(all.Casevacs, b.Casevacs...)
	all.Community = append(all.Community, b.Community...)
	all.Audit = append(all.Audit, b.Audit...)
	if b.IDs != nil {
		all.IDs = b.IDs
	}
}

// exportFixture is what populate stored, for the comparisons.
type exportFixture struct {
	secret      string // sensor secret in clear
	fatality    *bluehelm.Fatality
	uids        []string
	deleted     map[string]int64 // kind → the id of a deleted record, the highest issued
	sensorIDs   []int64
	positionsIn int // positions appended without duplicates
}

const (
	exportReadings  = 4500 // more than two batches
	exportPositions = 2500 // per phase: more than a batch
)

// populateExport stores at least one record of every kind through the Store
// API and returns the store: positions first compacted into segments (every
// batch compacts), then, after a reopen that never compacts, more in the log.
func populateExport(t *testing.T) (*DB, exportFixture) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bluehelm.db")
	ctx := t.Context()
	fx := exportFixture{secret: "s3cret", deleted: map[string]int64{}}
	audit := func(action string) bluehelm.AuditEntry { return bluehelm.NewAudit(sys, action, "", nil) }
	m := bluehelm.Marking{Component: bluehelm.Military, Releasability: []bluehelm.Component{bluehelm.Police}}
	step := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	o := defaults()
	o.compactRows = 1 // every commit compacts: the first positions go to segments
	db, err := open(path, o)
	step("open", err)
	fx.uids = []string{"veh-1", "veh-2", "ANDROID-3"}
	var first []bluehelm.Position
	for i := range exportPositions {
		first = append(first, bluehelm.Position{UID: fx.uids[i%3], Time: t0.Add(time.Duration(i) * time.Second), Lat: 4.8 + float64(i)/1e4, Lon: 31.5,
			HAE: 400, CE: 5, Course: 90, Speed: 3, Battery: 80, Source: "test"})
	}
	tracks := []bluehelm.Track{{UID: "veh-1", Callsign: "Alpha", Kind: bluehelm.KindVehicle, Marking: m, UpdatedAt: t0}}
	step("AppendPositions (segments)", db.AppendPositions(ctx, tracks, first))
	step("close", db.Close())

	o = defaults()
	o.compactRows, o.compactIdle, o.keepLog = 1<<30, time.Hour, true
	db, err = open(path, o)
	step("reopen", err)
	t.Cleanup(func() { db.Close() })
	var second []bluehelm.Position
	for i := range exportPositions {
		second = append(second, bluehelm.Position{UID: fx.uids[i%3], Time: t0.Add(time.Hour + time.Duration(i)*time.Second), Lat: 4.9, Lon: 31.6 + float64(i)/1e4, Source: "cot"})
	}
	step("AppendPositions (log)", db.AppendPositions(ctx, nil, second))
	fx.positionsIn = len(first) + len(second)

	u := &bluehelm.User{Username: "alice", Name: "Alice", Role: bluehelm.RoleReporter, Component: bluehelm.Police, Clearance: 1,
		CreatedAt: t0, PasswordHash: "$argon2id$v=19$hash", Language: "fr"}
	step("CreateUser", db.CreateUser(ctx, u, audit("user.create")))
	step("CreateToken", db.CreateToken(ctx, &bluehelm.Token{UserID: u.ID, Name: "ci", Hash: "tokenhash", CreatedAt: t0}, audit("token.create")))
	step("CreateSession", db.CreateSession(ctx, &bluehelm.Session{Hash: "sessionhash", UserID: u.ID, CSRF: "csrf", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}))
	d := &bluehelm.Device{Name: "alpha-1", UserID: u.ID, Serial: "0a", Fingerprint: strings.Repeat("f", 64),
		Groups: []string{bluehelm.DefaultGroup}, NotAfter: t0.Add(24 * time.Hour), CreatedAt: t0}
	step("CreateDevice", db.CreateDevice(ctx, d, audit("device.create")))

	areas := []*bluehelm.Area{
		{Name: "camp", Kind: bluehelm.AreaRestricted, Geometry: bluehelm.Geometry{Geometry: orb.Polygon{{{31, 4}, {32, 4}, {32, 5}, {31, 4}}}}, Marking: m},
		{Name: "gone", Kind: bluehelm.AreaRestricted, Geometry: bluehelm.Geometry{Geometry: orb.Polygon{{{31, 4}, {32, 4}, {32, 5}, {31, 4}}}}, Marking: m},
	}
	for _, a := range areas {
		step("CreateArea", db.CreateArea(ctx, a, audit("area.create")))
	}
	step("DeleteArea", db.DeleteArea(ctx, areas[1].ID, areas[1].Version, audit("area.delete")))
	fx.deleted["area"] = areas[1].ID

	un := &bluehelm.Unit{Code: "BANBATT-2/B", Name: "B company", Mobility: bluehelm.MobilityFoot, Marking: m, UpdatedAt: t0}
	step("CreateUnit", db.CreateUnit(ctx, un, audit("unit.create")))
	step("CreateFacility", db.CreateFacility(ctx, &bluehelm.MedicalFacility{Name: "Bor clinic", Level: "1", Location: bluehelm.Point{Lon: 31.55, Lat: 6.2}, Marking: m}, audit("facility.create")))

	inc := testIncident("Shots near the market", t0, 31.6, 4.9)
	step("CreateIncident", db.CreateIncident(ctx, inc, audit("incident.create")))
	inc.Narrative = "Edited"
	step("UpdateIncident", db.UpdateIncident(ctx, inc, "edit", audit("incident.edit")))
	step("CreateIncident", db.CreateIncident(ctx, testIncident("Second", t0.Add(time.Hour), 31.7, 4.8), audit("incident.create")))
	att := &bluehelm.Attachment{SHA256: strings.Repeat("ab", 32), Name: "photo.jpg", Size: 10, Keywords: []string{"bridge", "river"},
		IncidentID: inc.ID, CreatedAt: t0, Marking: m}
	step("CreateAttachment", db.CreateAttachment(ctx, att, audit("attachment.create")))
	step("CreateTask", db.CreateTask(ctx, &bluehelm.Task{Title: "Respond", Location: bluehelm.Point{Lon: 31.6, Lat: 4.9}, Unit: un.Code, IncidentID: inc.ID,
		Status: bluehelm.TaskAssigned, AssignedAt: t0, Marking: m}, audit("task.dispatch")))
	step("CreateCasevac", db.CreateCasevac(ctx, &bluehelm.Casevac{IncidentID: inc.ID, CoTUID: "casevac-1", Status: bluehelm.CasevacRequested,
		RequestedAt: t0, Marking: m}, audit("casevac.create")))
	step("CreatePatrol", db.CreatePatrol(ctx, &bluehelm.Patrol{Name: "LRP 14", Type: bluehelm.PatrolFoot, Units: []string{un.Code}, Strength: 12,
		Route:        bluehelm.Geometry{Geometry: orb.LineString{{31.5, 4.8}, {31.6, 4.9}}},
		PlannedStart: t0, PlannedEnd: t0.Add(6 * time.Hour), Status: bluehelm.PatrolApproved, Marking: m}, audit("patrol.create")))

	step("AppendChat", db.AppendChat(ctx, &bluehelm.ChatMessage{UID: "GeoChat.1", SenderUID: "ANDROID-3", Chatroom: "All Chat Rooms", Text: "hello",
		RecipientUIDs: []string{"veh-1"}, Time: t0, Marking: m}))

	rules := []*bluehelm.ProximityRule{
		{Name: "kept", A: bluehelm.TrackSelector{Units: []string{"A"}}, B: bluehelm.TrackSelector{Units: []string{"B"}}, DistanceMeters: 100, Severity: bluehelm.SevInfo, Marking: m},
		{Name: "gone", A: bluehelm.TrackSelector{Units: []string{"A"}}, B: bluehelm.TrackSelector{Units: []string{"C"}}, DistanceMeters: 100, Severity: bluehelm.SevInfo, Marking: m},
	}
	for _, r := range rules {
		step("CreateProximityRule", db.CreateProximityRule(ctx, r, audit("proximity.create")))
	}
	step("DeleteProximityRule", db.DeleteProximityRule(ctx, rules[1].ID, rules[1].Version, audit("proximity.delete")))
	fx.deleted["proximity_rule"] = rules[1].ID

	fx.fatality = &bluehelm.Fatality{CasualtyID: "UNMISS-2024-00001", Mission: "UNMISS", IncidentDate: t0, IncidentType: "Accident",
		PersonnelType: "Military", Gender: "M", Nationality: "Nepal", NationalityISO3: "NPL"}
	_, _, err = db.ImportFatalities(ctx, []*bluehelm.Fatality{fx.fatality}, audit("fatalities.import"))
	step("ImportFatalities", err)

	step("PutCampProfile", db.PutCampProfile(ctx, &bluehelm.CampProfile{CampID: areas[0].ID, Population: 800, WaterStandardLPD: 84}, audit("camp.profile")))
	s := &bluehelm.Sensor{Code: "C1-FUEL-1", Kind: bluehelm.SensorFuelLevel, CampID: areas[0].ID, Unit: "%", IntervalSeconds: 60, Marking: m}
	step("CreateSensor", db.CreateSensor(ctx, s, audit("sensor.create")))
	s2 := &bluehelm.Sensor{Code: "C1-FUEL-2", Kind: bluehelm.SensorFuelLevel, CampID: areas[0].ID, Unit: "%", IntervalSeconds: 60, Marking: m}
	step("CreateSensor", db.CreateSensor(ctx, s2, audit("sensor.create")))
	fx.sensorIDs = []int64{s.ID, s2.ID}
	step("SetSensorSecret", db.SetSensorSecret(ctx, s.ID, bluehelm.HashSensorSecret(fx.secret), audit("sensor.secret")))
	alarms := []*bluehelm.AlarmRule{
		{Kind: bluehelm.AlarmStale, CampID: areas[0].ID, SensorID: s.ID, Severity: bluehelm.SevInfo},
		{Kind: bluehelm.AlarmStale, CampID: areas[0].ID, SensorID: s2.ID, Severity: bluehelm.SevInfo},
	}
	for _, r := range alarms {
		step("CreateAlarmRule", db.CreateAlarmRule(ctx, r, audit("alarm_rule.create")))
	}
	step("DeleteAlarmRule", db.DeleteAlarmRule(ctx, alarms[1].ID, alarms[1].Version, audit("alarm_rule.delete")))
	fx.deleted["alarm_rule"] = alarms[1].ID
	var rs []bluehelm.Reading
	for i := range exportReadings {
		rs = append(rs, bluehelm.Reading{SensorID: fx.sensorIDs[i%2], Time: t0.Add(time.Duration(i) * time.Minute), Value: float64(i % 100)})
	}
	_, _, err = db.AppendReadings(ctx, rs)
	step("AppendReadings", err)
	step("AppendRollups", db.AppendRollups(ctx, []bluehelm.SensorRollup{
		{SensorID: s.ID, Resolution: bluehelm.RollupHour, Start: t0, Count: 2, Min: 1, Max: 2, Sum: 3, Last: 2, LastTime: t0.Add(time.Minute)},
		{SensorID: s.ID, Resolution: bluehelm.RollupMinute, Start: t0, Count: 1, Min: 1, Max: 1, Sum: 1, Last: 1, LastTime: t0},
	}))
	step("QuarantineReadings", db.QuarantineReadings(ctx, []bluehelm.QuarantinedReading{
		{ReceivedAt: t0, SensorCode: "NOPE", Time: t0, Value: 1, Unit: "%", Field: "sensor_code", Reason: "unknown sensor", Source: "mqtt"}}))

	it := &bluehelm.StockItem{Name: "Diesel", Kind: bluehelm.StockDiesel, Unit: "L", CampID: areas[0].ID, Store: "farm", Marking: m}
	step("CreateStockItem", db.CreateStockItem(ctx, it, audit("stock.create")))
	_, err = db.AppendStockMovement(ctx, &bluehelm.StockMovement{ItemID: it.ID, Kind: bluehelm.MoveReceipt, Quantity: 900, Time: t0, By: "alice", Note: "convoy"}, audit("stock.move"))
	step("AppendStockMovement", err)

	assets := []*bluehelm.Asset{
		{CampID: areas[0].ID, Kind: bluehelm.AssetGenerator, Name: "G1", RatedKW: 250, Marking: m, CreatedAt: t0},
		{CampID: areas[0].ID, Kind: bluehelm.AssetGenerator, Name: "G2", RatedKW: 250, Marking: m, CreatedAt: t0},
	}
	for _, a := range assets {
		step("CreateAsset", db.CreateAsset(ctx, a, audit("asset.create")))
	}
	step("CreateWorkOrder", db.CreateWorkOrder(ctx, &bluehelm.WorkOrder{CampID: areas[0].ID, AssetID: assets[0].ID, Task: "oil change",
		Status: bluehelm.WorkOpen, DueAtHours: 1250, Auto: true, CreatedAt: t0}, audit("work_order.create")))
	step("DeleteAsset", db.DeleteAsset(ctx, assets[1].ID, assets[1].Version, audit("asset.delete")))
	fx.deleted["asset"] = assets[1].ID
	step("EnqueueWebhook", db.EnqueueWebhook(ctx, &bluehelm.WebhookDelivery{Key: "alert/1/escalation/1", URL: "http://127.0.0.1:9/hook",
		Body: []byte(`{"a":1}`), NextAt: t0, CreatedAt: t0}))

	ca := &bluehelm.CommunityAlert{ReceivedAt: t0, Channel: bluehelm.ChannelSMS, Source: "sms:generic", ExternalID: "m1", Text: "Armed men in Bor market",
		State: bluehelm.CommunityNew, Marking: bluehelm.CommunityMarking, SenderPseudonym: "pseudo-A", SenderSealed: []byte("sealed-A")}
	_, err = db.CreateCommunityAlert(ctx, ca, bluehelm.CommunityGrouping{Window: time.Hour, TextKey: bluehelm.TextKey(ca.Text)}, audit("community.receive"))
	step("CreateCommunityAlert", err)

	step("CreateAlert", db.CreateAlert(ctx, &bluehelm.Alert{Source: bluehelm.AlertGeofence, Severity: bluehelm.SevWarning, State: bluehelm.AlertOpen,
		Title: "entered", AreaID: areas[0].ID, Marking: m, RaisedAt: t0, RaisedBy: "geofence"}, audit("alert.raise")))
	step("AppendAudit", db.AppendAudit(ctx, bluehelm.AuditEntry{Actor: "test", Action: "test.note", Object: "x", Detail: json.RawMessage(`{"n":1}`)}))
	return db, fx
}

// exportTables maps every data table to the records Export sends for it: a
// table missing here (one added later without export) fails TestExportCounts.
// count is the query giving how many records the table holds, when not
// count(*).
var exportTables = map[string]struct {
	count string
	got   func(*bluehelm.DumpBatch) int
}{
	"users":              {"", func(b *bluehelm.DumpBatch) int { return len(b.Users) }},
	"tokens":             {"", func(b *bluehelm.DumpBatch) int { return len(b.Tokens) }},
	"sessions":           {"", func(b *bluehelm.DumpBatch) int { return len(b.Sessions) }},
	"incidents":          {"", func(b *bluehelm.DumpBatch) int { return len(b.Incidents) }},
	"incident_revisions": {"", func(b *bluehelm.DumpBatch) int { return revisionCount(b) }},
	"tracks":             {"", func(b *bluehelm.DumpBatch) int { return len(b.Tracks) }},
	// The two stages of position history hold the reports once between them
	// (the fixture stores no copies; TestExportPositions does).
	"position_log":         {positionCount, func(b *bluehelm.DumpBatch) int { return len(b.Positions) }},
	"position_segments":    {positionCount, func(b *bluehelm.DumpBatch) int { return len(b.Positions) }},
	"areas":                {"", func(b *bluehelm.DumpBatch) int { return len(b.Areas) }},
	"alerts":               {"", func(b *bluehelm.DumpBatch) int { return len(b.Alerts) }},
	"devices":              {"", func(b *bluehelm.DumpBatch) int { return len(b.Devices) }},
	"chat_messages":        {"", func(b *bluehelm.DumpBatch) int { return len(b.Chat) }},
	"attachments":          {"", func(b *bluehelm.DumpBatch) int { return len(b.Attachments) }},
	"units":                {"", func(b *bluehelm.DumpBatch) int { return len(b.Units) }},
	"patrols":              {"", func(b *bluehelm.DumpBatch) int { return len(b.Patrols) }},
	"tasks":                {"", func(b *bluehelm.DumpBatch) int { return len(b.Tasks) }},
	"medical_facilities":   {"", func(b *bluehelm.DumpBatch) int { return len(b.Facilities) }},
	"proximity_rules":      {"", func(b *bluehelm.DumpBatch) int { return len(b.ProximityRules) }},
	"fatalities":           {"", func(b *bluehelm.DumpBatch) int { return len(b.Fatalities) }},
	"sensors":              {"", func(b *bluehelm.DumpBatch) int { return len(b.Sensors) }},
	"sensor_credentials":   {"", func(b *bluehelm.DumpBatch) int { return len(b.SensorSecrets) }},
	"alarm_rules":          {"", func(b *bluehelm.DumpBatch) int { return len(b.AlarmRules) }},
	"readings":             {"", func(b *bluehelm.DumpBatch) int { return len(b.Readings) }},
	"sensor_rollups":       {"", func(b *bluehelm.DumpBatch) int { return len(b.Rollups) }},
	"quarantined_readings": {"", func(b *bluehelm.DumpBatch) int { return len(b.Quarantine) }},
	"stock_items":          {"", func(b *bluehelm.DumpBatch) int { return len(b.StockItems) }},
	"stock_movements":      {"", func(b *bluehelm.DumpBatch) int { return len(b.StockMovements) }},
	"camp_profiles":        {"", func(b *bluehelm.DumpBatch) int { return len(b.CampProfiles) }},
	"assets":               {"", func(b *bluehelm.DumpBatch) int { return len(b.Assets) }},
	"work_orders":          {"", func(b *bluehelm.DumpBatch) int { return len(b.WorkOrders) }},
	"webhook_outbox":       {"", func(b *bluehelm.DumpBatch) int { return len(b.Webhooks) }},
	"casevacs":             {"", func(b *bluehelm.DumpBatch) int { return len(b.Casevacs) }},
	"community_alerts":     {"", func(b *bluehelm.DumpBatch) int { return len(b.Community) }},
	"audit":                {"", func(b *bluehelm.DumpBatch) int { return len(b.Audit) }},
}

const positionCount = `SELECT (SELECT coalesce(sum(n), 0) FROM position_segments) + (SELECT count(*) FROM position_log)`

// derivedTables are tables Export need not send, and why: the destination
// rebuilds them from what it is sent (or keeps its own).
var derivedTables = map[string]string{
	"attachment_keywords":    "from attachments' keywords",
	"patrol_units":           "from patrols' units",
	"position_segment_cells": "from the positions",
	"schema_migrations":      "the destination's own schema history",
}

func revisionCount(b *bluehelm.DumpBatch) int {
	n := 0
	for _, h := range b.Incidents {
		n += len(h.Revisions)
	}
	return n
}

// TestExportCounts checks that every table of the schema is exported whole:
// for each table in sqlite_master but the indexes Export need not send (virtual
// tables and their shadows, derivedTables), the records exported equal the
// rows stored, and the fixture stored some.
func TestExportCounts(t *testing.T) {
	db, _ := populateExport(t)
	all, _ := exportAll(t, db)
	rows, err := db.r.QueryContext(t.Context(), `SELECT name, type, coalesce(sql, '') FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	var tables, virtual []string
	for rows.Next() {
		var name, typ, ddl string
		if err := rows.Scan(&name, &typ, &ddl); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(strings.ToUpper(ddl), "CREATE VIRTUAL TABLE") {
			virtual = append(virtual, name)
		}
		tables = append(tables, name)
	}
	rows.Close()
	if len(virtual) == 0 {
		t.Fatal("no virtual tables found: the shadow-table filter below would not be tested")
	}
	seen := 0
	for _, name := range tables {
		shadow := strings.HasPrefix(name, "sqlite_") || slices.ContainsFunc(virtual, func(v string) bool { return name == v || strings.HasPrefix(name, v+"_") })
		if _, ok := derivedTables[name]; ok || shadow {
			continue
		}
		seen++
		tab, ok := exportTables[name]
		if !ok {
			t.Errorf("table %s is not exported (add it to Export and to exportTables)", name)
			continue
		}
		q := tab.count
		if q == "" {
			q = `SELECT count(*) FROM ` + name
		}
		var want int
		if err := db.r.QueryRowContext(t.Context(), q).Scan(&want); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if want == 0 {
			t.Errorf("table %s: the fixture stored nothing", name)
		}
		if got := tab.got(&all); got != want {
			t.Errorf("table %s: exported %d records, stored %d", name, got, want)
		}
	}
	if seen != len(exportTables) {
		t.Errorf("%d data tables in the schema, exportTables names %d", seen, len(exportTables))
	}
	// Every AUTOINCREMENT table's records are deleted, so the destination must
	// learn the highest id issued: a new one must be in exportIDs.
	auto, err := db.r.QueryContext(t.Context(), `SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%AUTOINCREMENT%' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	var autos []string
	for auto.Next() {
		var name string
		if err := auto.Scan(&name); err != nil {
			t.Fatal(err)
		}
		autos = append(autos, name)
		if !slices.ContainsFunc(exportIDs, func(k struct{ kind, table, col string }) bool { return k.table == name }) {
			t.Errorf("AUTOINCREMENT table %s has no kind in exportIDs", name)
		}
	}
	auto.Close()
	if !slices.Contains(autos, "areas") {
		t.Errorf("AUTOINCREMENT tables %v: areas is one, the query is wrong", autos)
	}
	for _, name := range []string{"position_log", "position_segments"} {
		var n int
		if err := db.r.QueryRowContext(t.Context(), `SELECT count(*) FROM `+name).Scan(&n); err != nil || n == 0 {
			t.Errorf("%s holds %d rows (%v): the fixture must store positions in both stages", name, n, err)
		}
	}
}

func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(g, w) {
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

// TestExportValues checks that what Export sends equals what the Store API
// returns, compared as JSON, and carries the fields the JSON leaves out.
func TestExportValues(t *testing.T) {
	db, fx := populateExport(t)
	ctx := t.Context()
	all, batches := exportAll(t, db)

	for _, c := range []struct {
		name string
		got  any
		want func() (any, error)
	}{
		{"users", all.Users, func() (any, error) { return db.Users(ctx) }},
		{"tokens", all.Tokens, func() (any, error) { return db.Tokens(ctx, all.Users[0].ID) }},
		{"sessions", all.Sessions, func() (any, error) {
			s, err := db.SessionByHash(ctx, "sessionhash")
			return []*bluehelm.Session{s}, err
		}},
		{"incidents", all.Incidents, func() (any, error) {
			var out []bluehelm.IncidentHistory
			for _, h := range all.Incidents {
				inc, err := db.Incident(ctx, h.Incident.ID)
				if err != nil {
					return nil, err
				}
				revs, err := db.IncidentRevisions(ctx, h.Incident.ID)
				if err != nil {
					return nil, err
				}
				out = append(out, bluehelm.IncidentHistory{Incident: inc, Revisions: revs})
			}
			return out, nil
		}},
		{"tracks", sortedBy(all.Tracks, func(t bluehelm.Track) string { return t.UID }), func() (any, error) { return db.Tracks(ctx) }},
		{"positions", sortedPositions(all.Positions), func() (any, error) {
			var out []bluehelm.Position
			for _, uid := range fx.uids {
				ps, err := db.Positions(ctx, bluehelm.PositionQuery{UID: uid, Limit: maxPositions})
				if err != nil {
					return nil, err
				}
				out = append(out, ps...)
			}
			if len(out) != fx.positionsIn {
				return nil, fmt.Errorf("Positions found %d, %d were stored", len(out), fx.positionsIn)
			}
			return sortedPositions(out), nil
		}},
		{"areas", all.Areas, func() (any, error) { return db.Areas(ctx) }},
		{"alerts", all.Alerts, func() (any, error) {
			a, err := db.Alert(ctx, all.Alerts[0].ID)
			return []*bluehelm.Alert{a}, err
		}},
		{"devices", all.Devices, func() (any, error) { return db.Devices(ctx, 0) }},
		{"chat", all.Chat, func() (any, error) { return db.Chat(ctx, bluehelm.ChatFilter{Viewer: sys}) }},
		{"attachments", all.Attachments, func() (any, error) {
			a, err := db.Attachment(ctx, all.Attachments[0].ID)
			return []*bluehelm.Attachment{a}, err
		}},
		{"units", all.Units, func() (any, error) { return db.Units(ctx) }},
		{"patrols", all.Patrols, func() (any, error) { return db.FindPatrols(ctx, bluehelm.PatrolFilter{Viewer: sys}) }},
		{"tasks", all.Tasks, func() (any, error) { return db.FindTasks(ctx, bluehelm.TaskFilter{Viewer: sys}) }},
		{"facilities", all.Facilities, func() (any, error) { return db.Facilities(ctx) }},
		{"proximity rules", all.ProximityRules, func() (any, error) { return db.ProximityRules(ctx) }},
		{"fatalities", all.Fatalities, func() (any, error) { return []*bluehelm.Fatality{fx.fatality}, nil }},
		{"sensors", all.Sensors, func() (any, error) { return db.Sensors(ctx) }},
		{"alarm rules", all.AlarmRules, func() (any, error) { return db.AlarmRules(ctx, 0) }},
		{"readings", all.Readings, func() (any, error) {
			var out []bluehelm.Reading
			for _, id := range fx.sensorIDs {
				rs, err := db.Readings(ctx, id, time.Time{}, time.Time{}, 100_000)
				if err != nil {
					return nil, err
				}
				out = append(out, rs...)
			}
			return out, nil
		}},
		{"roll-ups", all.Rollups, func() (any, error) {
			var out []bluehelm.SensorRollup
			for _, res := range []bluehelm.RollupResolution{bluehelm.RollupMinute, bluehelm.RollupHour} {
				rs, err := db.Rollups(ctx, nil, res, time.Time{}, time.Time{})
				if err != nil {
					return nil, err
				}
				out = append(out, rs...)
			}
			return out, nil
		}},
		{"quarantine", all.Quarantine, func() (any, error) { return db.QuarantinedReadings(ctx, "", 0) }},
		{"stock items", all.StockItems, func() (any, error) { return db.StockItems(ctx) }},
		{"stock movements", all.StockMovements, func() (any, error) {
			return db.StockMovements(ctx, all.StockItems[0].ID, time.Time{}, time.Time{})
		}},
		{"camp profiles", all.CampProfiles, func() (any, error) { return db.CampProfiles(ctx) }},
		{"assets", all.Assets, func() (any, error) { return db.Assets(ctx, 0) }},
		{"work orders", all.WorkOrders, func() (any, error) { return db.WorkOrders(ctx, bluehelm.WorkOrderFilter{}) }},
		{"webhooks", all.Webhooks, func() (any, error) {
			w, err := db.Webhook(ctx, all.Webhooks[0].ID)
			return []bluehelm.WebhookDelivery{*w}, err
		}},
		{"casevacs", all.Casevacs, func() (any, error) { return db.FindCasevacs(ctx, bluehelm.CasevacFilter{Viewer: sys}) }},
		{"community", all.Community, func() (any, error) {
			a, err := db.CommunityAlert(ctx, all.Community[0].ID)
			return []*bluehelm.CommunityAlert{a}, err
		}},
		{"audit", all.Audit, func() (any, error) { return db.AuditLog(ctx, 0, 1000) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			want, err := c.want()
			if err != nil {
				t.Fatal(err)
			}
			sameJSON(t, c.name, c.got, want)
		})
	}

	// The readers the export shares its scanners with (sessions, revisions,
	// quarantine, roll-ups, audit) against what the fixture stored, so that a
	// decoding slip in both is not an agreement.
	if s := all.Sessions[0]; s.UserID != all.Users[0].ID || !s.CreatedAt.Equal(t0) || !s.ExpiresAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("session %+v", s)
	}
	if h := all.Incidents[0]; len(h.Revisions) != 2 || h.Revisions[0].Action != "create" || h.Revisions[1].Action != "edit" ||
		h.Revisions[1].Incident.Narrative != "Edited" || h.Revisions[0].Incident.Narrative == "Edited" || h.Incident.Version != 2 ||
		h.Revisions[1].IncidentID != h.Incident.ID || h.Revisions[0].At.IsZero() {
		t.Errorf("incident history %+v", h)
	}
	if q := all.Quarantine; len(q) != 1 || q[0].SensorCode != "NOPE" || !q[0].Time.Equal(t0) || !q[0].ReceivedAt.Equal(t0) || q[0].Source != "mqtt" {
		t.Errorf("quarantine %+v", q)
	}
	if r := all.Rollups; len(r) != 2 || r[0].Resolution != bluehelm.RollupMinute || r[1].Resolution != bluehelm.RollupHour ||
		!r[1].LastTime.Equal(t0.Add(time.Minute)) || r[1].Sum != 3 {
		t.Errorf("roll-ups %+v", r)
	}
	if a := all.Audit[len(all.Audit)-1]; a.Action != "test.note" || string(a.Detail) != `{"n":1}` || a.Hash == "" || a.PrevHash == "" {
		t.Errorf("last audit entry %+v", a)
	}
	if r := all.Readings; len(r) != exportReadings || r[0].SensorCode != "C1-FUEL-1" || r[0].Unit != "%" || !r[0].Time.Equal(t0) {
		t.Errorf("%d readings, the first %+v", len(r), r[0])
	}

	// What the JSON leaves out.
	if got := all.Users[0].PasswordHash; got != "$argon2id$v=19$hash" {
		t.Errorf("user password hash %q", got)
	}
	if got := all.Tokens[0].Hash; got != "tokenhash" {
		t.Errorf("token hash %q", got)
	}
	if got := all.Sessions[0]; got.Hash != "sessionhash" || got.CSRF != "csrf" {
		t.Errorf("session %+v", got)
	}
	if len(all.SensorSecrets) != 1 || all.SensorSecrets[0].SensorID != fx.sensorIDs[0] ||
		!bytes.Equal(all.SensorSecrets[0].Hash, bluehelm.HashSensorSecret(fx.secret)) || all.SensorSecrets[0].CreatedAt.IsZero() {
		t.Errorf("sensor secrets %+v", all.SensorSecrets)
	}
	if c := all.Community[0]; c.SenderPseudonym != "pseudo-A" || string(c.SenderSealed) != "sealed-A" {
		t.Errorf("community sender %q %q", c.SenderPseudonym, c.SenderSealed)
	}

	// The highest ids issued: deleted records' where they were the last.
	for kind, id := range fx.deleted {
		if all.IDs[kind] != id {
			t.Errorf("IDs[%q] = %d, want %d (the deleted record's)", kind, all.IDs[kind], id)
		}
	}
	for _, k := range exportIDs {
		if _, ok := all.IDs[k.kind]; !ok {
			t.Errorf("IDs has no %q", k.kind)
		}
	}
	if got, want := all.IDs["audit"], all.Audit[len(all.Audit)-1].Seq; got != want {
		t.Errorf(`IDs["audit"] = %d, want %d`, got, want)
	}
	if got, want := all.IDs["incident"], int64(2); got != want {
		t.Errorf(`IDs["incident"] = %d, want %d`, got, want)
	}

	// The audit log travels intact: the copy verifies as a chain.
	var v bluehelm.AuditVerifier
	for _, e := range all.Audit {
		if err := v.Next(e); err != nil {
			t.Fatalf("exported audit chain: %v", err)
		}
	}

	// Parents before children: the first batch of each kind.
	first := map[string]int{}
	for i, b := range batches {
		for kind, n := range map[string]int{"users": len(b.Users), "tokens": len(b.Tokens), "sessions": len(b.Sessions), "devices": len(b.Devices),
			"incidents": len(b.Incidents), "attachments": len(b.Attachments), "tasks": len(b.Tasks), "casevacs": len(b.Casevacs),
			"sensors": len(b.Sensors), "secrets": len(b.SensorSecrets), "readings": len(b.Readings), "rollups": len(b.Rollups), "alarm_rules": len(b.AlarmRules),
			"stock_items": len(b.StockItems), "movements": len(b.StockMovements), "assets": len(b.Assets), "work_orders": len(b.WorkOrders),
			"tracks": len(b.Tracks), "positions": len(b.Positions), "areas": len(b.Areas), "camp_profiles": len(b.CampProfiles), "units": len(b.Units), "patrols": len(b.Patrols)} {
			if _, ok := first[kind]; !ok && n > 0 {
				first[kind] = i
			}
		}
	}
	for _, pc := range [][2]string{{"users", "tokens"}, {"users", "sessions"}, {"users", "devices"}, {"incidents", "attachments"}, {"incidents", "tasks"},
		{"incidents", "casevacs"}, {"sensors", "secrets"}, {"sensors", "readings"}, {"sensors", "rollups"}, {"sensors", "alarm_rules"},
		{"stock_items", "movements"}, {"assets", "work_orders"}, {"tracks", "positions"}, {"areas", "camp_profiles"}, {"areas", "sensors"},
		{"units", "patrols"}, {"units", "tasks"}} {
		if first[pc[0]] >= first[pc[1]] {
			t.Errorf("%s (batch %d) not before %s (batch %d)", pc[0], first[pc[0]], pc[1], first[pc[1]])
		}
	}
	if n := len(batches); n < 3 || len(batches[n-1].IDs) == 0 {
		t.Errorf("the last of %d batches is not the IDs", n)
	}
}

func sortedBy[T any](v []T, key func(T) string) []T {
	out := slices.Clone(v)
	slices.SortStableFunc(out, func(a, b T) int { return strings.Compare(key(a), key(b)) })
	return out
}

func sortedPositions(ps []bluehelm.Position) []bluehelm.Position {
	out := slices.Clone(ps)
	slices.SortFunc(out, func(a, b bluehelm.Position) int {
		if c := strings.Compare(a.UID, b.UID); c != 0 {
			return c
		}
		return a.Time.Compare(b.Time)
	})
	return out
}

// TestExportPositions stores copies of reports, as replays and backlogs do: a
// copy in the log of a report compacted into a segment, two copies in the log,
// and reports in the log older than the track's newest in segments. Each
// report is exported once, and the first stored copy is the one sent.
func TestExportPositions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	ctx := t.Context()
	mk := func(uid string, sec int, src string) bluehelm.Position {
		return bluehelm.Position{UID: uid, Time: t0.Add(time.Duration(sec) * time.Second), Lat: 4.8, Lon: 31.5 + float64(sec)/1e4, Source: src}
	}
	o := defaults()
	o.compactRows = 1
	db, err := open(path, o)
	if err != nil {
		t.Fatal(err)
	}
	// In segments: a, every 10 s for an hour; b, two reports.
	var seg []bluehelm.Position
	for i := 0; i < 3600; i += 10 {
		seg = append(seg, mk("a", i, "segment"))
	}
	seg = append(seg, mk("b", 0, "segment"), mk("b", 100, "segment"))
	if err := db.AppendPositions(ctx, nil, seg); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	o = defaults()
	o.compactRows, o.compactIdle, o.keepLog = 1<<30, time.Hour, true
	db, err = open(path, o)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	logged := []bluehelm.Position{
		mk("a", 20, "replay"),    // a copy of a segment's report: dropped
		mk("a", 25, "backlog"),   // older than a's newest in segments, new: kept
		mk("a", 25, "copy"),      // a second copy in the log: dropped
		mk("a", 7200, "log"),     // newer: kept
		mk("a", 7200, "copy"),    // dropped
		mk("b", 100, "replay"),   // dropped
		mk("b", 50, "backlog"),   // kept
		mk("c", 1, "log"),        // a track only in the log: kept
		mk("c", 1, "copy"),       // dropped
		mk("a", 3590, "replay"),  // a's newest in segments: dropped
		mk("a", 3595, "backlog"), // kept
	}
	for _, p := range logged {
		// One batch each, so the log's order is the order above.
		if err := db.AppendPositions(ctx, nil, []bluehelm.Position{p}); err != nil {
			t.Fatal(err)
		}
	}
	var want []bluehelm.Position
	for _, uid := range []string{"a", "b", "c"} {
		ps, err := db.Positions(ctx, bluehelm.PositionQuery{UID: uid, Limit: maxPositions})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, ps...)
	}
	if n := len(seg) + 5; len(want) != n {
		t.Fatalf("Positions found %d reports, want %d", len(want), n)
	}
	all, _ := exportAll(t, db)
	sameJSON(t, "positions", sortedPositions(all.Positions), sortedPositions(want))
	for _, p := range all.Positions {
		if p.Source == "replay" || p.Source == "copy" {
			t.Errorf("exported a later copy: %+v", p)
		}
	}
}

// TestExportPutError checks that put's error ends the walk and is what Export
// returns.
func TestExportPutError(t *testing.T) {
	db, _ := populateExport(t)
	stop := errors.New("destination full")
	for _, after := range []int{1, 3, 8} {
		calls := 0
		err := db.Export(t.Context(), func(context.Context, *bluehelm.DumpBatch) error {
			calls++
			if calls == after {
				return stop
			}
			return nil
		})
		if err != stop {
			t.Errorf("failing at put %d: Export = %v, want %v", after, err, stop)
		}
		if calls != after {
			t.Errorf("failing at put %d: put called %d times", after, calls)
		}
	}
	// A cancelled context also stops it.
	ctx, cancel := context.WithCancel(t.Context())
	err := db.Export(ctx, func(context.Context, *bluehelm.DumpBatch) error { cancel(); return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Export after cancel = %v, want context.Canceled", err)
	}
}

// TestExportSnapshot writes while Export walks: what is committed after the walk
// began is not in the copy, so the copy is the store at one instant.
func TestExportSnapshot(t *testing.T) {
	db := openTest(t)
	defer db.Close()
	ctx := t.Context()
	audit := func(action string) bluehelm.AuditEntry { return bluehelm.NewAudit(sys, action, "", nil) }
	if err := db.CreateUser(ctx, &bluehelm.User{Username: "before", Name: "B", Role: bluehelm.RoleReporter, Component: bluehelm.Police, PasswordHash: "h"},
		audit("user.create")); err != nil {
		t.Fatal(err)
	}
	var all bluehelm.DumpBatch
	wrote := false
	err := db.Export(ctx, func(_ context.Context, b *bluehelm.DumpBatch) error {
		if !wrote {
			wrote = true
			// A user and its audit entry, committed while the walk is between
			// the users and the audit log.
			if err := db.CreateUser(ctx, &bluehelm.User{Username: "during", Name: "D", Role: bluehelm.RoleReporter, Component: bluehelm.Police, PasswordHash: "h"},
				audit("user.create")); err != nil {
				return err
			}
		}
		appendBatch(&all, b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Users) != 1 || len(all.Audit) != 1 || all.IDs["user"] != 1 || all.IDs["audit"] != 1 {
		t.Errorf("export saw %d users, %d audit entries, ids %v; want the one user and entry before it began", len(all.Users), len(all.Audit), all.IDs)
	}
	if us, _ := db.Users(ctx); len(us) != 2 {
		t.Errorf("store holds %d users after the export, want 2", len(us))
	}
}

// TestExportQueryPlans pins the plans of the walks over the tables that grow
// without bound: each streams a key in order, none sorts but the log's.
func TestExportQueryPlans(t *testing.T) {
	db := openTest(t)
	defer db.Close()
	explain := func(q string) string {
		t.Helper()
		rows, err := db.r.Query("EXPLAIN QUERY PLAN " + q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var b strings.Builder
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			b.WriteString(detail + "\n")
		}
		return b.String()
	}
	for _, tc := range []struct {
		name, query, want string
		sorts             bool
	}{
		{"incidents", exportIncidentsQuery, "SEARCH v USING INDEX sqlite_autoindex_incident_revisions_1 (incident_id=?)", false},
		{"segments", exportSegmentsQuery, "SCAN s USING INDEX position_segments_track", false},
		{"log", exportLogQuery, "SCAN l", true},
		{"readings", exportReadingsQuery, "SCAN readings", false},
		{"roll-ups", exportRollupsQuery, "SCAN sensor_rollups", false},
		{"audit", exportAuditQuery, "SCAN audit", false},
	} {
		plan := explain(tc.query)
		if !strings.Contains(plan, tc.want) {
			t.Errorf("%s plan lacks %q:\n%s", tc.name, tc.want, plan)
		}
		if strings.Contains(plan, "TEMP B-TREE") != tc.sorts {
			t.Errorf("%s plan sorts: %v, want %v:\n%s", tc.name, !tc.sorts, tc.sorts, plan)
		}
	}
}
