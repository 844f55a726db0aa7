package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/postgres"
	"github.com/bluehelm/bluehelm/postgres/pgtest"
)

// reads is everything the Store API shows of a store, for comparing a source
// with its copy: what a client sees of every kind.
func reads(t *testing.T, s bluehelm.Store, fx exportFixture) map[string]any {
	t.Helper()
	ctx := t.Context()
	out := map[string]any{}
	get := func(name string, v any, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = v
	}
	users, err := s.Users(ctx)
	get("users", users, err)
	for _, u := range users {
		toks, err := s.Tokens(ctx, u.ID)
		get("tokens/"+u.Username, toks, err)
		// The hidden fields travel too: a user can still sign in at HQ.
		full, err := s.UserByUsername(ctx, u.Username)
		get("password/"+u.Username, full.PasswordHash, err)
	}
	sess, err := s.SessionByHash(ctx, "sessionhash")
	get("session", sess, err)
	tok, err := s.TokenByHash(ctx, "tokenhash")
	get("token by hash", tok, err)
	page, err := s.FindIncidents(ctx, bluehelm.IncidentFilter{Viewer: sys, Limit: 1000})
	get("incidents", page, err)
	for _, inc := range page.Incidents {
		revs, err := s.IncidentRevisions(ctx, inc.ID)
		get("revisions/"+inc.Title, revs, err)
	}
	near, err := s.FindIncidents(ctx, bluehelm.IncidentFilter{Viewer: sys, BBox: &bluehelm.BBox{MinLon: 31.65, MinLat: 4.7, MaxLon: 31.75, MaxLat: 4.85}, Text: "second"})
	get("incidents by box and text", near, err)
	tracks, err := s.Tracks(ctx)
	get("tracks", tracks, err)
	latest, err := s.LatestStates(ctx)
	get("latest", latest, err)
	for _, uid := range fx.uids {
		ps, err := s.Positions(ctx, bluehelm.PositionQuery{UID: uid, Limit: 100000})
		get("positions/"+uid, ps, err)
	}
	inBox, err := s.Positions(ctx, bluehelm.PositionQuery{BBox: &bluehelm.BBox{MinLon: 31.5005, MinLat: 4.8505, MaxLon: 31.7005, MaxLat: 4.9505}, Limit: 100000})
	get("positions by box", len(inBox), err)
	areas, err := s.Areas(ctx)
	get("areas", areas, err)
	alerts, err := s.Alerts(ctx, bluehelm.AlertFilter{Viewer: sys})
	get("alerts", alerts, err)
	devices, err := s.Devices(ctx, 0)
	get("devices", devices, err)
	chat, err := s.Chat(ctx, bluehelm.ChatFilter{Viewer: sys})
	get("chat", chat, err)
	atts, err := s.Attachments(ctx, bluehelm.AttachmentFilter{Viewer: sys, Keyword: "river"})
	get("attachments", atts, err)
	units, err := s.Units(ctx)
	get("units", units, err)
	patrols, err := s.FindPatrols(ctx, bluehelm.PatrolFilter{Viewer: sys, Unit: "BANBATT-2/B"})
	get("patrols", patrols, err)
	tasks, err := s.FindTasks(ctx, bluehelm.TaskFilter{Viewer: sys})
	get("tasks", tasks, err)
	facs, err := s.Facilities(ctx)
	get("facilities", facs, err)
	prox, err := s.ProximityRules(ctx)
	get("proximity rules", prox, err)
	fat, err := s.FatalityCounts(ctx)
	get("fatalities", fat, err)
	sensors, err := s.Sensors(ctx)
	get("sensors", sensors, err)
	sen, err := s.VerifySensorSecret(ctx, "C1-FUEL-1", fx.secret)
	get("sensor secret", sen.ID, err)
	rules, err := s.AlarmRules(ctx, 0)
	get("alarm rules", rules, err)
	for _, id := range fx.sensorIDs {
		rs, err := s.Readings(ctx, id, time.Time{}, time.Time{}, 100000)
		get(fmt.Sprint("readings/", id), rs, err)
	}
	for _, res := range []bluehelm.RollupResolution{bluehelm.RollupMinute, bluehelm.RollupHour} {
		rs, err := s.Rollups(ctx, nil, res, time.Time{}, time.Time{})
		get("rollups/"+string(res), rs, err)
	}
	q, err := s.QuarantinedReadings(ctx, "", 1000)
	get("quarantine", q, err)
	items, err := s.StockItems(ctx)
	get("stock items", items, err)
	for _, it := range items {
		bal, err := s.StockBalance(ctx, it.ID)
		get("balance/"+it.Name, bal, err)
		movs, err := s.StockMovements(ctx, it.ID, time.Time{}, time.Time{})
		get("movements/"+it.Name, movs, err)
	}
	camps, err := s.CampProfiles(ctx)
	get("camp profiles", camps, err)
	assets, err := s.Assets(ctx, 0)
	get("assets", assets, err)
	wos, err := s.WorkOrders(ctx, bluehelm.WorkOrderFilter{})
	get("work orders", wos, err)
	due, err := s.DueWebhooks(ctx, t0.Add(time.Hour), 100)
	get("webhooks", due, err)
	cvs, err := s.FindCasevacs(ctx, bluehelm.CasevacFilter{Viewer: sys})
	get("casevacs", cvs, err)
	cas, err := s.FindCommunityAlerts(ctx, bluehelm.CommunityFilter{})
	get("community", cas, err)
	for _, a := range cas {
		// The sender's pseudonym and sealed number are json:"-": compare them as such.
		full, err := s.CommunityAlert(ctx, a.ID)
		get("sender/"+a.Source, []any{full.SenderPseudonym, full.SenderSealed}, err)
	}
	log, err := s.AuditLog(ctx, 0, 1000)
	get("audit", log, err)
	return out
}

