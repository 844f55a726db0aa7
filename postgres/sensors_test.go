package postgres_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/postgres"
	"github.com/bluehelm/bluehelm/postgres/pgtest"
)

// Two stores on one schema stand for two bluehelm nodes sharing the HQ
// database: each has its own pool, so their writes race in the server.
func twoSensorNodes(t *testing.T) [2]*postgres.DB {
	schema := pgtest.Schema()
	return [2]*postgres.DB{pgtest.OpenSchema(t, schema), pgtest.OpenSchema(t, schema)}
}

var sensorT0 = time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC)

func sensorAudit(action string) bluehelm.AuditEntry {
	return bluehelm.AuditEntry{At: sensorT0, Actor: "log1", Action: action}
}

// replayStockBook walks the stored movements in book order (time, then id) and
// returns the final balance, failing the test if any balance is negative.
func replayStockBook(t *testing.T, db *postgres.DB, item int64) float64 {
	t.Helper()
	movs, err := db.StockMovements(context.Background(), item, time.Time{}, time.Time{})
	if err != nil {
		t.Fatalf("StockMovements: %v", err)
	}
	bal := 0.0
	for _, m := range movs {
		if bal, err = m.Apply(bal); err != nil {
			t.Fatalf("the stored book goes negative at movement %d (%s %v at %s): %v", m.ID, m.Kind, m.Quantity, m.Time, err)
		}
	}
	return bal
}

// TestStockConcurrentWriters: the book never goes negative and the stored
// balance is the book's, with movements of one item arriving at once from two
// nodes, late entries (replays of the book) among them.
func TestStockConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name    string
		receipt float64
		moves   func(i int) (bluehelm.MovementKind, float64)
		n       int
		// wantOK is the exact number of movements accepted, when the order
		// of arrival cannot change it (-1: it may).
		wantOK int
	}{
		// Issues of 1 against 20: exactly 20 pass whatever the order or the
		// times, since every balance is 20 minus the issues before it.
		{"issues beyond the stock", 20, func(int) (bluehelm.MovementKind, float64) { return bluehelm.MoveIssue, 1 }, 48, 20},
		// Receipts and issues mixed: which issues pass depends on arrival,
		// the invariant does not.
		{"receipts and issues", 10, func(i int) (bluehelm.MovementKind, float64) {
			if i%3 == 0 {
				return bluehelm.MoveReceipt, 5
			}
			return bluehelm.MoveIssue, 4
		}, 48, -1},
	} {
		t.Run(c.name, func(t *testing.T) {
			nodes := twoSensorNodes(t)
			it := &bluehelm.StockItem{Name: "Diesel, fuel farm", Kind: bluehelm.StockDiesel, Unit: "L", CampID: 7, CreatedAt: sensorT0, UpdatedAt: sensorT0}
			if err := nodes[0].CreateStockItem(ctx, it, sensorAudit("stock.create")); err != nil {
				t.Fatal(err)
			}
			if _, err := nodes[1].AppendStockMovement(ctx, &bluehelm.StockMovement{ItemID: it.ID, Kind: bluehelm.MoveReceipt, Quantity: c.receipt, Time: sensorT0}, sensorAudit("stock.move")); err != nil {
				t.Fatal(err)
			}
			// Times are a shuffled sequence, so that most movements arrive
			// before some earlier one: late entries replay the book.
			times := rand.Perm(c.n)
			var (
				wg       sync.WaitGroup
				mu       sync.Mutex
				accepted int
			)
			for i := range c.n {
				wg.Go(func() {
					kind, q := c.moves(i)
					m := &bluehelm.StockMovement{ItemID: it.ID, Kind: kind, Quantity: q, Time: sensorT0.Add(time.Duration(1+times[i]) * time.Minute), By: "log1"}
					_, err := nodes[i%2].AppendStockMovement(ctx, m, sensorAudit("stock.move"))
					switch bluehelm.ErrorCode(err) {
					case "":
						mu.Lock()
						accepted++
						mu.Unlock()
					case bluehelm.EINVALID:
						if kind != bluehelm.MoveIssue {
							t.Errorf("a receipt was refused: %v", err)
						}
					default:
						t.Errorf("movement %d: %v (only EINVALID may refuse a movement)", i, err)
					}
				})
			}
			wg.Wait()
			if c.wantOK >= 0 && accepted != c.wantOK {
				t.Errorf("%d movements accepted, want %d", accepted, c.wantOK)
			}
			movs, err := nodes[0].StockMovements(ctx, it.ID, time.Time{}, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if len(movs) != accepted+1 {
				t.Errorf("%d movements stored, %d accepted (+1 receipt)", len(movs), accepted)
			}
			book := replayStockBook(t, nodes[1], it.ID)
			for _, db := range nodes {
				bal, err := db.StockBalance(ctx, it.ID)
				if err != nil {
					t.Fatal(err)
				}
				if bal != book {
					t.Errorf("stored balance %v, the book says %v", bal, book)
				}
			}
			// Every accepted movement has its audit entry, in one chain.
			n, err := nodes[0].VerifyAudit(ctx)
			if err != nil {
				t.Errorf("VerifyAudit: %v", err)
			}
			if want := int64(accepted + 2); n != want {
				t.Errorf("%d audit entries, want %d (item, receipt, accepted movements)", n, want)
			}
		})
	}
}

