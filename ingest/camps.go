package ingest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/camp"
)

// This file is the write path of the camp manager's records: camp profiles,
// assets, work orders and the stock book, each authorised by camp.manage,
// validated, audited and stored; and the checks that turn their state into
// alerts: a stock below its minimum days of supply (after every movement and
// daily) and a generator service falling due (one automatic work order per due
// service, never two).

// campStore is what the camp records need of the store.
type campStore interface {
	bluehelm.SensorStore
	bluehelm.CampStore
}

// camps returns the store's camp records. It cannot fail since the pipeline's
// Store lists them; the error stays so that callers need not change if the camp
// records ever become optional again.
func (p *Pipeline) camps() (campStore, error) { return p.store, nil }

// Alert rules of the camp checks (Source AlertCamp).
const (
	RuleReorder     = "reorder"
	RuleMaintenance = "maintenance"
)

// campArea returns the camp area id, or an error naming field when it is not
// a camp the principal may see.
func (p *Pipeline) campArea(ctx context.Context, by bluehelm.Principal, field string, id int64) (*bluehelm.Area, error) {
	a, err := p.store.Area(ctx, id)
	if bluehelm.ErrorCode(err) == bluehelm.ENOTFOUND || (err == nil && !by.CanSee(a.Marking)) {
		return nil, bluehelm.Invalid(field, "no camp %d", id)
	}
	if err != nil {
		return nil, err
	}
	if a.Kind != bluehelm.AreaCamp {
		return nil, bluehelm.Invalid(field, "area %d is a %s, not a camp", id, a.Kind)
	}
	return a, nil
}

// PutCampProfile creates (expectVersion 0) or replaces a camp's profile.
func (p *Pipeline) PutCampProfile(ctx context.Context, by bluehelm.Principal, campID int64, expectVersion int, next *bluehelm.CampProfile) (*bluehelm.CampProfile, error) {
	cs, err := p.camps()
	if err != nil {
		return nil, err
	}
	if err := by.Require(bluehelm.ActManageCamp); err != nil {
		return nil, p.reject("camp_profile", err)
	}
	if _, err := p.campArea(ctx, by, "camp_id", campID); err != nil {
		return nil, p.reject("camp_profile", err)
	}
	next.CampID, next.Version, next.UpdatedAt = campID, expectVersion, p.now()
	if err := next.Validate(); err != nil {
		return nil, p.reject("camp_profile", err)
	}
	zone := func(field string, id int64) error {
		z, err := p.store.Area(ctx, id)
		if err != nil || !by.CanSee(z.Marking) || z.Kind != bluehelm.AreaCampZone {
			return bluehelm.Invalid(field, "no camp zone %d", id)
		}
		return nil
	}
	for i, id := range next.ZoneIDs {
		if err := zone("zone_ids["+strconv.Itoa(i)+"]", id); err != nil {
			return nil, p.reject("camp_profile", err)
		}
	}
	for i, pr := range next.AdjacentZones {
		for _, id := range pr {
			if err := zone("adjacent_zones["+strconv.Itoa(i)+"]", id); err != nil {
				return nil, p.reject("camp_profile", err)
			}
		}
	}
	if err := cs.PutCampProfile(ctx, next, p.audit(by, "camp.profile", objectID("camp_profile", campID),
		map[string]any{"version": expectVersion + 1, "population": next.Population, "escalation": next.Escalation})); err != nil {
		return nil, p.reject("camp_profile", err)
	}
	// The alarm engine correlates perimeter triggers by the profile's zone
	// adjacency: it takes the new pairs now, not at the next restart.
	if rp, err := p.readingPath(ctx); err == nil {
		rp.reload(ctx)
	}
	return next, nil
}

