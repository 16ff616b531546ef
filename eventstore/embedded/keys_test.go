package embedded

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/eventstore"
)

// FuzzKeys checks that key order is numeric order and that one stream's
// index keys never fall inside another stream's range.
func FuzzKeys(f *testing.F) {
	f.Add(uint64(255), uint64(256), "process-a", "process-ab")
	f.Add(uint64(0), uint64(1<<63), "a", "a-")
	f.Fuzz(func(t *testing.T, a, b uint64, s1, s2 string) {
		if eventstore.ValidateStream(s1) != nil || eventstore.ValidateStream(s2) != nil {
			t.Skip()
		}
		cmp := func(x, y uint64) int {
			switch {
			case x < y:
				return -1
			case x > y:
				return 1
			}
			return 0
		}
		require.Equal(t, cmp(a, b), bytes.Compare(eventKey(eventstore.Position(a)), eventKey(eventstore.Position(b))))
		require.Equal(t, cmp(a, b), bytes.Compare(streamKey(s1, a), streamKey(s1, b)))
		k := streamKey(s2, b)
		inside := bytes.Compare(k, streamPrefix(s1)) >= 0 && bytes.Compare(k, streamEnd(s1)) < 0
		require.Equal(t, s1 == s2, inside, "key of %q at %d inside the range of %q", s2, b, s1)
		rev, pos, err := parseStreamEntry(k, eventKey(eventstore.Position(a))[1:])
		require.NoError(t, err)
		require.Equal(t, b, rev)
		require.Equal(t, eventstore.Position(a), pos)

		loc := location{stream: s1, rev: a, pos: eventstore.Position(b)}
		got, err := decodeLocation(encodeLocation(loc))
		require.NoError(t, err)
		require.Equal(t, loc, got)
	})
}

func FuzzDecodeLocation(f *testing.F) {
	f.Add(encodeLocation(location{stream: "s", rev: 1, pos: 2}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, v []byte) {
		loc, err := decodeLocation(v)
		if err == nil {
			require.Equal(t, v, encodeLocation(loc))
		}
	})
}
