package acled

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// FuzzRead checks that no input makes the reader panic or loop, and that every
// incident it returns passes Incident.Validate: the reader's promise to importers.
func FuzzRead(f *testing.F) {
	legacy := "EVENT_ID_CNTY,EVENT_DATE,YEAR,EVENT_TYPE,ACTOR1,INTER1,ACTOR2,INTER2,LATITUDE,LONGITUDE,FATALITIES\n" +
		"TST1,05-Jan-97,1997,Remote violence,A,2,Civilians (T),7,1.5,2.5,3\n"
	for _, s := range []string{
		makeCSV(f, currentColumns, baseRow(), with("event_id_cnty", "TST2", "event_date", "2021-07-28", "event_type", "Violence against civilians", "sub_event_type", "Attack")),
		makeCSV(f, currentColumns, map[string]string{"event_id_cnty": "#event+code", "latitude": "#geo+lat"}, with("event_date", "28 July 2021")),
		legacy, "", "event_id_cnty\n", "event_id_cnty,event_date,event_type,latitude,longitude\n\"x\n",
		makeCSV(f, currentColumns, with("fatalities", "99999999999999999999", "latitude", "1e400", "inter1", "External/Other forces")),
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
