package main

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const carGED = "ucdp_ged_v23_1_central_african_republic.csv"

var allModels = []string{"persistence", "rate", "kde", "hawkes"}

// TestForecastBacktestCAR runs the backtest through the CLI on the real
// CAR GED file (30-day horizon, monthly origins over the file's last five
// years, 5 km cells) with every model and checks the report's shape and that
// every figure is in its range. The figures themselves are in BENCHMARKS.md,
// not asserted here: a model change may move them. Under the race detector
// (CI's go test -race) the origins are the file's last year only: the whole
// run takes about 10 s without it and well over a minute with it.
func TestForecastBacktestCAR(t *testing.T) {
	path := sharedData(t, carGED)
	var out backtestOutput
	args := []string{"forecast", "backtest", "--events", path, "--horizon", "30d", "--grid", "5km", "--models", strings.Join(allModels, ","), "--json"}
	from, origins := "2017-12-01", 61
	if raceEnabled {
		from, origins = "2021-12-01", 13
		args = append(args, "--from", from)
	}
	raw := cli(t, args...)
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	rep := out.Report
	if out.Format != "ged" || out.Read < 1800 || out.Skipped != 0 {
		t.Errorf("read %d events as %s, %d skipped", out.Read, out.Format, out.Skipped)
	}
	// The file ends 2022-12-30: the last origin whose 30 days it covers is
	// 2022-12-01, and five years of monthly origins before it are 61.
	if out.From != from || out.To != "2022-12-01" || len(rep.Origins) != origins {
		t.Errorf("period %s..%s, %d origins; want %s..2022-12-01, %d", out.From, out.To, len(rep.Origins), from, origins)
	}
	if rep.Cells < 1000 || rep.Events > out.Read || rep.Scored == 0 || rep.Positives == 0 || rep.Positives > rep.Scored {
		t.Errorf("cells %d, events kept %d of %d, scored %d, positives %d", rep.Cells, rep.Events, out.Read, rep.Scored, rep.Positives)
	}
	if len(rep.Models) != len(allModels) {
		t.Fatalf("%d models reported, want %d", len(rep.Models), len(allModels))
	}
	unit := func(name, model string, v float64) {
		if !(v >= 0 && v <= 1) {
			t.Errorf("%s %s = %v, not in [0, 1]", model, name, v)
		}
	}
	for i, m := range rep.Models {
		if m.Name != allModels[i] {
			t.Errorf("model %d is %q, want %q", i, m.Name, allModels[i])
		}
		if m.AUROC == nil || m.AP == nil || m.PooledAUROC == nil || m.PooledAP == nil || m.DefinedOrigins == 0 {
			t.Fatalf("%s: undefined AUROC/AP over %d origins", m.Name, m.DefinedOrigins)
		}
		for _, v := range []struct {
			n string
			v float64
		}{{"AUROC", *m.AUROC}, {"AP", *m.AP}, {"pooled AUROC", *m.PooledAUROC}, {"pooled AP", *m.PooledAP},
			{"Brier", m.Brier}, {"ECE", m.ECE}, {"mean p", m.MeanP}, {"observed", m.Observed}} {
			unit(v.n, m.Name, v.v)
		}
		// Every model ranks better than chance over five years of real data.
		if *m.AUROC <= 0.5 {
			t.Errorf("%s: AUROC %v, no better than chance", m.Name, *m.AUROC)
		}
		if len(m.Hits) != 3 {
			t.Fatalf("%s: %d area shares, want 1, 5, 10 %%", m.Name, len(m.Hits))
		}
		prev := 0.0
		for _, h := range m.Hits {
			unit("hit rate", m.Name, h.HitRate)
			if h.HitRate < prev-1e-12 {
				t.Errorf("%s: hit rate falls from %v to %v as the flagged area grows", m.Name, prev, h.HitRate)
			}
			prev = h.HitRate
			if math.Abs(h.PAI-h.HitRate/h.Share) > 1e-9 || h.PAI < 0 || h.PAI > 1/h.Share+1e-9 {
				t.Errorf("%s: PAI %v at %v with hit rate %v", m.Name, h.PAI, h.Share, h.HitRate)
			}
		}
		n := 0
		for _, b := range m.Reliability {
			n += b.N
			unit("bin mean p", m.Name, b.MeanP)
			unit("bin observed", m.Name, b.Observed)
		}
		if n != rep.Cells*len(rep.Origins) {
			t.Errorf("%s: reliability bins hold %d forecasts, want %d", m.Name, n, rep.Cells*len(rep.Origins))
		}
	}
	if out.Goal == nil {
		t.Error("no goal verdict with hawkes and the baselines")
	}
	t.Logf("CAR backtest, 5 km, %d origins, %d cells: %.1f s", len(rep.Origins), rep.Cells, out.ElapsedSec)
}

