package integrity

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/eventstore/memory"
)

func truncateFile(path string, size int64) error { return os.Truncate(path, size) }

func fileSize(path string) (int64, error) {
	st, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// fill appends n events to s, spread round-robin over a few streams, with
// a deterministic clock so exports are reproducible within a test.
func fill(t testing.TB, s eventstore.Store, n int) {
	t.Helper()
	ctx := ctxT(t)
	for i := 0; i < n; i++ {
		stream := fmt.Sprintf("submission-%d", i%5)
		_, err := s.Append(ctx, stream, eventstore.Any(), eventstore.EventData{
			ID: uuid.New(), Type: "CommentPosted", Version: 1,
			Data:     fmt.Appendf(nil, `{"n":%d,"text":"hej <Malmö> & co"}`, i),
			Metadata: eventstore.Metadata{Actor: "p-1", Role: "participant"},
		})
		require.NoError(t, err)
	}
}

func newStore(t testing.TB, n int) *memory.Store {
	s := memory.New()
	t.Cleanup(func() { s.Close() })
	fill(t, s, n)
	return s
}

// export returns the store's events as events.ndjson.
func export(t testing.TB, s eventstore.Store) []byte {
	t.Helper()
	var b bytes.Buffer
	after := eventstore.Position(0)
	for {
		evs, err := s.ReadAll(ctxT(t), after, 1000)
		require.NoError(t, err)
		if len(evs) == 0 {
			return b.Bytes()
		}
		for _, ev := range evs {
			b.Write(eventstore.Canonical(ev))
			b.WriteByte('\n')
		}
		after = evs[len(evs)-1].Position
	}
}

// openLog opens a log in dir and catches it up with s.
func openLog(t testing.TB, dir string, s eventstore.Store, opts ...Option) *Log {
	t.Helper()
	l, err := Open(dir, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	if s != nil {
		require.NoError(t, l.CatchUp(ctxT(t), s))
	}
	return l
}
