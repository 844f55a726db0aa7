package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/acled"
	"github.com/bluehelm/bluehelm/forecast"
	"github.com/bluehelm/bluehelm/ged"
)

const forecastUsage = `usage:
  bluehelm forecast backtest --events FILE.csv [--format auto|ged|acled] [flags]
  bluehelm forecast backtest [--data DIR] [flags]     the store's incidents instead of a file

Rolling-origin backtest: at each origin every model is fitted on the events before
it only, forecasts "at least one event in this cell within the horizon", and is
scored on what happened. One table: AUROC, average precision (AP), Brier, hit rate
and PAI at 1/5/10 % of the area, calibration. Defaults: monthly origins over the
last five years whose windows the data covers, 30-day horizon, 5 km cells masked to
within 25 km of the file's events, events placed within ~25 km and dated within a
week (UCDP where_prec <= 2, date_prec <= 3).
`

func runForecast(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "backtest" {
		fmt.Fprint(stderr, forecastUsage)
		return errUsage
	}
	return runBacktest(ctx, args[1:], stdout, stderr)
}

// backtestOutput is the JSON of "forecast backtest --json".
type backtestOutput struct {
	Source     string           `json:"source"`
	Format     string           `json:"format"`
	Grid       string           `json:"grid"`
	MaskKm     float64          `json:"mask_km"`
	Precision  string           `json:"precision"`
	From       string           `json:"from"`
	To         string           `json:"to"`
	Step       string           `json:"step"`
	Read       int              `json:"read"`         // events read
	Skipped    int              `json:"skipped_rows"` // rows the reader skipped
	Report     *forecast.Report `json:"report"`
	Goal       *goalResult      `json:"goal,omitempty"`
	ElapsedSec float64          `json:"elapsed_s"`
}

// goalResult is issue 6's goal on the reported period: the self-exciting
// model beats every baseline on AP and PAI at 5 %, and the rate model on Brier.
type goalResult struct {
	Met     bool     `json:"met"`
	Reasons []string `json:"reasons,omitempty"` // what fell short
}

