package http

import (
	"math"
	"net/http"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/camp"
)

// CampDashboard is GET /camps/{id}/dashboard: everything the camp page shows
// in one answer, so that a tablet on a camp link makes one request.
type CampDashboard struct {
	Camp       DashboardCamp         `json:"camp"`
	Zones      []DashboardZone       `json:"zones"`
	Sensors    []DashboardSensor     `json:"sensors"`
	Alarms     []*bluehelm.Alert     `json:"alarms"` // open and acknowledged alerts of the camp
	Assets     []DashboardAsset      `json:"assets"`
	WorkOrders []*bluehelm.WorkOrder `json:"work_orders"` // open and assigned
	Stocks     []camp.StockStatus    `json:"stocks"`
	Energy     camp.EnergySummary    `json:"energy"`
	Water      camp.WaterSummary     `json:"water"`
}

// DashboardCamp is the camp itself.
type DashboardCamp struct {
	ID               int64             `json:"id"`
	Name             string            `json:"name"`
	Geometry         bluehelm.Geometry `json:"geometry"`
	Population       int               `json:"population"`
	WaterStandardLPD float64           `json:"water_standard_lpd"`
}

// DashboardZone is a zone of the camp on its map.
type DashboardZone struct {
	ID       int64             `json:"id"`
	Name     string            `json:"name"`
	Geometry bluehelm.Geometry `json:"geometry"`
}

// DashboardSensor is a sensor on the camp map with its last state.
type DashboardSensor struct {
	ID              int64               `json:"id"`
	Code            string              `json:"code"`
	Kind            bluehelm.SensorKind `json:"kind"`
	Unit            string              `json:"unit"`
	ZoneID          int64               `json:"zone_id,omitempty"`
	Position        LonLat              `json:"position"` // plain lon/lat here, as the camp page draws it
	IntervalSeconds int                 `json:"interval_seconds"`
	Last            *LastValue          `json:"last"`  // null before the first reading
	State           string              `json:"state"` // ok, alarm, stale or disabled
	// Spark is the last 24 hours, hourly: [unix seconds, mean].
	Spark [][2]float64 `json:"spark"`
}

// LonLat is a position as {"lon", "lat"}.
type LonLat struct {
	Lon float64 `json:"lon"`
	Lat float64 `json:"lat"`
}

// LastValue is a sensor's last reading.
type LastValue struct {
	Time  time.Time `json:"time"`
	Value float64   `json:"value"`
}

// DashboardAsset is an asset with, for a generator, its hour meter and the
// most urgent service due (null when none is within its lead).
type DashboardAsset struct {
	*bluehelm.Asset
	RunningHours *float64                  `json:"running_hours"`
	ServiceDue   *camp.WorkOrderSuggestion `json:"service_due"`
}