// A team site's SQLite store moved to PostgreSQL keeps everything a client can
// read, every id, the audit chain, and the ids of deleted records unused.
func TestMigrateToPostgres(t *testing.T) {
	src, fx := populateExport(t)
	ctx := t.Context()
	dst := pgtest.Open(t)
	stats, err := dst.Import(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	if stats["position"] != fx.positionsIn || stats["reading"] != exportReadings {
		t.Errorf("imported %d positions and %d readings, want %d and %d", stats["position"], stats["reading"], fx.positionsIn, exportReadings)
	}
	want, got := reads(t, src, fx), reads(t, dst, fx)
	for name, w := range want {
		wj, _ := json.Marshal(w)
		gj, _ := json.Marshal(got[name])
		if string(wj) != string(gj) {
			t.Errorf("%s differs after the move:\n sqlite   %s\n postgres %s", name, wj, gj)
		}
	}
	if n, err := dst.VerifyAudit(ctx); err != nil {
		t.Errorf("audit chain at the destination: %d verified, %v", n, err)
	}

	// New records continue after the highest id ever issued, deleted ones included.
	a := &bluehelm.Area{Name: "new", Kind: bluehelm.AreaRestricted, Geometry: mustArea(t, src).Geometry}
	if err := dst.CreateArea(ctx, a, bluehelm.NewAudit(sys, "area.create", "", nil)); err != nil {
		t.Fatal(err)
	}
	if a.ID <= fx.deleted["area"] {
		t.Errorf("new area got id %d, not after the deleted %d", a.ID, fx.deleted["area"])
	}
	if n, err := dst.VerifyAudit(ctx); err != nil {
		t.Errorf("audit chain after a write at the destination: %d verified, %v", n, err)
	}

	// A second import into a store holding data is refused and changes nothing.
	before, _ := dst.AuditLog(ctx, 0, 1000)
	if _, err := dst.Import(ctx, src); bluehelm.ErrorCode(err) != bluehelm.ECONFLICT {
		t.Errorf("importing into a non-empty store: %v, want ECONFLICT", err)
	}
	after, _ := dst.AuditLog(ctx, 0, 1000)
	if len(after) != len(before) {
		t.Errorf("a refused import changed the audit log: %d entries, then %d", len(before), len(after))
	}
}

// A failed import leaves the destination empty, so it can be run again.
func TestMigrateToPostgresFailsWhole(t *testing.T) {
	src, _ := populateExport(t)
	dst := pgtest.Open(t)
	boom := &failingExporter{src: src, after: 10}
	if _, err := dst.Import(t.Context(), boom); err == nil {
		t.Fatal("an export failing halfway imported without error")
	}
	if _, err := dst.Import(t.Context(), src); err != nil {
		t.Fatalf("importing again after a failed import: %v", err)
	}
}

type failingExporter struct {
	src   bluehelm.Exporter
	after int
}

func (f *failingExporter) Export(ctx context.Context, put func(context.Context, *bluehelm.DumpBatch) error) error {
	n := 0
	return f.src.Export(ctx, func(ctx context.Context, b *bluehelm.DumpBatch) error {
		if n++; n > f.after {
			return bluehelm.Errorf(bluehelm.EUNAVAILABLE, "the source went away")
		}
		return put(ctx, b)
	})
}

func mustArea(t *testing.T, s bluehelm.Store) *bluehelm.Area {
	t.Helper()
	as, err := s.Areas(t.Context())
	if err != nil || len(as) == 0 {
		t.Fatalf("areas: %v (%d)", err, len(as))
	}
	return as[0]
}

var _ = postgres.ImportStats{}
