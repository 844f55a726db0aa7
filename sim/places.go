package sim

import "github.com/bluehelm/bluehelm"

// Place is a named location of the scenario. Coordinates are the towns' public
// gazetteer positions, rounded; the camps sit beside them as UNMISS bases do.
type Place struct {
	Name   string
	Admin1 string // state
	Point  bluehelm.Point
}

var (
	juba      = Place{"Juba", "Central Equatoria", bluehelm.Point{Lon: 31.571, Lat: 4.859}}
	bor       = Place{"Bor", "Jonglei", bluehelm.Point{Lon: 31.559, Lat: 6.207}}
	malakal   = Place{"Malakal", "Upper Nile", bluehelm.Point{Lon: 31.661, Lat: 9.533}}
	bentiu    = Place{"Bentiu", "Unity", bluehelm.Point{Lon: 29.800, Lat: 9.233}}
	wau       = Place{"Wau", "Western Bahr el Ghazal", bluehelm.Point{Lon: 27.995, Lat: 7.703}}
	yei       = Place{"Yei", "Central Equatoria", bluehelm.Point{Lon: 30.678, Lat: 4.095}}
	terekeka  = Place{"Terekeka", "Central Equatoria", bluehelm.Point{Lon: 31.750, Lat: 5.440}}
	torit     = Place{"Torit", "Eastern Equatoria", bluehelm.Point{Lon: 32.568, Lat: 4.413}}
	pibor     = Place{"Pibor", "Greater Pibor", bluehelm.Point{Lon: 33.128, Lat: 6.798}}
	mingkaman = Place{"Mingkaman", "Lakes", bluehelm.Point{Lon: 31.470, Lat: 6.070}}
	rubkona   = Place{"Rubkona", "Unity", bluehelm.Point{Lon: 29.790, Lat: 9.275}}
	leer      = Place{"Leer", "Unity", bluehelm.Point{Lon: 30.141, Lat: 8.302}}
	mayom     = Place{"Mayom", "Unity", bluehelm.Point{Lon: 29.159, Lat: 9.221}}
	kodok     = Place{"Kodok", "Upper Nile", bluehelm.Point{Lon: 32.113, Lat: 9.886}}
	nasir     = Place{"Nasir", "Upper Nile", bluehelm.Point{Lon: 33.067, Lat: 8.600}}
	kuajok    = Place{"Kuajok", "Warrap", bluehelm.Point{Lon: 27.989, Lat: 8.310}}
	jur       = Place{"Jur River", "Western Bahr el Ghazal", bluehelm.Point{Lon: 28.150, Lat: 7.600}}
	rumbek    = Place{"Rumbek", "Lakes", bluehelm.Point{Lon: 29.678, Lat: 6.807}}
	yambio    = Place{"Yambio", "Western Equatoria", bluehelm.Point{Lon: 28.396, Lat: 4.572}}
	akobo     = Place{"Akobo", "Jonglei", bluehelm.Point{Lon: 33.000, Lat: 7.780}}
)

// Camp is a mission base with its contingent.
type Camp struct {
	Place
	Contingent  string // TCC battalion or unit
	Nationality string // ISO 3166 alpha-3
}

// Route is a road a patrol drives, as waypoints from the camp outward.
type Route struct {
	Name      string
	Waypoints []Place
}

// UnitSpec is a simulated unit that patrols a route from its camp and back.
type UnitSpec struct {
	UID, Callsign string
	Kind          bluehelm.TrackKind
	CoTType, SIDC string
	Component     bluehelm.Component
	Camp          *Camp
	Route         Route
	SpeedMS       float64 // metres per second along the route
	Offset        float64 // fraction of a round trip already done at start, so units spread
}
