package bluehelm

import (
	"context"
	"crypto/sha256"
	"time"
)

// The store contract. Every implementation (sqlite/, later postgres/) must pass the
// storetest suite. Consumers should declare the smaller interface they need.
//
// Writes that change a record take the audit entry describing the change; the store
// chains it (AuditEntry.Chain) and writes it in the same transaction as the change,
// so there is never a change without its audit entry nor an entry without its change.
// A write that returns nil is durable: it survives kill -9 of the process.

// IncidentFilter selects incidents. Viewer applies the access rule inside the query,
// so pages are full and counts honest.
type IncidentFilter struct {
	Viewer     Principal
	BBox       *BBox
	Within     Ring      // inside this drawn area too (nil: anywhere)
	From, To   time.Time // occurred_start within [From, To); zero means open
	Categories []Category
	Statuses   []Status
	Text       string // full-text query over title, narrative, place and actor names
	Cursor     string // opaque, from the previous page's NextCursor
	Limit      int    // 1..1000; 0 means 100
}

// IncidentPage is one page of incidents, newest occurred_start first.
type IncidentPage struct {
	Incidents  []*Incident `json:"incidents"`
	NextCursor string      `json:"next_cursor,omitempty"`
}

// IncidentSummary is what a map layer or a dashboard needs of an incident: no
// narrative, actors, sources or revision details.
type IncidentSummary struct {
	ID            int64
	Version       int
	Title         string
	Category      Category
	Status        Status
	OccurredStart time.Time
	Location      Point
	// Admin1 is the region (state, province) the report names, for the
	// dashboard's trends by region.
	Admin1     string
	Casualties []Casualty
	Marking
}

// Summary returns the incident's summary.
func (inc *Incident) Summary() *IncidentSummary {
	return &IncidentSummary{ID: inc.ID, Version: inc.Version, Title: inc.Title, Category: inc.Category, Status: inc.Status,
		OccurredStart: inc.OccurredStart, Location: inc.Location, Admin1: inc.Admin1, Casualties: inc.Casualties, Marking: inc.Marking}
}

// IncidentSummaryPage is one page of summaries, in FindIncidents' order.
type IncidentSummaryPage struct {
	Summaries  []*IncidentSummary
	NextCursor string
}

type IncidentStore interface {
	// CreateIncident sets inc.ID and inc.Version = 1 and stores revision 1.
	CreateIncident(ctx context.Context, inc *Incident, a AuditEntry) error
	// UpdateIncident stores inc as version inc.Version+1 if the stored version is
	// still inc.Version (ECONFLICT otherwise), recording a revision with action.
	UpdateIncident(ctx context.Context, inc *Incident, action string, a AuditEntry) error
	// Incident returns one incident regardless of access (callers check CanSee).
	Incident(ctx context.Context, id int64) (*Incident, error)
	// IncidentByExternalID returns the incident imported or reported under that
	// external id ("ucdp:123", "tak:<marker uid>"), regardless of access.
	IncidentByExternalID(ctx context.Context, externalID string) (*Incident, error)
	IncidentRevisions(ctx context.Context, id int64) ([]Revision, error)
	FindIncidents(ctx context.Context, f IncidentFilter) (*IncidentPage, error)
	// FindIncidentSummaries is FindIncidents for maps and dashboards: the same
	// filter, order, access rule and cursors, but pages of summaries, of up to
	// 10,000 (f.Limit 0 means 1000), which a store can read without decoding
	// whole documents.
	FindIncidentSummaries(ctx context.Context, f IncidentFilter) (*IncidentSummaryPage, error)
	// ImportIncidents inserts or updates incidents keyed by ExternalID (required) in one
	// transaction; re-importing the same rows changes nothing.
	ImportIncidents(ctx context.Context, incs []*Incident, a AuditEntry) (created, updated int, err error)
}

// PositionQuery selects stored positions: one uid or one box, in a time range.
type PositionQuery struct {
	UID      string
	BBox     *BBox
	From, To time.Time
	Limit    int
}