// checkAsset validates an asset and its references: the camp, the zone, and
// sensors of the same camp.
func (p *Pipeline) checkAsset(ctx context.Context, cs campStore, by bluehelm.Principal, a *bluehelm.Asset) error {
	if err := p.checkMarked(by, &a.Marking, a.Validate); err != nil {
		return err
	}
	if _, err := p.campArea(ctx, by, "camp_id", a.CampID); err != nil {
		return err
	}
	if a.ZoneID != 0 {
		z, err := p.store.Area(ctx, a.ZoneID)
		if err != nil || !by.CanSee(z.Marking) || z.Kind != bluehelm.AreaCampZone {
			return bluehelm.Invalid("zone_id", "no camp zone %d", a.ZoneID)
		}
	}
	for i, id := range a.SensorIDs {
		s, err := cs.Sensor(ctx, id)
		if err != nil || !by.CanSee(s.Marking) {
			return bluehelm.Invalid("sensor_ids["+strconv.Itoa(i)+"]", "no sensor %d", id)
		}
		if s.CampID != a.CampID {
			return bluehelm.Invalid("sensor_ids["+strconv.Itoa(i)+"]", "sensor %s is in camp %d, not %d", s.Code, s.CampID, a.CampID)
		}
	}
	return nil
}

// CreateAsset registers a camp asset.
func (p *Pipeline) CreateAsset(ctx context.Context, by bluehelm.Principal, a *bluehelm.Asset) error {
	cs, err := p.camps()
	if err != nil {
		return err
	}
	if err := by.Require(bluehelm.ActManageCamp); err != nil {
		return p.reject("asset", err)
	}
	now := p.now()
	a.ID, a.Version, a.CreatedAt, a.UpdatedAt = 0, 0, now, now
	if err := p.checkAsset(ctx, cs, by, a); err != nil {
		return p.reject("asset", err)
	}
	if err := cs.CreateAsset(ctx, a, p.audit(by, "asset.create", "", map[string]any{"name": a.Name, "kind": a.Kind, "camp_id": a.CampID})); err != nil {
		return p.reject("asset", err)
	}
	p.checkAssetNow(ctx, a)
	return nil
}

// checkAssetNow runs the maintenance check of an asset just written: a set
// registered (or corrected) with a service already within its lead gets its
// work order now, not at the next periodic check.
func (p *Pipeline) checkAssetNow(ctx context.Context, a *bluehelm.Asset) {
	if _, err := p.CheckMaintenance(ctx, a); err != nil {
		p.log.Error("maintenance check", "err", err, "asset", a.ID)
	}
}

// UpdateAsset replaces asset id if it is still at expectVersion.
func (p *Pipeline) UpdateAsset(ctx context.Context, by bluehelm.Principal, id int64, expectVersion int, next *bluehelm.Asset) (*bluehelm.Asset, error) {
	cs, err := p.camps()
	if err != nil {
		return nil, err
	}
	cur, err := current(ctx, by, bluehelm.ActManageCamp, "asset", id, expectVersion, cs.Asset,
		func(a *bluehelm.Asset) (int, bluehelm.Marking) { return a.Version, a.Marking })
	if err != nil {
		return nil, p.reject("asset", err)
	}
	next.ID, next.Version, next.CreatedAt, next.UpdatedAt = cur.ID, cur.Version, cur.CreatedAt, p.now()
	if next.Component == "" {
		next.Marking = cur.Marking
	}
	if err := p.checkAsset(ctx, cs, by, next); err != nil {
		return nil, p.reject("asset", err)
	}
	if err := cs.UpdateAsset(ctx, next, p.audit(by, "asset.update", objectID("asset", id), map[string]any{"version": cur.Version + 1})); err != nil {
		return nil, p.reject("asset", err)
	}
	p.checkAssetNow(ctx, next)
	return next, nil
}

// DeleteAsset removes an asset still at expectVersion. Its work orders stay on
// record.
func (p *Pipeline) DeleteAsset(ctx context.Context, by bluehelm.Principal, id int64, expectVersion int) error {
	cs, err := p.camps()
	if err != nil {
		return err
	}
	if _, err := current(ctx, by, bluehelm.ActManageCamp, "asset", id, expectVersion, cs.Asset,
		func(a *bluehelm.Asset) (int, bluehelm.Marking) { return a.Version, a.Marking }); err != nil {
		return p.reject("asset", err)
	}
	if err := cs.DeleteAsset(ctx, id, expectVersion, p.audit(by, "asset.delete", objectID("asset", id), nil)); err != nil {
		return p.reject("asset", err)
	}
	return nil
}