// TestReadingsConcurrentOverlap: writers on two nodes storing overlapping
// batches, each in its own order, store each (sensor, time) once; exactly one
// of them is told it stored it, and the stored value is that writer's. Nobody
// fails (key-ordered inserts cannot deadlock).
func TestReadingsConcurrentOverlap(t *testing.T) {
	ctx := context.Background()
	nodes := twoSensorNodes(t)
	var ids []int64
	for _, code := range []string{"CAMP1-FUEL-1", "CAMP1-GEN-1", "CAMP1-WATER-1"} {
		s := &bluehelm.Sensor{Code: code, Kind: bluehelm.SensorFuelLevel, CampID: 7, Unit: bluehelm.SensorFuelLevel.Spec().Unit, IntervalSeconds: 60, CreatedAt: sensorT0, UpdatedAt: sensorT0}
		if err := nodes[0].CreateSensor(ctx, s, sensorAudit("sensor.create")); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, s.ID)
	}
	const writers, perSensor = 8, 200
	type key struct {
		sensor int64
		sec    int
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		winner = map[key]float64{}
		wins   = map[key]int{}
	)
	for w := range writers {
		wg.Go(func() {
			var batch []bluehelm.Reading
			for _, id := range ids {
				// Writers overlap by half: writer w covers seconds
				// [w*perSensor/2, w*perSensor/2+perSensor).
				for s := range perSensor {
					sec := w*perSensor/2 + s
					batch = append(batch, bluehelm.Reading{SensorID: id, Time: sensorT0.Add(time.Duration(sec) * time.Second), Value: float64(w*100000 + sec)})
				}
			}
			rand.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
			stored, err := nodes[w%2].InsertReadings(ctx, batch)
			if err != nil {
				t.Errorf("writer %d: %v", w, err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for i, ok := range stored {
				if ok {
					k := key{batch[i].SensorID, int(batch[i].Time.Sub(sensorT0) / time.Second)}
					wins[k]++
					winner[k] = batch[i].Value
				}
			}
		})
	}
	wg.Wait()
	wantKeys := (writers + 1) * perSensor / 2
	for _, id := range ids {
		got, err := nodes[1].Readings(ctx, id, time.Time{}, time.Time{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != wantKeys {
			t.Errorf("sensor %d: %d readings stored, want %d", id, len(got), wantKeys)
		}
		for _, r := range got {
			k := key{id, int(r.Time.Sub(sensorT0) / time.Second)}
			if wins[k] != 1 {
				t.Errorf("reading %v: %d writers were told they stored it, want 1", k, wins[k])
			} else if winner[k] != r.Value {
				t.Errorf("reading %v: stored %v, the writer told it stored it sent %v", k, r.Value, winner[k])
			}
		}
	}
	if len(wins) != len(ids)*wantKeys {
		t.Errorf("%d keys reported stored, want %d", len(wins), len(ids)*wantKeys)
	}
}

// TestQuarantineGarbage: what a broken device sends is kept, whatever its
// bytes (PostgreSQL text takes neither NUL nor invalid UTF-8), and the
// quarantine stays bounded, the newest kept.
func TestQuarantineGarbage(t *testing.T) {
	ctx := context.Background()
	db := pgtest.Open(t)
	for _, c := range []struct {
		name, code, reason string
		wantCode           string
	}{
		{"NUL in the code", "PIR\x0007", "bad value", "PIR\uFFFD07"},
		{"invalid UTF-8 in the reason", "PIR-08", "value \xff\xfe", "PIR-08"},
		{"an overlong code", string(make([]byte, 200)), "zeros", ""},
	} {
		q := bluehelm.QuarantinedReading{ReceivedAt: sensorT0, SensorCode: c.code, Time: sensorT0, Value: 1, Reason: c.reason, Source: "mqtt"}
		if err := db.QuarantineReadings(ctx, []bluehelm.QuarantinedReading{q}); err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		got, err := db.QuarantinedReadings(ctx, "", 1)
		if err != nil || len(got) != 1 {
			t.Fatalf("%s: %v, %v", c.name, got, err)
		}
		if c.wantCode != "" && got[0].SensorCode != c.wantCode {
			t.Errorf("%s: stored code %q, want %q", c.name, got[0].SensorCode, c.wantCode)
		}
		if len(got[0].SensorCode) > 64 {
			t.Errorf("%s: stored a code of %d bytes", c.name, len(got[0].SensorCode))
		}
	}

	const bound = 100_000 // postgres.maxQuarantined
	batch := make([]bluehelm.QuarantinedReading, bound+10)
	for i := range batch {
		batch[i] = bluehelm.QuarantinedReading{ReceivedAt: sensorT0, SensorCode: "FLOOD", Value: float64(i), Reason: "out of range"}
	}
	if err := db.QuarantineReadings(ctx, batch); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.Pool().QueryRow(ctx, `SELECT count(*) FROM quarantined_readings`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != bound {
		t.Errorf("%d quarantined readings kept, want the bound %d", n, bound)
	}
	got, err := db.QuarantinedReadings(ctx, "FLOOD", 1)
	if err != nil || len(got) != 1 || got[0].Value != bound+9 {
		t.Errorf("newest quarantined reading: %+v, %v; want the batch's last", got, err)
	}
}

// TestCampRaces: the guarantees the camp manager's records rest on hold when
// nodes race: one automatic work order per service, one outbox message per
// key, one sensor per code.
func TestCampRaces(t *testing.T) {
	ctx := context.Background()
	const racers = 8
	for _, c := range []struct {
		name string
		// setup runs once; try runs on every racer (node i%2) and returns
		// the id it stored or found, and its error.
		setup func(t *testing.T, db *postgres.DB) any
		try   func(db *postgres.DB, state any) (int64, error)
		// sameID: every racer must end with the same id (idempotent), else
		// exactly one may succeed and the others get ECONFLICT.
		sameID bool
	}{
		{"automatic work order", func(t *testing.T, db *postgres.DB) any {
			a := &bluehelm.Asset{CampID: 7, Kind: bluehelm.AssetGenerator, Name: "G1", CreatedAt: sensorT0, UpdatedAt: sensorT0}
			if err := db.CreateAsset(ctx, a, sensorAudit("asset.create")); err != nil {
				t.Fatal(err)
			}
			return a.ID
		}, func(db *postgres.DB, state any) (int64, error) {
			w := &bluehelm.WorkOrder{CampID: 7, AssetID: state.(int64), Task: "oil change", Status: bluehelm.WorkOpen, DueAtHours: 1250, Auto: true, CreatedAt: sensorT0, UpdatedAt: sensorT0}
			err := db.CreateWorkOrder(ctx, w, sensorAudit("work_order.create"))
			return w.ID, err
		}, false},
		{"sensor code", func(*testing.T, *postgres.DB) any { return nil }, func(db *postgres.DB, _ any) (int64, error) {
			s := &bluehelm.Sensor{Code: "CAMP1-PIR-07", Kind: bluehelm.SensorPIR, CampID: 7, CreatedAt: sensorT0, UpdatedAt: sensorT0}
			err := db.CreateSensor(ctx, s, sensorAudit("sensor.create"))
			return s.ID, err
		}, false},
		{"webhook key", func(*testing.T, *postgres.DB) any { return nil }, func(db *postgres.DB, _ any) (int64, error) {
			d := &bluehelm.WebhookDelivery{Key: "alert/1/escalation/1", URL: "http://127.0.0.1:9/hook", Body: []byte(`{}`), NextAt: sensorT0, CreatedAt: sensorT0}
			err := db.EnqueueWebhook(ctx, d)
			return d.ID, err
		}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			nodes := twoSensorNodes(t)
			state := c.setup(t, nodes[0])
			ids := make([]int64, racers)
			errs := make([]error, racers)
			var wg sync.WaitGroup
			for i := range racers {
				wg.Go(func() { ids[i], errs[i] = c.try(nodes[i%2], state) })
			}
			wg.Wait()
			won := map[int64]bool{}
			for i, err := range errs {
				switch {
				case err == nil:
					won[ids[i]] = true
				case c.sameID:
					t.Errorf("racer %d: %v", i, err)
				case bluehelm.ErrorCode(err) != bluehelm.ECONFLICT:
					t.Errorf("racer %d: %v, want ECONFLICT", i, err)
				}
			}
			if len(won) != 1 {
				t.Errorf("racers ended with ids %v, want one id", won)
			}
		})
	}
}
