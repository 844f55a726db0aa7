package cot

import (
	"errors"
	"time"
)

// FormatTime writes t the way CoT wants it: UTC, milliseconds, "Z"
// (2006-01-02T15:04:05.000Z).
func FormatTime(t time.Time) string { return string(appendTime(nil, t)) }

const timeLayout = "2006-01-02T15:04:05.000Z"

func appendTime(dst []byte, t time.Time) []byte {
	t = t.UTC()
	y, mo, d := t.Date()
	if y < 0 || y > 9999 {
		return t.AppendFormat(dst, timeLayout)
	}
	h, mi, s := t.Clock()
	ms := t.Nanosecond() / 1e6
	return append(dst,
		byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+int(mo)/10), byte('0'+int(mo)%10), '-',
		byte('0'+d/10), byte('0'+d%10), 'T',
		byte('0'+h/10), byte('0'+h%10), ':',
		byte('0'+mi/10), byte('0'+mi%10), ':',
		byte('0'+s/10), byte('0'+s%10), '.',
		byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z')
}

var errBadTime = errors.New("not an ISO-8601 UTC time (CCYY-MM-DDThh:mm:ss[.f…]Z)")

// ParseTime reads a CoT time: CCYY-MM-DDThh:mm:ss, optional fraction of any
// length, then "Z", a numeric offset (±hh:mm, converted to UTC) or nothing (taken as
// UTC). The result is UTC, truncated to the millisecond, which is what both wire
// formats carry, so decode → encode → decode is stable.
func ParseTime(s string) (time.Time, error) { return parseTime(s) }

// parseTime is generic so the XML decoder can call it on bytes without a copy.
func parseTime[T string | []byte](s T) (time.Time, error) {
	if t, ok := parseTimeMillis(s); ok {
		return t, nil
	}
	return parseTimeAny(s)
}

// parseTimeMillis reads the layout CoT writes, CCYY-MM-DDThh:mm:ss.sssZ, with
// fewer branches than parseTimeAny; anything else (including an invalid date
// in that layout) reports false and is for parseTimeAny to judge.
func parseTimeMillis[T string | []byte](s T) (time.Time, bool) {
	if len(s) != 24 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != '.' || s[23] != 'Z' {
		return time.Time{}, false
	}
	bad := false
	d := func(k int) int {
		v := s[k] - '0'
		bad = bad || v > 9
		return int(v)
	}
	y := d(0)*1000 + d(1)*100 + d(2)*10 + d(3)
	mo, dd := d(5)*10+d(6), d(8)*10+d(9)
	h, mi, sec := d(11)*10+d(12), d(14)*10+d(15), d(17)*10+d(18)
	ms := d(20)*100 + d(21)*10 + d(22)
	if bad || mo < 1 || mo > 12 || dd < 1 || dd > daysIn(mo, y) || h > 23 || mi > 59 || sec > 59 {
		return time.Time{}, false
	}
	unix := daysSinceEpoch(y, mo, dd)*86400 + int64(h*3600+mi*60+sec)
	return time.Unix(unix, int64(ms)*1e6).UTC(), true
}

// parseTimeAny is parseTime for every form it takes.
func parseTimeAny[T string | []byte](s T) (time.Time, error) {
	if len(s) < 19 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, errBadTime
	}
	num := func(i, n int) int {
		v := 0
		for k := i; k < i+n; k++ {
			c := s[k]
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	y, mo, d, h, mi, sec := num(0, 4), num(5, 2), num(8, 2), num(11, 2), num(14, 2), num(17, 2)
	if y < 0 || mo < 1 || mo > 12 || d < 1 || d > daysIn(mo, y) || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59 {
		return time.Time{}, errBadTime
	}
	i := 19
	ns := 0
	if i < len(s) && s[i] == '.' {
		i++
		start := i
		scale := 100000000
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			ns += int(s[i]-'0') * scale
			scale /= 10
			i++
		}
		if i == start {
			return time.Time{}, errBadTime
		}
	}
	off := 0
	switch {
	case i == len(s):
	case s[i] == 'Z' && i+1 == len(s):
	case (s[i] == '+' || s[i] == '-') && i+6 == len(s) && s[i+3] == ':':
		oh, om := num(i+1, 2), num(i+4, 2)
		if oh < 0 || oh > 23 || om < 0 || om > 59 {
			return time.Time{}, errBadTime
		}
		off = oh*3600 + om*60
		if s[i] == '-' {
			off = -off
		}
	default:
		return time.Time{}, errBadTime
	}
	unix := daysSinceEpoch(y, mo, d)*86400 + int64(h*3600+mi*60+sec-off)
	if off != 0 && (unix < minUnix || unix > maxUnix) {
		return time.Time{}, errBadTime
	}
	return time.Unix(unix, int64(ns/1e6*1e6)).UTC(), nil
}

func daysIn(m, y int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// Seconds of 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z since the Unix epoch.
var (
	minUnix = daysSinceEpoch(0, 1, 1) * 86400
	maxUnix = daysSinceEpoch(9999, 12, 31)*86400 + 86399
)

// daysSinceEpoch returns the days from 1970-01-01 to the given proleptic
// Gregorian date (the days-from-civil algorithm).
func daysSinceEpoch(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y
	if era < 0 {
		era -= 399
	}
	era /= 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}