// CreateWorkOrder opens a work order by hand (assigned at once when it names
// who does it).
func (p *Pipeline) CreateWorkOrder(ctx context.Context, by bluehelm.Principal, w *bluehelm.WorkOrder) error {
	cs, err := p.camps()
	if err != nil {
		return err
	}
	if err := by.Require(bluehelm.ActManageCamp); err != nil {
		return p.reject("work_order", err)
	}
	a, err := cs.Asset(ctx, w.AssetID)
	if err != nil || !by.CanSee(a.Marking) {
		return p.reject("work_order", bluehelm.Invalid("asset_id", "no asset %d", w.AssetID))
	}
	now := p.now()
	w.ID, w.Version, w.CampID, w.Auto, w.CreatedAt, w.UpdatedAt = 0, 0, a.CampID, false, now, now
	w.Status, w.DoneAt, w.DoneAtHours = bluehelm.WorkOpen, nil, nil
	if w.AssignedTo != "" {
		if err := w.Assign(w.AssignedTo, now); err != nil {
			return p.reject("work_order", err)
		}
	}
	if w.Component == "" {
		w.Marking = a.Marking
	}
	if err := p.checkMarked(by, &w.Marking, w.Validate); err != nil {
		return p.reject("work_order", err)
	}
	if err := cs.CreateWorkOrder(ctx, w, p.audit(by, "work_order.create", "", map[string]any{"asset_id": w.AssetID, "task": w.Task})); err != nil {
		return p.reject("work_order", err)
	}
	return nil
}

func (p *Pipeline) workOrder(ctx context.Context, cs campStore, by bluehelm.Principal, id int64, expectVersion int) (*bluehelm.WorkOrder, error) {
	w, err := cs.WorkOrder(ctx, id)
	if err != nil {
		return nil, err
	}
	if !by.CanSee(w.Marking) {
		return nil, bluehelm.Errorf(bluehelm.ENOTFOUND, "work order %d not found", id)
	}
	if err := by.Require(bluehelm.ActManageCamp); err != nil {
		return nil, err
	}
	if expectVersion != 0 && w.Version != expectVersion {
		return nil, stale("work order", id, w.Version, expectVersion)
	}
	return w, nil
}

// AssignWorkOrder gives work order id to who. expectVersion 0 skips the
// version check (the workflow rules apply to the stored state either way).
func (p *Pipeline) AssignWorkOrder(ctx context.Context, by bluehelm.Principal, id int64, expectVersion int, who string) (*bluehelm.WorkOrder, error) {
	cs, err := p.camps()
	if err != nil {
		return nil, err
	}
	w, err := p.workOrder(ctx, cs, by, id, expectVersion)
	if err != nil {
		return nil, p.reject("work_order", err)
	}
	if err := w.Assign(who, p.now()); err != nil {
		return nil, p.reject("work_order", err)
	}
	if err := cs.UpdateWorkOrder(ctx, w, p.audit(by, "work_order.assign", objectID("work_order", id), map[string]any{"assigned_to": w.AssignedTo})); err != nil {
		return nil, p.reject("work_order", err)
	}
	return w, nil
}

