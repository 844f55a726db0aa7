package http

import (
	"net/http"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/forecast"
	"github.com/bluehelm/bluehelm/warn"
)

// fixedForecast is a forecast with given probabilities and reasons.
type fixedForecast struct {
	p   []float64
	why map[int][]forecast.Contribution
}

func (f fixedForecast) Probability(cell int) float64 { return f.p[cell] }
func (f fixedForecast) Why(cell, k int) []forecast.Contribution {
	return f.why[cell]
}

type fixedSource struct{ s *warn.Surface }

func (f fixedSource) Surface() *warn.Surface { return f.s }

// TestForecastLayer: the surface answers the cells at or above min; a cell's
// reasons name only the incidents the reader may see; before the first forecast
// and without early warning the answer is a 404 that says why.
func TestForecastLayer(t *testing.T) {
	src := &fixedSource{}
	e := newEnv(t, func(c *Config) { c.Forecasts = src })
	e.standardUsers()
	e.problem(req{method: "GET", path: "/api/v1/forecast", as: "viewer"}, http.StatusNotFound, "")

	open := e.seedIncident(bluehelm.Marking{Component: bluehelm.Military}, "IED on the Bor road").ID
	secret := e.seedIncident(bluehelm.Marking{Classification: bluehelm.Confidential, Component: bluehelm.Military}, "Source report").ID
	g, err := forecast.NewGrid(bluehelm.BBox{MinLon: 31, MinLat: 6, MaxLon: 31.1, MaxLat: 6.1}, 5)
	if err != nil {
		t.Fatal(err)
	}
	p := make([]float64, g.Len())
	p[1] = 0.7
	p[2] = 0.02
	src.s = &warn.Surface{Origin: e.now, Horizon: 30 * 24 * time.Hour, Model: "hawkes", Grid: g,
		Forecast: fixedForecast{p: p, why: map[int][]forecast.Contribution{1: {{EventID: secret, Weight: 0.6}, {EventID: open, Weight: 0.3}}}}}

	var layer forecastLayer
	e.ok(req{method: "GET", path: "/api/v1/forecast?min=0.05", as: "viewer"}, http.StatusOK, &layer)
	if len(layer.Cells.ID) != 1 || layer.Cells.ID[0] != 1 || layer.Cells.Probability[0] != 0.7 || layer.Horizon != 30 || layer.Model != "hawkes" {
		t.Fatalf("layer %+v", layer)
	}
	if b := g.Bounds(1); layer.Cells.MinLon[0] != b.MinLon || layer.Cells.MaxLat[0] != b.MaxLat {
		t.Errorf("cell bounds %v, want %+v", layer.Cells, b)
	}
	var cell struct {
		Probability float64 `json:"probability"`
		Reasons     []struct {
			IncidentID int64  `json:"incident_id"`
			Title      string `json:"title"`
		} `json:"reasons"`
	}
	e.ok(req{method: "GET", path: "/api/v1/forecast/cells/1", as: "viewer"}, http.StatusOK, &cell)
	if cell.Probability != 0.7 || len(cell.Reasons) != 1 || cell.Reasons[0].IncidentID != open {
		t.Fatalf("viewer's reasons %+v, want only the unclassified incident %d", cell, open)
	}
	e.ok(req{method: "GET", path: "/api/v1/forecast/cells/1", as: "ops1"}, http.StatusOK, &cell)
	if len(cell.Reasons) != 2 || cell.Reasons[0].IncidentID != secret {
		t.Fatalf("cleared reader's reasons %+v", cell.Reasons)
	}
	e.problem(req{method: "GET", path: "/api/v1/forecast/cells/99999", as: "viewer"}, http.StatusNotFound, "")
	e.problem(req{method: "GET", path: "/api/v1/forecast?min=2", as: "viewer"}, http.StatusBadRequest, "min")

	off := newEnv(t)
	off.standardUsers()
	off.problem(req{method: "GET", path: "/api/v1/forecast", as: "viewer"}, http.StatusNotFound, "")
}