func (s *Server) campDashboard(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	q := newQuery(r)
	days, err := q.int("days", 30, 1, 366)
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
	area, err := s.visibleCamp(r, id)
	if err != nil {
		return err
	}
	d, err := s.buildDashboard(r, cs, area, days)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

func (s *Server) buildDashboard(r *http.Request, cs CampStore, area *bluehelm.Area, days int) (*CampDashboard, error) {
	ctx, p, now := r.Context(), principal(r), s.now().UTC()
	profile, err := cs.CampProfile(ctx, area.ID)
	if bluehelm.ErrorCode(err) == bluehelm.ENOTFOUND {
		profile, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	d := &CampDashboard{
		Camp:  DashboardCamp{ID: area.ID, Name: area.Name, Geometry: area.Geometry, WaterStandardLPD: profile.WaterStandard()},
		Zones: []DashboardZone{}, Sensors: []DashboardSensor{}, Alarms: []*bluehelm.Alert{}, Assets: []DashboardAsset{},
		WorkOrders: []*bluehelm.WorkOrder{}, Stocks: []camp.StockStatus{},
	}
	if profile != nil {
		d.Camp.Population = profile.Population
	}

	// The camp's sensors, assets and alerts.
	all, err := cs.CampSensors(ctx, area.ID)
	if err != nil {
		return nil, err
	}
	sensors := map[int64]*bluehelm.Sensor{}
	var ids, flowIDs []int64
	zoneIDs := map[int64]bool{}
	if profile != nil {
		for _, z := range profile.ZoneIDs {
			zoneIDs[z] = true
		}
	}
	for _, sn := range all {
		if sn.CampID != area.ID || !p.CanSee(sn.Marking) {
			continue
		}
		sensors[sn.ID] = sn
		ids = append(ids, sn.ID)
		switch sn.Kind {
		case bluehelm.SensorSolarKW, bluehelm.SensorGeneratorKW, bluehelm.SensorLoadKW, bluehelm.SensorGeneratorFuel, bluehelm.SensorWaterFlow:
			flowIDs = append(flowIDs, sn.ID)
		}
		if sn.ZoneID != 0 {
			zoneIDs[sn.ZoneID] = true
		}
	}
	assets, err := cs.Assets(ctx, area.ID)
	if err != nil {
		return nil, err
	}
	visibleAssets := assets[:0]
	for _, a := range assets {
		if p.CanSee(a.Marking) {
			visibleAssets = append(visibleAssets, a)
			if a.ZoneID != 0 {
				zoneIDs[a.ZoneID] = true
			}
		}
	}
	alerts, err := s.cfg.Store.Alerts(ctx, bluehelm.AlertFilter{Viewer: p, States: []bluehelm.AlertState{bluehelm.AlertOpen, bluehelm.AlertAcknowledged}, Limit: 5000})
	if err != nil {
		return nil, err
	}
	alarmed, staleAlarm := map[int64]bool{}, map[int64]bool{}
	for _, a := range alerts {
		if a.AreaID != area.ID {
			continue
		}
		d.Alarms = append(d.Alarms, a)
		if sid, stale, ok := camp.AlarmSensor(a); ok {
			if stale {
				staleAlarm[sid] = true
			} else {
				alarmed[sid] = true
			}
		}
	}

	// Zones: those the camp's sensors and assets name, and any camp zone
	// drawn inside the perimeter.
	areas, err := s.cfg.Store.Areas(ctx)
	if err != nil {
		return nil, err
	}
	for _, z := range areas {
		if z.Kind != bluehelm.AreaCampZone || !p.CanSee(z.Marking) {
			continue
		}
		b := z.Geometry.Bound()
		if zoneIDs[z.ID] || area.Geometry.Contains(bluehelm.Point{Lon: (b.MinLon + b.MaxLon) / 2, Lat: (b.MinLat + b.MaxLat) / 2}) {
			d.Zones = append(d.Zones, DashboardZone{ID: z.ID, Name: z.Name, Geometry: z.Geometry})
		}
	}

	// Last values: the pipeline's, else the latest minute roll-up.
	last := map[int64]bluehelm.Reading{}
	if lr, ok := any(s.cfg.Pipeline).(lastReadings); ok && s.cfg.Pipeline != nil {
		for id, rd := range lr.LastReadings() {
			if sensors[id] != nil {
				last[id] = rd
			}
		}
	}
	var missing []int64
	for _, id := range ids {
		if _, ok := last[id]; !ok {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		latest, err := cs.LatestRollups(ctx, missing, bluehelm.RollupMinute)
		if err != nil {
			return nil, err
		}
		for _, ru := range latest {
			last[ru.SensorID] = bluehelm.Reading{SensorID: ru.SensorID, Time: ru.LastTime, Value: ru.Last}
		}
	}

	// Sparklines: the last 24 hourly buckets of every sensor.
	hourNow := now.Truncate(time.Hour)
	spark, err := cs.Rollups(ctx, ids, bluehelm.RollupHour, hourNow.Add(-24*time.Hour), hourNow.Add(time.Hour))
	if err != nil {
		return nil, err
	}
	sparks := map[int64][][2]float64{}
	for _, ru := range spark {
		sparks[ru.SensorID] = append(sparks[ru.SensorID], [2]float64{float64(ru.Start.Unix()), round3(ru.Mean())})
	}
	for _, sn := range all {
		if sensors[sn.ID] == nil {
			continue
		}
		ds := DashboardSensor{ID: sn.ID, Code: sn.Code, Kind: sn.Kind, Unit: sn.Unit, ZoneID: sn.ZoneID, Position: LonLat{Lon: sn.Position.Lon, Lat: sn.Position.Lat},
			IntervalSeconds: sn.IntervalSeconds, Spark: sparks[sn.ID]}
		var lp *bluehelm.Reading
		if rd, ok := last[sn.ID]; ok {
			ds.Last, lp = &LastValue{Time: rd.Time.UTC(), Value: rd.Value}, &rd
		}
		if ds.Spark == nil {
			ds.Spark = [][2]float64{}
		}
		ds.State = camp.SensorState(sn, lp, alarmed[sn.ID], staleAlarm[sn.ID], now)
		d.Sensors = append(d.Sensors, ds)
	}

	// Assets: generators with their hour meter (counted in the store: a
	// year of hourly buckets need not come to Go) and the service due.
	ratedKW := map[int64]float64{}
	var genIDs []int64
	for _, a := range visibleAssets {
		for _, sid := range camp.GeneratorSensors(a, sensors) {
			genIDs = append(genIDs, sid)
			ratedKW[sid] = a.RatedKW
		}
	}
	var week []bluehelm.SensorRollup
	if len(genIDs) > 0 {
		if week, err = cs.Rollups(ctx, genIDs, bluehelm.RollupHour, now.Add(-7*24*time.Hour).Truncate(time.Hour), time.Time{}); err != nil {
			return nil, err
		}
	}
	bySensor := map[int64][]bluehelm.SensorRollup{}
	for _, ru := range week {
		bySensor[ru.SensorID] = append(bySensor[ru.SensorID], ru)
	}
	for _, a := range visibleAssets {
		da := DashboardAsset{Asset: a}
		if gens := camp.GeneratorSensors(a, sensors); len(gens) > 0 {
			hours, err := cs.RunningHours(ctx, gens, a.MeterSince(), time.Time{})
			if err != nil {
				return nil, err
			}
			var hourly []bluehelm.SensorRollup
			for _, sid := range gens {
				hourly = append(hourly, bySensor[sid]...)
			}
			m := a.HourMeterBase + hours
			da.RunningHours = &m
			if due := camp.DueServices(a, m, camp.HoursPerDay(a, hourly, now), now); len(due) > 0 {
				da.ServiceDue = &due[0]
			}
		}
		d.Assets = append(d.Assets, da)
	}

	orders, err := cs.WorkOrders(ctx, bluehelm.WorkOrderFilter{CampID: area.ID, Statuses: []bluehelm.WorkOrderStatus{bluehelm.WorkOpen, bluehelm.WorkAssigned}})
	if err != nil {
		return nil, err
	}
	for _, wo := range orders {
		if p.CanSee(wo.Marking) {
			d.WorkOrders = append(d.WorkOrders, wo)
		}
	}

	// Stocks.
	items, err := cs.StockItems(ctx)
	if err != nil {
		return nil, err
	}
	histFrom := now.Truncate(24*time.Hour).AddDate(0, 0, -camp.ForecastHistoryDays)
	for _, it := range items {
		if it.CampID != area.ID || !p.CanSee(it.Marking) {
			continue
		}
		bal, err := cs.StockBalance(ctx, it.ID)
		if err != nil {
			return nil, err
		}
		movs, err := cs.StockMovements(ctx, it.ID, histFrom, time.Time{})
		if err != nil {
			return nil, err
		}
		d.Stocks = append(d.Stocks, camp.Status(it, bal, movs, camp.TankLitres(it, sensors, last), now))
	}

	// Energy and water over the days asked, from hourly roll-ups.
	from := hourNow.Add(-time.Duration(days) * 24 * time.Hour)
	var flows []bluehelm.SensorRollup
	if len(flowIDs) > 0 {
		if flows, err = cs.Rollups(ctx, flowIDs, bluehelm.RollupHour, from, hourNow); err != nil {
			return nil, err
		}
	}
	d.Energy, d.Water = camp.EnergyWater(sensors, flows, ratedKW, profile, from, hourNow)
	return d, nil
}

func round3(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return math.Round(v*1000) / 1000
}
