package loadgen

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the outcome of a run. Counts are deliveries: one sender event reaching
// one receiver.
type Report struct {
	Addr      string  `json:"addr"`
	Format    string  `json:"format"`
	TLS       bool    `json:"tls"`
	RunID     string  `json:"run_id"`
	Senders   int     `json:"senders"`
	Receivers int     `json:"receivers"`
	Rate      float64 `json:"rate_hz"`
	Duration  float64 `json:"duration_s"`
	Warmup    float64 `json:"warmup_s"`
	Drain     float64 `json:"drain_s"`

	Sent       uint64  `json:"sent"`        // events the senders wrote
	TargetRate float64 `json:"target_rate"` // senders × rate, events/s
	SendRate   float64 `json:"send_rate"`   // achieved, events/s

	Expected uint64 `json:"expected"` // sent × receivers
	Received uint64 `json:"received"` // distinct deliveries
	// Missing = Expected − Received = Lost + Skipped.
	Missing uint64 `json:"missing"`
	// Skipped are missing reports that a server may legitimately have coalesced
	// under load: a later report of the same sender reached the receiver, and
	// nothing that reached the server after the missing one reached that receiver
	// before the later report reached the server (so the missing one could still
	// have been waiting in a queue when it was superseded; see classify). Lost is
	// every other missing delivery.
	Lost       uint64  `json:"lost"`
	Skipped    uint64  `json:"skipped"`
	LossPct    float64 `json:"loss_pct"`    // Lost / Expected × 100
	SkippedPct float64 `json:"skipped_pct"` // Skipped / Expected × 100
	Duplicates uint64  `json:"duplicates"`

	// Latency is send → receive of distinct deliveries. ServerIn and ServerOut
	// split it at the earliest server flow tag (<_flow-tags_>) when the server
	// adds one: to the server, and through and out of it.
	Latency   *Latency `json:"latency_ms"`
	ServerIn  *Latency `json:"server_in_ms,omitempty"`
	ServerOut *Latency `json:"server_out_ms,omitempty"`

	MinReceiver MinReceiver `json:"min_receiver"`
	// LastDelivery is when the last distinct delivery arrived, in seconds after
	// the last event was sent. Close to Drain means the server was still delivering
	// when counting began: some of Lost was only late.
	LastDelivery float64 `json:"last_delivery_s"`

	ConnectErrors int      `json:"connect_errors"`
	Disconnects   int      `json:"disconnects"`
	WriteErrors   int      `json:"write_errors"`
	Errors        []string `json:"errors,omitempty"` // the first few

	Other    uint64 `json:"other_events"`     // received events not from this run's senders
	OtherRun uint64 `json:"other_run_events"` // loadgen events of another run
	Bogus    uint64 `json:"bogus_events"`     // this run's marker with impossible values
	Refused  uint64 `json:"refused_elements"` // elements or frames the stream readers refused

	CPUSeconds  float64 `json:"cpu_s"` // user+system time of this process
	WallSeconds float64 `json:"wall_s"`
	CPUPercent  float64 `json:"cpu_pct"` // of one core, over the whole run
}

