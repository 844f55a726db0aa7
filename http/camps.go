package http

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/camp"
	"github.com/bluehelm/bluehelm/ingest"
)

// This file serves the camp manager's records of issue 7: camps and their
// profiles, assets, work orders, stock items with their movements and
// forecast, and the camp dashboard (camps_dashboard.go). Reads go to the store
// with the caller as viewer; writes go through the pipeline.

// CampStore is what the camp routes read. The server's Store does not list it,
// so it is asserted on use: a store without it answers 503.
type CampStore interface {
	bluehelm.CampStore
	Sensor(ctx context.Context, id int64) (*bluehelm.Sensor, error)
	Sensors(ctx context.Context) ([]*bluehelm.Sensor, error)
	Rollups(ctx context.Context, sensorIDs []int64, res bluehelm.RollupResolution, from, to time.Time) ([]bluehelm.SensorRollup, error)
	StockItem(ctx context.Context, id int64) (*bluehelm.StockItem, error)
	StockItems(ctx context.Context) ([]*bluehelm.StockItem, error)
	StockBalance(ctx context.Context, itemID int64) (float64, error)
	StockMovements(ctx context.Context, itemID int64, from, to time.Time) ([]bluehelm.StockMovement, error)
}

func (s *Server) campStore() (CampStore, error) {
	cs, ok := s.cfg.Store.(CampStore)
	if !ok {
		return nil, bluehelm.Errorf(bluehelm.EUNAVAILABLE, "this server keeps no camp records")
	}
	return cs, nil
}

// lastReadings is the pipeline's view of each sensor's last accepted reading
// (the reading path provides it); without it the dashboard falls back to the
// latest stored minute roll-up.
type lastReadings interface {
	LastReadings() map[int64]bluehelm.Reading
}

// visibleCamp returns camp area id, hidden (ENOTFOUND) from whoever may not
// see it and for areas that are not camps.
func (s *Server) visibleCamp(r *http.Request, id int64) (*bluehelm.Area, error) {
	a, err := s.cfg.Store.Area(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if !principal(r).CanSee(a.Marking) || a.Kind != bluehelm.AreaCamp {
		return nil, bluehelm.Errorf(bluehelm.ENOTFOUND, "camp %d not found", id)
	}
	return a, nil
}

func (s *Server) assets() resource[bluehelm.Asset] {
	return resource[bluehelm.Asset]{kind: "asset", base: "/api/v1/assets/", limit: limitSmall, load: func(ctx context.Context, id int64) (*bluehelm.Asset, error) {
		cs, err := s.campStore()
		if err != nil {
			return nil, err
		}
		return cs.Asset(ctx, id)
	}, meta: func(a *bluehelm.Asset) (int64, int, bluehelm.Marking) { return a.ID, a.Version, a.Marking }}
}

func (s *Server) workOrders() resource[bluehelm.WorkOrder] {
	return resource[bluehelm.WorkOrder]{kind: "work order", base: "/api/v1/work-orders/", limit: limitSmall, load: func(ctx context.Context, id int64) (*bluehelm.WorkOrder, error) {
		cs, err := s.campStore()
		if err != nil {
			return nil, err
		}
		return cs.WorkOrder(ctx, id)
	}, meta: func(w *bluehelm.WorkOrder) (int64, int, bluehelm.Marking) { return w.ID, w.Version, w.Marking }}
}

func (s *Server) stockItems() resource[bluehelm.StockItem] {
	return resource[bluehelm.StockItem]{kind: "stock item", base: "/api/v1/stock-items/", limit: limitSmall, load: func(ctx context.Context, id int64) (*bluehelm.StockItem, error) {
		cs, err := s.campStore()
		if err != nil {
			return nil, err
		}
		return cs.StockItem(ctx, id)
	}, meta: func(it *bluehelm.StockItem) (int64, int, bluehelm.Marking) { return it.ID, it.Version, it.Marking }}
}

// campParam reads ?camp= (0 when absent).
func campParam(q *query) (int64, error) {
	v := q.get("camp")
	if v == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, invalid("camp", "%q is not a camp id", v)
	}
	return id, nil
}

