package ged

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// FuzzRead checks that no input makes the reader panic or loop, and that every
// incident it returns passes Incident.Validate: the reader's promise to importers.
func FuzzRead(f *testing.F) {
	base := makeCSV(f, gedColumns, baseRow(), with("id", "2", "type_of_violence", "3", "side_b", "Civilians", "date_start", "2015-03-01T00:00:00", "date_end", "2015-03-09"))
	hxl := makeCSV(f, gedColumns, map[string]string{"year": "#date+year", "latitude": "#geo+lat"}, baseRow())
	for _, s := range []string{
		base, hxl, "", "id\n", strings.Join(gedColumns, ",") + "\n1,\"x\n",
		makeCSV(f, gedColumns, with("latitude", "1e400", "best", "99999999999999999999")),
		makeCSV(f, gedColumns, with("low", "0", "high", "1000000", "deaths_unknown", "3", "best", "11")),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		rd, err := NewReader(strings.NewReader(in), Options{Now: testNow})
		if err != nil {
			return
		}
		for i := 0; ; i++ {
			if i > len(in)+1 {
				t.Fatal("more results than input bytes: the reader is not advancing")
			}
			inc, err := rd.Next()
			if err == io.EOF {
				return
			}
			var re RowError
			if errors.As(err, &re) {
				if re.Line < 2 || re.Err == nil {
					t.Fatalf("row error without a data line or cause: %+v", re)
				}
				continue
			}
			if err != nil {
				t.Fatalf("non-row error from an in-memory reader: %v", err)
			}
			if err := inc.Validate(testNow); err != nil {
				t.Fatalf("reader returned an invalid incident %s: %v", inc.ExternalID, err)
			}
		}
	})
}