// Latency is a latency distribution in milliseconds. Quantiles come from a
// log-linear histogram and are within 0.8 % of the exact value; Max is exact.
type Latency struct {
	Count uint64  `json:"count"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

// MinReceiver is the receiver that got the fewest distinct deliveries.
type MinReceiver struct {
	UID      string  `json:"uid"`
	Received uint64  `json:"received"`
	Pct      float64 `json:"pct"` // of what each receiver should have got
}

func (r *run) report(recvs []*receiver, sends []*sender, sendWall time.Duration) *Report {
	cfg := r.cfg
	rep := &Report{
		Addr: cfg.Addr, Format: cfg.Format, TLS: cfg.TLS != nil, RunID: r.id,
		Senders: cfg.Senders, Receivers: cfg.Receivers, Rate: cfg.Rate,
		Duration: cfg.Duration.Seconds(), Warmup: cfg.Warmup.Seconds(), Drain: cfg.Drain.Seconds(),
		TargetRate:    float64(cfg.Senders) * cfg.Rate,
		ConnectErrors: r.connectErrors, Disconnects: r.disconnects, WriteErrors: r.writeErrors,
		Errors: r.errs,
	}
	var perReceiver uint64
	for _, s := range sends {
		perReceiver += uint64(len(s.sent))
	}
	rep.Sent = perReceiver
	if sendWall > 0 {
		rep.SendRate = float64(rep.Sent) / min(sendWall, cfg.Duration).Seconds()
	}
	rep.Expected = perReceiver * uint64(len(recvs))

	var lat, in, out wideHist
	for ri, rc := range recvs {
		lost, skipped := rc.classify(sends)
		rep.Lost += lost
		rep.Skipped += skipped
		got := perReceiver - lost - skipped
		if ri == 0 || got < rep.MinReceiver.Received {
			rep.MinReceiver = MinReceiver{UID: rc.uid, Received: got}
		}
		rep.Duplicates += rc.dups
		rep.Other += rc.other
		rep.OtherRun += rc.stale
		rep.Bogus += rc.bogus
		rep.Refused += rc.bad
		lat.add(&rc.lat)
		in.add(rc.hopIn)
		out.add(rc.hopOut)
	}
	rep.Missing = rep.Lost + rep.Skipped
	rep.Received = rep.Expected - rep.Missing
	if rep.Expected > 0 {
		rep.LossPct = 100 * float64(rep.Lost) / float64(rep.Expected)
		rep.SkippedPct = 100 * float64(rep.Skipped) / float64(rep.Expected)
	}
	if perReceiver > 0 {
		rep.MinReceiver.Pct = 100 * float64(rep.MinReceiver.Received) / float64(perReceiver)
	}
	rep.Latency = lat.summary()
	rep.ServerIn = in.summary()
	rep.ServerOut = out.summary()
	return rep
}

// classify counts the receiver's missing deliveries as lost or skipped.
//
// A receiver cannot see a server coalesce (replace a queued report with a newer
// one of the same uid); it can only see a gap. A gap at report k is counted as
// skipped only when coalescing can explain it: a later report of that sender
// arrived, and nothing that reached the server after k reached this receiver
// before k+1 reached the server. A server that delivered newer traffic while k+1
// was not yet there was not holding k in a queue, so it dropped k: that is lost.
//
// "Reached the server" is the server's flow tag when it stamps one (for k, which
// never arrived, the later of its send time and the stamp of k−1: under an
// input backlog a server reads a sender's reports in bursts), and otherwise the
// send time. With one sender there is no other traffic to judge by, and gaps
// followed by later reports count as skipped.
func (rc *receiver) classify(sends []*sender) (lost, skipped uint64) {
	r := rc.r
	// earliest[b]: the earliest receive time of anything that reached the server
	// in bucket b or later.
	earliest := make([]int64, len(rc.firstRecv)+1)
	for b := len(rc.firstRecv) - 1; b >= 0; b-- {
		e, f := earliest[b+1], rc.firstRecv[b]
		if f != 0 && (e == 0 || f < e) {
			e = f
		}
		earliest[b] = e
	}
	for si, s := range sends {
		bm := rc.seen[si]
		st := r.stamps[si]
		stamp := func(k int) int64 {
			if k >= 0 && k < len(st) {
				return st[k].Load()
			}
			return 0
		}
		for k := range s.sent {
			if w := k / 64; w < len(bm) && bm[w]&(1<<(k%64)) != 0 {
				continue
			}
			if k >= rc.maxSeq[si] || k+1 >= len(s.sent) {
				lost++
				continue
			}
			from := max(s.sent[k], stamp(k-1))
			until := s.sent[k+1]
			if f := stamp(k + 1); f != 0 {
				until = f
			}
			b := (from-r.base)/r.bucket + 1
			e := int64(0)
			if b >= 0 && b < int64(len(earliest)) {
				e = earliest[b]
			}
			if e == 0 || e-1+r.base >= until {
				skipped++
			} else {
				lost++
			}
		}
	}
	return lost, skipped
}

// Check returns an error when the run fails its gates: loss at or above maxLoss
// percent, or (when maxSkipped ≥ 0) coalesced/skipped at or above maxSkipped
// percent, or nothing sent at all.
func (rep *Report) Check(maxLoss, maxSkipped float64) error {
	if rep.Sent == 0 {
		return fmt.Errorf("no event was sent")
	}
	if rep.Receivers > 0 && rep.LossPct >= maxLoss {
		return fmt.Errorf("loss %.3f%% ≥ %.3f%%", rep.LossPct, maxLoss)
	}
	if maxSkipped >= 0 && rep.Receivers > 0 && rep.SkippedPct >= maxSkipped {
		return fmt.Errorf("coalesced/skipped %.3f%% ≥ %.3f%%", rep.SkippedPct, maxSkipped)
	}
	return nil
}

// WriteText writes the report as a table for people.
func (rep *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(name, format string, args ...any) {
		fmt.Fprintf(tw, "%s\t%s\n", name, fmt.Sprintf(format, args...))
	}
	transport := "plain TCP"
	if rep.TLS {
		transport = "TLS"
	}
	pct := func(n uint64) float64 {
		if rep.Expected == 0 {
			return 0
		}
		return 100 * float64(n) / float64(rep.Expected)
	}
	p("server", "%s (%s, %s), run %s", rep.Addr, rep.Format, transport, rep.RunID)
	p("load", "%d senders × %g Hz for %gs → %d receivers (warm-up %gs, drain %gs)",
		rep.Senders, rep.Rate, rep.Duration, rep.Receivers, rep.Warmup, rep.Drain)
	p("events sent", "%d (%.1f/s achieved, %.1f/s target)", rep.Sent, rep.SendRate, rep.TargetRate)
	p("deliveries", "%d received of %d expected (%.3f%%)", rep.Received, rep.Expected, pct(rep.Received))
	p("lost", "%d (%.3f%%)", rep.Lost, rep.LossPct)
	p("coalesced/skipped", "%d (%.3f%%)", rep.Skipped, rep.SkippedPct)
	p("duplicates", "%d", rep.Duplicates)
	if rep.Receivers > 0 {
		p("min per receiver", "%d (%.2f%%) %s", rep.MinReceiver.Received, rep.MinReceiver.Pct, rep.MinReceiver.UID)
	}
	lat := func(l *Latency) string {
		if l == nil {
			return "-"
		}
		return fmt.Sprintf("p50 %.3f  p90 %.3f  p99 %.3f  max %.3f  mean %.3f ms  (n=%d)", l.P50, l.P90, l.P99, l.Max, l.Mean, l.Count)
	}
	p("latency", "%s", lat(rep.Latency))
	if rep.ServerIn != nil {
		p("  to server", "%s", lat(rep.ServerIn))
		p("  through server", "%s", lat(rep.ServerOut))
	}
	if rep.Received > 0 {
		note := ""
		if rep.Missing > 0 && rep.LastDelivery >= 0.75*rep.Drain {
			note = "  (still delivering when the drain ended: part of the loss may be late, not lost; try a longer --drain)"
		}
		p("last delivery", "%.3fs after the last send%s", rep.LastDelivery, note)
	}
	p("connections", "%d connect errors, %d disconnects, %d write errors", rep.ConnectErrors, rep.Disconnects, rep.WriteErrors)
	for _, e := range rep.Errors {
		p("  error", "%s", e)
	}
	p("other events", "%d received (pongs, other devices); %d from other runs", rep.Other, rep.OtherRun)
	if rep.Bogus+rep.Refused > 0 {
		p("malformed", "%d bad markers, %d elements refused by the readers", rep.Bogus, rep.Refused)
	}
	p("loadgen CPU", "%.2fs in %.1fs (%.0f%% of one core)", rep.CPUSeconds, rep.WallSeconds, rep.CPUPercent)
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := io.WriteString(w, strings.Join([]string{
		"latency quantiles from a log-linear histogram (±0.8%); server split from flow tags at the server's resolution",
		"skipped: a later report of that sender arrived and nothing newer got through before it (what a coalescing server does);",
		"  lost: every other gap. Under overload a receiver cannot always tell the two apart: lost + skipped is exact",
	}, "\n")+"\n")
	return err
}
