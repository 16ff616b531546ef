package reliability_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// The suites are bounded for CI; `make reliability` runs the long version.
var (
	cuts   = flag.Int("reliability.cuts", 25, "power cuts in TestPowerLoss")
	kills  = flag.Int("reliability.kills", 25, "kill -9 cycles in TestKill")
	seed   = flag.Uint64("reliability.seed", 0, "random seed (0: from the clock, printed)")
	ledger string // the ledger binary, built once by TestMain
)

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "ledger-reliability-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ledger = filepath.Join(dir, "ledger")
	build := exec.Command("go", "build", "-o", ledger, "../cmd/ledger")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the ledger:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func rng(t *testing.T) *rand.Rand {
	s := *seed
	if s == 0 {
		s = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -reliability.seed=%d)", s, s)
	return rand.New(rand.NewPCG(s, s>>1|1))
}

// proc is one `ledger serve` process.
type proc struct {
	cmd    *exec.Cmd
	url    string
	done   chan struct{}
	mu     sync.Mutex
	output bytes.Buffer // stderr: the log
	out    bytes.Buffer // stdout
}

func (p *proc) stdout() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

var servingRE = regexp.MustCompile(`on (http://127\.0\.0\.1:\d+)`)

// start starts `ledger serve` on dataDir at a free loopback port and
// returns once it has printed its address (not yet ready).
func start(t *testing.T, dataDir string) *proc {
	t.Helper()
	return startServe(t, dataDir, true)
}

// spawn starts `ledger serve` and returns at once, for faults during
// start-up.
func spawn(t *testing.T, dataDir string) *proc {
	t.Helper()
	return startServe(t, dataDir, false)
}

func startServe(t *testing.T, dataDir string, wait bool) *proc {
	t.Helper()
	p := &proc{done: make(chan struct{})}
	p.cmd = exec.Command(ledger, "serve", "--data", dataDir, "--addr", "127.0.0.1:0", "--rate", "0", "--log-level", "warn")
	stdout, err := p.cmd.StdoutPipe()
	require.NoError(t, err)
	p.cmd.Stderr = &lockedWriter{p: p}
	require.NoError(t, p.cmd.Start())
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.mu.Lock()
			p.out.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if m := servingRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case urls <- m[1]:
				default:
				}
			}
		}
	}()
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(p.kill) // a failed test leaves no ledger running on the mount
	if !wait {
		return p
	}
	select {
	case p.url = <-urls:
	case <-p.done:
		t.Fatalf("ledger serve exited during start-up: %s\n%s", p.cmd.ProcessState, p.logs())
	case <-time.After(60 * time.Second):
		p.kill()
		t.Fatalf("ledger serve did not start within 60 s:\n%s", p.logs())
	}
	return p
}

type lockedWriter struct{ p *proc }

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	if w.p.output.Len() < 1<<20 {
		w.p.output.Write(b)
	}
	return len(b), nil
}

func (p *proc) logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.output.String()
}

// kill is kill -9.
func (p *proc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop is a graceful stop (SIGTERM), which must finish within 30 s.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.kill()
		t.Fatalf("ledger serve did not stop within 30 s of SIGTERM:\n%s", p.logs())
	}
}

// ready waits until /readyz answers 200.
func (p *proc) ready(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			t.Fatalf("ledger serve exited before it was ready: %s\n%s", p.cmd.ProcessState, p.logs())
		default:
		}
		resp, err := http.Get(p.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("ledger serve not ready within 90 s:\n%s", p.logs())
}

var client = &http.Client{Timeout: 20 * time.Second}

// call sends one JSON request; status is 0 when no answer came.
func call(ctx context.Context, method, url, token, key, body string) (status int, answer map[string]any, err error) {
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err // an answer cut off is no answer
	}
	_ = json.Unmarshal(b, &answer)
	return resp.StatusCode, answer, nil
}

