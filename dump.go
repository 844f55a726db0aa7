package bluehelm

import (
	"context"
	"time"
)

// Moving a node's data to another store (bluehelm migrate: a team site's SQLite
// file to its mission HQ's PostgreSQL) must lose nothing: every record keeps its
// id and version (clients, audit entries and other records name them), the audit
// log keeps its chain (so VerifyAudit still holds at the destination), and the
// secrets the store keeps only as hashes or ciphertexts (passwords, API tokens,
// sessions, sensor secrets, community senders) travel as stored, never in clear.
//
// A store that can be copied implements Exporter; one that can receive a copy
// takes the batches an Exporter sends.

// DumpBatch is a batch of one kind of record: exactly one field is non-empty.
// Exporters send parents before the records that name them (users before their
// tokens, sessions and devices; incidents before the attachments and tasks
// that name them; sensors before their readings; stock items before their
// movements).
type DumpBatch struct {
	Users          []*User
	Tokens         []*Token
	Sessions       []*Session
	Incidents      []IncidentHistory
	Tracks         []Track
	Positions      []Position
	Areas          []*Area
	Alerts         []*Alert
	Devices        []*Device
	Chat           []*ChatMessage
	Attachments    []*Attachment
	Units          []*Unit
	Patrols        []*Patrol
	Tasks          []*Task
	Facilities     []*MedicalFacility
	ProximityRules []*ProximityRule
	Fatalities     []*Fatality
	Sensors        []*Sensor
	SensorSecrets  []SensorSecret
	AlarmRules     []*AlarmRule
	Readings       []Reading
	Rollups        []SensorRollup
	Quarantine     []QuarantinedReading
	StockItems     []*StockItem
	StockMovements []StockMovement
	CampProfiles   []*CampProfile
	Assets         []*Asset
	WorkOrders     []*WorkOrder
	Webhooks       []WebhookDelivery
	Casevacs       []*Casevac
	Community      []*CommunityAlert
	// Audit entries as stored, in seq order, with their hashes.
	Audit []AuditEntry
	// IDs gives, per kind ("area", "proximity_rule", …), the highest id the
	// store ever issued, deleted records included, so that the destination
	// never reuses the id of a record deleted at the source. Sent last.
	IDs map[string]int64
}

// IncidentHistory is an incident and every revision of it, oldest first.
type IncidentHistory struct {
	Incident  *Incident
	Revisions []Revision
}

// SensorSecret is a sensor's stored secret hash (HashSensorSecret).
type SensorSecret struct {
	SensorID  int64
	Hash      []byte
	CreatedAt time.Time
}

// Exporter walks a whole store in one consistent snapshot and sends it batch
// by batch (of at most a few thousand records) to put, stopping at put's first
// error.
type Exporter interface {
	Export(ctx context.Context, put func(ctx context.Context, b *DumpBatch) error) error
}

// Len is how many records (or entries) the batch holds.
func (b *DumpBatch) Len() int {
	return len(b.Users) + len(b.Tokens) + len(b.Sessions) + len(b.Incidents) + len(b.Tracks) + len(b.Positions) +
		len(b.Areas) + len(b.Alerts) + len(b.Devices) + len(b.Chat) + len(b.Attachments) + len(b.Units) +
		len(b.Patrols) + len(b.Tasks) + len(b.Facilities) + len(b.ProximityRules) + len(b.Fatalities) +
		len(b.Sensors) + len(b.SensorSecrets) + len(b.AlarmRules) + len(b.Readings) + len(b.Rollups) +
		len(b.Quarantine) + len(b.StockItems) + len(b.StockMovements) + len(b.CampProfiles) + len(b.Assets) +
		len(b.WorkOrders) + len(b.Webhooks) + len(b.Casevacs) + len(b.Community) + len(b.Audit) + len(b.IDs)
}
