package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/integrity"
)

// Server is a whole ledger serving its HTTP API on loopback, as `ledger
// serve` does (rate limit off), for the HTTP write metric. cmd/ledger builds
// it (only cmd wires the packages together).
type Server struct {
	URL string
	// Official may open processes; Participants are the bearer tokens of
	// registered participants, one per client.
	Official     string
	Participants []string
	// Integrity is the server's integrity log, for the receipt's costs.
	Integrity *integrity.Log
	Close     func() error
}

// HTTPWrite is P4: proposals submitted over HTTP on loopback by Plan.Writers
// concurrent clients, each a registered participant with a real token, each
// request with an Idempotency-Key, each answered with a receipt once durable.
// Its throughput is compared with the store alone under the P3 workload in
// the same run (target ≥ 0.4×); then, at half that throughput, requests
// arrive on a fixed schedule and their latency is measured from the
// scheduled time (so a stalled server cannot hide queueing) — p50, and p99
// against a 25 ms budget. The receipt's own cost is reported too: signing
// the inclusion promise every answer carries, and how long after the answer
// a signed checkpoint covers the write (when the inclusion proof can be
// fetched; nobody waits for it).
//
// Every answer is checked: 201, a position, a receipt whose promise verifies
// with the server's key and names that position. Any other answer fails the
// metric, with the refusals counted and the first one quoted: a server that
// refuses writes gets an error, not a rate.
func HTTPWrite() Metric {
	m := Metric{ID: "P4", Unit: "writes/s",
		Name: "HTTP submissions on loopback: participant tokens, Idempotency-Key, durable answer with receipt"}
	m.Run = func(ctx context.Context, env Env) (Result, error) {
		if env.Serve == nil {
			return Result{}, errors.New("no ledger server to measure (Env.Serve is nil)")
		}
		n := env.Plan.Writers
		srv, err := env.Serve(ctx, env.sub("ledger"), n)
		if err != nil {
			return Result{}, fmt.Errorf("start the ledger: %w", err)
		}
		defer srv.Close()
		store, err := env.Open(env.sub("store"))
		if err != nil {
			return Result{}, fmt.Errorf("open store: %w", err)
		}
		defer store.Close()

		h, err := newHTTPHarness(ctx, srv, n)
		if err != nil {
			return Result{}, err
		}
		defer h.client.CloseIdleConnections()
		rates, err := compare(ctx, env, true,
			storeSide(store, newWriters(env.Seed, n, 1)),
			side{name: "http", run: h.closedLoop})
		if err != nil {
			return Result{}, err
		}
		if err := h.failure(); err != nil {
			return Result{}, err
		}
		p50, p99, err := h.openLoop(ctx, rates[1]/2, env.Plan.Duration*time.Duration(env.Plan.Reps))
		if err != nil {
			return Result{}, err
		}
		promise, covered, err := h.receiptCost(ctx)
		if err != nil {
			return Result{}, err
		}
		return Result{
			Value: rates[1],
			Baselines: []Baseline{{Name: fmt.Sprintf("the store alone, P3 workload (%d writers, 1 event/append), same run", n),
				Value: rates[0], Target: 0.4}},
			Note: fmt.Sprintf("%d clients, closed loop, median of %d × %s; %d writes, all answered 201 with a verified receipt; client and server share the machine",
				n, env.Plan.Reps, env.Plan.Duration, h.ok.Load()),
			More: []Extra{
				{ID: "P4-p50", Name: fmt.Sprintf("HTTP write latency p50 at half the throughput (%.0f writes/s, scheduled arrivals)", rates[1]/2), Unit: "ms", Value: p50},
				{ID: "P4-p99", Name: fmt.Sprintf("HTTP write latency p99 at half the throughput (%.0f writes/s, scheduled arrivals)", rates[1]/2), Unit: "ms", Value: p99, AtMost: 25},
				{ID: "P4-promise", Name: "receipt: signing the inclusion promise an answer carries (per write)", Unit: "µs", Value: promise},
				{ID: "P4-proof", Name: "receipt: from the answer until a signed checkpoint covers the write (median; nobody waits for it)", Unit: "ms", Value: covered},
			},
		}, nil
	}
	return m
}

