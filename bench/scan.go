package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/malmo/participation-ledger/eventstore"
)

// scanPage is how many events one ReadAll returns, about what a projection
// runner asks for.
const scanPage = 1000

// Scan is P5-scan: read the whole log in order with ReadAll and decode each
// event's Data, as a projection rebuild does, against a sequential read of a
// plain file holding the same records, parsed and decoded the same way.
func Scan() Metric {
	m := Metric{ID: "P5-scan", Name: "ReadAll scan, JSON-decoding Data into a struct", Unit: "events/s"}
	m.Run = func(ctx context.Context, env Env) (Result, error) {
		store, file, cleanup, err := openBoth(env)
		if err != nil {
			return Result{}, err
		}
		defer cleanup()
		n := env.Plan.ScanEvents
		if err := fill(ctx, env, store, file, n); err != nil {
			return Result{}, err
		}
		// Both sides must see the same events; the checksum proves it. No
		// warm-up: both were just written, so both start from a warm page
		// cache, and a full extra scan would double the run time.
		var storeSum, fileSum scanSum
		env.Plan.Reps = max(1, env.Plan.ScanReps)
		rates, err := compare(ctx, env, false,
			side{name: "store", run: func(ctx context.Context, _ time.Duration) (float64, error) {
				start := time.Now()
				s, err := scanStore(ctx, store)
				storeSum = s
				return float64(s.events) / time.Since(start).Seconds(), err
			}},
			side{name: "plain file", run: func(ctx context.Context, _ time.Duration) (float64, error) {
				start := time.Now()
				s, err := scanFile(ctx, env.sub("plain.log"))
				fileSum = s
				return float64(s.events) / time.Since(start).Seconds(), err
			}})
		if err != nil {
			return Result{}, err
		}
		if storeSum != fileSum || storeSum.events != n {
			return Result{}, fmt.Errorf("scans disagree: store %+v, file %+v, want %d events", storeSum, fileSum, n)
		}
		return Result{
			Value:     rates[0],
			Baselines: []Baseline{{Name: "plain file sequential scan, same records, same parse + JSON decode", Value: rates[1]}},
			Note:      fmt.Sprintf("%d events, pages of %d, median of %d full scans, warm page cache", n, scanPage, env.Plan.Reps),
		}, nil
	}
	return m
}

// fill appends n events in batches of 1000 (fewer syncs: the fill is not
// what is measured) to fresh streams, to the store and
// the plain file alike. It is not timed.
func fill(ctx context.Context, env Env, s eventstore.Store, p *plainFile, n int) error {
	const batch = 1000
	env.Log.Info("writing events to scan", "events", n)
	g := NewGen(env.Seed)
	w := bufio.NewWriterSize(p.f, 1<<20)
	var buf []byte
	events := make([]eventstore.EventData, 0, batch)
	for i := 0; i < n; i += batch {
		events = events[:0]
		for range min(batch, n-i) {
			events = append(events, g.Event())
		}
		stream := fmt.Sprintf("submission-%d", i/batch)
		if _, err := s.Append(ctx, stream, eventstore.NoStream(), events...); err != nil {
			return fmt.Errorf("append to %s: %w", stream, err)
		}
		buf = p.encode(buf[:0], stream, 0, events)
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return fdatasync(p.f)
}

// scanSum summarises a scan so that two scans can be compared.
type scanSum struct {
	events      int
	attachments int
	last        eventstore.Position
}

func scanStore(ctx context.Context, s eventstore.Store) (scanSum, error) {
	var sum scanSum
	var sub Submission
	for {
		page, err := s.ReadAll(ctx, sum.last, scanPage)
		if err != nil {
			return sum, err
		}
		if len(page) == 0 {
			return sum, nil
		}
		for _, e := range page {
			if err := json.Unmarshal(e.Data, &sub); err != nil {
				return sum, fmt.Errorf("event %d: %w", e.Position, err)
			}
			sum.add(e.Position, sub)
		}
	}
}

func scanFile(ctx context.Context, path string) (scanSum, error) {
	var sum scanSum
	f, err := os.Open(path)
	if err != nil {
		return sum, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	var sub Submission
	for {
		line, err := r.ReadSlice('\n')
		if err == io.EOF && len(line) == 0 {
			return sum, nil
		}
		if err != nil {
			return sum, err
		}
		if sum.events%scanPage == 0 && ctx.Err() != nil {
			return sum, ctx.Err()
		}
		e, err := eventstore.ParseCanonical(line[:len(line)-1], sum.last+1)
		if err != nil {
			return sum, fmt.Errorf("record %d: %w", sum.last+1, err)
		}
		if err := json.Unmarshal(e.Data, &sub); err != nil {
			return sum, fmt.Errorf("record %d: %w", e.Position, err)
		}
		sum.add(e.Position, sub)
	}
}

func (s *scanSum) add(pos eventstore.Position, sub Submission) {
	s.events++
	s.attachments += sub.Attachments
	s.last = pos
}