type TrackStore interface {
	// AppendPositions stores a batch of reports, group-committed with other
	// concurrent callers; it returns once the batch is durable. Tracks whose metadata
	// changed are upserted in the same transaction.
	AppendPositions(ctx context.Context, tracks []Track, ps []Position) error
	// Positions returns stored history in time order. Viewer filtering is done by the
	// caller through the tracks' markings.
	Positions(ctx context.Context, q PositionQuery) ([]Position, error)
	// SamplePositions is Positions thinned to the first report of each track in
	// each step-long interval counted from q.From (which is required): what a
	// replay of hours or days of many tracks can carry. Time order, ties by uid;
	// at most q.Limit, the earliest.
	SamplePositions(ctx context.Context, q PositionQuery, step time.Duration) ([]Position, error)
	// LatestStates returns the latest position of every track: the live picture at start.
	LatestStates(ctx context.Context) ([]TrackState, error)
	Tracks(ctx context.Context) ([]Track, error)
}

type AreaStore interface {
	CreateArea(ctx context.Context, a *Area, e AuditEntry) error
	UpdateArea(ctx context.Context, a *Area, e AuditEntry) error // optimistic on a.Version
	DeleteArea(ctx context.Context, id int64, version int, e AuditEntry) error
	Area(ctx context.Context, id int64) (*Area, error)
	Areas(ctx context.Context) ([]*Area, error)
}

// AlertFilter selects alerts; Viewer applies the access rule.
type AlertFilter struct {
	Viewer Principal
	States []AlertState
	Since  time.Time
	Limit  int
}

type AlertStore interface {
	CreateAlert(ctx context.Context, a *Alert, e AuditEntry) error
	UpdateAlert(ctx context.Context, a *Alert, e AuditEntry) error // optimistic on a.Version
	Alert(ctx context.Context, id int64) (*Alert, error)
	Alerts(ctx context.Context, f AlertFilter) ([]*Alert, error)
}

type UserStore interface {
	CreateUser(ctx context.Context, u *User, e AuditEntry) error
	UpdateUser(ctx context.Context, u *User, e AuditEntry) error
	// SetUserLanguage changes only the user's language preference, so that it
	// cannot undo an administrator's concurrent change of role or clearance.
	SetUserLanguage(ctx context.Context, id int64, lang string, e AuditEntry) error
	User(ctx context.Context, id int64) (*User, error)
	UserByUsername(ctx context.Context, username string) (*User, error)
	Users(ctx context.Context) ([]*User, error)

	CreateToken(ctx context.Context, t *Token, e AuditEntry) error
	TokenByHash(ctx context.Context, hash string) (*Token, error)
	RevokeToken(ctx context.Context, id int64, e AuditEntry) error
	Tokens(ctx context.Context, userID int64) ([]*Token, error)

	CreateSession(ctx context.Context, s *Session) error
	SessionByHash(ctx context.Context, hash string) (*Session, error)
	DeleteSession(ctx context.Context, hash string) error
}

type AuditStore interface {
	// AppendAudit chains and stores an entry that is not tied to another write
	// (login failures, exports, position batches).
	AppendAudit(ctx context.Context, e AuditEntry) error
	// VerifyAudit walks the whole chain and returns how many entries it checked and
	// the first break found.
	VerifyAudit(ctx context.Context) (int64, error)
	AuditLog(ctx context.Context, afterSeq int64, limit int) ([]AuditEntry, error)
}

// UnitStore holds the units that patrols and tasks are assigned to. Code is
// unique (ECONFLICT on a duplicate).
type UnitStore interface {
	CreateUnit(ctx context.Context, u *Unit, e AuditEntry) error
	UpdateUnit(ctx context.Context, u *Unit, e AuditEntry) error // optimistic on u.Version
	Unit(ctx context.Context, id int64) (*Unit, error)
	UnitByCode(ctx context.Context, code string) (*Unit, error)
	Units(ctx context.Context) ([]*Unit, error) // by code
}

// PatrolStore holds patrol plans and their execution.
type PatrolStore interface {
	CreatePatrol(ctx context.Context, p *Patrol, e AuditEntry) error
	// UpdatePatrol stores p as version p.Version+1 if the stored version is still
	// p.Version (ECONFLICT otherwise).
	UpdatePatrol(ctx context.Context, p *Patrol, e AuditEntry) error
	Patrol(ctx context.Context, id int64) (*Patrol, error)
	// FindPatrols returns patrols by planned start, earliest first.
	FindPatrols(ctx context.Context, f PatrolFilter) ([]*Patrol, error)
}

