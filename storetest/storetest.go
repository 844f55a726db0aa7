// Package storetest is the conformance suite for bluehelm.Store. Every backend
// runs it from its own tests:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) bluehelm.Store {
//			db, err := sqlite.Open(filepath.Join(t.TempDir(), "db"))
//			if err != nil {
//				t.Fatal(err)
//			}
//			return db
//		})
//	}
//
// open must return a new, empty store each time; the suite closes it. The suite
// fixes behaviour the contract in store.go leaves implicit, so that backends
// are interchangeable:
//
//   - Missing records are bluehelm.ENOTFOUND, stale versions and duplicates
//     bluehelm.ECONFLICT (tested through bluehelm.ErrorCode).
//   - FindIncidents pages are ordered by occurred_start descending, then id
//     descending; a page carries NextCursor exactly when more rows follow, and
//     then it is full. Access (IncidentFilter.Viewer, a zero Principal being a
//     reader cleared for UNCLASSIFIED only) is applied in the query: pages are
//     full whatever the viewer may not see.
//   - From/To are [From, To) for incidents and positions; a bbox includes its edges.
//   - Positions: a (uid, time) is stored once and the first stored copy wins
//     (a replay, even with other values, changes nothing); Positions returns
//     the earliest Limit reports in time order; LatestStates has one entry per
//     track that has a report, its newest; a report for an unknown uid creates
//     its track; track metadata older (by UpdatedAt) than the stored is ignored.
//   - ImportIncidents counts a row as unchanged when only UpdatedAt and
//     ReportedAt differ (importers stamp them on every run); it appends its
//     audit entry even when nothing changed: the import happened. A failed
//     import stores nothing.
//   - Creating a record fills the audit entry's Object when the caller left it
//     empty, since the caller cannot know the new id; a write that fails appends
//     no entry.
//   - Times are compared after a JSON round trip, in UTC; test data uses whole
//     seconds, so a backend may store times at millisecond precision.
package storetest

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/bluehelm/bluehelm"
)

// Opener returns a new, empty store.
type Opener func(t *testing.T) bluehelm.Store

// Run runs the whole suite against stores made by open.
func Run(t *testing.T, open func(t *testing.T) bluehelm.Store) {
	o := Opener(open)
	for _, g := range []struct {
		name string
		fn   func(*testing.T, Opener)
	}{
		{"Incidents", testIncidents},
		{"Import", testImport},
		{"Find", testFind},
		{"FindCursorStable", testCursorStable},
		{"FindAccess", testFindAccess},
		{"Positions", testPositions},
		{"Areas", testAreas},
		{"Alerts", testAlerts},
		{"Users", testUsers},
		{"Audit", testAudit},
		{"Devices", testDevices},
		{"Chat", testChat},
		{"Attachments", testAttachments},
		{"Units", testUnits},
		{"Facilities", testFacilities},
		{"Patrols", testPatrols},
		{"Tasks", testTasks},
		{"ProximityRules", testProximityRules},
		{"Fatalities", testFatalities},
		{"Sensors", testSensors},
		{"Readings", testReadings},
		{"Rollups", testRollups},
		{"Stock", testStock},
		{"AlarmRules", testAlarmRules},
		{"SensorCredentials", testSensorCredentials},
		{"InsertReadings", testInsertReadings},
		{"Quarantine", testQuarantine},
		{"PruneRollups", testPruneRollups},
		{"CampRecords", testCampRecords},
		{"Casevacs", testCasevacs},
		{"Community", testCommunity},
		{"CommunityConcurrent", testCommunityConcurrent},
	} {
		t.Run(g.name, func(t *testing.T) { g.fn(t, o) })
	}
}

// store opens a fresh store that is closed when the test ends.
func (o Opener) store(t *testing.T) bluehelm.Store {
	t.Helper()
	s := o(t)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// sys is the actor of the suite's writes.
var sys = bluehelm.SystemPrincipal("storetest")

func entry(action string) bluehelm.AuditEntry {
	return bluehelm.NewAudit(sys, action, "", map[string]string{"by": "storetest"})
}

func ctxOf(t *testing.T) context.Context { return t.Context() }

// must fails the test on err.
func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// wantCode checks that err carries the domain code want.
func wantCode(t *testing.T, err error, want, what string) {
	t.Helper()
	if got := bluehelm.ErrorCode(err); got != want {
		t.Errorf("%s: error code %q (err %v), want %q", what, got, err, want)
	}
}

// sameJSON compares two values by their JSON encoding, which is what clients
// see; it makes nil and empty lists equal and compares times as instants in
// their encoded zone.
func sameJSON(t *testing.T, got, want any, what string) {
	t.Helper()
	g, err := json.Marshal(got)
	must(t, err, "marshal got")
	w, err := json.Marshal(want)
	must(t, err, "marshal want")
	if string(g) != string(w) {
		t.Errorf("%s:\n got  %s\n want %s", what, g, w)
	}
}
