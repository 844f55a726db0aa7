package bluehelm

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"
)

// AuditEntry is one link of the hash-chained audit log. Hash covers every field and
// the previous entry's hash, so editing, inserting or deleting any entry breaks the
// chain from that point on.
type AuditEntry struct {
	Seq      int64           `json:"seq"`
	At       time.Time       `json:"at"`
	Actor    string          `json:"actor"`
	Action   string          `json:"action"` // incident.create, incident.verify, user.create, positions.batch …
	Object   string          `json:"object"` // incident/42, user/7, positions
	Detail   json.RawMessage `json:"detail,omitempty"`
	PrevHash string          `json:"prev_hash"`
	Hash     string          `json:"hash"`
}

// NewAudit builds an entry to be chained by the store; detail is marshalled to JSON.
func NewAudit(p Principal, action, object string, detail any) AuditEntry {
	e := AuditEntry{Actor: p.Username, Action: action, Object: object}
	if detail != nil {
		b, err := json.Marshal(detail)
		if err == nil {
			e.Detail = b
		}
	}
	return e
}

// ComputeHash returns the hash of the entry chained to its PrevHash. Fields are
// length-prefixed so that no two different entries serialise the same way.
func (e *AuditEntry) ComputeHash() string {
	h := sha256.New()
	put := func(s string) {
		h.Write([]byte(strconv.Itoa(len(s))))
		h.Write([]byte{':'})
		h.Write([]byte(s))
	}
	put(e.PrevHash)
	put(strconv.FormatInt(e.Seq, 10))
	put(e.At.UTC().Format(time.RFC3339Nano))
	put(e.Actor)
	put(e.Action)
	put(e.Object)
	put(string(e.Detail))
	return hex.EncodeToString(h.Sum(nil))
}

// Chain fills Seq, PrevHash and Hash of e as the successor of prev (nil for the first).
func (e *AuditEntry) Chain(prev *AuditEntry) {
	e.Seq, e.PrevHash = 1, ""
	if prev != nil {
		e.Seq, e.PrevHash = prev.Seq+1, prev.Hash
	}
	if e.At.IsZero() {
		e.At = time.Now()
	}
	e.At = e.At.UTC().Truncate(time.Microsecond)
	e.Hash = e.ComputeHash()
}

// AuditVerifier checks a chain entry by entry, in order.
type AuditVerifier struct {
	prev *AuditEntry
	n    int64
}

// Next checks one entry against its predecessor.
func (v *AuditVerifier) Next(e AuditEntry) error {
	wantSeq, wantPrev := int64(1), ""
	if v.prev != nil {
		wantSeq, wantPrev = v.prev.Seq+1, v.prev.Hash
	}
	switch {
	case e.Seq != wantSeq:
		return Errorf(ECONFLICT, "audit chain broken at seq %d: expected seq %d (an entry was deleted or inserted)", e.Seq, wantSeq)
	case e.PrevHash != wantPrev:
		return Errorf(ECONFLICT, "audit chain broken at seq %d: previous hash does not match entry %d", e.Seq, wantSeq-1)
	case e.ComputeHash() != e.Hash:
		return Errorf(ECONFLICT, "audit chain broken at seq %d: entry was modified (hash mismatch)", e.Seq)
	}
	v.prev = &e
	v.n++
	return nil
}

// Count returns how many entries were verified.
func (v *AuditVerifier) Count() int64 { return v.n }