func mustCall(t *testing.T, method, url, token, body string) map[string]any {
	t.Helper()
	status, answer, err := call(context.Background(), method, url, token, uuid.NewString(), body)
	require.NoError(t, err)
	require.Less(t, status, 300, "%s %s: %d %v", method, url, status, answer)
	return answer
}

// world is what the writers need: a process open for proposals and the
// participants' tokens.
type world struct {
	admin        string
	auditor      string
	process      string
	participants []string // tokens
}

// setup makes a ledger in dataDir with an admin token, one process and
// participants with tokens; the ledger is stopped when it returns.
func setup(t *testing.T, dataDir string, participants int) world {
	t.Helper()
	out, err := exec.Command(ledger, "token", "create", "--data", dataDir, "--role", "admin", "--name", "reliability").CombinedOutput()
	require.NoError(t, err, "%s", out)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	w := world{admin: strings.TrimSpace(lines[len(lines)-1])}
	p := start(t, dataDir)
	defer p.stop(t)
	defer func() {
		if t.Failed() {
			t.Logf("ledger serve's log:\n%s", p.logs())
		}
	}()
	p.ready(t)
	w.process = mustCall(t, "POST", p.url+"/v1/processes", w.admin, `{"title":{"sv":"Trygghet i parken","en":"Safety in the park"},
		"kind":"proposal","owner_body":"Kommunstyrelsen","case_number":"KS-2026-101","administrations":["Stadskontoret"],
		"phases":[{"name":"förslag","starts_at":"2026-01-01T00:00:00Z","accepts":["submissions","comments","support"]}],
		"support_threshold":5,"moderation_mode":"post","policy_reference":"Riktlinjer 2023"}`)["id"].(string)
	w.auditor = mustCall(t, "POST", p.url+"/v1/tokens", w.admin, `{"name":"revisor","role":"auditor"}`)["token"].(string)
	for i := range participants {
		id := mustCall(t, "POST", p.url+"/v1/participants", w.admin,
			fmt.Sprintf(`{"pseudonym":"deltagare-%d","name":"Person %d","email":"p%d@example.se","language":"sv","research_use":true}`, i, i, i))["id"].(string)
		tok := mustCall(t, "POST", p.url+"/v1/tokens", w.admin,
			fmt.Sprintf(`{"name":"p%d","role":"participant","participant":%q}`, i, id))["token"].(string)
		w.participants = append(w.participants, tok)
	}
	return w
}

// op is one write a writer sent: a proposal with a key of its own.
type op struct {
	key, token, title string
	acked             bool
	maybe             bool // no answer, or 5xx: it may or may not be stored
	id, eventID       string
	position          float64
	receipt           map[string]any // the answer's receipt (a signed inclusion promise)
	last              string         // the last answer, for failure messages
}

func (o *op) body() string {
	return fmt.Sprintf(`{"language":"sv","title":%q,"body":"Skriven under fel; nyckel %s."}`, o.title, o.key)
}

// ledgerRun keeps every write sent over all cycles.
type ledgerRun struct {
	w       world
	dataDir string
	mu      sync.Mutex
	ops     []*op
	exports []*op             // auditor exports asked for (key, and id once acknowledged)
	secrets map[string][]byte // key files seen in use, by path in the data directory
	signed  uint64            // the largest signed checkpoint size served so far
}

func (r *ledgerRun) send(ctx context.Context, url string, o *op) {
	path, body := "/v1/processes/"+r.w.process+"/submissions", o.body()
	if o.token == r.w.auditor {
		path, body = "/v1/exports", `{"kind":"audit"}`
	}
	status, answer, err := call(ctx, "POST", url+path, o.token, o.key, body)
	r.mu.Lock()
	defer r.mu.Unlock()
	o.last = fmt.Sprintf("%d %v %v", status, answer, err)
	switch {
	case err == nil && (status == http.StatusCreated || status == http.StatusOK):
		o.acked, o.maybe = true, false
		o.id, _ = answer["id"].(string)
		o.eventID, _ = answer["event_id"].(string)
		o.position, _ = answer["position"].(float64)
		o.receipt, _ = answer["receipt"].(map[string]any)
	case err != nil || status >= 500:
		o.maybe = true
	default:
		o.maybe = true // a 4xx under faults (a 409 while the key is in flight): retried like a maybe
	}
}

