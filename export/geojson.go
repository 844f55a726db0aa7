package export

import (
	"bufio"
	"encoding/json"

	"github.com/bluehelm/bluehelm"
)

type geojsonEncoder struct {
	w *bufio.Writer
	n int
}

func (e *geojsonEncoder) begin() error {
	_, err := e.w.WriteString(`{"type":"FeatureCollection","features":[`)
	return err
}

// feature is a GeoJSON Feature.
type feature struct {
	Type       string         `json:"type"`
	ID         any            `json:"id,omitempty"`
	Geometry   bluehelm.Point `json:"geometry"`
	Properties properties     `json:"properties"`
}

// properties are the incident's own JSON fields, so they follow the API's names
// and any field added to Incident later, minus location, which is the geometry:
// encoding/json picks the shallowest of same-named fields, so the nil Location
// below hides the embedded one and omitempty drops it.
type properties struct {
	*bluehelm.Incident
	Location *struct{} `json:"location,omitempty"`
}

func (e *geojsonEncoder) write(inc *bluehelm.Incident) error {
	f := feature{Type: "Feature", Geometry: inc.Location, Properties: properties{Incident: inc}}
	switch {
	case inc.ID != 0:
		f.ID = inc.ID
	case inc.ExternalID != "":
		f.ID = inc.ExternalID
	}
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	if e.n > 0 {
		if err := e.w.WriteByte(','); err != nil {
			return err
		}
	}
	e.n++
	if err := e.w.WriteByte('\n'); err != nil {
		return err
	}
	_, err = e.w.Write(b)
	return err
}

func (e *geojsonEncoder) end() error {
	_, err := e.w.WriteString("\n]}\n")
	return err
}
