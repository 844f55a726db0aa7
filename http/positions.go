package http

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ingest"
)

// positionIn is one report on the wire: the position and what the sender knows of
// the track, flat, as a device or a gateway has it. Lat and lon are pointers
// because 0,0 is a real place (in the Gulf of Guinea) and a missing coordinate must
// not land there.
type positionIn struct {
	UID            string                  `json:"uid"`
	Time           time.Time               `json:"time"`
	Lat            *float64                `json:"lat"`
	Lon            *float64                `json:"lon"`
	HAE            float64                 `json:"hae"`
	CE             float64                 `json:"ce"`
	LE             float64                 `json:"le"`
	Course         float64                 `json:"course"`
	Speed          float64                 `json:"speed"`
	Battery        int                     `json:"battery"`
	Source         string                  `json:"source"`
	Callsign       string                  `json:"callsign"`
	Kind           bluehelm.TrackKind      `json:"kind"`
	CoTType        string                  `json:"cot_type"`
	SIDC           string                  `json:"sidc"`
	Unit           string                  `json:"unit"`
	Nationality    string                  `json:"nationality"`
	Classification bluehelm.Classification `json:"classification"`
	Component      bluehelm.Component      `json:"component"`
	Releasability  []bluehelm.Component    `json:"releasable_to"`
}

type positionBatch struct {
	Positions []positionIn `json:"positions"`
}

func (in positionIn) report() ingest.Report {
	rep := ingest.Report{
		Track: bluehelm.Track{
			UID: in.UID, Callsign: in.Callsign, Kind: in.Kind, CoTType: in.CoTType, SIDC: in.SIDC,
			Unit: in.Unit, Nationality: in.Nationality,
			Marking: bluehelm.Marking{Classification: in.Classification, Component: in.Component, Releasability: in.Releasability},
		},
		Position: bluehelm.Position{
			UID: in.UID, Time: in.Time.UTC(), HAE: in.HAE, CE: in.CE, LE: in.LE,
			Course: in.Course, Speed: in.Speed, Battery: in.Battery, Source: in.Source,
		},
	}
	rep.Position.Lat, rep.Position.Lon = *in.Lat, *in.Lon
	return rep
}

// postPositions accepts one report or {"positions": [...]}. It answers only after
// the pipeline has made the batch durable, so a 200 means the reports survive a
// crash; a client that gets no answer may resend (positions are idempotent by uid
// and time in the live picture).
func (s *Server) postPositions(w http.ResponseWriter, r *http.Request) error {
	b, err := readJSON(w, r, limitPositions)
	if err != nil {
		return err
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return jsonError(b, &top, err)
	}
	var ins []positionIn
	single := false
	if _, ok := top["positions"]; ok {
		var batch positionBatch
		if err := unmarshalStrict(b, &batch); err != nil {
			return err
		}
		ins = batch.Positions
	} else {
		var one positionIn
		if err := unmarshalStrict(b, &one); err != nil {
			return err
		}
		ins, single = []positionIn{one}, true
	}
	reports := make([]ingest.Report, len(ins))
	for i, in := range ins {
		prefix := "positions[" + strconv.Itoa(i) + "]."
		if single {
			prefix = ""
		}
		if in.Lat == nil {
			return invalid(prefix+"lat", "is required")
		}
		if in.Lon == nil {
			return invalid(prefix+"lon", "is required")
		}
		reports[i] = in.report()
	}
	if err := s.cfg.Pipeline.Positions(r.Context(), principal(r), reports); err != nil {
		if single {
			// The pipeline names fields within a batch; a single report has none.
			err = unprefix(err, "positions[0]")
		}
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]int{"accepted": len(reports)})
}

func unprefix(err error, prefix string) error {
	e, ok := err.(*bluehelm.Error)
	if !ok {
		return err
	}
	c := *e
	c.Field = strings.TrimPrefix(strings.TrimPrefix(c.Field, prefix), ".")
	c.Message = strings.TrimPrefix(c.Message, prefix+": ")
	return &c
}

// latestPositions is the live picture in a box, as the caller may see it.
func (s *Server) latestPositions(w http.ResponseWriter, r *http.Request) error {
	q := newQuery(r)
	bbox, err := q.bbox("bbox")
	if err != nil {
		return err
	}
	limit, err := q.int("limit", 10000, 1, 100000)
	if err != nil {
		return err
	}
	if err := q.done(); err != nil {
		return err
	}
	box := bluehelm.World
	if bbox != nil {
		box = *bbox
	}
	tracks := make([]bluehelm.TrackState, 0, 64)
	s.cfg.Picture.Search(box, principal(r), func(st bluehelm.TrackState) bool {
		tracks = append(tracks, utcState(st))
		return len(tracks) < limit
	})
	return writeJSON(w, http.StatusOK, map[string]any{"tracks": tracks})
}

// trackMarking finds a track's marking by the rule every history read uses
// (trackLookup): the live picture first, the store for a track it does not know.
func (s *Server) trackMarking(r *http.Request, uid string) (bluehelm.Marking, bool, error) {
	t, ok, err := (&trackLookup{s: s, ctx: r.Context()}).get(uid)
	return t.Marking, ok, err
}

func (s *Server) trackHistory(w http.ResponseWriter, r *http.Request) error {
	uid := r.PathValue("uid")
	q := newQuery(r)
	pq := bluehelm.PositionQuery{UID: uid}
	var err error
	if pq.From, err = q.time("from"); err != nil {
		return err
	}
	if pq.To, err = q.time("to"); err != nil {
		return err
	}
	if !pq.From.IsZero() && !pq.To.IsZero() && !pq.From.Before(pq.To) {
		return invalid("to", "must be after from")
	}
	if pq.Limit, err = q.int("limit", 1000, 1, 10000); err != nil {
		return err
	}
	if err := q.done(); err != nil {
		return err
	}
	m, ok, err := s.trackMarking(r, uid)
	if err != nil {
		return err
	}
	if !ok || !principal(r).CanSee(m) {
		return bluehelm.Errorf(bluehelm.ENOTFOUND, "track %q not found", uid)
	}
	ps, err := s.cfg.Store.Positions(r.Context(), pq)
	if err != nil {
		return err
	}
	for i := range ps {
		ps[i].Time = ps[i].Time.UTC()
	}
	if ps == nil {
		ps = []bluehelm.Position{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"uid": uid, "positions": ps})
}
