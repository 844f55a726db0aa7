// Package live keeps the live picture in memory: the latest state of every track with
// a spatial index, the geofence rules of areas, and the hub that fans changes out to
// subscribers (WebSocket clients, CoT connections, federation links) through bounded,
// coalescing queues.
package live

import "github.com/bluehelm/bluehelm"

// Layers a subscriber may ask for.
const (
	LayerTracks    = "tracks"
	LayerIncidents = "incidents"
	LayerAlerts    = "alerts"
	LayerAreas     = "areas"
	// LayerOperations carries patrols and response tasks.
	LayerOperations = "operations"
)

// Event is one change to fan out. It is encoded once by the publisher (Data) and
// handed as is to every subscriber allowed to see it: encode once, fan out to many.
type Event struct {
	Layer   string           // one of the Layer constants
	Key     string           // record identity: a track uid, "incident/42"; positions coalesce on it
	Marking bluehelm.Marking // checked with Principal.CanSee for every subscriber
	// Where is the event's extent; subscribers get it when it intersects their box.
	// A zero-size box is a point. Use bluehelm.World for events with no place.
	Where bluehelm.BBox
	// Coalesce marks an event that a later event with the same Key fully replaces
	// (a position); a slow subscriber then gets only the newest one.
	Coalesce bool
	Data     []byte // the encoded message, e.g. {"type":"position","data":{…}}
	// Origin is the source of the report behind the event ("cot", "api", "sim", …)
	// when there is one, so that an adapter can skip the changes it relayed itself
	// without decoding Data.
	Origin string
	// Published is set by the hub (monotonic clock) to measure change-to-delivery lag.
	Published int64
}
