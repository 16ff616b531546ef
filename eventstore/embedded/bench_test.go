package embedded

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/malmo/participation-ledger/eventstore"
)

// benchData is a typical event body: a submission of a few hundred bytes.
var benchData = []byte(`{"process":"process-7f3a","channel":"web","language":"sv","title_sealed":"bm9uY2UtMTIzNDU2Nzg5MGFiY2RlZg","body_sealed":"` +
	"QUVTLUdDTSBzZWFsZWQgYm9keSBvZiBhIHN1Ym1pc3Npb24gYWJvdXQgYSBjeWtlbGJhbmEgcMOlIMOFbmdiw6V0c2Jyb24gaSBNYWxtw7Ysd2l0aCBzb21lIHBhZGRpbmcgdG8gcmVhY2ggYSByZWFsaXN0aWMgc2l6ZQ" +
	`","key_id":"participant-42/v1"}`)

var benchNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func benchEvent() eventstore.EventData {
	return eventstore.EventData{ID: uuid.New(), Type: "SubmissionReceived", Version: 1, Data: benchData,
		Metadata: eventstore.Metadata{Actor: "participant-42", Role: "participant", RequestID: "req-1"}}
}

// BenchmarkAppend measures fsync'd appends: one event per call from one
// goroutine (the latency a single HTTP write sees), 100 events per call,
// and one event per call from 64 goroutines (group commit at work).
// Compare single with BenchmarkPlainFileFdatasync.
func BenchmarkAppend(b *testing.B) {
	ctx := context.Background()
	b.Run("single", func(b *testing.B) {
		s := openT(b, b.TempDir())
		b.SetBytes(int64(len(benchData)))
		for i := 0; b.Loop(); i++ {
			if _, err := s.Append(ctx, fmt.Sprintf("submission-%d", i%100), eventstore.Any(), benchEvent()); err != nil {
				b.Fatal(err)
			}
		}
		reportSyncs(b, s)
	})
	b.Run("batch100", func(b *testing.B) {
		s := openT(b, b.TempDir())
		b.SetBytes(100 * int64(len(benchData)))
		batch := make([]eventstore.EventData, 100)
		for i := 0; b.Loop(); i++ {
			for j := range batch {
				batch[j] = benchEvent()
			}
			if _, err := s.Append(ctx, fmt.Sprintf("submission-%d", i%100), eventstore.Any(), batch...); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("parallel64", func(b *testing.B) {
		s := openT(b, b.TempDir())
		b.SetBytes(int64(len(benchData)))
		b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0))) // about 64 appenders
		var n atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			stream := fmt.Sprintf("participant-%d", n.Add(1))
			for pb.Next() {
				if _, err := s.Append(ctx, stream, eventstore.Any(), benchEvent()); err != nil {
					b.Error(err)
					return
				}
			}
		})
		reportSyncs(b, s)
	})
}

func reportSyncs(b *testing.B, s *Store) {
	syncs := counter(b, s.metrics.syncs)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
	if syncs > 0 {
		b.ReportMetric(float64(b.N)/syncs, "appends/fsync")
	}
}

// BenchmarkPlainFileFdatasync is the floor the store is measured against:
// appending one record of the same size to a plain file and fdatasync'ing
// it, the least any durable single append can cost on this disk.
func BenchmarkPlainFileFdatasync(b *testing.B) {
	f, err := os.OpenFile(filepath.Join(b.TempDir(), "log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	rec := append(eventstore.Canonical(eventstore.Normalize("submission-1", benchEvent(), 0, 1, benchNow)), '\n')
	b.SetBytes(int64(len(benchData)))
	for b.Loop() {
		if _, err := f.Write(rec); err != nil {
			b.Fatal(err)
		}
		if err := fdatasync(f); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
}