// write runs n writers against url until ctx ends.
func (r *ledgerRun) write(ctx context.Context, url string, writers int, src *rand.Rand) {
	var wg sync.WaitGroup
	var seedMu sync.Mutex
	for range writers {
		wg.Go(func() {
			for ctx.Err() == nil {
				seedMu.Lock()
				tok := r.w.participants[src.IntN(len(r.w.participants))]
				seedMu.Unlock()
				key := uuid.NewString()
				o := &op{key: key, token: tok, title: "Förslag " + key}
				r.mu.Lock()
				r.ops = append(r.ops, o)
				r.mu.Unlock()
				r.send(ctx, url, o)
				if o.maybe && ctx.Err() == nil {
					time.Sleep(20 * time.Millisecond) // the server is going down
				}
			}
		})
	}
	wg.Wait()
}

// export asks for an auditor export, while the writers write.
func (r *ledgerRun) export(ctx context.Context, url string) {
	o := &op{key: uuid.NewString(), token: r.w.auditor}
	r.mu.Lock()
	r.exports = append(r.exports, o)
	r.mu.Unlock()
	r.send(ctx, url, o)
}

// verifyExports runs `ledger verify --export` on every acknowledged export
// (the ledger stopped): an export cut by a fault and resumed by its retry
// must verify like any other.
func (r *ledgerRun) verifyExports(t *testing.T) int {
	t.Helper()
	n := 0
	for _, o := range r.exports {
		require.True(t, o.acked, "export %s never acknowledged", o.key)
		out, err := exec.Command(ledger, "verify", "--export", filepath.Join(r.dataDir, "exports", o.id)).CombinedOutput()
		require.NoError(t, err, "ledger verify --export %s:\n%s", o.id, out)
		n++
	}
	return n
}

// checkReceipts completes every acknowledged write's receipt from the
// running ledger — its leaf hash must be the one promised, whatever faults
// came between — and verifies a sample of the completed receipts offline
// with `ledger verify --receipt`.
func (r *ledgerRun) checkReceipts(t *testing.T, url string, src *rand.Rand) int {
	t.Helper()
	keyAnswer := mustCall(t, "GET", url+"/v1/ledger/key", "", "")
	verifier, _ := keyAnswer["verifier"].(string)
	if verifier == "" {
		req, err := http.NewRequest("GET", url+"/v1/ledger/key", nil)
		require.NoError(t, err)
		resp, err := client.Do(req)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		verifier = strings.TrimSpace(string(b))
	}
	dir := t.TempDir()
	checked := 0
	for _, o := range r.ops {
		if !o.acked || o.receipt == nil {
			continue
		}
		idx, _ := o.receipt["leaf_index"].(float64)
		var completion map[string]any
		deadline := time.Now().Add(10 * time.Second)
		for {
			status, answer, err := call(context.Background(), "GET", fmt.Sprintf("%s/v1/ledger/receipt?index=%.0f", url, idx), "", "", "")
			require.NoError(t, err)
			if status == http.StatusOK {
				completion = answer
				break
			}
			require.Equal(t, http.StatusNotFound, status, "completing the receipt of %s: %v", o.key, answer)
			require.True(t, time.Now().Before(deadline), "no checkpoint covers leaf %.0f", idx)
			time.Sleep(100 * time.Millisecond)
		}
		require.Equal(t, o.receipt["leaf_hash"], completion["leaf_hash"], "the leaf promised to %s changed", o.key)
		full := map[string]any{}
		for k, v := range o.receipt {
			full[k] = v
		}
		for k, v := range completion {
			full[k] = v
		}
		checked++
		if src.IntN(50) != 0 && checked > 3 {
			continue
		}
		b, err := json.Marshal(full)
		require.NoError(t, err)
		file := filepath.Join(dir, o.key+".json")
		require.NoError(t, os.WriteFile(file, b, 0o600))
		out, err := exec.Command(ledger, "verify", "--receipt", file, "--key", verifier).CombinedOutput()
		require.NoError(t, err, "ledger verify --receipt (%s):\n%s", o.key, out)
	}
	return checked
}

