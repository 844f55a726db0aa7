// Package acled reads ACLED (Armed Conflict Location & Event Data) CSV exports into
// bluehelm incidents.
//
// It accepts current exports (event_type + sub_event_type, 2019 onwards), legacy
// exports with the pre-2019 event types and upper-case headers, the numeric and the
// newer text forms of inter1/inter2, event dates as "28-Jul-21", "2021-07-28" and
// "28 July 2021", and an HXL hashtag row as in HDX downloads. Columns are found by
// header name, so merged files with extra columns (the OSAC humanitarian-incident
// file) read too; their rows without an ACLED event id are reported and skipped.
//
// ACLED data may not be redistributed: tests read the team's copy outside the
// repository and never copy rows into it.
//
// # Mapping
//
//   - ExternalID "acled:"+event_id_cnty. Status approved, marking UNCLASSIFIED,
//     component civilian (open-source data).
//   - event_type / sub_event_type → taxonomy (see classify in map.go for the full
//     table). Legacy types map onto the same codes: "Battle-No change of territory"
//     → armed_clash/armed_clash, "Battle-Government regains territory" →
//     armed_clash/government_regains, "Battle-Non-state actor overtakes territory"
//     → armed_clash/non_state_takes, "Remote violence" → explosive (no
//     subcategory: it covered shelling, IEDs and air strikes alike), "Riots/Protests"
//     → protest (no subcategory: peaceful and violent were not told apart),
//     "Violence against civilians" → violence_against_civilians/killing when
//     fatalities > 0, else no subcategory, "Non-violent transfer of territory" →
//     armed_movement/transfer_of_territory, "Headquarters or base established" →
//     armed_movement/headquarters_established, "Strategic development" → other.
//     A current "Attack" on civilians is "killing" when anyone died, "attack"
//     otherwise. An unknown sub_event_type keeps its event type's category with no
//     subcategory; an unknown event_type is a row error rather than a silent
//     "other".
//   - Attacks on the UN: a battle or explosion whose actor2 is a UN body ("UNMISS:
//     United Nations Mission in …") becomes attack_on_un (direct_fire for battles),
//     the category a mission watches first; ACLED's own types stay in the narrative.
//   - Actors: actor1 and assoc_actor_1 (";"-separated) are side "a", actor2 and
//     assoc_actor_2 side "b". The primary actors' type comes from inter1/inter2: 1
//     state_forces, 2 rebel_group, 3 political_militia, 4 identity (communal,
//     ethnic) militia → communal_militia, 5 rioters, 6 protesters, 7 civilians, 8
//     external/other forces → external_forces; any UN body → un. Associated actors
//     have no code; their type is read from the name when it is unambiguous
//     ("Military Forces of …", "Civilians (…)", UN bodies) and left empty otherwise.
//   - TargetType from actor2's side: a UN body → un_personnel, "Aid Workers (…)" →
//     aid_workers, else inter2 1 → security_forces, 2–4 → armed_group, 7 →
//     civilians.
//   - fatalities → one "killed" casualty with low = best = high = fatalities (ACLED
//     publishes one conservative figure, no range and no split). Its group is
//     civilians when the export's civilian_targeting column says "Civilian
//     targeting"; exports without that column count as civilian targeting a
//     "Violence against civilians" event or an event whose actor2 is civilians
//     (inter2 7), which is ACLED's definition of the flag. Otherwise the dead are
//     "unknown": ACLED does not say which side they were on.
//   - time_precision 1 → day, 2 → week, 3 → month. geo_precision 1 (the named
//     town) → exact, 2 (near / part of a region) → near, 3 (only a larger region,
//     coded at its capital) → admin1.
//   - admin1..3, location → Admin1..3, PlaceName; country → Country.
//   - source (";"-separated) → one Source per outlet; source_scale, notes, tags,
//     disorder_type and the ACLED codes → narrative.
//   - ReportedAt: ACLED's timestamp (when the row was last published), so
//     re-importing the same file gives the same incidents.
package acled

import (
	"io"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/internal/csvtable"
)

// Options configure a Reader. The zero value is ready to use.
type Options struct {
	// Now is the reference time for Incident.Validate (no event in the future);
	// zero means time.Now() when the Reader is made.
	Now time.Time
	// ReportedBy is copied to every incident; empty leaves it to the importer.
	ReportedBy string
}

// RowError is a data row that was skipped.
type RowError = csvtable.RowError

// Reader reads incidents one row at a time.
type Reader = csvtable.Reader

// NewReader reads the header and checks that the required columns are present.
func NewReader(r io.Reader, opts Options) (*Reader, error) {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	return csvtable.NewReader(r, csvtable.Format{
		Name: "ACLED", Source: "acled", IDColumn: "event_id_cnty",
		Required: []string{"event_id_cnty", "event_date", "event_type", "latitude", "longitude"},
		Map:      func(r csvtable.Row) (*bluehelm.Incident, error) { return mapRow(r, opts) },
	}, opts.Now)
}

// Read reads a whole ACLED export with default options. Skipped rows are returned
// in rowErrs; err is set only when the input cannot be read at all.
func Read(r io.Reader) (incs []*bluehelm.Incident, rowErrs []RowError, err error) {
	rd, err := NewReader(r, Options{})
	if err != nil {
		return nil, nil, err
	}
	return rd.ReadAll()
}
