package ogcapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ogcapi"
	"github.com/paulmach/orb"
)

// TestGDAL reads the API with GDAL/OGR's OAPIF driver, the client QGIS users and
// scripts actually run, over a real socket on 127.0.0.1 behind a bearer-token
// check like the real server's.
//
// It needs ogrinfo (Debian package gdal-bin). Without it the test skips, except
// under CI=true, where a missing real component is a failure.
func TestGDAL(t *testing.T) {
	ogrinfo, err := exec.LookPath("ogrinfo")
	if err != nil {
		msg := "ogrinfo not found on PATH: install GDAL (Debian: apt-get install --no-install-recommends gdal-bin) to run the OGC API interoperability test"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}

	e := newEnv(t)
	// 25 incidents the viewer may see — more than GDAL's page of 10, so that it
	// has to follow next links — and one it may not.
	start := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	const visibleIncidents = 25
	for i := range visibleIncidents {
		inc := incident(fmt.Sprintf("Clash %02d", i), 31.5+float64(i)*0.01, 4.8, start.Add(time.Duration(i)*time.Hour), unclassified)
		e.createIncident(inc)
	}
	e.createIncident(incident("Police only", 31.5, 4.8, start, policeConf))
	e.createArea("Sector West", bluehelm.AreaSector, box(31, 4, 0.5), unclassified)
	e.createArea("Juba camp", bluehelm.AreaCamp, box(31.6, 4.85, 0.02), unclassified)
	e.createArea("MSR Juba-Bor", bluehelm.AreaRoute, orb.LineString{{31.58, 4.85}, {31.56, 6.21}}, unclassified)
	e.createArea("Police post", bluehelm.AreaRestricted, box(31.7, 4.9, 0.01), policeConf)
	for i := range 4 {
		e.addTrack(fmt.Sprintf("veh-%d", i), fmt.Sprintf("BANBAT %d", i), 31.5+float64(i)*0.1, 4.9, start, unclassified)
	}
	e.addTrack("pol-1", "UNPOL 1", 31.6, 4.9, start, policeConf)

	// The real server authenticates, then hands the principal to the handler;
	// here a fixed token stands for the military analyst.
	type viewerKey struct{}
	h := ogcapi.New(ogcapi.Config{
		Store:   e.db,
		Picture: e.picture,
		Principal: func(r *http.Request) (bluehelm.Principal, bool) {
			p, ok := r.Context().Value(viewerKey{}).(bluehelm.Principal)
			return p, ok
		},
		// No BaseURL, as cmd/bluehelm wires it: the default must yield links
		// GDAL can follow.
	})
	mux := http.NewServeMux()
	mount(mux, h)
	var (
		mu       sync.Mutex
		requests []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			mu.Lock()
			requests = append(requests, fmt.Sprintf("%s %s → %d (Accept: %s)", r.Method, r.URL, rec.status, r.Header.Get("Accept")))
			mu.Unlock()
		}()
		if r.Header.Get("Authorization") != "Bearer testtoken" {
			rec.Header().Set("WWW-Authenticate", `Bearer realm="bluehelm"`)
			http.Error(rec, "unauthorised", http.StatusUnauthorized)
			return
		}
		mux.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), viewerKey{}, military)))
	}))
	t.Cleanup(srv.Close)
	// When GDAL disagrees, what it asked for is the first thing to look at; -v
	// shows it always.
	t.Cleanup(func() {
		if t.Failed() || testing.Verbose() {
			mu.Lock()
			defer mu.Unlock()
			t.Logf("requests made by GDAL:\n  %s", strings.Join(requests, "\n  "))
		}
	})
	dataset := "OAPIF:" + srv.URL + "/ogc"

	run := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), ogrinfo, args...)
		cmd.Env = append(os.Environ(),
			"GDAL_HTTP_HEADERS=Authorization: Bearer testtoken",
			// A proxy configured on the machine must not see the loopback traffic.
			"NO_PROXY=127.0.0.1", "no_proxy=127.0.0.1",
		)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("ogrinfo %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		if testing.Verbose() {
			t.Logf("ogrinfo %s:\n%s", strings.Join(args, " "), out)
		}
		return string(out)
	}

	t.Run("summary", func(t *testing.T) {
		out := run("-ro", "-al", "-so", dataset)
		counts := layerCounts(out)
		for layer, want := range map[string]int{"incidents": visibleIncidents, "areas": 3, "tracks": 4} {
			got, ok := counts[layer]
			if !ok {
				t.Errorf("layer %s missing from ogrinfo output:\n%s", layer, out)
				continue
			}
			if got != want {
				t.Errorf("layer %s: Feature Count %d, want %d:\n%s", layer, got, want, out)
			}
		}
		if len(counts) != 3 {
			t.Errorf("layers %v, want incidents, areas, tracks", counts)
		}
		// GDAL derives the columns from the first page; these must be among them.
		for _, col := range []string{"title: String", "category: String", "killed_best: Integer", "occurred_start: DateTime",
			"classification: String", "name: String", "callsign: String", "speed: Real"} {
			if !strings.Contains(out, col) {
				t.Errorf("column %q missing:\n%s", col, out)
			}
		}
	})

	t.Run("incidents", func(t *testing.T) {
		out := run("-ro", dataset, "incidents")
		if n := strings.Count(out, "OGRFeature(incidents)"); n != visibleIncidents {
			t.Errorf("%d incident features listed, want %d", n, visibleIncidents)
		}
		for _, want := range []string{
			"title (String) = Clash 00",
			"title (String) = Clash 24",
			"category (String) = armed_clash",
			"subcategory (String) = exchange_of_fire",
			"status (String) = approved",
			"place_name (String) = Juba",
			"admin1 (String) = Central Equatoria",
			"killed_best (Integer) = 3",
			"classification (String) = UNCLASSIFIED",
			"component (String) = military",
			"occurred_start (DateTime) = 2024/05/01 00:00:00+00",
			"POINT (31.5 4.8)",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("%q not in ogrinfo output:\n%s", want, out)
			}
		}
		if strings.Contains(out, "Police only") {
			t.Error("GDAL was served an incident the viewer may not see")
		}
	})

	t.Run("unauthenticated", func(t *testing.T) {
		cmd := exec.CommandContext(t.Context(), ogrinfo, "-ro", "-so", dataset)
		cmd.Env = append(os.Environ(), "NO_PROXY=127.0.0.1", "no_proxy=127.0.0.1")
		if out, err := cmd.CombinedOutput(); err == nil {
			t.Errorf("ogrinfo without a token succeeded:\n%s", out)
		}
	})
}

// layerCounts reads "Layer name: X" … "Feature Count: N" pairs from ogrinfo -so.
func layerCounts(out string) map[string]int {
	counts := map[string]int{}
	re := regexp.MustCompile(`(?m)^Layer name: (\S+)$|^Feature Count: (\d+)$`)
	layer := ""
	for _, m := range re.FindAllStringSubmatch(out, -1) {
		if m[1] != "" {
			layer = m[1]
			continue
		}
		if layer != "" {
			n, _ := strconv.Atoi(m[2])
			counts[layer] = n
			layer = ""
		}
	}
	return counts
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}
