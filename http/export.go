package http

import (
	"io"
	"net/http"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/export"
)

// exportPage is how many incidents one store query fetches while streaming an
// export: large enough to amortise the query, small enough to keep memory flat
// whatever the export's size.
const exportPage = 1000

// exportIncidents streams every incident matching the search filters that the
// caller may see, as GeoJSON, CSV or KML. It is audited before the first byte:
// an export takes data out of the system, and the record of it must not depend on
// the download finishing.
func (s *Server) exportIncidents(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	if err := p.Require(bluehelm.ActExport); err != nil {
		return err
	}
	q := newQuery(r)
	f, err := incidentFilter(q, p)
	if err != nil {
		return err
	}
	name := q.get("format")
	if name == "" {
		name = "geojson"
	}
	format, err := export.ParseFormat(name)
	if err != nil {
		return bluehelm.PrefixField("format", clearField(err))
	}
	if err := q.done(); err != nil {
		return err
	}
	f.Limit = exportPage

	// Fetch the first page before auditing and answering, so that a store failure is
	// still a clean problem response rather than a truncated file.
	page, err := s.cfg.Store.FindIncidents(r.Context(), f)
	if err != nil {
		return err
	}
	detail := map[string]any{"format": name, "query": r.URL.RawQuery}
	e := bluehelm.NewAudit(p, "export", "incidents", detail)
	e.At = s.now()
	if err := s.cfg.Store.AppendAudit(r.Context(), e); err != nil {
		return err
	}

	h := w.Header()
	h.Set("Content-Type", export.ContentType(format))
	h.Set("Content-Disposition", `attachment; filename="bluehelm-incidents-`+s.now().UTC().Format("20060102T150405Z")+export.Extension(format)+`"`)
	i := 0
	next := func() (*bluehelm.Incident, error) {
		for {
			for i < len(page.Incidents) {
				inc := page.Incidents[i]
				i++
				if p.CanSee(inc.Marking) {
					return utcIncident(inc), nil
				}
			}
			if page.NextCursor == "" {
				return nil, io.EOF
			}
			f.Cursor = page.NextCursor
			np, err := s.cfg.Store.FindIncidents(r.Context(), f)
			if err != nil {
				return nil, err
			}
			page, i = np, 0
		}
	}
	if err := export.Write(w, format, next); err != nil {
		// The status line is gone: abort the connection so the client sees a failed
		// download instead of a file that looks complete but is not.
		if r.Context().Err() == nil {
			s.log.Error("export failed midway", "user", p.Username, "err", err)
		}
		panic(http.ErrAbortHandler)
	}
	return nil
}