// TaskStore holds response tasks.
type TaskStore interface {
	CreateTask(ctx context.Context, t *Task, e AuditEntry) error
	UpdateTask(ctx context.Context, t *Task, e AuditEntry) error // optimistic on t.Version
	Task(ctx context.Context, id int64) (*Task, error)
	// FindTasks returns tasks newest assigned first.
	FindTasks(ctx context.Context, f TaskFilter) ([]*Task, error)
}

// MedicalStore is the medical facility registry.
type MedicalStore interface {
	CreateFacility(ctx context.Context, f *MedicalFacility, e AuditEntry) error
	UpdateFacility(ctx context.Context, f *MedicalFacility, e AuditEntry) error // optimistic on f.Version
	Facility(ctx context.Context, id int64) (*MedicalFacility, error)
	Facilities(ctx context.Context) ([]*MedicalFacility, error) // by name
}

// ProximityRuleStore holds the proximity (roaming geofence) rules. A deleted
// rule's id is never reused.
type ProximityRuleStore interface {
	CreateProximityRule(ctx context.Context, r *ProximityRule, e AuditEntry) error
	UpdateProximityRule(ctx context.Context, r *ProximityRule, e AuditEntry) error // optimistic on r.Version
	DeleteProximityRule(ctx context.Context, id int64, version int, e AuditEntry) error
	ProximityRule(ctx context.Context, id int64) (*ProximityRule, error)
	ProximityRules(ctx context.Context) ([]*ProximityRule, error) // by id
}

// SensorStore holds the smart camp's sensors, their readings and roll-ups,
// alarm rules and the stock book. Times are stored to the microsecond.
type SensorStore interface {
	// CreateSensor stores s as version 1, setting s.ID and s.Version. A code
	// another sensor has is ECONFLICT.
	CreateSensor(ctx context.Context, s *Sensor, e AuditEntry) error
	UpdateSensor(ctx context.Context, s *Sensor, e AuditEntry) error // optimistic on s.Version
	Sensor(ctx context.Context, id int64) (*Sensor, error)
	SensorByCode(ctx context.Context, code string) (*Sensor, error)
	Sensors(ctx context.Context) ([]*Sensor, error) // by code, disabled ones included

	// Alarm rules are deleted, and a deleted rule's id is never reused.
	CreateAlarmRule(ctx context.Context, r *AlarmRule, e AuditEntry) error
	UpdateAlarmRule(ctx context.Context, r *AlarmRule, e AuditEntry) error // optimistic on r.Version
	DeleteAlarmRule(ctx context.Context, id int64, version int, e AuditEntry) error
	// AlarmRules returns the rules about one sensor, or every rule for
	// sensorID 0, by id.
	AlarmRules(ctx context.Context, sensorID int64) ([]*AlarmRule, error)

	// AppendReadings stores a batch of validated readings (SensorID set) and
	// returns once they are durable. A reading with the sensor and time of a
	// stored one (or of an earlier one in the batch) is a duplicate: it is
	// counted and not stored, the first stored value wins. A reading for an
	// unknown sensor is EINVALID and then nothing is stored.
	AppendReadings(ctx context.Context, rs []Reading) (stored, duplicates int, err error)
	// Readings returns one sensor's readings in [from, to) (zero: open) in time
	// order, the earliest limit (0 means 10,000; at most 100,000), with the
	// sensor's code and unit.
	Readings(ctx context.Context, sensorID int64, from, to time.Time, limit int) ([]Reading, error)
	// PruneReadings deletes raw readings older than before and returns how
	// many: raw readings are kept for days, roll-ups far longer.
	PruneReadings(ctx context.Context, before time.Time) (int, error)
	// AppendRollups stores closed roll-up buckets, replacing a stored bucket
	// of the same sensor, resolution and start.
	AppendRollups(ctx context.Context, rs []SensorRollup) error
	// Rollups returns the buckets of the sensors (nil: every sensor) at res
	// starting in [from, to) (zero: open), by sensor id then start.
	Rollups(ctx context.Context, sensorIDs []int64, res RollupResolution, from, to time.Time) ([]SensorRollup, error)
	// PruneRollups deletes the buckets at res starting before before and
	// returns how many: minute buckets are kept for weeks, hourly for years.
	PruneRollups(ctx context.Context, res RollupResolution, before time.Time) (int, error)
	// InsertReadings is AppendReadings telling which readings were stored:
	// stored[i] is false for a duplicate. The ingest pipeline needs to know, so
	// that a resent reading is neither evaluated nor rolled up twice.
	InsertReadings(ctx context.Context, rs []Reading) (stored []bool, err error)

	// SetSensorSecret stores the hash (HashSensorSecret) of a sensor's new
	// secret in place of the old one; the secret itself is never stored.
	SetSensorSecret(ctx context.Context, sensorID int64, hash []byte, e AuditEntry) error
	// VerifySensorSecret returns the sensor with that code if secret is its
	// current secret; EUNAUTHENTICATED for an unknown code, a sensor without a
	// secret and a wrong secret alike.
	VerifySensorSecret(ctx context.Context, code, secret string) (*Sensor, error)
	// QuarantineReadings keeps refused readings with their reason, for the
	// device's maintainer. The table is bounded: the oldest entries go first.
	QuarantineReadings(ctx context.Context, qs []QuarantinedReading) error
	// QuarantinedReadings returns the newest quarantined readings first, of one
	// sensor code ("" for all), at most limit (0 means 100; at most 1,000).
	QuarantinedReadings(ctx context.Context, sensorCode string, limit int) ([]QuarantinedReading, error)

	CreateStockItem(ctx context.Context, it *StockItem, e AuditEntry) error
	UpdateStockItem(ctx context.Context, it *StockItem, e AuditEntry) error // optimistic on it.Version
	StockItem(ctx context.Context, id int64) (*StockItem, error)
	StockItems(ctx context.Context) ([]*StockItem, error) // by id
	// AppendStockMovement validates m, stores it (setting m.ID) with its audit
	// entry and returns the item's balance after it. A movement that would make
	// the book negative at any time from its own on (an issue beyond the
	// balance, or a late entry that leaves a later issue uncovered) is EINVALID
	// and nothing is stored.
	AppendStockMovement(ctx context.Context, m *StockMovement, e AuditEntry) (balance float64, err error)
	// StockBalance returns the item's book balance after all its movements.
	StockBalance(ctx context.Context, itemID int64) (float64, error)
	// StockMovements returns the item's movements with Time in [from, to)
	// (zero: open) in time order, ties in the order they were stored.
	StockMovements(ctx context.Context, itemID int64, from, to time.Time) ([]StockMovement, error)
}

