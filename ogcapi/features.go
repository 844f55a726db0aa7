package ogcapi

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bluehelm/bluehelm"
)

// Feature properties are flat (no nested objects or arrays) because GIS tools map
// each property to a column: QGIS and GDAL turn nested JSON into opaque strings.
// Every property is present in every feature, null when unknown, because GDAL
// derives a layer's columns from the first page only: a column missing from
// every feature of that page would be lost for the whole layer.

func itoa(n int) string { return strconv.Itoa(n) }

// real is a float that always encodes with a decimal point (12 → 12.0). GIS
// clients infer a column's type from the values they see first; a speed or a
// height that happens to be whole on the first page must not make the column an
// integer and truncate every later value.
type real float64

func (f real) MarshalJSON() ([]byte, error) {
	b := strconv.AppendFloat(nil, float64(f), 'f', -1, 64)
	if !strings.ContainsAny(string(b), ".eE") {
		b = append(b, '.', '0')
	}
	return b, nil
}

// str returns nil for an empty string, so that it encodes as null.
func str(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// ts formats a time as RFC 3339 in UTC; the zero time is null.
func ts(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339Nano)
	return &s
}

func tsp(t *time.Time) *string {
	if t == nil {
		return nil
	}
	return ts(*t)
}

func releasability(cs []bluehelm.Component) *string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = string(c)
	}
	return str(strings.Join(parts, ","))
}

// ---- incidents ----

type incidentProps struct {
	ID                  int64   `json:"id"`
	Version             int     `json:"version"`
	ExternalID          *string `json:"external_id"`
	Title               string  `json:"title"`
	Category            string  `json:"category"`
	CategoryLabel       *string `json:"category_label"`
	Subcategory         *string `json:"subcategory"`
	SubcategoryLabel    *string `json:"subcategory_label"`
	Status              string  `json:"status"`
	OccurredStart       *string `json:"occurred_start"`
	OccurredEnd         *string `json:"occurred_end"`
	TimePrecision       *string `json:"time_precision"`
	ReportedAt          *string `json:"reported_at"`
	UpdatedAt           *string `json:"updated_at"`
	GeoPrecision        *string `json:"geo_precision"`
	Country             *string `json:"country"`
	Admin1              *string `json:"admin1"`
	Admin2              *string `json:"admin2"`
	Admin3              *string `json:"admin3"`
	PlaceName           *string `json:"place_name"`
	MGRS                *string `json:"mgrs"`
	Actors              *string `json:"actors"`
	TargetType          *string `json:"target_type"`
	KilledLow           int     `json:"killed_low"`
	KilledBest          int     `json:"killed_best"`
	KilledHigh          int     `json:"killed_high"`
	CiviliansKilledBest int     `json:"civilians_killed_best"`
	UNKilledBest        int     `json:"un_killed_best"`
	InjuredBest         int     `json:"injured_best"`
	AbductedBest        int     `json:"abducted_best"`
	Sources             *string `json:"sources"`
	Narrative           *string `json:"narrative"`
	Classification      string  `json:"classification"`
	Component           string  `json:"component"`
	ReleasableTo        *string `json:"releasable_to"`
	ReportingUnit       *string `json:"reporting_unit"`
	ReportedBy          *string `json:"reported_by"`
	VerifiedBy          *string `json:"verified_by"`
	ApprovedBy          *string `json:"approved_by"`
}