// TestForecastBacktestTable checks the text table: one header, one row per
// model with every column, on PRIO-GRID cells (fast).
func TestForecastBacktestTable(t *testing.T) {
	path := sharedData(t, carGED)
	out := cli(t, "forecast", "backtest", "--events", path, "--format", "ged", "--grid", "0.5deg", "--from", "2021-01-01", "--to", "2021-12-01")
	lines := strings.Split(out, "\n")
	head := -1
	for i, l := range lines {
		if strings.Contains(l, "MODEL") {
			head = i
			break
		}
	}
	if head < 0 || head+len(allModels) >= len(lines) {
		t.Fatalf("no table:\n%s", out)
	}
	cols := len(strings.Fields(lines[head]))
	if cols != 16 { // MODEL AUROC AP BRIER, 3 × (HIT PAI), ECE, MEAN P (2 words), OBSERVED, FIT S (2 words)
		t.Errorf("header has %d words: %q", cols, lines[head])
	}
	for i, name := range allModels {
		f := strings.Fields(lines[head+1+i])
		if len(f) != 14 || f[0] != name {
			t.Errorf("row %d: %q", i, lines[head+1+i])
		}
	}
	for _, want := range []string{"12 origins 2021-01-01..2021-12-01", "goal of issue 6", "took"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestForecastBacktestStore: without --events the store's incidents are read.
func TestForecastBacktestStore(t *testing.T) {
	path := sharedData(t, carGED)
	dir := t.TempDir()
	cli(t, "import", "ucdp", path, "--data", dir)
	var fromFile, fromStore backtestOutput
	args := []string{"forecast", "backtest", "--grid", "0.5deg", "--from", "2022-01-01", "--to", "2022-06-01", "--models", "persistence,rate", "--json"}
	if err := json.Unmarshal([]byte(cli(t, append(args, "--events", path)...)), &fromFile); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(cli(t, append(args, "--data", dir)...)), &fromStore); err != nil {
		t.Fatal(err)
	}
	if fromStore.Source != "store" || fromStore.Read != fromFile.Read {
		t.Fatalf("store: %s, %d events; file %d", fromStore.Source, fromStore.Read, fromFile.Read)
	}
	for i := range fromFile.Report.Models {
		a, b := fromFile.Report.Models[i], fromStore.Report.Models[i]
		if *a.AUROC != *b.AUROC || a.Brier != b.Brier || a.Hits[1] != b.Hits[1] {
			t.Errorf("%s scores differently from the store (%v %v) and the file (%v %v)", a.Name, *b.AUROC, b.Brier, *a.AUROC, a.Brier)
		}
	}
}

func TestForecastBacktestBadInput(t *testing.T) {
	dir := t.TempDir()
	notEvents := filepath.Join(dir, "fatalities.csv")
	if err := os.WriteFile(notEvents, []byte("id,incident_date,casualty_id\n1,2020-01-01,X\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--events", filepath.Join(dir, "missing.csv")}, "no such file"},
		{[]string{"--events", notEvents}, "not a UCDP GED or ACLED CSV"},
		{[]string{"--events", notEvents, "--format", "excel"}, "unknown format"},
		{[]string{"--events", notEvents, "--format", "ged"}, "missing column"},
		{[]string{"--events", notEvents, "--from", "2022-01-01", "--to", "2021-01-01"}, "before --from"},
		{[]string{"--events", notEvents, "--from", "01/02/2021"}, "not a date"},
		{[]string{"--events", notEvents, "--horizon", "thirty days"}, "horizon"},
		{[]string{"--events", notEvents, "--horizon", "-3d"}, "horizon"},
		{[]string{"--events", notEvents, "--grid", "5 miles"}, "grid"},
		{[]string{"--events", notEvents, "--models", "rate,oracle"}, "unknown model"},
		{[]string{"--events", notEvents, "--categories", "bombing"}, "unknown category"},
		{[]string{"--events", notEvents, "--precision", "exactish"}, "precision"},
		{[]string{"--data", filepath.Join(dir, "nowhere")}, "no --events file"},
		{[]string{"--data", dir}, "no incident"},
	} {
		err := run(context.Background(), append([]string{"forecast", "backtest"}, c.args...), io.Discard, io.Discard)
		if err == nil || !strings.Contains(cliMessage(err), c.want) {
			t.Errorf("%v: %v, want an error naming %q", c.args, err, c.want)
		}
	}
	if err := run(context.Background(), []string{"forecast", "predict"}, io.Discard, io.Discard); err != errUsage {
		t.Errorf("unknown subcommand: %v", err)
	}
	// A window past the data is refused rather than scored as "nothing happened".
	if path := filepath.Join("..", "..", "..", "shared", "data", carGED); fileExists(path) {
		err := run(context.Background(), []string{"forecast", "backtest", "--events", path, "--from", "2022-06-15", "--to", "2022-12-31", "--grid", "0.5deg"}, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "outcome is unknown") {
			t.Errorf("origins past the data: %v", err)
		}
	}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }
