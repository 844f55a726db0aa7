package cot

import "testing"

// The write queue keeps the newest position per uid, bounds everything else, never
// drops control messages, and tells a closed queue from a full one.
func TestOutQueue(t *testing.T) {
	pos := func(uid string) *outMsg { return &outMsg{ev: &Event{UID: uid}, key: uid, coalesce: true} }
	other := func(uid string) *outMsg { return &outMsg{ev: &Event{UID: uid}} }
	ctl := func(uid string) *outMsg { return &outMsg{ev: &Event{UID: uid}, control: true} }
	type step struct {
		m                          *outMsg
		queued, replaced, isClosed bool
	}
	cases := []struct {
		name  string
		close bool
		steps []step
		want  []string // uids drained, in order
	}{
		{"positions coalesce to the newest, which moves to the back", false, []step{
			{m: pos("a"), queued: true}, {m: pos("b"), queued: true}, {m: pos("a"), queued: true, replaced: true},
		}, []string{"b", "a"}},
		{"other messages are bounded and the newest dropped", false, []step{
			{m: other("1"), queued: true}, {m: other("2"), queued: true}, {m: other("3")},
		}, []string{"1", "2"}},
		{"distinct positions are bounded too", false, []step{
			{m: pos("a"), queued: true}, {m: pos("b"), queued: true}, {m: pos("c"), queued: true}, {m: pos("d")},
			{m: pos("a"), queued: true, replaced: true},
		}, []string{"b", "c", "a"}},
		{"control messages are never dropped", false, []step{
			{m: other("1"), queued: true}, {m: other("2"), queued: true}, {m: ctl("answer"), queued: true},
		}, []string{"1", "2", "answer"}},
		{"a closed queue takes nothing and says so", true, []step{
			{m: pos("a"), isClosed: true}, {m: other("1"), isClosed: true}, {m: ctl("x"), isClosed: true},
		}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := newOutQueue(2, 3)
			if tc.close {
				q.close()
			}
			for i, s := range tc.steps {
				queued, replaced, closed := q.push(s.m)
				if queued != s.queued || replaced != s.replaced || closed != s.isClosed {
					t.Errorf("step %d (%s): queued %v replaced %v closed %v, want %v %v %v",
						i, s.m.ev.UID, queued, replaced, closed, s.queued, s.replaced, s.isClosed)
				}
			}
			var got []string
			for _, m := range q.drain(nil) {
				got = append(got, m.ev.UID)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("drained %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("drained %v, want %v", got, tc.want)
				}
			}
			if q.len() != 0 {
				t.Errorf("len after drain = %d", q.len())
			}
		})
	}
}
