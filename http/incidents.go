package http

import (
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/bluehelm/bluehelm"
)

func (s *Server) taxonomy(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]any{
		"version":    bluehelm.TaxonomyVersion,
		"categories": bluehelm.Taxonomy,
		"statuses":   bluehelm.Statuses,
	})
}

// decodeIncident reads an incident body. Times are moved to UTC here, so that what
// is stored and echoed back is the same instant in one notation.
func decodeIncident(w http.ResponseWriter, r *http.Request) (*bluehelm.Incident, error) {
	var inc bluehelm.Incident
	if err := decodeJSON(w, r, limitIncident, &inc); err != nil {
		return nil, err
	}
	inc.OccurredStart = inc.OccurredStart.UTC()
	inc.OccurredEnd = utcTimePtr(inc.OccurredEnd)
	return &inc, nil
}

func writeIncident(w http.ResponseWriter, status int, inc *bluehelm.Incident) error {
	w.Header().Set("ETag", etag(inc.Version))
	return writeJSON(w, status, utcIncident(inc))
}

func (s *Server) createIncident(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	inc, err := decodeIncident(w, r)
	if err != nil {
		return err
	}
	if err := s.cfg.Pipeline.CreateIncident(r.Context(), p, inc); err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/incidents/"+strconv.FormatInt(inc.ID, 10))
	return writeIncident(w, http.StatusCreated, inc)
}

// visibleIncident loads an incident the caller may see; others do not exist for them.
func (s *Server) visibleIncident(r *http.Request, id int64) (*bluehelm.Incident, error) {
	inc, err := s.cfg.Store.Incident(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if !principal(r).CanSee(inc.Marking) {
		return nil, bluehelm.Errorf(bluehelm.ENOTFOUND, "incident %d not found", id)
	}
	return inc, nil
}

func (s *Server) getIncident(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	inc, err := s.visibleIncident(r, id)
	if err != nil {
		return err
	}
	if r.Header.Get("If-None-Match") == etag(inc.Version) {
		w.Header().Set("ETag", etag(inc.Version))
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	return writeIncident(w, http.StatusOK, inc)
}

// updateIncident replaces an incident's content. If-Match is required: a JOC
// officer and a reporter editing the same report must not silently overwrite each
// other. A version mismatch is 412 (the precondition the client set failed);
// other conflicts (an approved report is locked) are 409.
func (s *Server) updateIncident(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	want, err := requireIfMatch(r)
	if err != nil {
		return err
	}
	next, err := decodeIncident(w, r)
	if err != nil {
		return err
	}
	inc, err := s.cfg.Pipeline.UpdateIncident(r.Context(), p, id, want, next)
	if err != nil {
		return s.incidentPrecondition(r, id, want, err)
	}
	return writeIncident(w, http.StatusOK, inc)
}

// incidentPrecondition turns the pipeline's conflict into 412 when the reason is
// that the stored version moved on from the one in If-Match. Checking after the
// fact, rather than before, keeps the happy path at one read and cannot race: if
// the version differs now, the client's precondition is false either way.
func (s *Server) incidentPrecondition(r *http.Request, id int64, want int, err error) error {
	if want == 0 || bluehelm.ErrorCode(err) != bluehelm.ECONFLICT {
		return err
	}
	cur, gerr := s.visibleIncident(r, id)
	if gerr != nil || cur.Version == want {
		return err
	}
	return stale("incident", id, cur.Version, want)
}

type actionRequest struct {
	Reason string `json:"reason"`
}

// incidentAction moves an incident through its workflow. If-Match is optional:
// verifying or approving what one did not read is a real risk, so clients should
// send it, but a TAK gateway submitting its own draft need not.
func (s *Server) incidentAction(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	want, _, err := ifMatch(r)
	if err != nil {
		return err
	}
	var req actionRequest
	if err := decodeOptionalJSON(w, r, limitSmall, &req); err != nil {
		return err
	}
	action := bluehelm.WorkflowAction(r.PathValue("action"))
	inc, err := s.cfg.Pipeline.TransitionIncident(r.Context(), p, id, want, action, req.Reason)
	if err != nil {
		return s.incidentPrecondition(r, id, want, err)
	}
	return writeIncident(w, http.StatusOK, inc)
}

func (s *Server) incidentRevisions(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := s.visibleIncident(r, id); err != nil {
		return err
	}
	revs, err := s.cfg.Store.IncidentRevisions(r.Context(), id)
	if err != nil {
		return err
	}
	// A report may have been marked higher in an earlier version (and lowered
	// since): each revision is shown only to those who may see that version.
	out := make([]bluehelm.Revision, 0, len(revs))
	for _, rev := range revs {
		if p.CanSee(rev.Incident.Marking) {
			rev.At = rev.At.UTC()
			rev.Incident = *utcIncident(&rev.Incident)
			out = append(out, rev)
		}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"revisions": out})
}

// incidentFilter reads the search parameters shared by search and export.
func incidentFilter(q *query, p bluehelm.Principal) (bluehelm.IncidentFilter, error) {
	f := bluehelm.IncidentFilter{Viewer: p}
	var err error
	if f.BBox, err = q.bbox("bbox"); err != nil {
		return f, err
	}
	if v := q.get("within"); v != "" {
		if f.Within, err = bluehelm.ParseRing(v); err != nil {
			return f, bluehelm.PrefixField("within", clearField(err))
		}
	}
	if f.From, err = q.time("from"); err != nil {
		return f, err
	}
	if f.To, err = q.time("to"); err != nil {
		return f, err
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return f, invalid("to", "must be after from")
	}
	for _, c := range q.list("category") {
		if !bluehelm.Category(c).Valid() {
			return f, invalid("category", "unknown category %q (see /api/v1/taxonomy)", c)
		}
		f.Categories = append(f.Categories, bluehelm.Category(c))
	}
	for _, st := range q.list("status") {
		if !bluehelm.Status(st).Valid() {
			return f, invalid("status", "unknown status %q (want draft, submitted, verified, approved or rejected)", st)
		}
		f.Statuses = append(f.Statuses, bluehelm.Status(st))
	}
	f.Text = q.get("q")
	if utf8.RuneCountInString(f.Text) > 500 {
		return f, invalid("q", "longer than 500 characters")
	}
	return f, nil
}

func (s *Server) searchIncidents(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	f, err := incidentFilter(q, principal(r))
	if err != nil {
		return err
	}
	f.Cursor = q.get("cursor")
	if f.Limit, err = q.int("limit", 100, 1, 1000); err != nil {
		return err
	}
	if err := q.done(); err != nil {
		return err
	}
	page, err := s.cfg.Store.FindIncidents(r.Context(), f)
	if err != nil {
		return err
	}
	out := bluehelm.IncidentPage{Incidents: make([]*bluehelm.Incident, 0, len(page.Incidents)), NextCursor: page.NextCursor}
	for _, inc := range page.Incidents {
		// The store applied the access rule in its query; asking again costs
		// nothing and keeps a store bug from becoming a leak.
		if f.Viewer.CanSee(inc.Marking) {
			out.Incidents = append(out.Incidents, utcIncident(inc))
		}
	}
	return writeJSON(w, http.StatusOK, out)
}