// WorkOrderFilter selects work orders (zero fields: any).
type WorkOrderFilter struct {
	CampID   int64
	AssetID  int64
	Statuses []WorkOrderStatus
}

// CampStore holds the camp manager's records: camp profiles, assets and work
// orders, and the outbox of webhook messages.
type CampStore interface {
	// PutCampProfile stores p as version p.Version+1 if the stored version is
	// still p.Version (0: there must be none yet; ECONFLICT otherwise).
	PutCampProfile(ctx context.Context, p *CampProfile, e AuditEntry) error
	CampProfile(ctx context.Context, campID int64) (*CampProfile, error) // ENOTFOUND when none
	CampProfiles(ctx context.Context) ([]*CampProfile, error)            // by camp id

	// Assets are deleted, and a deleted asset's id is never reused.
	CreateAsset(ctx context.Context, a *Asset, e AuditEntry) error
	UpdateAsset(ctx context.Context, a *Asset, e AuditEntry) error // optimistic on a.Version
	DeleteAsset(ctx context.Context, id int64, version int, e AuditEntry) error
	Asset(ctx context.Context, id int64) (*Asset, error)
	Assets(ctx context.Context, campID int64) ([]*Asset, error) // of one camp, or all for 0; by id

	// CreateWorkOrder stores w as version 1. An automatic work order for an
	// asset, task and due reading that already has one is ECONFLICT, so that a
	// maintenance check run twice (or by two processes) raises it once.
	CreateWorkOrder(ctx context.Context, w *WorkOrder, e AuditEntry) error
	UpdateWorkOrder(ctx context.Context, w *WorkOrder, e AuditEntry) error // optimistic on w.Version
	// CompleteWorkOrder stores a done work order and the asset whose service
	// plan it updated in one transaction, both optimistic on their versions.
	CompleteWorkOrder(ctx context.Context, w *WorkOrder, a *Asset, e AuditEntry) error
	WorkOrder(ctx context.Context, id int64) (*WorkOrder, error)
	WorkOrders(ctx context.Context, f WorkOrderFilter) ([]*WorkOrder, error) // by id

	// CampSensors returns the sensors of one camp, by code.
	CampSensors(ctx context.Context, campID int64) ([]*Sensor, error)
	// RunningHours counts the hourly buckets starting in [from, to) (zero:
	// open) in which any of the sensors reported a value above zero (max > 0),
	// each hour once.
	RunningHours(ctx context.Context, sensorIDs []int64, from, to time.Time) (float64, error)
	// LatestRollups returns each named sensor's latest bucket at res (sensors
	// with none are left out), in the order of sensorIDs.
	LatestRollups(ctx context.Context, sensorIDs []int64, res RollupResolution) ([]SensorRollup, error)

	// EnqueueWebhook stores d (setting d.ID) unless a delivery with its Key is
	// stored already, which is then left as it is (and d.ID set to it): the
	// outbox survives a restart and is idempotent.
	EnqueueWebhook(ctx context.Context, d *WebhookDelivery) error
	// DueWebhooks returns undelivered messages with NextAt at or before now,
	// oldest first, at most limit.
	DueWebhooks(ctx context.Context, now time.Time, limit int) ([]WebhookDelivery, error)
	// WebhookDelivered marks a message acknowledged; WebhookFailed records a
	// failed attempt and when to try again.
	WebhookDelivered(ctx context.Context, id int64, at time.Time) error
	WebhookFailed(ctx context.Context, id int64, attempts int, next time.Time, reason string) error
	Webhook(ctx context.Context, id int64) (*WebhookDelivery, error)
}

