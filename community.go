package bluehelm

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Community alerts are the warnings people living near a mission send it by SMS, through
// the public web form or by calling a hotline (community alert networks). Each message is
// kept as it was written, in whatever language, with hints a triager can act on: the
// language it seems to be in, the keywords it contains (English, French and Arabic)
// mapped to incident categories, and a place from the gazetteer it names. Messages from
// the same sender, or near-identical messages about the same place within a window, share
// a group so that a flood of one warning is triaged once.
//
// The sender is protected: the record carries only a keyed pseudonym (to group one
// sender's messages) and the phone number sealed with a key kept outside the database;
// neither is part of the record's JSON, so exports, the live stream and federation never
// see them. Only the community liaison may reveal the number (audited).

// CommunityChannel is how a community alert came in.
type CommunityChannel string

const (
	ChannelSMS     CommunityChannel = "sms"
	ChannelWeb     CommunityChannel = "web"
	ChannelHotline CommunityChannel = "hotline"
)

// CommunityChannels lists the valid channels.
var CommunityChannels = []CommunityChannel{ChannelSMS, ChannelWeb, ChannelHotline}

func (c CommunityChannel) Valid() bool { return slices.Contains(CommunityChannels, c) }

// CommunityState is where a community alert is in triage: new → triaged → linked (to an
// incident) or dismissed. A new alert may be linked or dismissed directly.
type CommunityState string

const (
	CommunityNew       CommunityState = "new"
	CommunityTriaged   CommunityState = "triaged"
	CommunityLinked    CommunityState = "linked"
	CommunityDismissed CommunityState = "dismissed"
)

// CommunityStates lists the valid states in workflow order.
var CommunityStates = []CommunityState{CommunityNew, CommunityTriaged, CommunityLinked, CommunityDismissed}

func (s CommunityState) Valid() bool { return slices.Contains(CommunityStates, s) }

// CanMove reports whether triage may move an alert from s to next.
func (s CommunityState) CanMove(next CommunityState) bool {
	switch s {
	case CommunityNew:
		return next == CommunityTriaged || next == CommunityLinked || next == CommunityDismissed
	case CommunityTriaged:
		return next == CommunityLinked || next == CommunityDismissed
	}
	return false // linked and dismissed are final
}

// KeywordHint is one keyword found in a message and the incident category it suggests.
type KeywordHint struct {
	Keyword  string   `json:"keyword"` // as listed (e.g. "hommes armés"), not as written
	Lang     string   `json:"lang"`    // "en", "fr" or "ar"
	Category Category `json:"category"`
}

// PlaceSuggestion is the gazetteer place a message seems to name.
type PlaceSuggestion struct {
	Name     string `json:"name"`    // the gazetteer's name
	Matched  string `json:"matched"` // the words of the message that matched it
	Country  string `json:"country,omitempty"`
	Admin1   string `json:"admin1,omitempty"`
	Location Point  `json:"location"`
}

// CommunityAlert is one message from the community.
type CommunityAlert struct {
	ID         int64            `json:"id"`
	Version    int              `json:"version"`
	ReceivedAt time.Time        `json:"received_at"`
	Channel    CommunityChannel `json:"channel"`
	// Source names the intake ("sms:generic", "sms:android", "web", "hotline") and
	// ExternalID the gateway's id of the message, the key that makes a retried webhook
	// call store nothing twice. Neither says anything about the sender.
	Source     string `json:"source,omitempty"`
	ExternalID string `json:"external_id,omitempty"`

	Text      string           `json:"text"`               // as given, any language or script
	Language  string           `json:"language,omitempty"` // a guess: "en", "fr", "ar" or ""
	Hints     []KeywordHint    `json:"hints,omitempty"`
	Place     *PlaceSuggestion `json:"place,omitempty"`
	GroupID   int64            `json:"group_id"` // the first alert of its group (itself when alone)
	State     CommunityState   `json:"state"`
	StateBy   string           `json:"state_by,omitempty"` // who moved it last
	StateAt   *time.Time       `json:"state_at,omitempty"`
	Incident  int64            `json:"incident_id,omitempty"` // when linked
	Note      string           `json:"note,omitempty"`
	EnteredBy string           `json:"entered_by,omitempty"` // the hotline operator
	// HasSender says whether a sender number is on file (to reveal or reply to).
	HasSender bool `json:"has_sender"`

	// SenderPseudonym is the keyed HMAC of the sender's normalised number and
	// SenderSealed the number encrypted (see package sender). Never serialised.
	SenderPseudonym string `json:"-"`
	SenderSealed    []byte `json:"-"`

	Marking
}