// models reads the public read models as of position at (so that a
// rebuilt ledger, which may have moved on, answers for the same log).
func (r *ledgerRun) models(t *testing.T, url string, at float64) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, route := range []string{
		"/v1/processes", "/v1/processes/" + r.w.process, "/v1/processes/" + r.w.process + "/submissions",
		"/v1/reports/transparency", "/v1/stats/participation?process=" + r.w.process,
	} {
		sep := "?"
		if strings.Contains(route, "?") {
			sep = "&"
		}
		req, err := http.NewRequest("GET", fmt.Sprintf("%s%s%sas_of=%.0f", url, route, sep, at), nil)
		require.NoError(t, err)
		resp, err := client.Do(req)
		require.NoError(t, err)
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", route, b)
		out[route] = string(b)
	}
	return out
}

// head is the log's head position, as GET /v1/events reports it.
func (r *ledgerRun) head(t *testing.T, url string) float64 {
	t.Helper()
	ans := mustCall(t, "GET", url+"/v1/events?limit=1", r.w.admin, "")
	h, ok := ans["head"].(float64)
	require.True(t, ok, "no head in %v", ans)
	return h
}

// retry sends every write whose outcome is unknown again with its key: each
// must now be acknowledged, once.
func (r *ledgerRun) retry(t *testing.T, url string) {
	t.Helper()
	r.mu.Lock()
	var maybe []*op
	for _, o := range append(r.exports, r.ops...) {
		if o.maybe {
			maybe = append(maybe, o)
		}
	}
	r.mu.Unlock()
	for _, o := range maybe {
		// A few tries: a retry may meet its own first attempt still in
		// flight in a dying process's last answer (409), or a 503.
		for try := 0; try < 5 && !o.acked; try++ {
			if try > 0 {
				t.Logf("retry of %s answered %s; trying again", o.key, o.last)
				time.Sleep(200 * time.Millisecond)
			}
			r.send(context.Background(), url, o)
		}
		require.True(t, o.acked, "a retried write with key %s was not acknowledged: %s", o.key, o.last)
	}
}

func (r *ledgerRun) counts() (acked, maybe int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, o := range r.ops {
		if o.acked {
			acked++
		}
		if o.maybe {
			maybe++
		}
	}
	return acked, maybe
}