// campRoutes are the routes of camps, assets, work orders and stock items.
// As operationsRoutes, they reach the store and pipeline through closures so
// that the table can be built without them.
func (s *Server) campRoutes(v1 string) []route {
	assets, orders, items := s.assets(), s.workOrders(), s.stockItems()
	pl := s.cfg.Pipeline
	return []route{
		{method: "GET", path: v1 + "/camps", h: s.listCamps},
		{method: "GET", path: v1 + "/camps/{id}/profile", h: s.getCampProfile},
		{method: "PUT", path: v1 + "/camps/{id}/profile", h: s.putCampProfile},
		{method: "GET", path: v1 + "/camps/{id}/dashboard", h: s.campDashboard},

		{method: "GET", path: v1 + "/assets", h: s.listAssets},
		{method: "POST", path: v1 + "/assets", h: assets.create(pl.CreateAsset)},
		{method: "GET", path: v1 + "/assets/{id}", h: assets.get()},
		{method: "PUT", path: v1 + "/assets/{id}", h: assets.update(pl.UpdateAsset)},
		{method: "DELETE", path: v1 + "/assets/{id}", h: assets.remove(pl.DeleteAsset)},

		{method: "GET", path: v1 + "/work-orders", h: s.listWorkOrders},
		{method: "POST", path: v1 + "/work-orders", h: orders.create(pl.CreateWorkOrder)},
		{method: "GET", path: v1 + "/work-orders/{id}", h: orders.get()},
		{method: "POST", path: v1 + "/work-orders/{id}/actions/{action}", h: s.workOrderAction(orders)},

		{method: "GET", path: v1 + "/stock-items", h: s.listStockItems},
		{method: "POST", path: v1 + "/stock-items", h: items.create(pl.CreateStockItem)},
		{method: "GET", path: v1 + "/stock-items/{id}", h: items.get()},
		{method: "PUT", path: v1 + "/stock-items/{id}", h: items.update(pl.UpdateStockItem)},
		{method: "GET", path: v1 + "/stock-items/{id}/movements", h: s.listMovements(items)},
		{method: "POST", path: v1 + "/stock-items/{id}/movements", h: s.postMovement(items)},
		{method: "GET", path: v1 + "/stock-items/{id}/forecast", h: s.stockForecast(items)},
	}
}

// CampEntry is one camp of GET /camps: its area and its profile (null until
// one is set).
type CampEntry struct {
	Area    *bluehelm.Area        `json:"area"`
	Profile *bluehelm.CampProfile `json:"profile"`
}

func (s *Server) listCamps(w http.ResponseWriter, r *http.Request) error {
	if err := newQuery(r).done(); err != nil {
		return err
	}
	cs, err := s.campStore()
	if err != nil {
		return err
	}
	areas, err := s.cfg.Store.Areas(r.Context())
	if err != nil {
		return err
	}
	profiles, err := cs.CampProfiles(r.Context())
	if err != nil {
		return err
	}
	byCamp := map[int64]*bluehelm.CampProfile{}
	for _, p := range profiles {
		byCamp[p.CampID] = p
	}
	p := principal(r)
	out := []CampEntry{}
	for _, a := range areas {
		if a.Kind == bluehelm.AreaCamp && p.CanSee(a.Marking) {
			out = append(out, CampEntry{Area: a, Profile: byCamp[a.ID]})
		}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"camps": out})
}

// profileOrDefault returns the camp's stored profile, or the defaults at
// version 0 when none is stored yet.
func profileOrDefault(ctx context.Context, cs CampStore, campID int64) (*bluehelm.CampProfile, error) {
	pr, err := cs.CampProfile(ctx, campID)
	if bluehelm.ErrorCode(err) == bluehelm.ENOTFOUND {
		return &bluehelm.CampProfile{CampID: campID, WaterStandardLPD: bluehelm.DefaultWaterStandardLPD}, nil
	}
	return pr, err
}

func (s *Server) getCampProfile(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	cs, err := s.campStore()
	if err != nil {
		return err
	}
	if _, err := s.visibleCamp(r, id); err != nil {
		return err
	}
	pr, err := profileOrDefault(r.Context(), cs, id)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(pr.Version))
	return writeJSON(w, http.StatusOK, pr)
}