// Limits of a community alert.
const (
	// MaxCommunityText is the longest message accepted, in characters: ten SMS parts
	// of 160, the most a gateway concatenates in practice.
	MaxCommunityText = 1600
	MaxCommunityNote = 2000
)

// CommunityMarking is the marking community alerts get: confidential (they may
// identify people at risk), owned by the civilian component that runs the network and
// released to the uniformed components that act on it.
var CommunityMarking = Marking{Classification: Confidential, Component: Civilian, Releasability: []Component{Military, Police}}

// Validate checks a community alert against now, naming the first bad field.
func (a *CommunityAlert) Validate(now time.Time) error {
	if !a.Channel.Valid() {
		return Invalid("channel", "unknown channel %q (want sms, web or hotline)", a.Channel)
	}
	if err := ValidateCommunityText(a.Text); err != nil {
		return err
	}
	if a.ReceivedAt.IsZero() {
		return Invalid("received_at", "is required")
	}
	if a.ReceivedAt.After(now.Add(5 * time.Minute)) {
		return Invalid("received_at", "is in the future")
	}
	if len(a.ExternalID) > 200 || !utf8.ValidString(a.ExternalID) {
		return Invalid("external_id", "longer than 200 bytes or not UTF-8")
	}
	if !a.State.Valid() {
		return Invalid("state", "unknown state %q", a.State)
	}
	if a.State == CommunityLinked && a.Incident <= 0 {
		return Invalid("incident_id", "is required for a linked alert")
	}
	if utf8.RuneCountInString(a.Note) > MaxCommunityNote || !utf8.ValidString(a.Note) {
		return Invalid("note", "longer than %d characters or not UTF-8", MaxCommunityNote)
	}
	if a.Place != nil {
		if err := a.Place.Location.Validate(); err != nil {
			return Invalid("place.location", "%s", ErrorMessage(err))
		}
	}
	return a.Marking.Validate()
}

