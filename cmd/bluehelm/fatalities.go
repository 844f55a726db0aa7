package main

import (
	"bufio"
	"context"
	"encoding/json"
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
	res := struct {
		Read    int      `json:"read"`
		Created int      `json:"created"`
		Updated int      `json:"updated"`
		Skipped []string `json:"skipped"`
	}{len(fs), created, updated, skipped}
	if asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "%s: %d fatalities read, %d created, %d updated, %d rows skipped\n", file, res.Read, created, updated, len(skipped))
	for i, s := range skipped {
		if i == 20 {
			fmt.Fprintf(stdout, "  … and %d more\n", len(skipped)-20)
			break
		}
		fmt.Fprintln(stdout, "  skipped:", s)
	}
	return nil
}
