package places

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"strings"
	"testing"
)

func load(t testing.TB) *Index {
	t.Helper()
	ix, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

func TestLoad(t *testing.T) {
	ix := load(t)
	if ix.Len() < 100000 {
		t.Fatalf("%d places, want the whole GeoNames list (>100,000)", ix.Len())
	}
	again, _ := Load()
	if again != ix {
		t.Error("Load built a second index")
	}
}

// TestSearchMissionAreas checks places UN missions work in, typed as people type them.
func TestSearchMissionAreas(t *testing.T) {
	ix := load(t)
	tests := []struct {
		q       string
		name    string // first result
		country string
	}{
		{"Juba", "Juba", "SS"},
		{"juba", "Juba", "SS"},
		{"JUBA", "Juba", "SS"},
		{"Malakal", "Malakal", "SS"},
		{"Bangui", "Bangui", "CF"}, // the capital, not the Philippine town of the same name
		{"bangui", "Bangui", "CF"},
		{"Ndélé", "Ndélé", "CF"},
		{"ndele", "Ndélé", "CF"},
		{"NDELE", "Ndélé", "CF"},
		{"kaga bandoro", "Kaga-Bandoro", "CF"},
		{"Kaga-Bandoro", "Kaga-Bandoro", "CF"},
		{"Goma", "Goma", "CD"},
		{"Bunia", "Bunia", "CD"},
		{"Bamako", "Bamako", "ML"},
		{"menaka", "Ménaka", "ML"},
		{"Kidal", "Kidal", "ML"},
		{"Gao", "Gao", "ML"},
		{"mopti", "Mopti", "ML"},
	}
	for _, tc := range tests {
		t.Run(tc.q, func(t *testing.T) {
			got := ix.Search(tc.q, 5)
			if len(got) == 0 {
				t.Fatalf("no result")
			}
			if got[0].Name != tc.name || got[0].Country != tc.country {
				t.Errorf("first result %s (%s), want %s (%s); all: %v", got[0].Name, got[0].Country, tc.name, tc.country, got)
			}
		})
	}
}

func TestSearchFields(t *testing.T) {
	ix := load(t)
	got := ix.Search("juba", 1)
	if len(got) != 1 {
		t.Fatalf("%d results", len(got))
	}
	p := got[0]
	if p.Admin1 != "Central Equatoria" || p.Kind != "PPLC" || p.Population < 100000 ||
		p.Lat < 4.7 || p.Lat > 5 || p.Lon < 31.4 || p.Lon > 31.7 {
		t.Errorf("Juba = %+v", p)
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{`"name":`, `"country":`, `"admin1":`, `"lat":`, `"lon":`, `"population":`, `"kind":`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("JSON %s lacks %s", b, k)
		}
	}
}

// testIndex is a small gazetteer whose ranking can be worked out by hand.
func testIndex() *Index {
	return New([]Place{
		{Name: "Bor", Country: "SS", Population: 26782},
		{Name: "Bor", Country: "RU", Population: 60647},
		{Name: "Borama", Country: "SO", Population: 100000},
		{Name: "Port Bor", Country: "XX", Population: 5},
		{Name: "Zabor", Country: "YY", Population: 1000000},
		{Name: "Ndélé", Country: "CF", Population: 11764},
		{Name: "Bambari", Country: "CF", Population: 32547},
		{Name: "Tiny Seat", Country: "CF", Population: 0},
		{Name: "Bor Bor", Country: "ZZ", Population: 10},
	})
}

func names(ps []Place) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.Name+"/"+p.Country)
	}
	return strings.Join(s, " ")
}

func TestSearchRanking(t *testing.T) {
	ix := testIndex()
	tests := []struct {
		q     string
		limit int
		want  string
	}{
		// exact (by population), then word prefix (by population), then substring
		{"bor", 10, "Bor/RU Bor/SS Borama/SO Bor Bor/ZZ Port Bor/XX Zabor/YY"},
		{"bor", 2, "Bor/RU Bor/SS"},
		{"bor", 3, "Bor/RU Bor/SS Borama/SO"},
		{"BOR", 1, "Bor/RU"},
		{"bor bor", 10, "Bor Bor/ZZ"},
		{"ama", 10, "Borama/SO"},
		{"ndele", 10, "Ndélé/CF"},
		{"Ndélé", 10, "Ndélé/CF"},
		{"b", 3, "Borama/SO Bor/RU Bambari/CF"},
		{"seat", 10, "Tiny Seat/CF"},
		{"xyzzy", 10, ""},
		{"", 10, ""},
		{"  -- ", 10, ""},
		{"bor", 0, ""},
		{"bor", -1, ""},
	}
	for _, tc := range tests {
		if got := names(ix.Search(tc.q, tc.limit)); got != tc.want {
			t.Errorf("Search(%q, %d) = %q, want %q", tc.q, tc.limit, got, tc.want)
		}
	}
}

func TestSearchLimitCapped(t *testing.T) {
	ix := load(t)
	if got := len(ix.Search("a", 100000)); got != MaxLimit {
		t.Errorf("%d results, want MaxLimit %d", got, MaxLimit)
	}
}

func TestRead(t *testing.T) {
	gz := func(s string) []byte {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		w.Write([]byte(s))
		w.Close()
		return b.Bytes()
	}
	tests := []struct {
		name string
		in   []byte
		n    int
		ok   bool
	}{
		{"good", gz("Goma\tCD\tNord Kivu\t-1.67409\t29.22845\t144124\tPPLA\nBeni\tCD\t\t0.49113\t29.47306\t232000\tPPL\n"), 2, true},
		{"empty", gz(""), 0, true},
		{"short row", gz("Goma\tCD\n"), 0, false},
		{"bad number", gz("Goma\tCD\t\tx\t29\t1\tPPL\n"), 0, false},
		{"not gzip", []byte("Goma"), 0, false},
	}
	for _, tc := range tests {
		ix, err := Read(bytes.NewReader(tc.in))
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v", tc.name, err)
			continue
		}
		if err == nil && ix.Len() != tc.n {
			t.Errorf("%s: %d places, want %d", tc.name, ix.Len(), tc.n)
		}
	}
}

func TestSearchConcurrent(t *testing.T) {
	ix := load(t)
	done := make(chan bool)
	for _, q := range []string{"bangui", "goma", "juba", "bamako"} {
		go func() {
			for i := 0; i < 50; i++ {
				if len(ix.Search(q, 10)) == 0 {
					t.Errorf("no result for %q", q)
				}
			}
			done <- true
		}()
	}
	for i := 0; i < 4; i++ {
		<-done
	}
}

// BenchmarkSearch runs a mix of short, long, accented, prefix-only and substring-only
// queries over the whole embedded gazetteer.
func BenchmarkSearch(b *testing.B) {
	ix := load(b)
	for _, q := range []string{"a", "ba", "bangui", "ndele", "kaga b", "ville", "zzq", "sur-mer"} {
		b.Run(q, func(b *testing.B) {
			for b.Loop() {
				ix.Search(q, 10)
			}
		})
	}
}

func BenchmarkLoad(b *testing.B) {
	for b.Loop() {
		if _, err := Read(bytes.NewReader(embedded)); err != nil {
			b.Fatal(err)
		}
	}
}
