package kurrent

import (
	"testing"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
)

// FuzzDecodeIndex: no input makes the decoder panic, and whatever it
// accepts is a well-formed index (Positions in order, one id each, a mark
// no earlier than the last Position).
func FuzzDecodeIndex(f *testing.F) {
	b := indexHeader("")
	for i := range 3 {
		b = appendRecord(b, recLedger, uint64(i+1), point{esdb.Position{Commit: uint64(100 * (i + 1)), Prepare: uint64(90 * (i + 1))}, uuid.New()})
	}
	b = appendRecord(b, recMark, 3, point{esdb.Position{Commit: 400, Prepare: 400}, uuid.New()})
	f.Add(b)
	f.Add(b[:len(b)-7])
	f.Add(indexHeader("ns-"))
	f.Add([]byte("PLKXPOS1\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		li, ok := decodeIndex(b, "")
		if !ok {
			return
		}
		if len(li.evs) != len(li.pos) {
			t.Fatalf("%d ids for %d positions", len(li.evs), len(li.pos))
		}
		for i := 1; i < len(li.pos); i++ {
			if !less(li.pos[i-1], li.pos[i]) {
				t.Fatalf("positions out of order at %d", i)
			}
		}
		if li.markOK && len(li.pos) > 0 && less(li.mark.pos, li.pos[len(li.pos)-1]) {
			t.Fatal("mark before the last Position")
		}
	})
}
