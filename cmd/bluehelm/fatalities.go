package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/fatalities"
)

// importFatalities stores the UN peacekeeping fatalities CSV. Fatalities have no
// location and no marking (public UN data), so they go straight to the store
// rather than through the incident pipeline; the import is audited like any
// other.
func importFatalities(ctx context.Context, file string, sf storeFlags, asJSON bool, stdout io.Writer) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	fs, rowErrs, err := fatalities.Read(bufio.NewReader(f), time.Now())
	if err != nil {
		return fmt.Errorf("reading %s: %w", file, err)
	}
	store, err := openStore(sf)
	if err != nil {
		return err
	}
	defer store.Close()
	a := bluehelm.NewAudit(bluehelm.SystemPrincipal("cli"), "fatalities.import", "fatalities",
		map[string]any{"source": "fatalities:" + file, "count": len(fs), "skipped": len(rowErrs)})
	created, updated, err := store.ImportFatalities(ctx, fs, a)
	if err != nil {
		return err
	}
	skipped := make([]string, 0, len(rowErrs))
	for _, e := range rowErrs {
		skipped = append(skipped, e.Error())
	}
	return printImport(stdout, asJSON, file, "fatalities", len(fs), created, updated, skipped)
}
