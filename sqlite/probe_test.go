package sqlite

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

func TestProbeText(t *testing.T) {
	path := os.Getenv("BENCHDB")
	if path == "" {
		t.Skip()
	}
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	sys := bluehelm.SystemPrincipal("x")
	from := benchStart.Add(5 * 365 * 24 * time.Hour)
	for _, f := range []bluehelm.IncidentFilter{
		{Viewer: sys, Text: "convoy"},
		{Viewer: sys, Text: "convoy"},
		{Viewer: sys, Text: "convoy ambush school"},
		{Viewer: sys, Text: "convoy ambush school river"},
		{Viewer: sys, Text: "zebra"},
		{Viewer: sys, Text: "convoy"},
		{Viewer: sys, Text: "patrol"},
		{Viewer: sys, Text: "convoy ambush"},
		{Viewer: sys, Text: "convoy", BBox: &bluehelm.BBox{MinLon: 30, MinLat: 6, MaxLon: 31.2, MaxLat: 6.9}, From: from, To: from.Add(90 * 24 * time.Hour)},
		{Viewer: sys},
		{Viewer: sys, Statuses: []bluehelm.Status{bluehelm.StatusRejected}},
		{Viewer: bluehelm.Principal{Component: bluehelm.Police, Clearance: bluehelm.StrictlyConfidential}, Categories: []bluehelm.Category{bluehelm.CatDrone}},
		{Viewer: sys, BBox: &bluehelm.BBox{MinLon: 24, MinLat: 3.5, MaxLon: 30, MaxLat: 8}},
		{Viewer: sys, BBox: &bluehelm.BBox{MinLon: 30, MinLat: 6, MaxLon: 31.2, MaxLat: 6.9}},
	} {
		s := time.Now()
		p, err := db.FindIncidents(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%-60s %4d results in %v", f.Text+" "+string(f.Viewer.Component)+" bbox="+boolStr(f.BBox != nil), len(p.Incidents), time.Since(s))
	}
}

func boolStr(b bool) string {
	if b {
		return "y"
	}
	return "n"
}