// CompleteWorkOrder marks work order id done at hour meter meter (nil: the
// asset's meter now, from its running hours) and records the service in the
// asset's plan, so that the next one is counted from it. The maintenance
// alert of the service, if still open, is resolved.
func (p *Pipeline) CompleteWorkOrder(ctx context.Context, by bluehelm.Principal, id int64, expectVersion int, meter *float64, note string) (*bluehelm.WorkOrder, error) {
	cs, err := p.camps()
	if err != nil {
		return nil, err
	}
	w, err := p.workOrder(ctx, cs, by, id, expectVersion)
	if err != nil {
		return nil, p.reject("work_order", err)
	}
	a, err := cs.Asset(ctx, w.AssetID)
	if err != nil {
		return nil, p.reject("work_order", bluehelm.Errorf(bluehelm.ECONFLICT, "the asset of work order %d is gone (%v)", id, err))
	}
	m := 0.0
	if meter != nil {
		m = *meter
	} else if m, _, err = p.meter(ctx, cs, a); err != nil {
		return nil, p.reject("work_order", err)
	}
	if err := w.Done(m, note, p.now()); err != nil {
		return nil, p.reject("work_order", err)
	}
	a.ServiceDone(w.Task, m)
	if err := cs.CompleteWorkOrder(ctx, w, a, p.audit(by, "work_order.done", objectID("work_order", id), map[string]any{"done_at_hours": m})); err != nil {
		return nil, p.reject("work_order", err)
	}
	if w.Auto {
		p.resolveCampAlert(ctx, RuleMaintenance, maintenanceKey(w.AssetID, w.Task, w.DueAtHours), "work order "+strconv.FormatInt(w.ID, 10)+" done")
	}
	p.checkAssetNow(ctx, a)
	return w, nil
}

// resolveCampAlert resolves the open or acknowledged camp alert of a rule and
// key, if any.
func (p *Pipeline) resolveCampAlert(ctx context.Context, rule, key, resolution string) {
	by := bluehelm.SystemPrincipal(rule)
	open, err := p.store.Alerts(ctx, bluehelm.AlertFilter{Viewer: by, States: []bluehelm.AlertState{bluehelm.AlertOpen, bluehelm.AlertAcknowledged}, Limit: 1000})
	if err != nil {
		p.log.Error("finding camp alerts", "err", err)
		return
	}
	for _, a := range open {
		if a.Source == bluehelm.AlertCamp && a.Rule == rule && a.Key == key {
			if _, err := p.ResolveAlert(ctx, by, a.ID, a.Version, resolution); err != nil {
				p.log.Warn("resolving camp alert", "err", err, "alert", a.ID)
			}
		}
	}
}

// meter returns an asset's hour meter now and its recent running rate.
func (p *Pipeline) meter(ctx context.Context, cs campStore, a *bluehelm.Asset) (meter, perDay float64, err error) {
	sensors := map[int64]*bluehelm.Sensor{}
	for _, id := range a.SensorIDs {
		if s, err := cs.Sensor(ctx, id); err == nil {
			sensors[id] = s
		}
	}
	ids := camp.GeneratorSensors(a, sensors)
	now := p.now()
	hours, err := cs.RunningHours(ctx, ids, a.MeterSince(), time.Time{})
	if err != nil {
		return 0, 0, err
	}
	from := now.Add(-7 * 24 * time.Hour)
	if s := a.MeterSince(); s.After(from) {
		from = s
	}
	week, err := cs.Rollups(ctx, ids, bluehelm.RollupHour, from.Truncate(time.Hour), time.Time{})
	if err != nil {
		return 0, 0, err
	}
	return a.HourMeterBase + hours, camp.HoursPerDay(a, week, now), nil
}

func maintenanceKey(assetID int64, task string, due float64) string {
	return "asset/" + strconv.FormatInt(assetID, 10) + "/" + task + "/" + strconv.FormatFloat(due, 'f', -1, 64)
}

