package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/bluehelm/bluehelm/loadgen"
)

// runLoadgen drives CoT load through any TAK-compatible server and reports loss and
// latency; it exits 1 when the loss reaches --max-loss, so it can gate a CI run.
func runLoadgen(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "sensors" {
		return runSensorLoad(ctx, args[1:], stdout, stderr) // camp sensors over MQTT (loadgen_sensors.go)
	}
	fs := newFlagSet("loadgen", stderr)
	var (
		cfg                 loadgen.Config
		useTLS, insecure    bool
		certFile, keyFile   string
		caFile              string
		asJSON, quiet       bool
		maxLoss, maxSkipped float64
	)
	fs.StringVar(&cfg.Addr, "addr", env("addr", "127.0.0.1:8087"), "host:port of the server's streaming CoT input [BLUEHELM_ADDR]")
	fs.BoolVar(&useTLS, "tls", false, "connect with TLS")
	fs.StringVar(&certFile, "cert", "", "client certificate (PEM) for TLS")
	fs.StringVar(&keyFile, "key", "", "client private key (PEM) for TLS")
	fs.StringVar(&caFile, "ca", "", "CA certificates (PEM) to verify the server with; default the system roots")
	fs.BoolVar(&insecure, "insecure", false, "do not verify the server certificate")
	fs.StringVar(&cfg.Format, "format", loadgen.FormatXML, "wire format: xml, or v1 (TAK protocol v1 after negotiation)")
	fs.IntVar(&cfg.Senders, "senders", 10, "sender connections")
	fs.StringVar(&cfg.Prefix, "uid-prefix", "loadgen", "start of the senders' and receivers' uids (distinct runs against one picture need distinct ones)")
	fs.Float64Var(&cfg.Rate, "rate", 1, "position reports per second per sender")
	fs.IntVar(&cfg.Receivers, "receivers", 10, "receiver connections")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "how long the senders send")
	fs.DurationVar(&cfg.Warmup, "warmup", 2*time.Second, "receivers connected this long before senders start")
	fs.DurationVar(&cfg.Drain, "drain", 2*time.Second, "receivers keep reading this long after the senders stop")
	fs.BoolVar(&asJSON, "json", false, "print the report as one JSON object")
	fs.BoolVar(&quiet, "quiet", false, "no progress lines on stderr")
	fs.Float64Var(&maxLoss, "max-loss", 0.1, "exit 1 when loss (percent of expected deliveries) reaches this")
	fs.Float64Var(&maxSkipped, "max-skipped", -1, "exit 1 when coalesced/skipped (percent) reaches this; negative = no limit")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: bluehelm loadgen --addr HOST:PORT [--tls --cert FILE --key FILE [--ca FILE] [--insecure]]
                        [--format xml|v1] --senders N --rate R --receivers M --duration D
                        [--warmup 2s] [--drain 2s] [--json] [--max-loss 0.1]

Sends position reports from N connections at R Hz each, reads them at M connections,
and reports deliveries, loss, coalesced/skipped reports, duplicates and latency.
Works against any CoT stream server (TAK Server, FreeTAKServer, goatak, bluehelm).`)
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	if useTLS {
		tc, err := loadgenTLS(certFile, keyFile, caFile, insecure)
		if err != nil {
			return err
		}
		cfg.TLS = tc
	} else if certFile != "" || keyFile != "" || caFile != "" || insecure {
		return errors.New("--cert, --key, --ca and --insecure need --tls")
	}
	if !quiet {
		cfg.Log = func(format string, args ...any) { fmt.Fprintf(stderr, "loadgen: "+format+"\n", args...) }
	}
	rep, err := loadgen.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else if err := rep.WriteText(stdout); err != nil {
		return err
	}
	if err := rep.Check(maxLoss, maxSkipped); err != nil {
		// The report is out; the error makes the exit status 1 for CI.
		return fmt.Errorf("loadgen: FAIL: %w", err)
	}
	if !asJSON {
		fmt.Fprintln(stdout, "result: PASS (loss "+strconv.FormatFloat(rep.LossPct, 'f', 3, 64)+"% < "+strconv.FormatFloat(maxLoss, 'f', 3, 64)+"%)")
	}
	return nil
}

func loadgenTLS(certFile, keyFile, caFile string, insecure bool) (*tls.Config, error) {
	tc := &tls.Config{InsecureSkipVerify: insecure, MinVersion: tls.VersionTLS12}
	if certFile != "" || keyFile != "" {
		if certFile == "" || keyFile == "" {
			return nil, errors.New("--cert and --key go together")
		}
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no PEM certificate", caFile)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}
