package cot

import (
	"encoding/binary"
	"math/bits"
	"sync/atomic"
)

// The decoders see the same short strings over and over: versions, types, hows,
// the uids, callsigns, endpoints and client versions of the devices connected.
// intern returns a shared copy from a small lossy table (two-way set
// associative: a string may sit in either slot of its pair, a new one replaces
// one of them), so a repeated value costs no allocation. Lock-free; a lost race
// only costs an allocation.
const (
	internSlots  = 16384
	internMaxLen = 64
)

var internTab [internSlots]atomic.Pointer[string]

// internHash is a quick hash of the length and up to 24 bytes of b (start,
// middle, end). It only has to spread typical values over the table: a
// collision costs an allocation, never a wrong string.
func internHash(b []byte) uint64 {
	n := len(b)
	var x, y uint64
	if n >= 8 {
		x = binary.LittleEndian.Uint64(b)
		y = binary.LittleEndian.Uint64(b[n-8:])
		if n > 16 {
			x ^= bits.RotateLeft64(binary.LittleEndian.Uint64(b[n/2-4:]), 31)
		}
	} else {
		for i, c := range b {
			x |= uint64(c) << (8 * i)
		}
	}
	hi, lo := bits.Mul64(x^0x9E3779B97F4A7C15, y^0xC2B2AE3D27D4EB4F^uint64(n))
	return hi ^ lo
}

func intern(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > internMaxLen {
		return string(b)
	}
	h := internHash(b)
	i := h & (internSlots - 2)
	if p := internTab[i].Load(); p != nil && *p == string(b) {
		return *p
	}
	if p := internTab[i+1].Load(); p != nil && *p == string(b) {
		return *p
	}
	s := string(b)
	internTab[i+(h>>32)&1].Store(&s)
	return s
}
