package live

import (
	"math"

	"github.com/bluehelm/bluehelm"
)

// MoveExtent is the Where for a position event of a track that moved from one point
// to another: the box spanning both. A subscriber whose box the track has just left
// then still gets this event, sees the position outside its view and can drop the
// track, instead of showing it frozen at the edge of the map forever. For a track's
// first position pass the same point twice.
func MoveExtent(from, to bluehelm.Point) bluehelm.BBox {
	return bluehelm.BBox{
		MinLon: math.Min(from.Lon, to.Lon), MinLat: math.Min(from.Lat, to.Lat),
		MaxLon: math.Max(from.Lon, to.Lon), MaxLat: math.Max(from.Lat, to.Lat),
	}
}
