package csvtable

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/bluehelm/bluehelm"
)

// Format describes one dataset's CSV export for Reader.
type Format struct {
	Name     string   // for messages: "UCDP GED", "ACLED"
	Source   string   // external id prefix: "ucdp", "acled"
	IDColumn string   // the column holding the row's id
	Required []string // columns without which no incident can be made
	// Skip reports extra rows that describe the data rather than being events
	// (HXL hashtag rows are always skipped). May be nil.
	Skip func(Columns, []string) bool
	// Map turns one row into an incident; Reader validates it afterwards.
	Map func(Row) (*bluehelm.Incident, error)
}

// RowError is a data row that was skipped.
type RowError struct {
	Line   int    // line of the input where the row starts (1 is the header)
	Source string // "ucdp", "acled"
	ID     string // the row's id, when it could be read
	Err    error  // usually a *bluehelm.Error naming the bad field
}

func (e RowError) Error() string {
	if e.ID != "" {
		return fmt.Sprintf("line %d (%s:%s): %v", e.Line, e.Source, e.ID, e.Err)
	}
	return fmt.Sprintf("line %d: %v", e.Line, e.Err)
}

func (e RowError) Unwrap() error { return e.Err }

// Reader reads incidents one row at a time, so a large export need not be held in
// memory.
type Reader struct {
	csv  *csv.Reader
	cols Columns
	f    Format
	now  time.Time
}

// NewReader reads the header and checks that the required columns are present.
// now is the reference time for Incident.Validate.
func NewReader(r io.Reader, f Format, now time.Time) (*Reader, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // a short or long row is one bad row, not the end of the file
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, bluehelm.Invalid("header", "the input is empty: want a %s CSV with a header row", f.Name)
	}
	if err != nil {
		return nil, bluehelm.Invalid("header", "cannot read the header row: %v", err)
	}
	cols := IndexHeader(header)
	for _, c := range f.Required {
		if !cols.Has(c) {
			return nil, bluehelm.Invalid("header", "missing column %q: is this a %s export?", c, f.Name)
		}
	}
	return &Reader{csv: cr, cols: cols, f: f, now: now}, nil
}

// Next returns the next incident. At the end of the input it returns io.EOF. A row
// that was skipped is returned as a RowError (test with errors.As) and the caller
// may go on calling Next; any other error is fatal.
func (r *Reader) Next() (*bluehelm.Incident, error) {
	for {
		rec, err := r.csv.Read()
		if err == io.EOF {
			return nil, io.EOF
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, RowError{Line: pe.StartLine, Source: r.f.Source, Err: bluehelm.Invalid("", "malformed CSV: %v", pe.Err)}
			}
			return nil, err
		}
		line, _ := r.csv.FieldPos(0)
		if IsHXL(rec) || (r.f.Skip != nil && r.f.Skip(r.cols, rec)) {
			continue
		}
		id := Clip(OneLine(r.cols.Get(rec, r.f.IDColumn)), 100)
		if len(rec) != len(r.cols.Header) {
			return nil, RowError{Line: line, Source: r.f.Source, ID: id, Err: bluehelm.Invalid("", "row has %d fields, the header has %d", len(rec), len(r.cols.Header))}
		}
		inc, err := r.f.Map(Row{Rec: rec, Cols: r.cols})
		if err == nil {
			err = inc.Validate(r.now)
		}
		if err != nil {
			return nil, RowError{Line: line, Source: r.f.Source, ID: id, Err: err}
		}
		return inc, nil
	}
}

// ReadAll reads the remaining rows. Skipped rows are returned in rowErrs; err is set
// only when the input cannot be read at all.
func (r *Reader) ReadAll() (incs []*bluehelm.Incident, rowErrs []RowError, err error) {
	for {
		inc, err := r.Next()
		if err == io.EOF {
			return incs, rowErrs, nil
		}
		var re RowError
		if errors.As(err, &re) {
			rowErrs = append(rowErrs, re)
			continue
		}
		if err != nil {
			return incs, rowErrs, err
		}
		incs = append(incs, inc)
	}
}