func (h *handler) incidentFeature(inc *bluehelm.Incident) feature {
	p := incidentProps{
		ID: inc.ID, Version: inc.Version, ExternalID: str(inc.ExternalID),
		Title: inc.Title, Category: string(inc.Category), CategoryLabel: str(h.catLabel[inc.Category]),
		Subcategory: str(inc.Subcategory), SubcategoryLabel: str(h.subLabel[[2]string{string(inc.Category), inc.Subcategory}]),
		Status:        string(inc.Status),
		OccurredStart: ts(inc.OccurredStart), OccurredEnd: tsp(inc.OccurredEnd), TimePrecision: str(string(inc.TimePrecision)),
		ReportedAt: ts(inc.ReportedAt), UpdatedAt: ts(inc.UpdatedAt),
		GeoPrecision: str(string(inc.GeoPrecision)), Country: str(inc.Country),
		Admin1: str(inc.Admin1), Admin2: str(inc.Admin2), Admin3: str(inc.Admin3),
		PlaceName: str(inc.PlaceName), MGRS: str(inc.MGRS), TargetType: str(inc.TargetType),
		Narrative:      str(inc.Narrative),
		Classification: inc.Classification.String(), Component: string(inc.Component), ReleasableTo: releasability(inc.Releasability),
		ReportingUnit: str(inc.ReportingUnit), ReportedBy: str(inc.ReportedBy),
		VerifiedBy: str(inc.VerifiedBy), ApprovedBy: str(inc.ApprovedBy),
	}
	var actors, sources []string
	for _, a := range inc.Actors {
		actors = append(actors, a.Name)
	}
	for _, s := range inc.Sources {
		sources = append(sources, s.Name)
	}
	p.Actors, p.Sources = str(strings.Join(actors, "; ")), str(strings.Join(sources, "; "))
	for _, c := range inc.Casualties {
		switch c.Kind {
		case "killed":
			p.KilledLow += c.Low
			p.KilledBest += c.Best
			p.KilledHigh += c.High
			switch c.Group {
			case "civilians":
				p.CiviliansKilledBest += c.Best
			case "un_military", "un_police", "un_civilian":
				p.UNKilledBest += c.Best
			}
		case "injured":
			p.InjuredBest += c.Best
		case "abducted":
			p.AbductedBest += c.Best
		}
	}
	return feature{Type: "Feature", ID: inc.ID, Geometry: inc.Location, Properties: p}
}

func (h *handler) incidentItems(ctx context.Context, p bluehelm.Principal, q itemsQuery) (*page, error) {
	f := bluehelm.IncidentFilter{Viewer: p, BBox: q.bbox, Cursor: q.cursor, Limit: q.limit}
	if iv := q.interval; iv != nil {
		if iv.start != nil {
			f.From = *iv.start
		}
		if iv.end != nil {
			// The store's window is half-open [From, To); OGC intervals are closed.
			// Nothing lies strictly between end and end+1ns, so this includes end.
			f.To = iv.end.Add(time.Nanosecond)
		}
	}
	res, err := h.cfg.Store.FindIncidents(ctx, f)
	if err != nil {
		return nil, err
	}
	pg := &page{next: res.NextCursor, features: make([]feature, 0, len(res.Incidents))}
	for _, inc := range res.Incidents {
		// The store already applied the access rule through Viewer; asking again
		// costs nothing and means a store bug yields a short page, not a leak.
		if !p.CanSee(inc.Marking) {
			h.log.Error("ogcapi: store returned an incident the viewer may not see", "incident", inc.ID, "viewer", p.Username)
			continue
		}
		pg.features = append(pg.features, h.incidentFeature(inc))
	}
	return pg, nil
}

func (h *handler) incidentItem(ctx context.Context, p bluehelm.Principal, id string) (*feature, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n < 1 {
		return nil, nil
	}
	inc, err := h.cfg.Store.Incident(ctx, n)
	if bluehelm.ErrorCode(err) == bluehelm.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !p.CanSee(inc.Marking) {
		return nil, nil
	}
	f := h.incidentFeature(inc)
	return &f, nil
}

// ---- areas ----

type areaProps struct {
	ID             int64   `json:"id"`
	Version        int     `json:"version"`
	Name           string  `json:"name"`
	Kind           string  `json:"kind"`
	Description    *string `json:"description"`
	Rules          *string `json:"rules"`
	Classification string  `json:"classification"`
	Component      string  `json:"component"`
	ReleasableTo   *string `json:"releasable_to"`
	CreatedBy      *string `json:"created_by"`
	CreatedAt      *string `json:"created_at"`
	UpdatedAt      *string `json:"updated_at"`
}

// ruleSummary renders geofence rules as one line, e.g.
// "enter vehicle,unit: warning; dwell 600s: critical".
func ruleSummary(rules []bluehelm.AreaRule) string {
	parts := make([]string, 0, len(rules))
	for _, r := range rules {
		s := string(r.Trigger)
		if r.Trigger == bluehelm.TriggerDwell {
			s += fmt.Sprintf(" %ds", r.DwellSeconds)
		}
		if len(r.TrackKinds) > 0 {
			kinds := make([]string, len(r.TrackKinds))
			for i, k := range r.TrackKinds {
				kinds[i] = string(k)
			}
			s += " " + strings.Join(kinds, ",")
		}
		parts = append(parts, s+": "+string(r.Severity))
	}
	return strings.Join(parts, "; ")
}