func runBacktest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("forecast backtest", stderr)
	var sf storeFlags
	sf.register(fs)
	eventsFile := fs.String("events", "", "UCDP GED or ACLED CSV file (default: the store's incidents)")
	format := fs.String("format", "auto", "auto, ged (ucdp) or acled")
	from := fs.String("from", "", "first origin YYYY-MM-DD (default: five years before --to)")
	to := fs.String("to", "", "last origin YYYY-MM-DD (default: the last whose window the data covers)")
	horizon := fs.String("horizon", "30d", "forecast horizon: 7d, 30d, 2w or a Go duration")
	step := fs.String("step", "1mo", "time between origins: 1mo (calendar month), 30d, …")
	gridFlag := fs.String("grid", "5km", "cells: 5km, 10km, 0.5deg, …")
	maskKm := fs.Float64("mask-km", forecast.DefaultMaskKm, "score the cells within this distance of any precise event of the input; negative: the whole box")
	cats := fs.String("categories", "", "comma-separated target categories (default: all)")
	modelsFlag := fs.String("models", "persistence,rate,kde,hawkes", "comma-separated models")
	precision := fs.String("precision", "fine", "fine (near/week or better) or any")
	validateFrom := fs.String("validate-from", "", "also score origins from this date up to --from apart, as the tuning period")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	fs.Usage = func() {
		fmt.Fprint(stderr, forecastUsage)
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return bluehelm.Invalid("", "unexpected argument %q (the input is --events FILE)", fs.Arg(0))
	}
	start := time.Now()

	h, err := parseSpan(*horizon)
	if err != nil {
		return bluehelm.PrefixField("horizon", err)
	}
	var stepDur time.Duration // 0: a calendar month
	if s := strings.ToLower(*step); s != "1mo" && s != "month" && s != "monthly" {
		if stepDur, err = parseSpan(*step); err != nil {
			return bluehelm.PrefixField("step", err)
		}
	}
	spec, err := parseGrid(*gridFlag)
	if err != nil {
		return err
	}
	spec.MaskKm = *maskKm
	if spec.MaskKm == 0 {
		spec.MaskKm = -1 // 0 km would keep only the events' own cells; take it as "no mask"
	}
	var prec forecast.Precision
	switch *precision {
	case "fine":
		prec = forecast.FinePrecision
	case "any":
	default:
		return bluehelm.Invalid("precision", "%q is not fine or any", *precision)
	}
	var target forecast.Target
	target.Horizon = h
	for _, c := range splitList(*cats) {
		cat := bluehelm.Category(c)
		if !cat.Valid() {
			return bluehelm.Invalid("categories", "unknown category %q", c)
		}
		target.Categories = append(target.Categories, cat)
	}
	models, err := parseModels(*modelsFlag)
	if err != nil {
		return err
	}
	var fromT, toT, valT time.Time
	for _, d := range []struct {
		name, s string
		dst     *time.Time
	}{{"from", *from, &fromT}, {"to", *to, &toT}, {"validate-from", *validateFrom, &valT}} {
		if d.s == "" {
			continue
		}
		t, err := time.Parse(time.DateOnly, d.s)
		if err != nil {
			return bluehelm.Invalid(d.name, "%q is not a date (want YYYY-MM-DD)", d.s)
		}
		*d.dst = t
	}
	if !fromT.IsZero() && !toT.IsZero() && toT.Before(fromT) {
		return bluehelm.Invalid("to", "%s is before --from %s", *to, *from)
	}

	out := backtestOutput{Grid: *gridFlag, MaskKm: spec.MaskKm, Precision: *precision}
	var events []forecast.Event
	if *eventsFile != "" {
		out.Source = *eventsFile
		events, out.Format, out.Skipped, err = readEventFile(*eventsFile, *format)
	} else {
		out.Source, out.Format = "store", "store"
		events, err = storeEvents(ctx, sf)
	}
	if err != nil {
		return err
	}
	out.Read = len(events)

	var fine []forecast.Event
	for _, e := range events {
		if prec.Keeps(e) {
			fine = append(fine, e)
		}
	}
	if len(fine) == 0 {
		return fmt.Errorf("%s: none of the %d events is precise enough for --precision %s", out.Source, len(events), *precision)
	}
	// The study area: every precise event of the input, of every category and
	// period (see forecast.BacktestGrid for why and what it does to PAI).
	g, err := forecast.BacktestGrid(fine, spec)
	if err != nil {
		return err
	}
	last := fine[0].Time
	for _, e := range fine {
		if e.Time.After(last) {
			last = e.Time
		}
	}
	// Default period: the last five years of origins whose windows end by the
	// day after the last event.
	if toT.IsZero() {
		toT = last.Truncate(24 * time.Hour).Add(24 * time.Hour).Add(-h)
	}
	if fromT.IsZero() {
		fromT = toT.AddDate(-5, 0, 0)
	}
	if toT.Before(fromT) {
		return bluehelm.Invalid("to", "%s is before --from %s", toT.Format(time.DateOnly), fromT.Format(time.DateOnly))
	}
	out.From, out.To = fromT.Format(time.DateOnly), toT.Format(time.DateOnly)
	out.Step = *step
	cfg := forecast.BacktestConfig{From: fromT, To: toT, Step: stepDur, Target: target, Grid: g, Precision: prec, ValidationFrom: valT}
	rep, err := forecast.Backtest(fine, cfg, models)
	if err != nil {
		return err
	}
	out.Report = rep
	out.Goal = goal(rep)
	out.ElapsedSec = time.Since(start).Seconds()
	if *asJSON {
		return json.NewEncoder(stdout).Encode(out)
	}
	printBacktest(stdout, &out)
	return nil
}

// parseSpan reads "30d", "2w" or a Go duration ("720h").
func parseSpan(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var d time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		v, err := strconv.ParseFloat(n, 64)
		if err != nil {
			return 0, bluehelm.Invalid("", "%q is not a number of days", s)
		}
		d = time.Duration(v * 24 * float64(time.Hour))
	} else if n, ok := strings.CutSuffix(s, "w"); ok {
		v, err := strconv.ParseFloat(n, 64)
		if err != nil {
			return 0, bluehelm.Invalid("", "%q is not a number of weeks", s)
		}
		d = time.Duration(v * 7 * 24 * float64(time.Hour))
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, bluehelm.Invalid("", "%q is not a span (want 30d, 2w or 720h)", s)
		}
	}
	if d < time.Hour {
		return 0, bluehelm.Invalid("", "%q is shorter than an hour", s)
	}
	return d, nil
}

