package bluehelm

import (
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// StockKind says what a stock item is.
type StockKind string

const (
	StockDiesel       StockKind = "diesel"
	StockAviationFuel StockKind = "aviation_fuel"
	StockPotableWater StockKind = "potable_water"
	StockRations      StockKind = "rations"
	StockMedical      StockKind = "medical_consumables"
)

// StockKinds lists the valid kinds with the unit each is counted in: fixed so
// that receipts and issues of one item can always be added up.
var StockKinds = map[StockKind]string{
	StockDiesel:       "L",
	StockAviationFuel: "L",
	StockPotableWater: "L",
	StockRations:      "ration",
	StockMedical:      "unit",
}

func (k StockKind) Valid() bool { _, ok := StockKinds[k]; return ok }

// StockItem is one item held in one store of a camp.
type StockItem struct {
	ID      int64     `json:"id"`
	Version int       `json:"version"`
	Name    string    `json:"name"`
	Kind    StockKind `json:"kind"`
	Unit    string    `json:"unit"`
	CampID  int64     `json:"camp_id"`
	Store   string    `json:"store"` // e.g. "fuel farm", "cold store 2"
	// MinDaysOfSupply is the cover below which a reorder is due: resupply
	// convoys to a team site may take weeks.
	MinDaysOfSupply float64 `json:"min_days_of_supply"`
	// TankSensorIDs are the level sensors of the tanks holding the item, whose
	// contents are reconciled with the book.
	TankSensorIDs []int64 `json:"tank_sensor_ids,omitempty"`
	Marking
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Validate checks a stock item.
func (s *StockItem) Validate() error {
	if strings.TrimSpace(s.Name) == "" {
		return Invalid("name", "is required")
	}
	if utf8.RuneCountInString(s.Name) > 200 {
		return Invalid("name", "longer than 200 characters")
	}
	unit, ok := StockKinds[s.Kind]
	if !ok {
		return Invalid("kind", "unknown stock kind %q", s.Kind)
	}
	if s.Unit != unit {
		return Invalid("unit", "%s is counted in %q, not %q", s.Kind, unit, s.Unit)
	}
	if s.CampID <= 0 {
		return Invalid("camp_id", "is required")
	}
	if strings.TrimSpace(s.Store) == "" || utf8.RuneCountInString(s.Store) > 100 {
		return Invalid("store", "is required, at most 100 characters")
	}
	if math.IsNaN(s.MinDaysOfSupply) || s.MinDaysOfSupply < 0 || s.MinDaysOfSupply > 365 {
		return Invalid("min_days_of_supply", "must be between 0 and 365")
	}
	if len(s.TankSensorIDs) > 50 {
		return Invalid("tank_sensor_ids", "at most 50")
	}
	return s.Marking.Validate()
}

// MovementKind says what a stock movement does to the balance.
type MovementKind string

const (
	MoveReceipt MovementKind = "receipt" // adds the quantity
	MoveIssue   MovementKind = "issue"   // takes the quantity away
	// MoveCount is a physical count: the balance becomes the quantity, and the
	// difference from the book is the count's adjustment.
	MoveCount MovementKind = "count"
)

func (k MovementKind) Valid() bool {
	return slices.Contains([]MovementKind{MoveReceipt, MoveIssue, MoveCount}, k)
}

// MaxStockQuantity bounds one movement: a mistyped extra zero on a receipt is
// more likely than a camp receiving a billion litres.
const MaxStockQuantity = 1e9

// StockMovement is one receipt, issue or count of an item.
type StockMovement struct {
	ID       int64        `json:"id"`
	ItemID   int64        `json:"item_id"`
	Kind     MovementKind `json:"kind"`
	Quantity float64      `json:"quantity"`
	Time     time.Time    `json:"time"`
	By       string       `json:"by,omitempty"`
	Note     string       `json:"note,omitempty"` // e.g. the issue voucher or the convoy
}

// Validate checks a movement on its own against now.
func (m *StockMovement) Validate(now time.Time) error {
	if m.ItemID <= 0 {
		return Invalid("item_id", "is required")
	}
	if !m.Kind.Valid() {
		return Invalid("kind", "unknown movement kind %q (want receipt, issue or count)", m.Kind)
	}
	if math.IsNaN(m.Quantity) || math.IsInf(m.Quantity, 0) {
		return Invalid("quantity", "is not a number")
	}
	if m.Quantity < 0 || m.Quantity > MaxStockQuantity || (m.Kind != MoveCount && m.Quantity == 0) {
		return Invalid("quantity", "%v is outside the allowed range (a receipt or issue is positive; a count is 0 or more)", m.Quantity)
	}
	if m.Time.IsZero() {
		return Invalid("time", "is required")
	}
	if m.Time.After(now.Add(MaxClockSkew)) {
		return Invalid("time", "%s is in the future", m.Time.UTC().Format(time.RFC3339))
	}
	if utf8.RuneCountInString(m.Note) > 1000 {
		return Invalid("note", "longer than 1000 characters")
	}
	return nil
}

// Apply returns the balance after the movement. An issue of more than the
// balance is refused: the book must never claim stock that is not there, and a
// real over-issue is recorded by a count.
func (m *StockMovement) Apply(balance float64) (float64, error) {
	switch m.Kind {
	case MoveReceipt:
		return balance + m.Quantity, nil
	case MoveIssue:
		if m.Quantity > balance+1e-9 {
			return balance, Invalid("quantity", "issue of %v would make the stock negative (balance %v)", m.Quantity, balance)
		}
		return math.Max(0, balance-m.Quantity), nil
	case MoveCount:
		return m.Quantity, nil
	}
	return balance, Invalid("kind", "unknown movement kind %q", m.Kind)
}
