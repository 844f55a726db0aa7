// Package cot speaks Cursor-on-Target, the protocol of TAK clients (ATAK, WinTAK,
// iTAK): the XML and TAK protocol v1 (protobuf) codecs, the streaming TCP/TLS server
// with TakControl negotiation, routing between devices, and the mapping between CoT
// events and bluehelm's tracks, incidents, alerts and areas.
package cot

import "time"

// Event is one CoT event, whichever wire format it came in.
//
// The six detail elements that TAK protocol v1 types (contact, __group,
// precisionlocation, status, takv, track) are parsed into their fields when they
// carry only the attributes v1 knows; every other detail child, and any of the six
// that carries more, stays as raw XML in Detail.XML, byte for byte. So XML → Event →
// XML and v1 → Event → v1 lose nothing that either format can carry.
type Event struct {
	Version string // "2.0" when empty on output
	UID     string
	Type    string
	How     string
	Access  string
	QoS     string
	Opex    string
	Time    time.Time // when generated
	Start   time.Time // valid from
	Stale   time.Time // valid until
	Point   Point
	Detail  Detail
}

// Unknown is the value CoT writes for an unknown height or error ("9999999.0").
// Decoders turn any value at or above UnknownThreshold into Unknown.
const (
	Unknown          = 9999999.0
	UnknownThreshold = 999999.0
)

// Point is the event's <point>. HAE, CE and LE are Unknown when not known.
type Point struct {
	Lat, Lon float64
	HAE      float64 // height above the WGS-84 ellipsoid, m
	CE, LE   float64 // circular and linear error, m
}

// Detail is the event's <detail>. Nil typed fields were absent.
type Detail struct {
	Contact           *Contact
	Group             *Group
	PrecisionLocation *PrecisionLocation
	Status            *Status
	Takv              *Takv
	Track             *Track
	// XML is every other child of <detail>, in document order, as the raw bytes
	// they arrived as (XML) or as xmlDetail carried them (v1). It is always a
	// sequence of well-formed elements, never text outside them.
	XML []byte
}

// Contact is <contact callsign endpoint/>.
type Contact struct{ Callsign, Endpoint string }

// Group is <__group name role/>: an ATAK team colour and role, not an access group.
type Group struct{ Name, Role string }

// PrecisionLocation is <precisionlocation geopointsrc altsrc/>.
type PrecisionLocation struct{ GeoPointSrc, AltSrc string }

// Status is <status battery/>, battery in percent.
type Status struct{ Battery uint32 }

// Takv is <takv device platform os version/>: the client software.
type Takv struct{ Device, Platform, OS, Version string }

// Track is <track speed course/>: speed in m/s, course in degrees true.
type Track struct{ Speed, Course float64 }

// Control is the TakControl part of a TAK protocol v1 message (rare on streams).
type Control struct {
	MinProtoVersion, MaxProtoVersion uint32
	ContactUID                       string
}

// Limits on one event, whatever the format: larger or deeper input is refused.
const (
	MaxEventSize = 64 << 10 // bytes of one XML event or one v1 frame
	MaxDepth     = 32       // element nesting inside <event>
)
