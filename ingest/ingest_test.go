package ingest_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ingest"
	"github.com/bluehelm/bluehelm/live"
	"github.com/bluehelm/bluehelm/sqlite"
	"github.com/paulmach/orb"
)

type env struct {
	p     *ingest.Pipeline
	store *sqlite.DB
	pic   *live.Picture
	hub   *live.Hub
}

func newEnv(t testing.TB) *env {
	t.Helper()
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	e := &env{store: store, pic: live.NewPicture(), hub: live.NewHub(live.HubOptions{})}
	e.p = ingest.New(store, e.pic, live.NewGeofencer(), e.hub, ingest.Options{})
	if err := e.p.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return e
}

var (
	ctx      = context.Background()
	reporter = bluehelm.Principal{UserID: 1, Username: "unpol", Role: bluehelm.RoleReporter, Component: bluehelm.Police, Clearance: bluehelm.Confidential}
	joc      = bluehelm.Principal{UserID: 2, Username: "joc", Role: bluehelm.RoleOperations, Component: bluehelm.Military, Clearance: bluehelm.StrictlyConfidential}
	chief    = bluehelm.Principal{UserID: 3, Username: "chief", Role: bluehelm.RoleCommander, Component: bluehelm.Military, Clearance: bluehelm.StrictlyConfidential}
	viewer   = bluehelm.Principal{UserID: 4, Username: "viewer", Role: bluehelm.RoleViewer, Component: bluehelm.Civilian}
)

func report(uid string, at time.Time, lon, lat float64) ingest.Report {
	return ingest.Report{
		Track:    bluehelm.Track{UID: uid, Callsign: strings.ToUpper(uid), Kind: bluehelm.KindVehicle},
		Position: bluehelm.Position{UID: uid, Time: at, Lon: lon, Lat: lat},
	}
}