// parseGrid reads "5km" or "0.5deg".
func parseGrid(s string) (forecast.GridSpec, error) {
	var spec forecast.GridSpec
	num, unit := s, ""
	for _, u := range []string{"km", "deg", "°"} {
		if n, ok := strings.CutSuffix(s, u); ok {
			num, unit = n, u
			break
		}
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || unit == "" || !(v > 0) {
		return spec, bluehelm.Invalid("grid", "%q is not a cell size (want 5km or 0.5deg)", s)
	}
	if unit == "km" {
		spec.CellKm = v
	} else {
		spec.CellDeg = v
	}
	return spec, nil
}

// parseModels builds the named models with their defaults (the parameters
// the models helper chose; none is tuned on the reported period).
func parseModels(s string) ([]forecast.Model, error) {
	var out []forecast.Model
	seen := map[string]bool{}
	for _, name := range splitList(s) {
		if seen[name] {
			continue
		}
		seen[name] = true
		switch name {
		case "persistence":
			out = append(out, forecast.NewPersistence(0))
		case "rate":
			out = append(out, forecast.NewRate())
		case "kde":
			out = append(out, forecast.NewKDE(0, 0))
		case "hawkes":
			out = append(out, forecast.NewHawkes(forecast.HawkesConfig{}))
		default:
			return nil, bluehelm.Invalid("models", "unknown model %q (want persistence, rate, kde or hawkes)", name)
		}
	}
	if len(out) == 0 {
		return nil, bluehelm.Invalid("models", "no model named")
	}
	return out, nil
}

// readEventFile reads a GED or ACLED CSV; format auto looks at the header.
func readEventFile(path, format string) ([]forecast.Event, string, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", 0, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	if format == "auto" {
		head, _ := br.Peek(4096)
		first, _, _ := strings.Cut(strings.ToLower(string(head)), "\n")
		switch {
		case strings.Contains(first, "type_of_violence"):
			format = "ged"
		case strings.Contains(first, "event_id_cnty"):
			format = "acled"
		default:
			return nil, "", 0, fmt.Errorf("%s: not a UCDP GED or ACLED CSV (no type_of_violence or event_id_cnty column); name it with --format", path)
		}
	}
	var (
		incs    []*bluehelm.Incident
		skipped int
	)
	switch format {
	case "ged", "ucdp":
		format = "ged"
		var rowErrs []ged.RowError
		incs, rowErrs, err = ged.Read(br)
		skipped = len(rowErrs)
	case "acled":
		var rowErrs []acled.RowError
		incs, rowErrs, err = acled.Read(br)
		skipped = len(rowErrs)
	default:
		return nil, "", 0, bluehelm.Invalid("format", "unknown format %q (want auto, ged or acled)", format)
	}
	if err != nil {
		return nil, "", 0, fmt.Errorf("reading %s: %w", path, err)
	}
	if len(incs) == 0 {
		return nil, "", 0, fmt.Errorf("%s: no event could be read (%d rows skipped)", path, skipped)
	}
	events := make([]forecast.Event, len(incs))
	for i, inc := range incs {
		events[i] = forecast.EventOf(inc)
		// File rows have no store id; number them so that reasons and ties
		// are stable.
		events[i].ID = int64(i + 1)
	}
	return events, format, skipped, nil
}

