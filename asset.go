package bluehelm

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// AssetKind says what a camp asset is.
type AssetKind string

const (
	AssetGenerator      AssetKind = "generator"
	AssetSolarArray     AssetKind = "solar_array"
	AssetBattery        AssetKind = "battery"
	AssetWaterTank      AssetKind = "water_tank"
	AssetWaterTreatment AssetKind = "water_treatment"
	AssetFuelTank       AssetKind = "fuel_tank"
	AssetColdStore      AssetKind = "cold_store"
	AssetIncinerator    AssetKind = "incinerator"
	AssetTower          AssetKind = "tower"
	AssetCamera         AssetKind = "camera"
)

// AssetKinds lists the valid kinds.
var AssetKinds = []AssetKind{AssetGenerator, AssetSolarArray, AssetBattery, AssetWaterTank, AssetWaterTreatment,
	AssetFuelTank, AssetColdStore, AssetIncinerator, AssetTower, AssetCamera}

func (k AssetKind) Valid() bool { return slices.Contains(AssetKinds, k) }

// ServicePlan is an asset's preventive maintenance schedule by running hours
// (an oil change every 250 h).
type ServicePlan struct {
	Task       string  `json:"task"`
	EveryHours float64 `json:"every_hours"`
	// LeadHours raises the work order this many running hours early, so that
	// parts and a technician reach the camp in time.
	LeadHours float64 `json:"lead_hours,omitempty"`
	// LastDoneAtHours is the hour meter at the last service; a work order
	// marked done sets it.
	LastDoneAtHours float64 `json:"last_done_at_hours"`
}

// Asset is a piece of camp equipment placed on the camp map.
type Asset struct {
	ID       int64     `json:"id"`
	Version  int       `json:"version"`
	CampID   int64     `json:"camp_id"`
	ZoneID   int64     `json:"zone_id,omitempty"`
	Kind     AssetKind `json:"kind"`
	Name     string    `json:"name"`
	Position Point     `json:"position"`
	RatedKW  float64   `json:"rated_kw,omitempty"` // generators, solar arrays, batteries
	// SensorIDs are the sensors on the asset; a generator's running hours come
	// from its generator_kw sensor.
	SensorIDs []int64 `json:"sensor_ids,omitempty"`
	// HourMeterBase is the hour meter reading at HourMeterAt (zero: CreatedAt);
	// running hours after it are counted from the power sensor's roll-ups.
	HourMeterBase float64       `json:"hour_meter_base,omitempty"`
	HourMeterAt   *time.Time    `json:"hour_meter_at,omitempty"`
	ServicePlans  []ServicePlan `json:"service_plans,omitempty"`
	Marking
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// MeterSince is when HourMeterBase was read.
func (a *Asset) MeterSince() time.Time {
	if a.HourMeterAt != nil {
		return *a.HourMeterAt
	}
	return a.CreatedAt
}

// Validate checks an asset.
func (a *Asset) Validate() error {
	if a.CampID <= 0 {
		return Invalid("camp_id", "is required")
	}
	if a.ZoneID < 0 {
		return Invalid("zone_id", "must not be negative")
	}
	if !a.Kind.Valid() {
		return Invalid("kind", "unknown asset kind %q", a.Kind)
	}
	if strings.TrimSpace(a.Name) == "" {
		return Invalid("name", "is required")
	}
	if utf8.RuneCountInString(a.Name) > 200 {
		return Invalid("name", "longer than 200 characters")
	}
	if err := a.Position.Validate(); err != nil {
		return PrefixField("position", err)
	}
	if math.IsNaN(a.RatedKW) || a.RatedKW < 0 || a.RatedKW > 100000 {
		return Invalid("rated_kw", "must be between 0 and 100,000")
	}
	if len(a.SensorIDs) > 50 {
		return Invalid("sensor_ids", "at most 50")
	}
	for i, id := range a.SensorIDs {
		if id <= 0 {
			return Invalid("sensor_ids["+strconv.Itoa(i)+"]", "must be a sensor id")
		}
	}
	if math.IsNaN(a.HourMeterBase) || a.HourMeterBase < 0 || a.HourMeterBase > 1e6 {
		return Invalid("hour_meter_base", "must be between 0 and 1,000,000 hours")
	}
	if len(a.ServicePlans) > 20 {
		return Invalid("service_plans", "at most 20")
	}
	tasks := map[string]bool{}
	for i, p := range a.ServicePlans {
		f := "service_plans[" + strconv.Itoa(i) + "]"
		if strings.TrimSpace(p.Task) == "" || utf8.RuneCountInString(p.Task) > 200 {
			return Invalid(f+".task", "is required, at most 200 characters")
		}
		if tasks[p.Task] {
			return Invalid(f+".task", "%q is planned twice", p.Task)
		}
		tasks[p.Task] = true
		if math.IsNaN(p.EveryHours) || p.EveryHours < 1 || p.EveryHours > 100000 {
			return Invalid(f+".every_hours", "must be between 1 and 100,000")
		}
		if math.IsNaN(p.LeadHours) || p.LeadHours < 0 || p.LeadHours >= p.EveryHours {
			return Invalid(f+".lead_hours", "must be 0 or more and below every_hours")
		}
		if math.IsNaN(p.LastDoneAtHours) || p.LastDoneAtHours < 0 || p.LastDoneAtHours > 1e6 {
			return Invalid(f+".last_done_at_hours", "must be between 0 and 1,000,000 hours")
		}
	}
	return a.Marking.Validate()
}

// WorkOrderStatus is where a work order is.
type WorkOrderStatus string

const (
	WorkOpen     WorkOrderStatus = "open"
	WorkAssigned WorkOrderStatus = "assigned"
	WorkDone     WorkOrderStatus = "done"
)

func (s WorkOrderStatus) Valid() bool {
	return slices.Contains([]WorkOrderStatus{WorkOpen, WorkAssigned, WorkDone}, s)
}

// WorkOrder is a maintenance job on an asset.
type WorkOrder struct {
	ID         int64           `json:"id"`
	Version    int             `json:"version"`
	CampID     int64           `json:"camp_id"`
	AssetID    int64           `json:"asset_id"`
	Task       string          `json:"task"`
	Status     WorkOrderStatus `json:"status"`
	AssignedTo string          `json:"assigned_to,omitempty"`
	// DueAtHours is the hour meter reading the service is due at (0 for a job
	// not driven by running hours).
	DueAtHours float64 `json:"due_at_hours,omitempty"`
	// Auto is set on work orders the maintenance check raised; there is at most
	// one per asset, task and due reading.
	Auto bool `json:"auto,omitempty"`
	// DoneAtHours is the hour meter when the job was done: the next service of a
	// plan is counted from it.
	DoneAtHours *float64 `json:"done_at_hours,omitempty"`
	Note        string   `json:"note,omitempty"`
	Marking
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	DoneAt    *time.Time `json:"done_at,omitempty"`
}

// Validate checks a new work order.
func (w *WorkOrder) Validate() error {
	if w.CampID <= 0 {
		return Invalid("camp_id", "is required")
	}
	if w.AssetID <= 0 {
		return Invalid("asset_id", "is required")
	}
	if strings.TrimSpace(w.Task) == "" || utf8.RuneCountInString(w.Task) > 200 {
		return Invalid("task", "is required, at most 200 characters")
	}
	if !w.Status.Valid() {
		return Invalid("status", "unknown status %q (want open, assigned or done)", w.Status)
	}
	if math.IsNaN(w.DueAtHours) || w.DueAtHours < 0 || w.DueAtHours > 1e6 {
		return Invalid("due_at_hours", "must be between 0 and 1,000,000 hours")
	}
	if utf8.RuneCountInString(w.AssignedTo) > 100 {
		return Invalid("assigned_to", "longer than 100 characters")
	}
	if utf8.RuneCountInString(w.Note) > 2000 {
		return Invalid("note", "longer than 2000 characters")
	}
	return w.Marking.Validate()
}

// Assign gives the work order to who (a person or a team, by name). An
// assigned order may be reassigned; a done one is closed.
func (w *WorkOrder) Assign(who string, at time.Time) error {
	who = strings.TrimSpace(who)
	if who == "" {
		return Invalid("assigned_to", "name who does the job")
	}
	if utf8.RuneCountInString(who) > 100 {
		return Invalid("assigned_to", "longer than 100 characters")
	}
	if w.Status == WorkDone {
		return Errorf(ECONFLICT, "work order %d is done", w.ID)
	}
	w.Status, w.AssignedTo, w.UpdatedAt = WorkAssigned, who, at
	return nil
}

// Done closes an assigned work order with the hour meter reading at the
// time of the job, so that the asset's next service is counted from it. An
// open order must be assigned first: somebody has to have done the job.
func (w *WorkOrder) Done(meterHours float64, note string, at time.Time) error {
	switch w.Status {
	case WorkDone:
		return Errorf(ECONFLICT, "work order %d is already done", w.ID)
	case WorkOpen:
		return Errorf(ECONFLICT, "work order %d is not assigned yet", w.ID)
	}
	if math.IsNaN(meterHours) || meterHours < 0 || meterHours > 1e6 {
		return Invalid("done_at_hours", "must be between 0 and 1,000,000 hours")
	}
	if utf8.RuneCountInString(note) > 2000 {
		return Invalid("note", "longer than 2000 characters")
	}
	w.Status, w.DoneAtHours, w.DoneAt, w.UpdatedAt = WorkDone, &meterHours, &at, at
	if note != "" {
		w.Note = note
	}
	return nil
}

// ServiceDone records a done work order in the asset's plan for its task: the
// next service falls EveryHours after meterHours. It reports whether a plan
// matched.
func (a *Asset) ServiceDone(task string, meterHours float64) bool {
	for i := range a.ServicePlans {
		if a.ServicePlans[i].Task == task {
			if meterHours > a.ServicePlans[i].LastDoneAtHours {
				a.ServicePlans[i].LastDoneAtHours = meterHours
			}
			return true
		}
	}
	return false
}