// httpHarness is the clients of P4.
type httpHarness struct {
	ctx     context.Context
	srv     *Server
	clients int
	client  *http.Client
	process string
	vkey    string
	seq     atomic.Int64

	ok       atomic.Int64
	refused  atomic.Int64
	firstErr atomic.Pointer[string]

	// For a sample of acknowledged writes: how long after the answer a
	// signed checkpoint covered them.
	mu      sync.Mutex
	covered []float64
	waiting sync.WaitGroup
}

func newHTTPHarness(ctx context.Context, srv *Server, clients int) (*httpHarness, error) {
	if len(srv.Participants) < clients {
		return nil, fmt.Errorf("the server has %d participant tokens for %d clients", len(srv.Participants), clients)
	}
	h := &httpHarness{ctx: ctx, srv: srv, clients: clients, client: &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients},
	}}
	status, body, err := h.do(ctx, srv.Official, "/v1/processes", "p4-process",
		`{"title":{"sv":"Cykelbanor i Malmö","en":"Cycle lanes in Malmö"},"kind":"proposal",`+
			`"owner_body":"Tekniska nämnden","case_number":"TN-2026-0417","administrations":["Fastighets- och gatukontoret"],`+
			`"phases":[{"name":"förslag","starts_at":"2026-01-01T00:00:00Z","accepts":["submissions","comments","support"]}],`+
			`"support_threshold":100,"moderation_mode":"post","policy_reference":"Riktlinjer för digital dialog 2023"}`)
	if err != nil {
		return nil, err
	}
	if status != http.StatusCreated {
		return nil, fmt.Errorf("opening the process: %d %s", status, bytes.TrimSpace(body))
	}
	var p struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &p); err != nil || p.ID == "" {
		return nil, fmt.Errorf("opening the process: answer without id: %s", body)
	}
	h.process = p.ID
	resp, err := h.client.Get(srv.URL + "/v1/ledger/key")
	if err != nil {
		return nil, err
	}
	key, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("reading the verifier key: %d %v", resp.StatusCode, err)
	}
	h.vkey = strings.TrimSpace(string(key))
	return h, nil
}

func (h *httpHarness) do(ctx context.Context, token, path, key, body string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.srv.URL+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	resp, err := h.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// submit sends one proposal as client c and checks the answer; a refusal
// is counted (and the first quoted) and returned as an error.
func (h *httpHarness) submit(ctx context.Context, c int) error {
	n := h.seq.Add(1)
	body := fmt.Sprintf(`{"language":"sv","title":"Förslag %d: säkrare cykelpassage","body":"Korsningen vid Amiralsgatan behöver en upphöjd cykelpassage och bättre belysning; förslag nummer %d från klient %d."}`, n, n, c)
	status, b, err := h.do(ctx, h.srv.Participants[c], "/v1/processes/"+h.process+"/submissions", fmt.Sprintf("p4-%d-%d", c, n), body)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return h.refuse(fmt.Sprintf("request failed: %v", err))
	}
	if status != http.StatusCreated {
		return h.refuse(fmt.Sprintf("%d %s", status, bytes.TrimSpace(b)))
	}
	var ans struct {
		Position eventstore.Position `json:"position"`
		Receipt  integrity.Receipt   `json:"receipt"`
	}
	if err := json.Unmarshal(b, &ans); err != nil {
		return h.refuse(fmt.Sprintf("answer is not JSON: %v", err))
	}
	if ans.Position == 0 || ans.Receipt.Promise == "" || ans.Receipt.LeafIndex != int64(ans.Position)-1 {
		return h.refuse(fmt.Sprintf("answer without a position and a receipt for it: %s", b))
	}
	// Verifying every receipt would load the client side with an Ed25519
	// verification per write; one in 32 is checked.
	if n%32 == 1 {
		if err := integrity.VerifyReceipt(ans.Receipt, h.vkey); err != nil {
			return h.refuse(fmt.Sprintf("receipt does not verify: %v", err))
		}
		answered := time.Now()
		h.waiting.Go(func() {
			wctx, cancel := context.WithTimeout(h.ctx, 30*time.Second)
			defer cancel()
			if _, err := h.srv.Integrity.WaitFor(wctx, ans.Position); err != nil {
				h.refuse(fmt.Sprintf("acknowledged write at position %d not covered by a signed checkpoint within 30 s", ans.Position))
				return
			}
			h.mu.Lock()
			h.covered = append(h.covered, float64(time.Since(answered))/float64(time.Millisecond))
			h.mu.Unlock()
		})
	}
	h.ok.Add(1)
	return nil
}

