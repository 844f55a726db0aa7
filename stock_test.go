package bluehelm_test

import (
	"math"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
)

func TestStockItemValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*bluehelm.StockItem)
		field  string
	}{
		{"valid", func(*bluehelm.StockItem) {}, ""},
		{"no name", func(s *bluehelm.StockItem) { s.Name = "" }, "name"},
		{"unknown kind", func(s *bluehelm.StockItem) { s.Kind = "coffee" }, "kind"},
		{"diesel in gallons", func(s *bluehelm.StockItem) { s.Unit = "gal" }, "unit"},
		{"no camp", func(s *bluehelm.StockItem) { s.CampID = 0 }, "camp_id"},
		{"no store", func(s *bluehelm.StockItem) { s.Store = " " }, "store"},
		{"negative minimum", func(s *bluehelm.StockItem) { s.MinDaysOfSupply = -1 }, "min_days_of_supply"},
		{"rations", func(s *bluehelm.StockItem) { s.Kind, s.Unit = bluehelm.StockRations, "ration" }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &bluehelm.StockItem{Name: "Diesel", Kind: bluehelm.StockDiesel, Unit: "L", CampID: 1, Store: "fuel farm",
				MinDaysOfSupply: 14, Marking: unclassified}
			tc.change(s)
			checkField(t, s.Validate(), tc.field)
		})
	}
}

func TestStockMovement(t *testing.T) {
	tests := []struct {
		name    string
		m       bluehelm.StockMovement
		balance float64
		want    float64
		field   string // from Validate or Apply
	}{
		{"receipt", bluehelm.StockMovement{Kind: bluehelm.MoveReceipt, Quantity: 500}, 100, 600, ""},
		{"issue", bluehelm.StockMovement{Kind: bluehelm.MoveIssue, Quantity: 40}, 100, 60, ""},
		{"issue of everything", bluehelm.StockMovement{Kind: bluehelm.MoveIssue, Quantity: 100}, 100, 0, ""},
		{"issue making stock negative", bluehelm.StockMovement{Kind: bluehelm.MoveIssue, Quantity: 100.5}, 100, 100, "quantity"},
		{"count sets the balance", bluehelm.StockMovement{Kind: bluehelm.MoveCount, Quantity: 93}, 100, 93, ""},
		{"count of zero", bluehelm.StockMovement{Kind: bluehelm.MoveCount, Quantity: 0}, 100, 0, ""},
		{"zero issue", bluehelm.StockMovement{Kind: bluehelm.MoveIssue, Quantity: 0}, 100, 100, "quantity"},
		{"negative receipt", bluehelm.StockMovement{Kind: bluehelm.MoveReceipt, Quantity: -5}, 100, 100, "quantity"},
		{"NaN", bluehelm.StockMovement{Kind: bluehelm.MoveReceipt, Quantity: math.NaN()}, 100, 100, "quantity"},
		{"unknown kind", bluehelm.StockMovement{Kind: "loss", Quantity: 5}, 100, 100, "kind"},
		{"future", bluehelm.StockMovement{Kind: bluehelm.MoveReceipt, Quantity: 5, Time: now.Add(time.Hour)}, 100, 100, "time"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.m
			m.ItemID = 1
			if m.Time.IsZero() {
				m.Time = now
			}
			err := m.Validate(now)
			got := tc.balance
			if err == nil {
				got, err = m.Apply(tc.balance)
			}
			checkField(t, err, tc.field)
			if got != tc.want {
				t.Errorf("balance %v, want %v", got, tc.want)
			}
		})
	}
}
