package cot

import (
	"hash/maphash"
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

var (
	internTab  [internSlots]atomic.Pointer[string]
	internSeed = maphash.MakeSeed()
)

func intern(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > internMaxLen {
		return string(b)
	}
	h := maphash.Bytes(internSeed, b)
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