// CheckMaintenance raises, for each service of the asset's plans that falls
// due within its lead, one automatic work order and a camp alert. A service
// that has its work order already (from an earlier check, or a check running
// at the same moment) raises nothing: the store refuses the duplicate.
func (p *Pipeline) CheckMaintenance(ctx context.Context, a *bluehelm.Asset) (raised int, err error) {
	cs, err := p.camps()
	if err != nil {
		return 0, err
	}
	if len(a.ServicePlans) == 0 {
		return 0, nil
	}
	m, perDay, err := p.meter(ctx, cs, a)
	if err != nil {
		return 0, err
	}
	now := p.now()
	by := bluehelm.SystemPrincipal(RuleMaintenance)
	for _, due := range camp.DueServices(a, m, perDay, now) {
		w := &bluehelm.WorkOrder{CampID: a.CampID, AssetID: a.ID, Task: due.Task, Status: bluehelm.WorkOpen, DueAtHours: due.DueAt, Auto: true,
			Note: fmt.Sprintf("Raised automatically at %.0f running hours; due at %.0f h.", m, due.DueAt), Marking: a.Marking, CreatedAt: now, UpdatedAt: now}
		if err := w.Validate(); err != nil {
			return raised, err
		}
		err := cs.CreateWorkOrder(ctx, w, p.audit(by, "work_order.create", "", map[string]any{"asset_id": a.ID, "task": due.Task, "due_at_hours": due.DueAt, "auto": true}))
		if bluehelm.ErrorCode(err) == bluehelm.ECONFLICT {
			continue
		}
		if err != nil {
			return raised, err
		}
		raised++
		when := fmt.Sprintf("in %.0f running hours", due.HoursTo)
		if due.Overdue {
			when = fmt.Sprintf("overdue by %.0f running hours", -due.HoursTo)
		} else if !due.Expected.IsZero() {
			when += ", about " + due.Expected.UTC().Format("2 Jan")
		}
		al := &bluehelm.Alert{Source: bluehelm.AlertCamp, Rule: RuleMaintenance, Key: maintenanceKey(a.ID, due.Task, due.DueAt),
			Severity: bluehelm.SevWarning, AreaID: a.CampID, Location: &a.Position, Marking: a.Marking,
			Title:  truncate(fmt.Sprintf("%s: %s due %s", a.Name, due.Task, when), 200),
			Detail: fmt.Sprintf("%s is at %.0f running hours; %s is due at %.0f h. Work order %d was opened.", a.Name, m, due.Task, due.DueAt, w.ID)}
		if due.Overdue {
			al.Severity = bluehelm.SevCritical
		}
		p.raiseOnce(ctx, RuleMaintenance, al)
	}
	return raised, nil
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// CreateStockItem registers a stock item with an empty book.
func (p *Pipeline) CreateStockItem(ctx context.Context, by bluehelm.Principal, it *bluehelm.StockItem) error {
	cs, err := p.camps()
	if err != nil {
		return err
	}
	if err := by.Require(bluehelm.ActManageCamp); err != nil {
		return p.reject("stock_item", err)
	}
	now := p.now()
	it.ID, it.Version, it.CreatedAt, it.UpdatedAt = 0, 0, now, now
	if err := p.checkStockItem(ctx, cs, by, it); err != nil {
		return p.reject("stock_item", err)
	}
	if err := cs.CreateStockItem(ctx, it, p.audit(by, "stock_item.create", "", map[string]any{"name": it.Name, "kind": it.Kind, "camp_id": it.CampID})); err != nil {
		return p.reject("stock_item", err)
	}
	return nil
}

func (p *Pipeline) checkStockItem(ctx context.Context, cs campStore, by bluehelm.Principal, it *bluehelm.StockItem) error {
	if err := p.checkMarked(by, &it.Marking, it.Validate); err != nil {
		return err
	}
	if _, err := p.campArea(ctx, by, "camp_id", it.CampID); err != nil {
		return err
	}
	for i, id := range it.TankSensorIDs {
		s, err := cs.Sensor(ctx, id)
		f := "tank_sensor_ids[" + strconv.Itoa(i) + "]"
		if err != nil || !by.CanSee(s.Marking) {
			return bluehelm.Invalid(f, "no sensor %d", id)
		}
		if s.Kind != bluehelm.SensorFuelLevel && s.Kind != bluehelm.SensorWaterLevel {
			return bluehelm.Invalid(f, "sensor %s is a %s, not a tank level", s.Code, s.Kind)
		}
		if s.CampID != it.CampID {
			return bluehelm.Invalid(f, "sensor %s is in camp %d, not %d", s.Code, s.CampID, it.CampID)
		}
	}
	return nil
}

// UpdateStockItem replaces item id if it is still at expectVersion; the book
// is not changed.
func (p *Pipeline) UpdateStockItem(ctx context.Context, by bluehelm.Principal, id int64, expectVersion int, next *bluehelm.StockItem) (*bluehelm.StockItem, error) {
	cs, err := p.camps()
	if err != nil {
		return nil, err
	}
	cur, err := current(ctx, by, bluehelm.ActManageCamp, "stock item", id, expectVersion, cs.StockItem,
		func(it *bluehelm.StockItem) (int, bluehelm.Marking) { return it.Version, it.Marking })
	if err != nil {
		return nil, p.reject("stock_item", err)
	}
	next.ID, next.Version, next.CreatedAt, next.UpdatedAt = cur.ID, cur.Version, cur.CreatedAt, p.now()
	if next.Component == "" {
		next.Marking = cur.Marking
	}
	if err := p.checkStockItem(ctx, cs, by, next); err != nil {
		return nil, p.reject("stock_item", err)
	}
	if err := cs.UpdateStockItem(ctx, next, p.audit(by, "stock_item.update", objectID("stock_item", id), map[string]any{"version": cur.Version + 1})); err != nil {
		return nil, p.reject("stock_item", err)
	}
	p.checkReorder(ctx, cs, next)
	return next, nil
}

// AppendStockMovement records a receipt, issue or count of item itemID and
// returns the balance after it. An issue the book cannot cover is refused with
// the balance in the message, and nothing is stored. The item's cover is then
// checked against its minimum.
func (p *Pipeline) AppendStockMovement(ctx context.Context, by bluehelm.Principal, itemID int64, m *bluehelm.StockMovement) (float64, error) {
	cs, err := p.camps()
	if err != nil {
		return 0, err
	}
	if err := by.Require(bluehelm.ActManageCamp); err != nil {
		return 0, p.reject("stock_movement", err)
	}
	it, err := cs.StockItem(ctx, itemID)
	if err != nil || !by.CanSee(it.Marking) {
		return 0, p.reject("stock_movement", bluehelm.Errorf(bluehelm.ENOTFOUND, "stock item %d not found", itemID))
	}
	now := p.now()
	m.ID, m.ItemID, m.By = 0, itemID, by.Username
	if m.Time.IsZero() {
		m.Time = now
	}
	if err := m.Validate(now); err != nil {
		return 0, p.reject("stock_movement", err)
	}
	// The store checks the whole book (a late entry may uncover a later issue);
	// checking the current balance first gives the common case its plain words.
	bal, err := cs.StockBalance(ctx, itemID)
	if err != nil {
		return 0, p.reject("stock_movement", err)
	}
	if _, err := m.Apply(bal); err != nil {
		return 0, p.reject("stock_movement", negativeStock("quantity", "%s: %g %s issued but the book holds %g %s; record a count if the stock really is short",
			it.Name, m.Quantity, it.Unit, bal, it.Unit))
	}
	after, err := cs.AppendStockMovement(ctx, m, p.audit(by, "stock.movement", objectID("stock_item", itemID),
		map[string]any{"kind": m.Kind, "quantity": m.Quantity, "time": m.Time}))
	if bluehelm.ErrorCode(err) == bluehelm.EINVALID {
		// Validated above and covered by today's balance: the store found a
		// later issue this late entry leaves uncovered.
		return 0, p.reject("stock_movement", &NegativeStockError{Err: err})
	}
	if err != nil {
		return 0, p.reject("stock_movement", err)
	}
	p.checkReorder(ctx, cs, it)
	return after, nil
}

// NegativeStockError is a stock movement refused because the book would go
// negative: EINVALID, which the HTTP layer answers 422 (the request is well
// formed; the stock is not there).
type NegativeStockError struct{ Err error }

func (e *NegativeStockError) Error() string { return e.Err.Error() }
func (e *NegativeStockError) Unwrap() error { return e.Err }

func negativeStock(field, format string, args ...any) error {
	return &NegativeStockError{Err: bluehelm.Invalid(field, format, args...)}
}

// stockHistory returns an item's balance and the movements its forecast is
// fitted on.
func stockHistory(ctx context.Context, cs campStore, it *bluehelm.StockItem, now time.Time) (float64, []bluehelm.StockMovement, error) {
	bal, err := cs.StockBalance(ctx, it.ID)
	if err != nil {
		return 0, nil, err
	}
	from := now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -camp.ForecastHistoryDays)
	movs, err := cs.StockMovements(ctx, it.ID, from, time.Time{})
	return bal, movs, err
}