// storeEvents reads every incident of the store, as the local administrator
// sees them (the CLI works on the data directory directly).
func storeEvents(ctx context.Context, sf storeFlags) ([]forecast.Event, error) {
	if _, err := os.Stat(sf.data); err != nil && sf.db == "" {
		return nil, fmt.Errorf("no --events file and no data directory %s: %w", sf.data, err)
	}
	store, err := openStore(sf)
	if err != nil {
		return nil, err
	}
	defer store.Close()
	f := bluehelm.IncidentFilter{Viewer: bluehelm.SystemPrincipal("cli"), Limit: 1000}
	var events []forecast.Event
	for {
		page, err := store.FindIncidents(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, inc := range page.Incidents {
			events = append(events, forecast.EventOf(inc))
		}
		if page.NextCursor == "" {
			break
		}
		f.Cursor = page.NextCursor
	}
	if len(events) == 0 {
		return nil, errors.New("the store holds no incident: import some (bluehelm import ucdp FILE.csv) or give --events FILE")
	}
	return events, nil
}

// goal checks issue 6's goal when the report has the self-exciting model and
// at least one baseline; nil otherwise.
func goal(rep *forecast.Report) *goalResult {
	var hk *forecast.ModelReport
	var base []*forecast.ModelReport
	for i := range rep.Models {
		m := &rep.Models[i]
		if m.Name == "hawkes" {
			hk = m
		} else {
			base = append(base, m)
		}
	}
	if hk == nil || len(base) == 0 {
		return nil
	}
	g := &goalResult{Met: true}
	fail := func(format string, a ...any) {
		g.Met = false
		g.Reasons = append(g.Reasons, fmt.Sprintf(format, a...))
	}
	pai5 := func(m *forecast.ModelReport) float64 {
		for _, h := range m.Hits {
			if h.Share == 0.05 {
				return h.PAI
			}
		}
		return math.NaN()
	}
	for _, b := range base {
		if hk.AP == nil || b.AP == nil || !(*hk.AP > *b.AP) {
			fail("AP %s ≤ %s %s", fmtPtr(hk.AP), b.Name, fmtPtr(b.AP))
		}
		if !(pai5(hk) > pai5(b)) {
			fail("PAI@5%% %.2f ≤ %s %.2f", pai5(hk), b.Name, pai5(b))
		}
		if b.Name == "rate" && !(hk.Brier < b.Brier) {
			fail("Brier %.5f ≥ rate %.5f", hk.Brier, b.Brier)
		}
	}
	return g
}

func fmtPtr(v *float64) string {
	if v == nil {
		return "–"
	}
	return fmt.Sprintf("%.3f", *v)
}

func printBacktest(w io.Writer, out *backtestOutput) {
	rep := out.Report
	fmt.Fprintf(w, "%s (%s): %d events read, %d rows skipped; %d kept (precision %s, inside the grid)\n",
		out.Source, out.Format, out.Read, out.Skipped, rep.Events, out.Precision)
	fmt.Fprintf(w, "grid %s: %d cells, %.0f km² (mask %s)\n", out.Grid, rep.Cells, rep.AreaKm2, maskText(out.MaskKm))
	printPeriod(w, "reported", rep, out.Step)
	if rep.Validation != nil {
		fmt.Fprintln(w)
		printPeriod(w, "validation (tuning period)", rep.Validation, out.Step)
	}
	if out.Goal != nil {
		fmt.Fprintln(w)
		if out.Goal.Met {
			fmt.Fprintln(w, "goal of issue 6 (hawkes beats every baseline on AP and PAI@5%, and rate on Brier): MET")
		} else {
			fmt.Fprintf(w, "goal of issue 6 (hawkes beats every baseline on AP and PAI@5%%, and rate on Brier): NOT MET (%s)\n", strings.Join(out.Goal.Reasons, "; "))
		}
	}
	fmt.Fprintf(w, "took %.1f s\n", out.ElapsedSec)
}

func maskText(km float64) string {
	if km < 0 {
		return "none: the whole box"
	}
	return fmt.Sprintf("cells within %g km of an event", km)
}

func printPeriod(w io.Writer, name string, rep *forecast.Report, step string) {
	first, last := rep.Origins[0], rep.Origins[len(rep.Origins)-1]
	cats := "all categories"
	if len(rep.Target.Categories) > 0 {
		var cs []string
		for _, c := range rep.Target.Categories {
			cs = append(cs, string(c))
		}
		cats = strings.Join(cs, ",")
	}
	fmt.Fprintf(w, "%s: %d origins %s..%s every %s, horizon %gd, %s; %d target events, %d positive cell-windows\n",
		name, len(rep.Origins), first.Format(time.DateOnly), last.Format(time.DateOnly), step, rep.Target.HorizonDays, cats, rep.Scored, rep.Positives)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	var head []string
	head = append(head, "MODEL", "AUROC", "AP", "BRIER")
	shares := []float64{}
	if len(rep.Models) > 0 {
		for _, h := range rep.Models[0].Hits {
			shares = append(shares, h.Share)
			head = append(head, fmt.Sprintf("HIT@%g%%", h.Share*100), fmt.Sprintf("PAI@%g%%", h.Share*100))
		}
	}
	head = append(head, "ECE", "MEAN P", "OBSERVED", "FIT S", "")
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, m := range rep.Models {
		row := []string{m.Name, fmtPtr(m.AUROC), fmtPtr(m.AP), fmt.Sprintf("%.5f", m.Brier)}
		for i := range shares {
			row = append(row, fmt.Sprintf("%.3f", m.Hits[i].HitRate), fmt.Sprintf("%.2f", m.Hits[i].PAI))
		}
		row = append(row, fmt.Sprintf("%.4f", m.ECE), fmt.Sprintf("%.4f", m.MeanP), fmt.Sprintf("%.4f", m.Observed), fmt.Sprintf("%.1f", m.FitTime.Seconds()), "")
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	tw.Flush()
	fmt.Fprintln(w, "AUROC, AP: mean over origins with a positive cell; Brier: mean over origins; hit rate, PAI: pooled over events; ECE, mean p: pooled (JSON has pooled AUROC/AP and the reliability bins)")
}
