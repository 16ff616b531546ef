package integrity

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/eventstore/embedded"
)

// benchEvent is a typical event: a comment of a few hundred bytes.
func benchEvent(pos int) eventstore.Event {
	return eventstore.Event{
		ID: uuid.New(), Stream: fmt.Sprintf("submission-%d", (pos-1)%1000), Type: "CommentPosted", Version: 1,
		Data: fmt.Appendf(nil, `{"comment_id":"c-%d","submission_id":"s-%d","body":{"sealed":"%0200d"},"language":"sv"}`, pos, pos%1000, pos),
		Metadata: eventstore.Metadata{Actor: "p-42", Role: "participant", CorrelationID: "req-1",
			OccurredAt: time.Date(2024, 9, 9, 10, 0, 0, 0, time.UTC)},
		Revision: uint64((pos - 1) / 1000), Position: eventstore.Position(pos), RecordedAt: time.Date(2024, 9, 9, 10, 0, 0, 0, time.UTC),
	}
}

// BenchmarkAdd is the Merkle cost per appended event (P6): canonical bytes,
// leaf hash, subtree hashes and the buffered hash-file write.
func BenchmarkAdd(b *testing.B) {
	l, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	evs := make([]eventstore.Event, 4096)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ev := &evs[i%len(evs)]
		if i < len(evs) {
			*ev = benchEvent(i + 1)
		}
		ev.Position = eventstore.Position(i + 1)
		if err := l.Add(*ev); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignCheckpoint is the once-a-second cost: flush, fsync, sign,
// append to the history and replace the latest checkpoint.
func BenchmarkSignCheckpoint(b *testing.B) {
	l, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	for i := 0; i < b.N; i++ {
		if err := l.Add(benchEvent(i + 1)); err != nil {
			b.Fatal(err)
		}
		if _, err := l.SignCheckpoint(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyLeaves reports the offline verification rate.
func BenchmarkVerifyLeaves(b *testing.B) {
	const n = 100_000
	var buf bytes.Buffer
	var t memTree
	for i := 1; i <= n; i++ {
		line := eventstore.Canonical(benchEvent(i))
		buf.Write(line)
		buf.WriteByte('\n')
		if err := t.add(tlog.RecordHash(line)); err != nil {
			b.Fatal(err)
		}
	}
	root, err := tlog.TreeHash(n, &t)
	if err != nil {
		b.Fatal(err)
	}
	cfg := signedConfig(b, Checkpoint{Origin: DefaultOrigin, Size: n, Root: root})
	b.SetBytes(int64(buf.Len()))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := VerifyLeaves(bytes.NewReader(buf.Bytes()), cfg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkFollowEmbedded is the whole cost of following the embedded store
// per event, as Run pays it: reading a page from Pebble and adding it, by
// the stored canonical bytes ("canonical") or by parsing each event and
// encoding it again ("parsed", what the log did before).
func BenchmarkFollowEmbedded(b *testing.B) {
	s, err := embedded.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const n = 20_000
	ctx := context.Background()
	for i := 0; i < n; i += 100 {
		batch := make([]eventstore.EventData, 100)
		for j := range batch {
			e := benchEvent(i + j + 1)
			batch[j] = eventstore.EventData{ID: e.ID, Type: e.Type, Version: e.Version, Data: e.Data, Metadata: e.Metadata}
		}
		if _, err := s.Append(ctx, fmt.Sprintf("submission-%d", i), eventstore.NoStream(), batch...); err != nil {
			b.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name  string
		store eventstore.Store
	}{{"canonical", s}, {"parsed", onlyStore{s}}} {
		b.Run(tc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				l, err := Open(b.TempDir())
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if err := l.CatchUp(ctx, tc.store); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				l.Close()
				b.StartTimer()
			}
			b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(n*b.N), "ns/event")
		})
	}
}