// checkReorder raises the item's reorder alert when its days of supply fall
// below its minimum (once while it stays open or acknowledged).
func (p *Pipeline) checkReorder(ctx context.Context, cs campStore, it *bluehelm.StockItem) bool {
	if it.MinDaysOfSupply <= 0 {
		return false
	}
	now := p.now()
	bal, movs, err := stockHistory(ctx, cs, it, now)
	if err != nil {
		p.log.Error("stock cover check", "err", err, "item", it.ID)
		return false
	}
	_, s := camp.StockForecast(it, bal, movs, now)
	if !s.Reorder {
		return false
	}
	sev := bluehelm.SevWarning
	if s.DaysOfSupply < it.MinDaysOfSupply/2 {
		sev = bluehelm.SevCritical
	}
	out := ""
	if !s.StockOut.IsZero() {
		out = " and runs out about " + s.StockOut.Format("2 Jan 2006")
	}
	al := &bluehelm.Alert{Source: bluehelm.AlertCamp, Rule: RuleReorder, Key: objectID("stock_item", it.ID), Severity: sev, AreaID: it.CampID, Marking: it.Marking,
		Title: truncate(fmt.Sprintf("Reorder %s (%s): %.1f days of supply, minimum %g", it.Name, it.Store, s.DaysOfSupply, it.MinDaysOfSupply), 200),
		Detail: fmt.Sprintf("%s at %s holds %g %s, which lasts %.1f days at the forecast consumption%s. The minimum cover is %g days.",
			it.Name, it.Store, bal, it.Unit, s.DaysOfSupply, out, it.MinDaysOfSupply)}
	if a, err := p.store.Area(ctx, it.CampID); err == nil {
		b := a.Geometry.Bound()
		al.Location = &bluehelm.Point{Lon: (b.MinLon + b.MaxLon) / 2, Lat: (b.MinLat + b.MaxLat) / 2}
	}
	p.raiseOnce(ctx, RuleReorder, al)
	return true
}