func areaFeature(a *bluehelm.Area) feature {
	return feature{Type: "Feature", ID: a.ID, Geometry: a.Geometry, Properties: areaProps{
		ID: a.ID, Version: a.Version, Name: a.Name, Kind: string(a.Kind), Description: str(a.Description),
		Rules:          str(ruleSummary(a.Rules)),
		Classification: a.Classification.String(), Component: string(a.Component), ReleasableTo: releasability(a.Releasability),
		CreatedBy: str(a.CreatedBy), CreatedAt: ts(a.CreatedAt), UpdatedAt: ts(a.UpdatedAt),
	}}
}

// visibleAreas returns the areas p may see that meet bbox (nil: all), by id.
func (h *handler) visibleAreas(ctx context.Context, p bluehelm.Principal, bbox *bluehelm.BBox) ([]*bluehelm.Area, error) {
	all, err := h.cfg.Store.Areas(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*bluehelm.Area, 0, len(all))
	for _, a := range all {
		if p.CanSee(a.Marking) && (bbox == nil || intersectsBox(a.Geometry, *bbox)) {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b *bluehelm.Area) int { return compareInt(a.ID, b.ID) })
	return out, nil
}

func compareInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// areaItems pages by id (keyset): an area created or deleted while a client
// pages neither shifts nor repeats the others, as an offset would.
func (h *handler) areaItems(ctx context.Context, p bluehelm.Principal, q itemsQuery) (*page, error) {
	var after int64
	if q.cursor != "" {
		n, err := strconv.ParseInt(q.cursor, 10, 64)
		if err != nil || n < 0 {
			return nil, bluehelm.Invalid(paramCursor, "not a cursor of this collection; use the next link as given")
		}
		after = n
	}
	// Areas are few (hundreds) and the store hands them all at once; filtering
	// here keeps the store contract small.
	areas, err := h.visibleAreas(ctx, p, q.bbox)
	if err != nil {
		return nil, err
	}
	pg := &page{matched: len(areas), counted: true}
	i, _ := slices.BinarySearchFunc(areas, after+1, func(a *bluehelm.Area, id int64) int { return compareInt(a.ID, id) })
	for ; i < len(areas) && len(pg.features) < q.limit; i++ {
		pg.features = append(pg.features, areaFeature(areas[i]))
	}
	if i < len(areas) {
		pg.next = strconv.FormatInt(areas[i-1].ID, 10)
	}
	return pg, nil
}

func (h *handler) areaItem(ctx context.Context, p bluehelm.Principal, id string) (*feature, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n < 1 {
		return nil, nil
	}
	a, err := h.cfg.Store.Area(ctx, n)
	if bluehelm.ErrorCode(err) == bluehelm.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !p.CanSee(a.Marking) {
		return nil, nil
	}
	f := areaFeature(a)
	return &f, nil
}

func (h *handler) areaExtent(ctx context.Context, p bluehelm.Principal) (*extent, error) {
	areas, err := h.visibleAreas(ctx, p, nil)
	if err != nil || len(areas) == 0 {
		return nil, err
	}
	b := areas[0].Geometry.Bound()
	for _, a := range areas[1:] {
		b = union(b, a.Geometry.Bound())
	}
	// No temporal extent: areas have no time of validity (see the package comment).
	return &extent{Spatial: &spatialExtent{BBox: [][4]float64{{b.MinLon, b.MinLat, b.MaxLon, b.MaxLat}}, CRS: crs84}}, nil
}

func union(a, b bluehelm.BBox) bluehelm.BBox {
	return bluehelm.BBox{MinLon: min(a.MinLon, b.MinLon), MinLat: min(a.MinLat, b.MinLat),
		MaxLon: max(a.MaxLon, b.MaxLon), MaxLat: max(a.MaxLat, b.MaxLat)}
}

// ---- tracks ----

type trackProps struct {
	UID            string  `json:"uid"`
	Callsign       *string `json:"callsign"`
	Kind           *string `json:"kind"`
	CoTType        *string `json:"cot_type"`
	SIDC           *string `json:"sidc"`
	Unit           *string `json:"unit"`
	Nationality    *string `json:"nationality"`
	Classification string  `json:"classification"`
	Component      string  `json:"component"`
	ReleasableTo   *string `json:"releasable_to"`
	Time           *string `json:"time"`
	HAE            real    `json:"hae"`
	CE             real    `json:"ce"`
	LE             real    `json:"le"`
	Course         real    `json:"course"`
	Speed          real    `json:"speed"`
	Battery        int     `json:"battery"`
	Source         *string `json:"source"`
	UpdatedAt      *string `json:"updated_at"`
}