func (h *httpHarness) refuse(msg string) error {
	h.refused.Add(1)
	h.firstErr.CompareAndSwap(nil, &msg)
	return errors.New(msg)
}

// failure is the honest summary of refused writes, or nil.
func (h *httpHarness) failure() error {
	if r := h.refused.Load(); r > 0 {
		return fmt.Errorf("the server refused %d of %d writes; first: %s", r, r+h.ok.Load(), *h.firstErr.Load())
	}
	return nil
}

// closedLoop: every client sends its next proposal as soon as the previous
// one is answered, for d; the rate of acknowledged writes.
func (h *httpHarness) closedLoop(ctx context.Context, d time.Duration) (float64, error) {
	rate, err := rate(ctx, d, h.clients, func(c int) (int, error) {
		return 1, h.submit(ctx, c)
	})
	if err != nil {
		return 0, errors.Join(err, h.failure())
	}
	return rate, nil
}

// openLoop sends writes at a fixed rate for d from the clients and returns
// the p50 and p99 latency in ms, measured from each write's scheduled time.
func (h *httpHarness) openLoop(ctx context.Context, perSecond float64, d time.Duration) (p50, p99 float64, err error) {
	if perSecond <= 0 {
		return 0, 0, errors.New("no throughput to take half of")
	}
	total := int(perSecond * d.Seconds())
	interval := time.Duration(float64(time.Second) / perSecond)
	start := time.Now().Add(10 * time.Millisecond)
	lat := make([]float64, total)
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Pointer[error]
	for c := range h.clients {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(total) || ctx.Err() != nil || firstErr.Load() != nil {
					return
				}
				at := start.Add(time.Duration(i) * interval)
				time.Sleep(time.Until(at))
				if err := h.submit(ctx, c); err != nil {
					firstErr.CompareAndSwap(nil, &err)
					return
				}
				lat[i] = float64(time.Since(at)) / float64(time.Millisecond)
			}
		})
	}
	wg.Wait()
	if p := firstErr.Load(); p != nil {
		return 0, 0, errors.Join(*p, h.failure())
	}
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	slices.Sort(lat)
	return round(lat[len(lat)/2], 3), round(lat[min(len(lat)-1, len(lat)*99/100)], 3), nil
}

// receiptCost measures signing one inclusion promise on the server's log,
// and returns, for the sampled writes, how long after their answer a signed
// checkpoint covered them (the median, in ms).
func (h *httpHarness) receiptCost(ctx context.Context) (promiseMicros, coveredMillis float64, err error) {
	const n = 2000
	ev := eventstore.Event{ID: uuid.New(), Stream: "submission-p4", Type: "SubmissionReceived", Version: 1,
		Data: []byte(`{"x":1}`), Position: 1, RecordedAt: time.Now()}
	start := time.Now()
	for i := range n {
		ev.Position = eventstore.Position(i + 1)
		if _, err := h.srv.Integrity.Promise(ev); err != nil {
			return 0, 0, err
		}
	}
	promiseMicros = round(float64(time.Since(start).Microseconds())/n, 3)

	h.waiting.Wait()
	if err := h.failure(); err != nil {
		return 0, 0, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.covered) == 0 {
		return 0, 0, errors.New("no write was sampled for the receipt's cost")
	}
	return promiseMicros, round(median(h.covered), 3), nil
}