// check is the oracle, run on a ready ledger after every fault: every
// acknowledged write is in the log at the position it was acknowledged
// with, exactly once; nothing else was stored; the read model counts the
// same; and the sealed fields of acknowledged writes still open.
func (r *ledgerRun) check(t *testing.T, url string, src *rand.Rand) {
	t.Helper()
	r.checkKeys(t, url)
	events := readLog(t, url, r.w.admin)
	byID := map[string]logEvent{}
	submissions := 0
	for _, ev := range events {
		if ev.Type == "SubmissionReceived" {
			submissions++
			_, dup := byID[ev.ID]
			require.False(t, dup, "event %s stored twice", ev.ID)
			byID[ev.ID] = ev
		}
	}
	r.mu.Lock()
	var acked []*op
	for _, o := range r.ops {
		if o.acked {
			acked = append(acked, o)
		}
	}
	r.mu.Unlock()
	for _, o := range acked {
		ev, ok := byID[o.eventID]
		require.True(t, ok, "acknowledged write %s (event %s at %v) is lost", o.key, o.eventID, o.position)
		require.EqualValues(t, o.position, ev.Position, "acknowledged write %s moved", o.key)
	}
	require.Equal(t, len(acked), submissions, "the log holds submissions no one was told about, or duplicates")

	// The read model agrees with the log (once it has caught up).
	var count float64
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ov := mustCall(t, "GET", url+"/v1/processes/"+r.w.process, "", "")
		count = totalSubmissions(ov)
		if int(count) == submissions {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.Equal(t, submissions, int(count), "the process overview counts what the log holds")

	// Sealed fields open: the keys of acknowledged writes survived.
	for range min(5, len(acked)) {
		o := acked[src.IntN(len(acked))]
		sub := mustCall(t, "GET", url+"/v1/submissions/"+o.id+"?view=internal&purpose=reliability-test", r.w.admin, "")
		require.Contains(t, fmt.Sprint(sub), o.title, "the sealed title of %s no longer opens", o.key)
	}
}

// checkKeys checks that every key file the ledger has used — the signing
// key, the pseudonym key, the participants' data keys — is still there with
// the same bytes (a key lost to a power cut means a forked signing history,
// other pseudonyms, or sealed data that never opens again), and that the
// served checkpoint never went back.
func (r *ledgerRun) checkKeys(t *testing.T, url string) {
	t.Helper()
	now := map[string][]byte{}
	for _, pattern := range []string{"pseudonym.key", "integrity/*.key", "integrity/*key*", "keys/*"} {
		matches, err := filepath.Glob(filepath.Join(r.dataDir, pattern))
		require.NoError(t, err)
		for _, m := range matches {
			if strings.HasSuffix(m, ".tmp") {
				continue
			}
			b, err := os.ReadFile(m)
			require.NoError(t, err)
			rel, _ := filepath.Rel(r.dataDir, m)
			now[rel] = b
		}
	}
	for path, b := range r.secrets {
		got, ok := now[path]
		require.True(t, ok, "key file %s, in use before the fault, is gone", path)
		require.Equal(t, b, got, "key file %s changed", path)
	}
	r.secrets = now

	req, err := http.NewRequest("GET", url+"/v1/ledger/checkpoint", nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return // nothing signed yet
	}
	var cp struct {
		Size uint64 `json:"size"`
	}
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&cp))
	require.GreaterOrEqual(t, cp.Size, r.signed, "the served checkpoint went back from %d to %d", r.signed, cp.Size)
	r.signed = cp.Size
}

// totalSubmissions finds submissions.total in a process overview answer.
func totalSubmissions(v any) float64 {
	m, ok := v.(map[string]any)
	if !ok {
		return -1
	}
	if sub, ok := m["submissions"].(map[string]any); ok {
		if n, ok := sub["total"].(float64); ok {
			return n
		}
	}
	for _, c := range m {
		if n := totalSubmissions(c); n >= 0 {
			return n
		}
	}
	return -1
}

type logEvent struct {
	ID       string  `json:"id"`
	Type     string  `json:"type"`
	Position float64 `json:"position"`
}

// readLog reads the whole log through GET /v1/events.
func readLog(t *testing.T, url, token string) []logEvent {
	t.Helper()
	var all []logEvent
	from := 0.0 // exclusive
	for {
		req, err := http.NewRequest("GET", fmt.Sprintf("%s/v1/events?from=%.0f&limit=1000", url, from), nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		require.NoError(t, err)
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
		var page struct {
			Events []logEvent `json:"events"`
		}
		require.NoError(t, json.Unmarshal(b, &page), "%s", b)
		all = append(all, page.Events...)
		if len(page.Events) < 1000 {
			return all
		}
		from = page.Events[len(page.Events)-1].Position
	}
}

// verify runs `ledger verify --data` on a stopped ledger.
func verify(t *testing.T, dataDir string) {
	t.Helper()
	out, err := exec.Command(ledger, "verify", "--data", dataDir).CombinedOutput()
	require.NoError(t, err, "ledger verify failed:\n%s", out)
}
