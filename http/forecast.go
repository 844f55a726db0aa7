package http

import (
	"net/http"
	"strconv"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/warn"
)

// Forecasts gives the latest early-warning surface (nil before the first).
type Forecasts interface {
	Surface() *warn.Surface
}

// forecastLayer is the risk-surface layer of the map: the cells at or above
// min probability, as columns (the map builds its squares from them).
type forecastLayer struct {
	Origin  time.Time `json:"origin"`
	Horizon int       `json:"horizon_days"`
	Model   string    `json:"model"`
	Cells   struct {
		ID          []int     `json:"id"`
		MinLon      []float64 `json:"min_lon"`
		MinLat      []float64 `json:"min_lat"`
		MaxLon      []float64 `json:"max_lon"`
		MaxLat      []float64 `json:"max_lat"`
		Probability []float64 `json:"probability"`
	} `json:"cells"`
}

func (s *Server) surface() (*warn.Surface, error) {
	if s.cfg.Forecasts == nil {
		return nil, bluehelm.Errorf(bluehelm.ENOTFOUND, "early warning is not enabled on this server")
	}
	sf := s.cfg.Forecasts.Surface()
	if sf == nil {
		return nil, bluehelm.Errorf(bluehelm.ENOTFOUND, "no forecast yet: the first is made from the incident history shortly after start")
	}
	return sf, nil
}

func (s *Server) forecastSurface(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	min := 0.05
	if v := q.get("min"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f > 1 {
			return invalid("min", "must be a probability between 0 and 1")
		}
		min = f
	}
	if err := q.done(); err != nil {
		return err
	}
	sf, err := s.surface()
	if err != nil {
		return err
	}
	out := forecastLayer{Origin: sf.Origin.UTC(), Horizon: int(sf.Horizon.Hours() / 24), Model: sf.Model}
	c := &out.Cells
	c.ID, c.MinLon, c.MinLat, c.MaxLon, c.MaxLat, c.Probability = []int{}, []float64{}, []float64{}, []float64{}, []float64{}, []float64{}
	for i := 0; i < sf.Grid.Len(); i++ {
		p := sf.Forecast.Probability(i)
		if p < min {
			continue
		}
		b := sf.Grid.Bounds(i)
		c.ID = append(c.ID, i)
		c.MinLon, c.MinLat, c.MaxLon, c.MaxLat = append(c.MinLon, b.MinLon), append(c.MinLat, b.MinLat), append(c.MaxLon, b.MaxLon), append(c.MaxLat, b.MaxLat)
		c.Probability = append(c.Probability, p)
	}
	return writeJSON(w, http.StatusOK, out)
}

// forecastCell answers "why this cell": its probability and the past incidents
// behind it that the caller may see.
func (s *Server) forecastCell(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.Atoi(r.PathValue("cell"))
	if err != nil || id < 0 {
		return invalid("cell", "%q is not a cell number", r.PathValue("cell"))
	}
	sf, err := s.surface()
	if err != nil {
		return err
	}
	if id >= sf.Grid.Len() {
		return bluehelm.Errorf(bluehelm.ENOTFOUND, "cell %d is not in the forecast grid", id)
	}
	type reason struct {
		IncidentID int64             `json:"incident_id"`
		Weight     float64           `json:"weight"`
		Title      string            `json:"title"`
		Category   bluehelm.Category `json:"category"`
		Occurred   time.Time         `json:"occurred_start"`
		Location   bluehelm.Point    `json:"location"`
	}
	p := principal(r)
	reasons := []reason{}
	for _, c := range sf.Forecast.Why(id, 10) {
		inc, err := s.cfg.Store.Incident(r.Context(), c.EventID)
		if err != nil || !p.CanSee(inc.Marking) {
			continue // gone, or not for this reader: the weight stays in the probability, the name does not show
		}
		reasons = append(reasons, reason{IncidentID: inc.ID, Weight: c.Weight, Title: inc.Title, Category: inc.Category,
			Occurred: inc.OccurredStart.UTC(), Location: inc.Location})
	}
	b := sf.Grid.Bounds(id)
	return writeJSON(w, http.StatusOK, map[string]any{
		"cell": id, "bbox": []float64{b.MinLon, b.MinLat, b.MaxLon, b.MaxLat}, "probability": sf.Forecast.Probability(id),
		"origin": sf.Origin.UTC(), "horizon_days": int(sf.Horizon.Hours() / 24), "model": sf.Model, "reasons": reasons,
	})
}
