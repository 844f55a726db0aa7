package cot

import (
	"hash/maphash"
	"sync/atomic"
)

// The decoders see the same short strings over and over: versions, types, hows,
// the uids, callsigns, endpoints and client versions of the devices connected.
// intern returns a shared copy from a small lossy table (a slot holds the last
// string hashed to it), so a repeated value costs no allocation. Lock-free;
// a lost race only costs an allocation.
const (
	internSlots  = 4096
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
	slot := &internTab[maphash.Bytes(internSeed, b)&(internSlots-1)]
	if p := slot.Load(); p != nil && *p == string(b) {
		return *p
	}
	s := string(b)
	slot.Store(&s)
	return s
}