// ValidateCommunityText checks a message's text: required, UTF-8, at most
// MaxCommunityText characters. Scripts and markup are text like any other: they are
// stored as given and always shown escaped.
func ValidateCommunityText(s string) error {
	if strings.TrimSpace(s) == "" {
		return Invalid("text", "is required")
	}
	if !utf8.ValidString(s) {
		return Invalid("text", "is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(s); n > MaxCommunityText {
		return Invalid("text", "is %d characters long; the most accepted is %d (ten SMS parts)", n, MaxCommunityText)
	}
	return nil
}

// communityKeyword is one entry of the keyword list. A keyword ending in "*" matches
// any word starting with it ("attack*": attacked, attacking); phrases match consecutive
// words. Arabic keywords match inside a word too, since Arabic writes articles and
// prepositions onto the word (الهجوم, وهجوم).
type communityKeyword struct {
	word string
	lang string
	cat  Category
}

// CommunityKeywords is the hint list; the words are matched after folding (lower
// case, no accents, Arabic letters normalised).
var communityKeywords = []communityKeyword{
	// English
	{"attack*", "en", CatArmedClash}, {"shooting", "en", CatArmedClash}, {"gunfire", "en", CatArmedClash},
	{"gunshots", "en", CatArmedClash}, {"fighting", "en", CatArmedClash}, {"clash*", "en", CatArmedClash},
	{"armed men", "en", CatMovement}, {"gunmen", "en", CatMovement}, {"militia*", "en", CatMovement},
	{"fire", "en", CatViolenceCivs}, {"burn*", "en", CatViolenceCivs}, {"arson", "en", CatViolenceCivs},
	{"kidnap*", "en", CatKidnapping}, {"abduct*", "en", CatKidnapping},
	{"displaced", "en", CatDisplacement}, {"fleeing", "en", CatDisplacement}, {"fled", "en", CatDisplacement},
	{"killed", "en", CatViolenceCivs}, {"rape*", "en", CatViolenceCivs}, {"loot*", "en", CatRobbery},
	{"robbery", "en", CatRobbery}, {"cattle raid*", "en", CatArmedClash},
	{"bomb*", "en", CatExplosive}, {"explosion*", "en", CatExplosive}, {"landmine*", "en", CatExplosive},
	{"drone*", "en", CatDrone}, {"protest*", "en", CatProtest}, {"roadblock*", "en", CatHumanitarian},
	{"threat*", "en", CatThreat}, {"flood*", "en", CatNaturalHazard},
	// French
	{"attaque*", "fr", CatArmedClash}, {"coups de feu", "fr", CatArmedClash}, {"tirs", "fr", CatArmedClash},
	{"fusillade", "fr", CatArmedClash}, {"affrontement*", "fr", CatArmedClash}, {"combats", "fr", CatArmedClash},
	{"hommes armes", "fr", CatMovement}, {"milice*", "fr", CatMovement},
	{"incendie*", "fr", CatViolenceCivs}, {"feu", "fr", CatViolenceCivs}, {"brule*", "fr", CatViolenceCivs},
	{"enlev*", "fr", CatKidnapping}, {"otage*", "fr", CatKidnapping},
	{"deplace*", "fr", CatDisplacement}, {"fuient", "fr", CatDisplacement}, {"fuite", "fr", CatDisplacement},
	{"tue", "fr", CatViolenceCivs}, {"tues", "fr", CatViolenceCivs}, {"viol", "fr", CatViolenceCivs},
	{"pillage*", "fr", CatRobbery}, {"vol", "fr", CatRobbery},
	{"bombe*", "fr", CatExplosive}, {"explosion*", "fr", CatExplosive}, {"mine", "fr", CatExplosive}, {"mines", "fr", CatExplosive},
	{"manifestation*", "fr", CatProtest}, {"barrage*", "fr", CatHumanitarian}, {"menace*", "fr", CatThreat},
	{"inondation*", "fr", CatNaturalHazard},
	// Arabic (folded: hamza forms of alif as ا, ة as ه, ى as ي, no vowel marks)
	{"هجوم", "ar", CatArmedClash}, {"اطلاق نار", "ar", CatArmedClash}, {"اشتباك", "ar", CatArmedClash},
	{"مسلحين", "ar", CatMovement}, {"مسلحون", "ar", CatMovement}, {"ميليشيا", "ar", CatMovement},
	{"حريق", "ar", CatViolenceCivs}, {"حرق", "ar", CatViolenceCivs}, {"نار", "ar", CatViolenceCivs},
	{"خطف", "ar", CatKidnapping}, {"اختطاف", "ar", CatKidnapping},
	{"نازحين", "ar", CatDisplacement}, {"نزوح", "ar", CatDisplacement}, {"فروا", "ar", CatDisplacement},
	{"قتل", "ar", CatViolenceCivs}, {"اغتصاب", "ar", CatViolenceCivs}, {"نهب", "ar", CatRobbery},
	{"انفجار", "ar", CatExplosive}, {"لغم", "ar", CatExplosive}, {"قنبله", "ar", CatExplosive},
	{"مسيره", "ar", CatDrone}, {"مظاهره", "ar", CatProtest}, {"تهديد", "ar", CatThreat},
}

// keywordDisplay gives the keywords written as people write them, for the hint list.
var keywordDisplay = map[string]string{
	"hommes armes": "hommes armés", "deplace*": "déplacé*", "brule*": "brûlé*", "tue": "tué", "tues": "tués",
	"enlev*": "enlèvement", "اطلاق نار": "إطلاق نار", "قنبله": "قنبلة", "مسيره": "مسيّرة", "مظاهره": "مظاهرة",
}

// compiled keywords, folded and split into words.
type keywordPattern struct {
	words  []string
	prefix bool // the last word is a prefix
	arabic bool
	kw     communityKeyword
}

var keywordPatterns = func() []keywordPattern {
	out := make([]keywordPattern, 0, len(communityKeywords))
	for _, k := range communityKeywords {
		w := k.word
		p := keywordPattern{kw: k, arabic: k.lang == "ar"}
		if strings.HasSuffix(w, "*") {
			p.prefix, w = true, strings.TrimSuffix(w, "*")
		}
		p.words = strings.Fields(FoldText(w))
		out = append(out, p)
	}
	return out
}()

// KeywordHints returns the keywords of the list found in text, one per keyword, in
// list order.
func KeywordHints(text string) []KeywordHint {
	words := strings.Fields(FoldText(text))
	var out []KeywordHint
	for _, p := range keywordPatterns {
		if p.matches(words) {
			shown := p.kw.word
			if d, ok := keywordDisplay[shown]; ok {
				shown = d
			}
			out = append(out, KeywordHint{Keyword: strings.TrimSuffix(shown, "*"), Lang: p.kw.lang, Category: p.kw.cat})
		}
	}
	return out
}

func (p keywordPattern) matches(words []string) bool {
	n := len(p.words)
	for i := 0; i+n <= len(words); i++ {
		ok := true
		for j, w := range p.words {
			got := words[i+j]
			switch {
			case p.arabic && len(w) >= 6: // three letters or more: inside a word
				ok = strings.Contains(got, w)
			case p.arabic:
				ok = got == w || strings.HasPrefix(got, "ال") && got[len("ال"):] == w || strings.HasPrefix(got, "و") && got[len("و"):] == w
			case p.prefix && j == n-1:
				ok = strings.HasPrefix(got, w)
			default:
				ok = got == w
			}
			if !ok {
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// Stop words of the language guess (folded).
var (
	englishWords = wordSet("the and is are in at of to we they there have has men with near our from this")
	frenchWords  = wordSet("le la les des est sont dans et nous ils il y a au aux une un du pres notre de sur avec ont")
)

func wordSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

// GuessLanguage guesses the language of a message: "ar" when most letters are Arabic
// script, else "fr" or "en" by their common words, else "".
func GuessLanguage(text string) string {
	var arabic, letters int
	for _, r := range text {
		if unicode.IsLetter(r) {
			letters++
			if unicode.Is(unicode.Arabic, r) {
				arabic++
			}
		}
	}
	if letters > 0 && arabic*2 >= letters {
		return "ar"
	}
	var en, fr int
	for _, w := range strings.Fields(FoldText(text)) {
		if englishWords[w] {
			en++
		}
		if frenchWords[w] {
			fr++
		}
	}
	switch {
	case fr > en:
		return "fr"
	case en > fr:
		return "en"
	}
	return ""
}

// latinBase maps accented Latin letters (lower case) to their base letters.
var latinBase = func() map[rune]string {
	m := map[rune]string{'ß': "ss", 'æ': "ae", 'œ': "oe", 'ø': "o", 'đ': "d", 'ł': "l", 'ı': "i", 'ɛ': "e", 'ɔ': "o", 'ŋ': "n"}
	groups := map[string]string{
		"a": "àáâãäåāăą", "c": "çćĉċč", "d": "ď", "e": "èéêëēĕėęě", "g": "ĝğġģ", "h": "ĥ",
		"i": "ìíîïĩīĭįǐ", "j": "ĵ", "k": "ķ", "l": "ĺļľ", "n": "ñńņňǹ", "o": "òóôõöōŏőǒ",
		"r": "ŕŗř", "s": "śŝşšș", "t": "ţťț", "u": "ùúûüũūŭůűųǔ", "w": "ŵ", "y": "ýÿŷ", "z": "źżž",
	}
	for base, rs := range groups {
		for _, r := range rs {
			m[r] = base
		}
	}
	return m
}()

// FoldText turns text into the form keywords and place names are compared in: lower
// case, Latin letters without accents, Arabic without vowel marks and with its
// letter variants unified (أ إ آ → ا, ة → ه, ى → ي), apostrophes dropped, and every
// other run of non-letters one space.
func FoldText(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case r == '\'' || r == '’' || r == 'ʼ' || r == '`' || r == 'ـ': // apostrophes, tatweel
			continue
		case unicode.Is(unicode.Mn, r): // vowel marks and combining accents
			continue
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			r = unicode.ToLower(r)
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			switch r {
			case 'أ', 'إ', 'آ', 'ٱ':
				r = 'ا'
			case 'ة':
				r = 'ه'
			case 'ى':
				r = 'ي'
			}
			if base, ok := latinBase[r]; ok {
				b.WriteString(base)
			} else {
				b.WriteRune(r)
			}
		default:
			space = true
		}
	}
	return b.String()
}

// GazetteerPlace is a place a PlaceMatcher can suggest.
type GazetteerPlace struct {
	Name       string
	Country    string
	Admin1     string
	Location   Point
	Population int
	// AltNames are other spellings (an Arabic or French form) matched as well.
	AltNames []string
}

// PlaceMatcher finds the gazetteer place a message names. It is built once from the
// places of the mission area and is safe for concurrent use.
type PlaceMatcher struct {
	names   map[string]int // folded name → index in places (the most populous of a name)
	places  []GazetteerPlace
	longest int // words in the longest name
	// lookup, when set, is asked about runs of words the names do not know (a large
	// gazetteer searched on demand), for runs of up to lookupWords words.
	lookup      func(key string) (GazetteerPlace, bool)
	lookupWords int
}

// WithLookup returns a matcher that also asks lookup about runs of up to words words
// that m's own names do not know. lookup gets folded text (see FoldText) and must be
// safe for concurrent use; words of placeStopWords and runs of fewer than three
// letters are never asked.
func (m *PlaceMatcher) WithLookup(words int, lookup func(key string) (GazetteerPlace, bool)) *PlaceMatcher {
	out := &PlaceMatcher{lookup: lookup, lookupWords: words}
	if m != nil {
		out.names, out.places, out.longest = m.names, m.places, m.longest
	}
	return out
}

// placeStopWords are words never taken as a place on their own, even where a village
// bears the name (keywords, common words).
var placeStopWords = wordSet("the and in at of to a an we they is are on near fire attack men la le les de des du et est pres au aux un une il ils sur feu tirs vol mine " +
	"armed this that these there here morning night today yesterday now people village town market road river school church house houses " +
	"many some two three from with by for our their not were was have has been seen heard come please help " +
	"ce cette ces matin soir nuit hier ont sont dans par pour avec nous vous leur village marche route riviere ecole maison maisons " +
	"des gens deux trois quatre tres beaucoup venez aidez")

// NewPlaceMatcher indexes places by folded name. Names of fewer than three letters are
// left out: they match too much.
func NewPlaceMatcher(places []GazetteerPlace) *PlaceMatcher {
	m := &PlaceMatcher{names: make(map[string]int, len(places)), places: places}
	for i, p := range places {
		for _, name := range append([]string{p.Name}, p.AltNames...) {
			k := FoldText(name)
			if utf8.RuneCountInString(k) < 3 || placeStopWords[k] {
				continue
			}
			if j, ok := m.names[k]; ok && places[j].Population >= p.Population {
				continue
			}
			m.names[k] = i
			m.longest = max(m.longest, len(strings.Fields(k)))
		}
	}
	return m
}

// Match returns the place text names, preferring the longest run of words that is a
// place name, then the earliest, then the most populous; nil when there is none.
func (m *PlaceMatcher) Match(text string) *PlaceSuggestion {
	if m == nil || (len(m.names) == 0 && m.lookup == nil) {
		return nil
	}
	words := strings.Fields(FoldText(text))
	for n := min(max(m.longest, m.lookupWords), len(words)); n >= 1; n-- {
		for i := 0; i+n <= len(words); i++ {
			k := strings.Join(words[i:i+n], " ")
			idx, ok := m.names[k]
			if !ok && n == 1 && strings.HasPrefix(k, "ال") { // Arabic article: الملكال → ملكال
				idx, ok = m.names[k[len("ال"):]]
			}
			if ok {
				p := m.places[idx]
				return &PlaceSuggestion{Name: p.Name, Matched: k, Country: p.Country, Admin1: p.Admin1, Location: p.Location}
			}
			if m.lookup != nil && n <= m.lookupWords && utf8.RuneCountInString(k) >= 3 && !placeStopWords[words[i]] && !placeStopWords[words[i+n-1]] {
				if p, ok := m.lookup(k); ok {
					return &PlaceSuggestion{Name: p.Name, Matched: k, Country: p.Country, Admin1: p.Admin1, Location: p.Location}
				}
			}
		}
	}
	return nil
}

// TextKey is the fingerprint near-duplicate detection compares: the folded words of
// a message, without digits, in order.
func TextKey(text string) string {
	words := strings.Fields(FoldText(text))
	out := words[:0]
	for _, w := range words {
		if strings.IndexFunc(w, unicode.IsLetter) >= 0 {
			out = append(out, w)
		}
	}
	return strings.Join(out, " ")
}

// NearDuplicate reports whether two text keys (see TextKey) are near-identical: equal,
// or sharing at least 80% of their distinct words (Jaccard similarity).
func NearDuplicate(a, b string) bool {
	if a == b {
		return a != ""
	}
	wa, wb := wordSet(a), wordSet(b)
	if len(wa) == 0 || len(wb) == 0 {
		return false
	}
	inter := 0
	for w := range wa {
		if wb[w] {
			inter++
		}
	}
	union := len(wa) + len(wb) - inter
	return inter*5 >= union*4
}

// CommunityFilter selects community alerts, newest first.
type CommunityFilter struct {
	States  []CommunityState // empty: all
	GroupID int64            // 0: any
	Since   time.Time        // received at or after; zero: any
	Limit   int              // 0: 200; at most 1000
}

// CommunityGrouping says how a new alert is grouped: with the latest alert of the same
// sender, or with a near-identical one about the same place, received within Window.
type CommunityGrouping struct {
	Window  time.Duration
	TextKey string // TextKey of the new alert's text
}

// CommunityStore keeps community alerts.
type CommunityStore interface {
	// CreateCommunityAlert stores a, setting its ID, Version and GroupID (see
	// CommunityGrouping). An alert with the Source and ExternalID of one already stored
	// is not stored again: a is set to the stored one and existing is true.
	CreateCommunityAlert(ctx context.Context, a *CommunityAlert, g CommunityGrouping, e AuditEntry) (existing bool, err error)
	CommunityAlert(ctx context.Context, id int64) (*CommunityAlert, error)
	FindCommunityAlerts(ctx context.Context, f CommunityFilter) ([]*CommunityAlert, error)
	// UpdateCommunityAlert stores a as version a.Version+1 if the stored version is
	// still a.Version (ECONFLICT otherwise). The sender columns are never changed.
	UpdateCommunityAlert(ctx context.Context, a *CommunityAlert, e AuditEntry) error
}
