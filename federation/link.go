// Package federation adapts the camp ↔ HQ link to NATS leaf nodes. Each node
// runs an embedded nats-server with a JetStream domain of its own; a camp's
// server joins its HQ's as a leaf node (S2-compressed). What a node may share
// with a peer goes into a local stream and the peer sources it across the leaf
// link, so changes made during a cut wait on the sender's disk and flow once
// the link is back. A Link says what may cross, checked on both sides with the
// one access rule of bluehelm (Principal.CanSee).
package federation

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"

	"github.com/bluehelm/bluehelm"
)

// Config is a node's federation file: its name and its links.
//
//	{"node": "camp-alpha",
//	 "links": [{"peer": "hq", "max_classification": "CONFIDENTIAL",
//	            "releasable_to": ["military", "police"],
//	            "categories": ["armed_clash", "ied"], "positions": true}]}
type Config struct {
	Node  string `json:"node"`
	Links []Link `json:"links"`
}

// Link is what may cross between this node and one peer. The same rule
// filters what this node sends and refuses what it receives, whatever the
// peer's own file says.
type Link struct {
	Peer string `json:"peer"`
	// MaxClassification is the highest classification the link may carry.
	MaxClassification bluehelm.Classification `json:"max_classification"`
	// ReleasableTo lists the components the data may be released to over the
	// link: a record above UNCLASSIFIED crosses only if one of them may see it
	// (its originating component or one it is released to). Empty: only
	// UNCLASSIFIED records cross.
	ReleasableTo []bluehelm.Component `json:"releasable_to,omitempty"`
	// Categories lists the incident categories shared; empty: all of them.
	Categories []bluehelm.Category `json:"categories,omitempty"`
	// Positions says whether track positions cross (default true).
	Positions *bool `json:"positions,omitempty"`
	// Incidents says whether incidents cross (default true).
	Incidents *bool `json:"incidents,omitempty"`
}

// LoadConfig reads and checks a federation file.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("federation: %s: %w", path, err)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("federation: %s: %w", path, err)
	}
	return &c, nil
}

// Validate checks names, components and categories.
func (c *Config) Validate() error {
	if !ValidName(c.Node) {
		return bluehelm.Invalid("node", "%q: want 1-32 letters, digits, '-' or '_'", c.Node)
	}
	seen := map[string]bool{}
	for i, l := range c.Links {
		f := fmt.Sprintf("links[%d]", i)
		if !ValidName(l.Peer) || l.Peer == c.Node {
			return bluehelm.Invalid(f+".peer", "%q: want 1-32 letters, digits, '-' or '_', not this node's name", l.Peer)
		}
		if seen[l.Peer] {
			return bluehelm.Invalid(f+".peer", "%q appears twice", l.Peer)
		}
		seen[l.Peer] = true
		if err := (bluehelm.Marking{Classification: l.MaxClassification, Component: bluehelm.Military, Releasability: l.ReleasableTo}).Validate(); err != nil {
			return bluehelm.PrefixField(f, err)
		}
		for j, cat := range l.Categories {
			if !cat.Valid() {
				return bluehelm.Invalid(fmt.Sprintf("%s.categories[%d]", f, j), "unknown category %q", cat)
			}
		}
	}
	return nil
}

// Link returns the link to peer.
func (c *Config) Link(peer string) (Link, bool) {
	for _, l := range c.Links {
		if l.Peer == peer {
			return l, true
		}
	}
	return Link{}, false
}

// Carries reports whether the link may carry a record with marking m, asking
// the one access rule for a reader of each component the link releases to,
// cleared to the link's level.
func (l Link) Carries(m bluehelm.Marking) bool {
	if m.Validate() != nil || m.Classification > l.MaxClassification {
		return false
	}
	if m.Classification == bluehelm.Unclassified {
		return true
	}
	for _, c := range l.ReleasableTo {
		if (bluehelm.Principal{Component: c, Clearance: l.MaxClassification}).CanSee(m) {
			return true
		}
	}
	return false
}

// CarriesPositions reports whether track positions cross the link.
func (l Link) CarriesPositions() bool { return l.Positions == nil || *l.Positions }

// CarriesIncident reports whether the link may carry inc.
func (l Link) CarriesIncident(inc *bluehelm.Incident) bool {
	if l.Incidents != nil && !*l.Incidents {
		return false
	}
	if len(l.Categories) > 0 && !slices.Contains(l.Categories, inc.Category) {
		return false
	}
	return l.Carries(inc.Marking)
}