func auditCount(t *testing.T, e *env) int64 {
	t.Helper()
	n, err := e.store.VerifyAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// batchRecorder is a BatchPublisher that records what it is given.
type batchRecorder struct {
	mu      sync.Mutex
	single  []live.Event
	batches [][]live.Event
}

func (r *batchRecorder) Publish(ev live.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.single = append(r.single, ev)
}

func (r *batchRecorder) PublishBatch(evs []live.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.batches = append(r.batches, slices.Clone(evs))
}

// A batch of positions reaches a publisher that takes batches as one batch
// (a cluster bus then waits once for its acknowledgements), in time order,
// only the reports that moved a track forward.
func TestPositionsPublishedAsOneBatch(t *testing.T) {
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	rec := &batchRecorder{}
	p := ingest.New(store, live.NewPicture(), live.NewGeofencer(), live.NewHub(live.HubOptions{}), ingest.Options{Out: rec})
	if err := p.Load(ctx); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().UTC().Add(-time.Minute).Truncate(time.Millisecond)
	batch := []ingest.Report{
		report("b", t0.Add(2*time.Second), 31.6, 4.85),
		report("a", t0.Add(time.Second), 31.5, 4.85),
		report("b", t0, 31.5, 4.8),
	}
	if err := p.Positions(ctx, joc, batch); err != nil {
		t.Fatal(err)
	}
	if len(rec.single) != 0 || len(rec.batches) != 1 {
		t.Fatalf("published %d single events and %d batches, want one batch", len(rec.single), len(rec.batches))
	}
	var got []string
	for _, ev := range rec.batches[0] {
		got = append(got, ev.Key)
	}
	if !slices.Equal(got, []string{"b", "a", "b"}) {
		t.Fatalf("batch keys %v, want b a b (time order)", got)
	}
	// A report older than the track's current one moves nothing: not published.
	if err := p.Positions(ctx, joc, []ingest.Report{report("a", t0, 31.4, 4.85)}); err != nil {
		t.Fatal(err)
	}
	if len(rec.batches) != 1 {
		t.Fatalf("an old report was published: %d batches", len(rec.batches))
	}
}

func TestPositionsBatchIsAllOrNothing(t *testing.T) {
	e := newEnv(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	batch := []ingest.Report{report("a", now, 31, 5), report("b", now, 31, 95), report("c", now, 31, 5)}
	err := e.p.Positions(ctx, reporter, batch)
	if bluehelm.ErrorCode(err) != bluehelm.EINVALID || bluehelm.ErrorField(err) != "positions[1].lat" {
		t.Fatalf("want invalid positions[1].lat, got %v", err)
	}
	for _, uid := range []string{"a", "c"} {
		ps, err := e.store.Positions(ctx, bluehelm.PositionQuery{UID: uid})
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) != 0 {
			t.Fatalf("%s: %d positions stored from a rejected batch", uid, len(ps))
		}
	}
	if e.pic.Len() != 0 {
		t.Fatalf("live picture changed by a rejected batch")
	}
	if err := e.p.Positions(ctx, viewer, batch[:1]); bluehelm.ErrorCode(err) != bluehelm.EFORBIDDEN {
		t.Fatalf("viewer posting positions: %v", err)
	}
}

func TestPositionsFanOutByAccess(t *testing.T) {
	e := newEnv(t)
	area := bluehelm.BBox{MinLon: 30, MinLat: 4, MaxLon: 32, MaxLat: 6}
	police := e.hub.Subscribe(live.SubscribeOptions{Viewer: reporter, BBox: area, Layers: []string{live.LayerTracks}, QueueSize: 100})
	military := e.hub.Subscribe(live.SubscribeOptions{Viewer: joc, BBox: area, Layers: []string{live.LayerTracks}, QueueSize: 100})
	defer police.Close()
	defer military.Close()

	now := time.Now().UTC().Truncate(time.Millisecond)
	r := report("fpu-1", now, 31, 5)
	r.Track.Marking = bluehelm.Marking{Classification: bluehelm.Confidential, Component: bluehelm.Police}
	if err := e.p.Positions(ctx, reporter, []ingest.Report{r}); err != nil {
		t.Fatal(err)
	}
	// Older report: stored as history, but the live picture must not move back.
	old := report("fpu-1", now.Add(-time.Minute), 31.5, 5.5)
	if err := e.p.Positions(ctx, reporter, []ingest.Report{old}); err != nil {
		t.Fatal(err)
	}
	st, ok := e.pic.Get("fpu-1")
	if !ok || st.Position.Lon != 31 {
		t.Fatalf("live picture: %+v %v, want the newest position (lon 31)", st.Position, ok)
	}
	ps, err := e.store.Positions(ctx, bluehelm.PositionQuery{UID: "fpu-1"})
	if err != nil || len(ps) != 2 {
		t.Fatalf("history: %d positions, %v; want 2", len(ps), err)
	}
	waitEvents := func(s *live.Subscription) []live.Event {
		select {
		case <-s.Ready():
		case <-time.After(5 * time.Second):
			return nil
		}
		evs, _ := s.Drain(nil)
		return evs
	}
	if evs := waitEvents(police); len(evs) != 1 || !strings.Contains(string(evs[0].Data), `"fpu-1"`) {
		t.Fatalf("police subscriber got %d events, want the one position", len(evs))
	}
	select {
	case <-military.Ready():
		evs, _ := military.Drain(nil)
		if len(evs) > 0 {
			t.Fatalf("a CONFIDENTIAL police track reached a military subscriber: %s", evs[0].Data)
		}
	default:
	}
	// The poster from another component cannot report for (or learn of) the track.
	if err := e.p.Positions(ctx, joc, []ingest.Report{report("fpu-1", now.Add(time.Second), 31, 5)}); bluehelm.ErrorCode(err) != bluehelm.EFORBIDDEN {
		t.Fatalf("military posting for a confidential police track: %v", err)
	}
}

func TestGeofenceRaisesAlert(t *testing.T) {
	e := newEnv(t)
	ring := orb.Ring{{31, 5}, {31.2, 5}, {31.2, 5.2}, {31, 5.2}, {31, 5}}
	a := &bluehelm.Area{Name: "IED belt", Kind: bluehelm.AreaRestricted, Geometry: bluehelm.Geometry{Geometry: orb.Polygon{ring}},
		Rules:   []bluehelm.AreaRule{{Trigger: bluehelm.TriggerEnter, Severity: bluehelm.SevCritical}},
		Marking: bluehelm.Marking{Component: bluehelm.Military}}
	if err := e.p.CreateArea(ctx, joc, a); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	if err := e.p.Positions(ctx, joc, []ingest.Report{report("patrol-1", now.Add(-2*time.Second), 30.9, 5.1), report("patrol-1", now, 31.1, 5.1)}); err != nil {
		t.Fatal(err)
	}
	alerts, err := e.store.Alerts(ctx, bluehelm.AlertFilter{Viewer: joc})
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) != 1 || alerts[0].AreaID != a.ID || alerts[0].TrackUID != "patrol-1" || alerts[0].Severity != bluehelm.SevCritical {
		t.Fatalf("want one critical geofence alert for patrol-1 in area %d, got %+v", a.ID, alerts)
	}
	// Leaving and entering again while the alert is still open raises no copy.
	if err := e.p.Positions(ctx, joc, []ingest.Report{report("patrol-1", now.Add(time.Second), 30.9, 5.1), report("patrol-1", now.Add(2*time.Second), 31.1, 5.1)}); err != nil {
		t.Fatal(err)
	}
	if again, _ := e.store.Alerts(ctx, bluehelm.AlertFilter{Viewer: joc}); len(again) != 1 {
		t.Fatalf("re-entry with the alert still open: %d alerts, want 1", len(again))
	}
	// Acknowledge with a stale version fails; with the right one succeeds.
	if _, err := e.p.AcknowledgeAlert(ctx, joc, alerts[0].ID, alerts[0].Version+1); bluehelm.ErrorCode(err) != bluehelm.ECONFLICT {
		t.Fatalf("stale acknowledge: %v", err)
	}
	if _, err := e.p.AcknowledgeAlert(ctx, joc, alerts[0].ID, alerts[0].Version); err != nil {
		t.Fatal(err)
	}
	// Once resolved, the next entry is a new alert.
	if _, err := e.p.ResolveAlert(ctx, joc, alerts[0].ID, 0, "patrol cleared to proceed"); err != nil {
		t.Fatal(err)
	}
	if err := e.p.Positions(ctx, joc, []ingest.Report{report("patrol-1", now.Add(3*time.Second), 30.9, 5.1), report("patrol-1", now.Add(4*time.Second), 31.1, 5.1)}); err != nil {
		t.Fatal(err)
	}
	if after, _ := e.store.Alerts(ctx, bluehelm.AlertFilter{Viewer: joc}); len(after) != 2 {
		t.Fatalf("entry after resolution: %d alerts, want 2", len(after))
	}
}

