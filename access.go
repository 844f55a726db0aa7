package bluehelm

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// Classification is the UN information sensitivity level (ST/SGB/2007/6).
// The order matters: a clearance allows every level at or below it.
type Classification int

const (
	Unclassified Classification = iota
	Confidential
	StrictlyConfidential
)

var classificationNames = []string{"UNCLASSIFIED", "CONFIDENTIAL", "STRICTLY CONFIDENTIAL"}

func (c Classification) String() string {
	if c < 0 || int(c) >= len(classificationNames) {
		return "INVALID"
	}
	return classificationNames[c]
}

// ParseClassification accepts the full names and the short forms U, C and SC,
// case-insensitively, with '_' or ' ' between words.
func ParseClassification(s string) (Classification, error) {
	n := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), "_", " "))
	switch n {
	case "U", "UNCLASSIFIED":
		return Unclassified, nil
	case "C", "CONFIDENTIAL":
		return Confidential, nil
	case "SC", "STRICTLY CONFIDENTIAL":
		return StrictlyConfidential, nil
	}
	return 0, Invalid("", "unknown classification %q (want UNCLASSIFIED, CONFIDENTIAL or STRICTLY CONFIDENTIAL)", s)
}

func (c Classification) MarshalJSON() ([]byte, error) { return json.Marshal(c.String()) }

func (c *Classification) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return Invalid("", "classification must be a string")
	}
	v, err := ParseClassification(s)
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// Component is a mission component; records originate in one and may be released to others.
type Component string

const (
	Military Component = "military"
	Police   Component = "police"
	Civilian Component = "civilian"
	Support  Component = "support"
)

// Components lists the valid components in display order.
var Components = []Component{Military, Police, Civilian, Support}

func (c Component) Valid() bool { return slices.Contains(Components, c) }

// Marking is carried by every record that can be shown: its classification, its
// originating component and the components it is released to beyond that one.
type Marking struct {
	Classification Classification `json:"classification"`
	Component      Component      `json:"component"`
	Releasability  []Component    `json:"releasable_to,omitempty"`
}

// Validate checks the marking's component and releasability list.
func (m Marking) Validate() error {
	if m.Classification < Unclassified || m.Classification > StrictlyConfidential {
		return Invalid("classification", "unknown classification")
	}
	if !m.Component.Valid() {
		return Invalid("component", "unknown component %q (want military, police, civilian or support)", m.Component)
	}
	for i, c := range m.Releasability {
		if !c.Valid() {
			return Invalid("releasable_to["+strconv.Itoa(i)+"]", "unknown component %q", c)
		}
		// A repeat says nothing more, and a store may keep the list where
		// its size is bounded (an index entry).
		if slices.Contains(m.Releasability[:i], c) {
			return Invalid("releasable_to["+strconv.Itoa(i)+"]", "%q is already listed", c)
		}
	}
	return nil
}

// Principal is who acts or reads: a user, or the local system (the CLI on the data
// directory, the simulator, the importer), which sees everything because filesystem
// access to the data directory is administrator access.
type Principal struct {
	UserID    int64          `json:"user_id,omitempty"`
	Username  string         `json:"username"`
	Role      Role           `json:"role"`
	Component Component      `json:"component"`
	Clearance Classification `json:"clearance"`
	System    bool           `json:"-"`
}

// System returns the local system principal with the given name (e.g. "cli", "demo").
func SystemPrincipal(name string) Principal {
	return Principal{Username: name, Role: RoleAdmin, Clearance: StrictlyConfidential, System: true}
}

// CanSee is the one access rule of bluehelm: every read path (API, live stream, CoT
// fan-out, exports, federation) asks it. A record is visible when the reader's
// clearance is at least its classification and, above UNCLASSIFIED, the reader belongs
// to the originating component or to one it was released to (need to know).
// Roles do not widen it: an administrator manages accounts, not secrets.
func (p Principal) CanSee(m Marking) bool {
	if p.System {
		return true
	}
	if m.Classification > p.Clearance {
		return false
	}
	if m.Classification == Unclassified {
		return true
	}
	return p.Component == m.Component || slices.Contains(m.Releasability, p.Component)
}

// allows reports whether members of component c (with enough clearance) may see m.
func (m Marking) allows(c Component) bool {
	return m.Classification == Unclassified || c == m.Component || slices.Contains(m.Releasability, c)
}

// Combine returns a marking for a record that reveals both a and b (an alert about a
// track in an area): the higher classification, released only to components that may
// see both. Anyone who can see the result can see a and b. It returns false when no
// component may see both, which this marking scheme cannot express.
func Combine(a, b Marking) (Marking, bool) {
	out := Marking{Classification: max(a.Classification, b.Classification)}
	var allowed []Component
	for _, c := range append([]Component{a.Component, b.Component}, Components...) {
		if c.Valid() && a.allows(c) && b.allows(c) && !slices.Contains(allowed, c) {
			allowed = append(allowed, c)
		}
	}
	if len(allowed) == 0 {
		return Marking{}, false
	}
	out.Component = allowed[0]
	if out.Classification > Unclassified {
		out.Releasability = allowed[1:]
	}
	return out, true
}