// CheckCamps runs the daily checks: every stock item's cover and every
// asset's service plans. It returns how many reorder alerts are in force and
// how many work orders it raised.
func (p *Pipeline) CheckCamps(ctx context.Context) (reorders, workOrders int, err error) {
	cs, err := p.camps()
	if err != nil {
		return 0, 0, err
	}
	items, err := cs.StockItems(ctx)
	if err != nil {
		return 0, 0, err
	}
	for _, it := range items {
		if p.checkReorder(ctx, cs, it) {
			reorders++
		}
	}
	assets, err := cs.Assets(ctx, 0)
	if err != nil {
		return reorders, 0, err
	}
	var errs []error
	for _, a := range assets {
		n, err := p.CheckMaintenance(ctx, a)
		workOrders += n
		if err != nil {
			errs = append(errs, fmt.Errorf("asset %d: %w", a.ID, err))
		}
	}
	return reorders, workOrders, errors.Join(errs...)
}

// RunCampChecks runs CheckCamps every interval until ctx ends (and once at
// start, so a restarted server does not wait a day).
func (p *Pipeline) RunCampChecks(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = 24 * time.Hour
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if r, w, err := p.CheckCamps(ctx); err != nil {
			p.log.Error("camp checks", "err", err)
		} else if r+w > 0 {
			p.log.Info("camp checks", "reorders", r, "work_orders", w)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
