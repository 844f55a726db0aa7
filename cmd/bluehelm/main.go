// Command bluehelm is the mission picture server and its administration tool.
//
//	bluehelm serve            run the server on a data directory
//	bluehelm demo             run the server with a generated South Sudan scenario
//	bluehelm import ucdp|acled|fatalities FILE.csv
//	bluehelm forecast backtest --events FILE
//	bluehelm export --format geojson|csv|kml
//	bluehelm user create|list|disable|enable|token
//	bluehelm audit verify
//	bluehelm migrate sqlite→postgres --to postgres://…
//	bluehelm version
//
// The commands other than serve and demo work directly on the data directory, as the
// local administrator: whoever can read the data directory can read everything in it.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/bluehelm/bluehelm"
)

// Version is set at build time with -ldflags "-X main.Version=…".
var Version = "dev"

const usage = `bluehelm — the mission picture for UN peace operations

Usage:
  bluehelm serve   [--listen ADDR] [--data DIR] [--basemap FILE.mbtiles]  run the server
  bluehelm demo    [--listen ADDR] [--data DIR] [--basemap FILE.mbtiles]  run a live demo scenario (South Sudan)
  bluehelm import  ucdp|acled FILE.csv [--data DIR] import UCDP GED or ACLED incidents
  bluehelm import  fatalities FILE.csv [--data DIR]  import the UN peacekeeping fatalities CSV
  bluehelm forecast backtest --events FILE|--data DIR [flags]  score the early-warning models on past data
  bluehelm export  [--format geojson|csv|kml] [filters] [--as USER] [-o FILE]
  bluehelm user    create|list|disable|enable|token ...
  bluehelm audit   verify [--data DIR]              check the audit hash chain
  bluehelm migrate sqlite→postgres --data DIR --to postgres://…  move a node's SQLite store to PostgreSQL
  bluehelm ca      init [--name NAME]               create the mission CA for TAK clients
  bluehelm ca      server-cert --hostname NAMES     issue the server's TLS certificate from it
  bluehelm device  add|list|revoke|package ...      TAK devices: certificates, data packages, QR
  bluehelm loadgen --addr HOST:PORT [--format xml|v1] [load flags]  CoT load test of any TAK server
  bluehelm version

Every flag can also be set with an environment variable: --listen is BLUEHELM_LISTEN,
--data is BLUEHELM_DATA, and so on. Run "bluehelm COMMAND -h" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "bluehelm:", cliMessage(err))
		}
		os.Exit(exitCode(err))
	}
}

var errUsage = errors.New("usage")

// run dispatches a command line; it is main without the process around it, so tests
// can call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return runServe(ctx, rest, stdout, stderr)
	case "demo":
		return runDemo(ctx, rest, stdout, stderr)
	case "import":
		return runImport(ctx, rest, stdout, stderr)
	case "export":
		return runExport(ctx, rest, stdout, stderr)
	case "forecast":
		return runForecast(ctx, rest, stdout, stderr)
	case "user":
		return runUser(ctx, rest, stdout, stderr)
	case "audit":
		return runAudit(ctx, rest, stdout, stderr)
	case "migrate":
		return runMigrate(ctx, rest, stdout, stderr)
	case "ca":
		return runCA(ctx, rest, stdout, stderr)
	case "device":
		return runDevice(ctx, rest, stdout, stderr)
	case "loadgen":
		return runLoadgen(ctx, rest, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "bluehelm", Version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "bluehelm: unknown command %q\n\n%s", cmd, usage)
	return errUsage
}

// cliMessage shows domain errors as the person typing needs them.
func cliMessage(err error) string {
	var e *bluehelm.Error
	if errors.As(err, &e) {
		if e.Field != "" {
			return e.Field + ": " + e.Message
		}
		return e.Message
	}
	return err.Error()
}

func exitCode(err error) int {
	if errors.Is(err, errUsage) {
		return 2
	}
	return 1
}
