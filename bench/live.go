package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/malmo/participation-ledger/eventstore"
	ledgerhttp "github.com/malmo/participation-ledger/http"
	"github.com/malmo/participation-ledger/projections"
)

// liveWriters append at about liveRate events per second in all, one
// event per Append: a busy public consultation, not a bulk load.
const (
	liveWriters = 8
	liveRate    = 400
)

// LiveLatency is P8: the time from calling Append to a Server-Sent Events
// client on loopback receiving the change, through the whole live path:
// durable append, the projection runner's subscription folding the event
// into every read model, the hub waking the SSE handler, and HTTP. The
// read models start from a log of ScanEvents/10 events, so they are not
// trivially small.
func LiveLatency() Metric {
	m := Metric{ID: "P8", Unit: "ms", Name: "append → SSE delivery p99, loopback, all read models live"}
	m.Run = func(ctx context.Context, env Env) (Result, error) {
		store, err := env.Open(env.sub("store"))
		if err != nil {
			return Result{}, fmt.Errorf("open store: %w", err)
		}
		defer store.Close()
		gen := NewLogGen(env.Seed)
		prefill := max(1000, env.Plan.ScanEvents/10)
		if err := fillDomain(ctx, store, gen, prefill); err != nil {
			return Result{}, err
		}
		r, err := projections.NewRunner(store, runnerConfig(env.sub("projections"), env))
		if err != nil {
			return Result{}, err
		}
		runCtx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		var srv *http.Server
		defer func() {
			stop()
			if srv != nil {
				srv.Close()
			}
			wg.Wait()
		}()
		wg.Go(func() { _ = r.Run(runCtx) })
		if err := r.Wait(ctx, eventstore.Position(prefill)); err != nil {
			return Result{}, err
		}
		// The checkpoint that catching up makes due is a start-up cost;
		// measure the steady state after it.
		if err := r.Checkpoint(); err != nil {
			return Result{}, err
		}

		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return Result{}, err
		}
		srv = &http.Server{Handler: ledgerhttp.LiveFeed(r.Hub(), env.Log), ReadHeaderTimeout: 5 * time.Second}
		wg.Go(func() { _ = srv.Serve(ln) })

		recv := newArrivals()
		req, err := http.NewRequestWithContext(runCtx, http.MethodGet, "http://"+ln.Addr().String()+"/", nil)
		if err != nil {
			return Result{}, err
		}
		req.Header.Set("Last-Event-ID", strconv.Itoa(prefill))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return Result{}, err
		}
		defer resp.Body.Close()
		wg.Go(func() { recv.read(bufio.NewReader(resp.Body)) })

		var (
			gmu  sync.Mutex
			smu  sync.Mutex
			sent = map[eventstore.Position]time.Time{}
		)
		total := time.Duration(env.Plan.Reps) * env.Plan.Duration
		deadline := time.Now().Add(total)
		pause := time.Second * liveWriters / liveRate
		errc := make(chan error, liveWriters)
		var writers sync.WaitGroup
		for range liveWriters {
			writers.Go(func() {
				for time.Now().Before(deadline) && ctx.Err() == nil {
					gmu.Lock()
					stream, ev := gen.Next()
					gen.Publish()
					gmu.Unlock()
					t0 := time.Now()
					res, err := store.Append(ctx, stream, eventstore.Any(), ev)
					if err != nil {
						errc <- err
						return
					}
					smu.Lock()
					sent[res.Last().Position] = t0
					smu.Unlock()
					time.Sleep(pause)
				}
			})
		}
		writers.Wait()
		close(errc)
		if err := <-errc; err != nil {
			return Result{}, err
		}
		if len(sent) == 0 {
			return Result{}, errors.New("nothing was appended")
		}
		var last eventstore.Position
		for p := range sent {
			last = max(last, p)
		}
		if err := recv.waitFor(last, 10*time.Second); err != nil {
			return Result{}, err
		}
		var lat []float64
		for p, t0 := range sent {
			t1, ok := recv.at(p)
			if !ok {
				return Result{}, fmt.Errorf("position %d was never delivered", p)
			}
			lat = append(lat, float64(t1.Sub(t0))/float64(time.Millisecond))
		}
		slices.Sort(lat)
		return Result{
			Value:  percentile(lat, 0.99),
			AtMost: 50,
			Note: fmt.Sprintf("%d appends by %d writers at ~%d/s over %s on a log of %d; p50 %.1f ms, max %.1f ms",
				len(lat), liveWriters, liveRate, total, prefill, percentile(lat, 0.5), lat[len(lat)-1]),
		}, nil
	}
	return m
}

// percentile of sorted xs (nearest rank).
func percentile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	i := int(q*float64(len(xs))+0.999999) - 1
	return xs[min(max(i, 0), len(xs)-1)]
}

// arrivals records when each SSE event id arrived.
type arrivals struct {
	mu    sync.Mutex
	times map[eventstore.Position]time.Time
	last  eventstore.Position
	err   error
	cond  chan struct{} // closed and replaced on every arrival
}

func newArrivals() *arrivals {
	return &arrivals{times: map[eventstore.Position]time.Time{}, cond: make(chan struct{})}
}

// read parses an SSE stream, stamping each "id:" line as it arrives.
func (a *arrivals) read(r *bufio.Reader) {
	for {
		line, err := r.ReadString('\n')
		now := time.Now()
		if err != nil {
			a.mu.Lock()
			a.err = err
			close(a.cond)
			a.cond = make(chan struct{})
			a.mu.Unlock()
			return
		}
		id, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), "id: ")
		if !ok {
			continue
		}
		p, err := strconv.ParseUint(id, 10, 64)
		if err != nil {
			continue
		}
		a.mu.Lock()
		a.times[eventstore.Position(p)] = now
		a.last = max(a.last, eventstore.Position(p))
		close(a.cond)
		a.cond = make(chan struct{})
		a.mu.Unlock()
	}
}

func (a *arrivals) at(p eventstore.Position) (time.Time, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.times[p]
	return t, ok
}

func (a *arrivals) waitFor(p eventstore.Position, limit time.Duration) error {
	timeout := time.After(limit)
	for {
		a.mu.Lock()
		last, err, ch := a.last, a.err, a.cond
		a.mu.Unlock()
		if last >= p {
			return nil
		}
		if err != nil {
			return fmt.Errorf("SSE stream ended at %d: %w", last, err)
		}
		select {
		case <-ch:
		case <-timeout:
			return fmt.Errorf("SSE delivered up to %d of %d within %s", last, p, limit)
		}
	}
}