func trackFeature(s bluehelm.TrackState) feature {
	pos := s.Position
	return feature{Type: "Feature", ID: s.UID, Geometry: pos.Point(), Properties: trackProps{
		UID: s.UID, Callsign: str(s.Callsign), Kind: str(string(s.Kind)), CoTType: str(s.CoTType), SIDC: str(s.SIDC),
		Unit: str(s.Unit), Nationality: str(s.Nationality),
		Classification: s.Classification.String(), Component: string(s.Component), ReleasableTo: releasability(s.Releasability),
		Time: ts(pos.Time), HAE: real(pos.HAE), CE: real(pos.CE), LE: real(pos.LE), Course: real(pos.Course), Speed: real(pos.Speed),
		Battery: pos.Battery, Source: str(pos.Source), UpdatedAt: ts(s.UpdatedAt),
	}}
}

// visibleTracks returns the tracks p may see inside bbox (nil: everywhere) whose
// position time lies in iv (nil: any), by uid.
func (h *handler) visibleTracks(p bluehelm.Principal, bbox *bluehelm.BBox, iv *interval) []bluehelm.TrackState {
	var out []bluehelm.TrackState
	search := bluehelm.World
	if bbox != nil {
		search = *bbox
	}
	h.cfg.Picture.Search(search, p, func(s bluehelm.TrackState) bool {
		// Checked again here: Search's zero box means the whole world, so a
		// client's bbox=0,0,0,0 must be applied by us, and the access rule is
		// cheap enough to ask twice.
		if p.CanSee(s.Marking) && (bbox == nil || bbox.Contains(s.Position.Point())) && iv.contains(s.Position.Time) {
			out = append(out, s)
		}
		return true
	})
	slices.SortFunc(out, func(a, b bluehelm.TrackState) int { return strings.Compare(a.UID, b.UID) })
	return out
}

// trackItems pages by uid (keyset) over a snapshot per page. Tracks move between
// requests, so a track may leave or enter the box between pages, but no uid is
// served twice in one walk through the pages.
func (h *handler) trackItems(_ context.Context, p bluehelm.Principal, q itemsQuery) (*page, error) {
	tracks := h.visibleTracks(p, q.bbox, q.interval)
	pg := &page{matched: len(tracks), counted: true}
	i := 0
	if q.cursor != "" {
		i, _ = slices.BinarySearchFunc(tracks, q.cursor, func(s bluehelm.TrackState, uid string) int { return strings.Compare(s.UID, uid) })
		if i < len(tracks) && tracks[i].UID == q.cursor {
			i++
		}
	}
	for ; i < len(tracks) && len(pg.features) < q.limit; i++ {
		pg.features = append(pg.features, trackFeature(tracks[i]))
	}
	if i < len(tracks) {
		pg.next = tracks[i-1].UID
	}
	return pg, nil
}

func (h *handler) trackItem(_ context.Context, p bluehelm.Principal, uid string) (*feature, error) {
	s, ok := h.cfg.Picture.Get(uid)
	if !ok || !p.CanSee(s.Marking) {
		return nil, nil
	}
	f := trackFeature(s)
	return &f, nil
}

func (h *handler) trackExtent(_ context.Context, p bluehelm.Principal) (*extent, error) {
	tracks := h.visibleTracks(p, nil, nil)
	if len(tracks) == 0 {
		return nil, nil
	}
	pt := tracks[0].Position
	b := bluehelm.BBox{MinLon: pt.Lon, MinLat: pt.Lat, MaxLon: pt.Lon, MaxLat: pt.Lat}
	first, last := pt.Time, pt.Time
	for _, s := range tracks[1:] {
		q := s.Position
		b = union(b, bluehelm.BBox{MinLon: q.Lon, MinLat: q.Lat, MaxLon: q.Lon, MaxLat: q.Lat})
		if q.Time.Before(first) {
			first = q.Time
		}
		if q.Time.After(last) {
			last = q.Time
		}
	}
	return &extent{
		Spatial:  &spatialExtent{BBox: [][4]float64{{b.MinLon, b.MinLat, b.MaxLon, b.MaxLat}}, CRS: crs84},
		Temporal: &temporalExtent{Interval: [][2]*string{{ts(first), ts(last)}}, TRS: gregorian},
	}, nil
}