// CasevacStore holds casualty evacuation requests (issue 8). A request made
// from a TAK event keeps the event's uid, unique (ECONFLICT on a second).
type CasevacStore interface {
	CreateCasevac(ctx context.Context, c *Casevac, e AuditEntry) error
	UpdateCasevac(ctx context.Context, c *Casevac, e AuditEntry) error // optimistic on c.Version
	Casevac(ctx context.Context, id int64) (*Casevac, error)
	// FindCasevacs returns requests newest requested first (ties by id descending).
	FindCasevacs(ctx context.Context, f CasevacFilter) ([]*Casevac, error)
}

// Store is everything a storage backend provides.
type Store interface {
	IncidentStore
	TrackStore
	AreaStore
	AlertStore
	UserStore
	AuditStore
	DeviceStore
	ChatStore
	AttachmentStore
	UnitStore
	PatrolStore
	TaskStore
	MedicalStore
	ProximityRuleStore
	FatalityStore
	SensorStore
	CampStore
	CasevacStore
	CommunityStore
	Close() error
}

// QuarantinedReading is a reading refused at ingest, kept with the reason so
// that whoever maintains the device can see what it sent and why it was refused.
type QuarantinedReading struct {
	ID         int64     `json:"id"`
	ReceivedAt time.Time `json:"received_at"`
	SensorID   int64     `json:"sensor_id,omitempty"` // 0 when the sensor is unknown
	SensorCode string    `json:"sensor_code,omitempty"`
	Time       time.Time `json:"time"` // the reading's own time (zero when missing)
	// Value is kept as sent; NaN and infinities are not JSON numbers, so they
	// are kept as 0 with the reason saying what was sent.
	Value  float64 `json:"value"`
	Unit   string  `json:"unit,omitempty"`
	Field  string  `json:"field,omitempty"`
	Reason string  `json:"reason"`
	Source string  `json:"source,omitempty"` // "http", "mqtt", "demo", ...
}

// HashSensorSecret is how a sensor secret is stored. A secret is 32 random
// bytes, so a plain SHA-256 is enough: there is no dictionary to guess from,
// and verifying stays cheap for every MQTT connection.
func HashSensorSecret(secret string) []byte {
	h := sha256.Sum256([]byte("bluehelm-sensor-secret:" + secret))
	return h[:]
}