// putCampProfile sets a camp's profile. The first one is created without
// If-Match (a second such PUT is a 409); a change needs If-Match.
func (s *Server) putCampProfile(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	want, _, err := ifMatch(r)
	if err != nil {
		return err
	}
	if _, err := s.visibleCamp(r, id); err != nil {
		return err
	}
	next := new(bluehelm.CampProfile)
	if err := decodeJSON(w, r, limitSmall, next); err != nil {
		return err
	}
	pr, err := s.cfg.Pipeline.PutCampProfile(r.Context(), principal(r), id, want, next)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(pr.Version))
	return writeJSON(w, http.StatusOK, pr)
}

func (s *Server) listAssets(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	campID, err := campParam(q)
	if err != nil {
		return err
	}
	if err := q.done(); err != nil {
		return err
	}
	cs, err := s.campStore()
	if err != nil {
		return err
	}
	as, err := cs.Assets(r.Context(), campID)
	if err != nil {
		return err
	}
	out := visibleTo(principal(r), as, func(*bluehelm.Asset) bool { return true }, func(a *bluehelm.Asset) bluehelm.Marking { return a.Marking })
	return writeJSON(w, http.StatusOK, map[string]any{"assets": out})
}

func (s *Server) listWorkOrders(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	var f bluehelm.WorkOrderFilter
	var err error
	if f.CampID, err = campParam(q); err != nil {
		return err
	}
	if v := q.get("asset"); v != "" {
		if f.AssetID, err = strconv.ParseInt(v, 10, 64); err != nil || f.AssetID <= 0 {
			return invalid("asset", "%q is not an asset id", v)
		}
	}
	for _, st := range q.list("status") {
		if !bluehelm.WorkOrderStatus(st).Valid() {
			return invalid("status", "unknown work order status %q (want open, assigned or done)", st)
		}
		f.Statuses = append(f.Statuses, bluehelm.WorkOrderStatus(st))
	}
	if err := q.done(); err != nil {
		return err
	}
	cs, err := s.campStore()
	if err != nil {
		return err
	}
	ws, err := cs.WorkOrders(r.Context(), f)
	if err != nil {
		return err
	}
	out := visibleTo(principal(r), ws, func(*bluehelm.WorkOrder) bool { return true }, func(wo *bluehelm.WorkOrder) bluehelm.Marking { return wo.Marking })
	return writeJSON(w, http.StatusOK, map[string]any{"work_orders": out})
}

// WorkOrderActionRequest is the body of a work order action: assign names
// who; done may give the hour meter read at the job (default: the meter bluehelm
// counts from the generator's running hours) and a note.
type WorkOrderActionRequest struct {
	AssignedTo string   `json:"assigned_to,omitempty"`
	HourMeter  *float64 `json:"hour_meter,omitempty"`
	Note       string   `json:"note,omitempty"`
}

func (s *Server) workOrderAction(rs resource[bluehelm.WorkOrder]) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		want, _, err := ifMatch(r)
		if err != nil {
			return err
		}
		var req WorkOrderActionRequest
		if err := decodeOptionalJSON(w, r, limitSmall, &req); err != nil {
			return err
		}
		var wo *bluehelm.WorkOrder
		switch a := r.PathValue("action"); a {
		case "assign":
			wo, err = s.cfg.Pipeline.AssignWorkOrder(r.Context(), principal(r), id, want, req.AssignedTo)
		case "done":
			wo, err = s.cfg.Pipeline.CompleteWorkOrder(r.Context(), principal(r), id, want, req.HourMeter, req.Note)
		default:
			return invalid("action", "unknown work order action %q (want assign or done)", a)
		}
		if err != nil {
			return rs.conflict(r, id, want, err)
		}
		return rs.write(w, http.StatusOK, wo)
	}
}

func (s *Server) listStockItems(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	campID, err := campParam(q)
	if err != nil {
		return err
	}
	if err := q.done(); err != nil {
		return err
	}
	cs, err := s.campStore()
	if err != nil {
		return err
	}
	items, err := cs.StockItems(r.Context())
	if err != nil {
		return err
	}
	out := visibleTo(principal(r), items, func(it *bluehelm.StockItem) bool { return campID == 0 || it.CampID == campID },
		func(it *bluehelm.StockItem) bluehelm.Marking { return it.Marking })
	return writeJSON(w, http.StatusOK, map[string]any{"stock_items": out})
}

// MovementResult answers a stored movement with the book after it.
type MovementResult struct {
	Movement bluehelm.StockMovement `json:"movement"`
	Balance  float64                `json:"balance"`
}