func TestIncidentLifecycle(t *testing.T) {
	e := newEnv(t)
	before := auditCount(t, e)
	newInc := func() *bluehelm.Incident {
		return &bluehelm.Incident{Title: "Ambush on the Juba–Yei road", Category: bluehelm.CatAttackOnUN, Subcategory: "ambush",
			OccurredStart: time.Now().Add(-time.Hour), Location: bluehelm.Point{Lon: 30.9, Lat: 4.5},
			Marking: bluehelm.Marking{Classification: bluehelm.Confidential, Component: bluehelm.Police, Releasability: []bluehelm.Component{bluehelm.Military}}}
	}
	if err := e.p.CreateIncident(ctx, viewer, newInc()); bluehelm.ErrorCode(err) != bluehelm.EFORBIDDEN {
		t.Fatalf("viewer creating: %v", err)
	}
	secret := newInc()
	secret.Classification = bluehelm.StrictlyConfidential
	if err := e.p.CreateIncident(ctx, reporter, secret); bluehelm.ErrorCode(err) != bluehelm.EFORBIDDEN {
		t.Fatalf("reporter filing above clearance: %v", err)
	}
	inc := newInc()
	inc.Status = bluehelm.StatusSubmitted
	// Bookkeeping a client may not set: only a federation merge records conflicts.
	inc.Conflicts = []bluehelm.Revision{{Actor: "camp9", Version: 4, Action: "conflict"}}
	if err := e.p.CreateIncident(ctx, reporter, inc); err != nil {
		t.Fatal(err)
	}
	if inc.ID == 0 || inc.Version != 1 || inc.ReportedBy != "unpol" || inc.Conflicts != nil {
		t.Fatalf("created: %+v", inc)
	}
	// Stale edit: nothing changes.
	edit := newInc()
	edit.Title = "Ambush (corrected)"
	if _, err := e.p.UpdateIncident(ctx, joc, inc.ID, 99, edit); bluehelm.ErrorCode(err) != bluehelm.ECONFLICT {
		t.Fatalf("stale edit: %v", err)
	}
	got, _ := e.store.Incident(ctx, inc.ID)
	if got.Title != inc.Title || got.Version != 1 {
		t.Fatalf("stale edit changed the record: %+v", got)
	}
	// Invisible to a civilian viewer: not found, not forbidden.
	if _, err := e.p.TransitionIncident(ctx, viewer, inc.ID, 0, bluehelm.WfVerify, ""); bluehelm.ErrorCode(err) != bluehelm.ENOTFOUND {
		t.Fatalf("hidden incident: %v", err)
	}
	v, err := e.p.TransitionIncident(ctx, joc, inc.ID, 1, bluehelm.WfVerify, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.p.TransitionIncident(ctx, joc, inc.ID, v.Version, bluehelm.WfApprove, ""); bluehelm.ErrorCode(err) != bluehelm.ECONFLICT {
		t.Fatalf("NOTICAS: same person approving: %v", err)
	}
	ap, err := e.p.TransitionIncident(ctx, chief, inc.ID, v.Version, bluehelm.WfApprove, "")
	if err != nil {
		t.Fatal(err)
	}
	if ap.Status != bluehelm.StatusApproved || ap.VerifiedBy != "joc" || ap.ApprovedBy != "chief" || ap.Version != 3 {
		t.Fatalf("approved: %+v", ap)
	}
	revs, err := e.store.IncidentRevisions(ctx, inc.ID)
	if err != nil || len(revs) != 3 {
		t.Fatalf("revisions: %d, %v; want 3", len(revs), err)
	}
	if after := auditCount(t, e); after != before+3 {
		t.Fatalf("audit entries: %d new, want 3 (create, verify, approve)", after-before)
	}
}

func TestImportIsIdempotent(t *testing.T) {
	e := newEnv(t)
	rows := func() []*bluehelm.Incident {
		var out []*bluehelm.Incident
		for i := range 20 {
			out = append(out, &bluehelm.Incident{ExternalID: fmt.Sprintf("ucdp:%d", i), Title: "State-based violence", Category: bluehelm.CatArmedClash,
				Status: bluehelm.StatusApproved, OccurredStart: time.Date(2014, 1, 1+i, 0, 0, 0, 0, time.UTC), Location: bluehelm.Point{Lon: 31, Lat: 7},
				Marking: bluehelm.Marking{Component: bluehelm.Civilian}})
		}
		return out
	}
	sys := bluehelm.SystemPrincipal("cli")
	if c, u, err := e.p.ImportIncidents(ctx, sys, "ucdp:test", rows()); err != nil || c != 20 || u != 0 {
		t.Fatalf("first import: %d created, %d updated, %v", c, u, err)
	}
	if c, u, err := e.p.ImportIncidents(ctx, sys, "ucdp:test", rows()); err != nil || c != 0 || u != 0 {
		t.Fatalf("re-import: %d created, %d updated, %v; want nothing changed", c, u, err)
	}
	if _, _, err := e.p.ImportIncidents(ctx, reporter, "ucdp:test", rows()); bluehelm.ErrorCode(err) != bluehelm.EFORBIDDEN {
		t.Fatalf("reporter importing: %v", err)
	}
}

func TestPositionAuditSummary(t *testing.T) {
	e := newEnv(t)
	now := time.Now().UTC()
	if err := e.p.Positions(ctx, reporter, []ingest.Report{report("x", now, 31, 5), report("y", now, 31, 5)}); err != nil {
		t.Fatal(err)
	}
	before := auditCount(t, e)
	e.p.FlushAudit(ctx)
	log, err := e.store.AuditLog(ctx, before, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 1 || log[0].Action != "positions.batch" || log[0].Actor != "unpol" || !strings.Contains(string(log[0].Detail), `"count":2`) {
		t.Fatalf("want one positions.batch summary for unpol counting 2, got %+v", log)
	}
}