func (s *Server) postMovement(rs resource[bluehelm.StockItem]) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		var m bluehelm.StockMovement
		if err := decodeJSON(w, r, limitSmall, &m); err != nil {
			return err
		}
		if m.ItemID != 0 && m.ItemID != id {
			return invalid("item_id", "the movement names item %d but was posted to item %d", m.ItemID, id)
		}
		bal, err := s.cfg.Pipeline.AppendStockMovement(r.Context(), principal(r), id, &m)
		if neg := (*ingest.NegativeStockError)(nil); errors.As(err, &neg) {
			return &httpError{status: http.StatusUnprocessableEntity, code: bluehelm.EINVALID, field: bluehelm.ErrorField(err), msg: bluehelm.ErrorMessage(err)}
		}
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusCreated, MovementResult{Movement: m, Balance: bal})
	}
}

func (s *Server) listMovements(rs resource[bluehelm.StockItem]) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		q := newQuery(r)
		from, err := q.time("from")
		if err != nil {
			return err
		}
		to, err := q.time("to")
		if err != nil {
			return err
		}
		if err := q.done(); err != nil {
			return err
		}
		if _, err := rs.visible(r, id); err != nil {
			return err
		}
		cs, err := s.campStore()
		if err != nil {
			return err
		}
		ms, err := cs.StockMovements(r.Context(), id, from, to)
		if err != nil {
			return err
		}
		if ms == nil {
			ms = []bluehelm.StockMovement{}
		}
		return writeJSON(w, http.StatusOK, map[string]any{"movements": ms})
	}
}

// StockForecast answers GET /stock-items/{id}/forecast: the consumption model
// fitted on the last four weeks of issues, the item's status (as on the
// dashboard), and the forecast consumption and balance of each coming day.
type StockForecast struct {
	Status      camp.StockStatus `json:"status"`
	Consumption camp.Consumption `json:"consumption"`
	History     []DayValue       `json:"history"`  // issues per day, the fit's data
	Forecast    []DayForecast    `json:"forecast"` // from today
}

// DayValue is one day's total.
type DayValue struct {
	Date  string  `json:"date"` // YYYY-MM-DD (UTC)
	Value float64 `json:"value"`
}

// DayForecast is one coming day: the forecast use and the balance left at its end.
type DayForecast struct {
	Date    string  `json:"date"`
	Use     float64 `json:"use"`
	Balance float64 `json:"balance"`
}

func (s *Server) stockForecast(rs resource[bluehelm.StockItem]) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		q := newQuery(r)
		days, err := q.int("days", 30, 1, 365)
		if err != nil {
			return err
		}
		if err := q.done(); err != nil {
			return err
		}
		it, err := rs.visible(r, id)
		if err != nil {
			return err
		}
		cs, err := s.campStore()
		if err != nil {
			return err
		}
		now := s.now().UTC()
		bal, err := cs.StockBalance(r.Context(), id)
		if err != nil {
			return err
		}
		first := now.Truncate(24*time.Hour).AddDate(0, 0, -camp.ForecastHistoryDays)
		movs, err := cs.StockMovements(r.Context(), id, first, time.Time{})
		if err != nil {
			return err
		}
		m, _ := camp.StockForecast(it, bal, movs, now)
		out := StockForecast{Status: camp.Status(it, bal, movs, nil, now), Consumption: m}
		for i, v := range camp.DailyIssues(movs, first, camp.ForecastHistoryDays, nil) {
			out.History = append(out.History, DayValue{Date: first.AddDate(0, 0, i).Format(time.DateOnly), Value: v})
		}
		left := bal
		day := now.Truncate(24 * time.Hour)
		for range days {
			use := m.Predict(day)
			left = max(0, left-use)
			out.Forecast = append(out.Forecast, DayForecast{Date: day.Format(time.DateOnly), Use: round2(use), Balance: round2(left)})
			day = day.AddDate(0, 0, 1)
		}
		return writeJSON(w, http.StatusOK, out)
	}
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

// visibleTo keeps the records the principal may see (by their marking) that
// also pass keep, in order: every list of camp records is filtered this way.
func visibleTo[E any](p bluehelm.Principal, all []E, keep func(E) bool, marking func(E) bluehelm.Marking) []E {
	out := make([]E, 0, len(all))
	for _, e := range all {
		if keep(e) && p.CanSee(marking(e)) {
			out = append(out, e)
		}
	}
	return out
}
