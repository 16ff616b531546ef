package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/bench"
	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/eventstore/kurrent"
	"github.com/malmo/participation-ledger/eventstore/kurrent/kurrenttest"
	"github.com/malmo/participation-ledger/integrity"
	"github.com/malmo/participation-ledger/ledger"
	"github.com/malmo/participation-ledger/projections"
)

// scaleNode is one `ledger serve` of a scale-out: a node over its own data
// directory, following the shared KurrentDB, behind a loopback HTTP server.
type scaleNode struct {
	*node
	srv *httptest.Server
}

func startScaleNode(t *testing.T, ctx context.Context, url, dir, signingKey string, opts ...kurrent.Option) *scaleNode {
	t.Helper()
	n, err := openNode(ctx, nodeConfig{
		dataDir: dir, storeURL: url, kurrentOpts: opts,
		integrityOpt: []integrity.Option{integrity.WithSigningKeyFile(signingKey), integrity.WithCheckpointInterval(10 * time.Millisecond)},
	})
	require.NoError(t, err)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- n.Run(runCtx) }()
	s := &scaleNode{node: n, srv: httptest.NewServer(n.Handler())}
	t.Cleanup(func() {
		s.srv.Close()
		stop()
		require.NoError(t, <-done)
		require.NoError(t, n.Close())
	})
	return s
}

var idemSeq atomic.Int64

// post writes through a node's HTTP API and returns the answer's id and
// position.
func (s *scaleNode) post(t *testing.T, path, token, body string) (string, eventstore.Position) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", fmt.Sprint("scale-", idemSeq.Add(1)))
	res, err := s.srv.Client().Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, res.StatusCode, "POST %s: %s", path, b)
	var out struct {
		ID       string              `json:"id"`
		Position eventstore.Position `json:"position"`
	}
	require.NoError(t, json.Unmarshal(b, &out), "%s", b)
	require.NotZero(t, out.Position)
	return out.ID, out.Position
}

// get reads through a node's HTTP API and returns the body.
func (s *scaleNode) get(t *testing.T, path, token string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.srv.URL+path, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := s.srv.Client().Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode, "GET %s: %s", path, b)
	return string(b)
}

// readModels is every read model's state as JSON, at the position the
// runner has applied.
func (s *scaleNode) readModels(t *testing.T) (eventstore.Position, map[string]string) {
	t.Helper()
	out := map[string]string{}
	at, states, err := s.runner.States()
	require.NoError(t, err)
	for name, b := range states {
		out[name] = string(b)
	}
	return at, out
}

// TestScaleOut runs two ledger nodes with separate data directories (one
// signing key and one pseudonym key between them, as a deployment shares
// its secrets) against one KurrentDB. Both accept writes over HTTP; a write
// acknowledged by one shows up in the other's live feed; once quiet, both
// have the same read models, Merkle root and signed checkpoint.
func TestScaleOut(t *testing.T) {
	testScaleOut(t, startFake(t).URL())
}

// TestScaleOutLive runs the two-node test against a real KurrentDB (in a
// namespace of its own).
func TestScaleOutLive(t *testing.T) {
	url := os.Getenv("LEDGER_TEST_KURRENT_URL")
	if url == "" {
		t.Skip("LEDGER_TEST_KURRENT_URL is not set")
	}
	testScaleOut(t, url, kurrent.WithNamespace(fmt.Sprintf("scaleout-%d-", time.Now().UnixNano())))
}

func testScaleOut(t *testing.T, url string, opts ...kurrent.Option) {
	ctx := testCtx(t)
	secrets := t.TempDir()
	_, err := integrity.KeyVerifier(secrets)
	require.NoError(t, err)
	signingKey := filepath.Join(secrets, "integrity", "signing.key")
	pseudonymKey, err := secret(filepath.Join(secrets, "pseudonym.key"))
	require.NoError(t, err)
	var nodes []*scaleNode
	for _, name := range []string{"a", "b"} {
		dir := filepath.Join(t.TempDir(), name)
		require.NoError(t, os.MkdirAll(dir, 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "pseudonym.key"), pseudonymKey, 0o600))
		nodes = append(nodes, startScaleNode(t, ctx, url, dir, signingKey, opts...))
	}
	a, b := nodes[0], nodes[1]

	// Tokens and participants are bootstrapped through node a's service;
	// node b learns the tokens from the shared log.
	boot := domain.Actor{ID: "bootstrap", Role: domain.RoleAdmin}
	token := func(name string, role domain.Role, participant string) string {
		res, err := a.svc.IssueToken(ctx, boot, rq("boot-"+name, ledger.IssueToken{Name: name, Role: role, Participant: participant}))
		require.NoError(t, err)
		return res.Token
	}
	official, modA, modB := token("official-1", domain.RoleOfficial, ""), token("mod-1", domain.RoleModerator, ""), token("mod-2", domain.RoleModerator, "")
	admin := token("admin-1", domain.RoleAdmin, "")
	var people, ids []string
	for i := range 4 {
		res, err := a.svc.RegisterParticipant(ctx, domain.Actor{ID: "intake-1", Role: domain.RoleIntake}, rq(fmt.Sprint("boot-p", i),
			domain.RegisterParticipant{Pseudonym: fmt.Sprint("deltagare", i), Name: fmt.Sprint("Namn ", i), Email: fmt.Sprint(i, "@example.se"), Language: "sv"}))
		require.NoError(t, err)
		people = append(people, token(fmt.Sprint("p", i), domain.RoleParticipant, res.ID))
		ids = append(ids, res.ID)
	}

	// Node b's live feed, from the start of the log.
	seen := make(chan eventstore.Position, 1024)
	liveCtx, stopLive := context.WithCancel(ctx)
	defer stopLive()
	go func() {
		for c, err := range b.runner.Hub().Changes(liveCtx, 0) {
			if err != nil {
				return
			}
			seen <- c.Event.Position
		}
	}()
	waitSeen := func(want eventstore.Position) {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case p := <-seen:
				if p >= want {
					return
				}
			case <-timeout:
				t.Fatalf("position %d never reached node b's live feed", want)
			}
		}
	}

	// Writes alternate between the nodes, on shared streams too.
	process, pos := a.post(t, "/v1/processes", official, `{"title":{"sv":"Trygghet i Möllevången"},"kind":"proposal",
		"owner_body":"Kommunstyrelsen","case_number":"KS-2024-622","administrations":["Stadskontoret"],
		"phases":[{"name":"förslag","starts_at":"2024-09-01T00:00:00Z","accepts":["submissions","comments","support"]}],
		"support_threshold":2,"moderation_mode":"post","policy_reference":"Riktlinjer för digital dialog 2023"}`)
	waitSeen(pos) // acknowledged by a, in b's live feed
	sub, _ := b.post(t, "/v1/processes/"+process+"/submissions", people[0], `{"language":"sv","title":"Bättre belysning","body":"Parken är mörk."}`)
	for i := 1; i < 4; i++ {
		nodes[i%2].post(t, "/v1/submissions/"+sub+"/support", people[i], `{}`)
	}
	_, pos = a.post(t, "/v1/submissions/"+sub+"/comments", people[2], `{"language":"sv","body":"Håller med!"}`)
	waitSeen(pos)
	dec, _ := b.post(t, "/v1/moderation/decisions", modA, `{"item":{"kind":"submission","id":"`+sub+`"},"content_version":1,
		"visibility":"content_labelled","ground":"incompatible_content","policy_clause":"3.1","category":"other_violation_tc",
		"explanation":"Delvis utanför ämnet","ground_explanation":"Villkoren 3.1: håll dig till ämnet.","automated_decision":"automated_decision_not_automated","source":"source_voluntary"}`)
	appeal, _ := a.post(t, "/v1/appeals", people[0], `{"item":{"kind":"submission","id":"`+sub+`"},"decision_id":"`+dec+`","grounds":"Det hör till ämnet"}`)
	b.post(t, "/v1/appeals/"+appeal+"/decision", modB, `{"item":{"kind":"submission","id":"`+sub+`"},"outcome":"overturned","explanation":"Inom ramarna"}`)

	// Personal data sealed through node a opens on node b: the data keys
	// live in KurrentDB, shared by both nodes.
	const secret = "Min gata är Södra Förstadsgatan 12"
	private, sealedAt := a.post(t, "/v1/processes/"+process+"/submissions", people[1], `{"language":"sv","title":"Trafiken","body":"`+secret+`"}`)
	require.NoError(t, b.runner.Wait(ctx, sealedAt))
	require.Contains(t, b.get(t, "/v1/submissions/"+private, ""), secret, "node b opens what node a sealed")
	require.Contains(t, b.get(t, "/v1/participants/"+ids[3]+"/data", people[3]), "Namn 3", "node b opens a registration made through node a")
	require.Contains(t, a.get(t, "/v1/submissions/"+private, ""), secret)

	// A disposal through node b makes the data unreadable on node a as soon
	// as node b has answered, whether or not node a has read the decision:
	// node a's view as of before the disposal, which does not know of it,
	// cannot open the text either.
	before := fmt.Sprint("/v1/submissions/", private, "?as_of=", sealedAt)
	require.Contains(t, a.get(t, before, ""), secret)
	b.post(t, "/v1/disposals", admin, `{"case_number":"KS-2024-700","scope":"submission","subject_id":"`+private+`","legal_basis":"Gallringsbeslut KS 2024-09-09 §420"}`)
	view := a.get(t, before, "")
	require.NotContains(t, view, secret, "disposed on node b, unreadable on node a at once")
	require.Contains(t, view, `"disposed":true`)
	require.NotContains(t, a.get(t, "/v1/submissions/"+private, ""), secret)
	_, pos = b.post(t, "/v1/disposals", admin, `{"case_number":"KS-2024-701","scope":"participant","subject_id":"`+ids[3]+`","legal_basis":"Gallringsbeslut KS 2024-09-09 §421"}`)
	data := a.get(t, "/v1/participants/"+ids[3]+"/data?purpose=disposal-check", admin)
	require.NotContains(t, data, "Namn 3")
	require.NotContains(t, data, "3@example.se")

	head, err := a.store.Head(ctx)
	require.NoError(t, err)
	require.GreaterOrEqual(t, head, pos)
	for _, n := range nodes {
		require.NoError(t, n.runner.Wait(ctx, head))
		_, err := n.integrity.WaitFor(ctx, head)
		require.NoError(t, err)
	}
	posA, modelsA := a.readModels(t)
	posB, modelsB := b.readModels(t)
	require.Equal(t, head, posA)
	require.Equal(t, head, posB)
	require.Equal(t, modelsA, modelsB, "identical read models")
	require.Contains(t, modelsA[projections.NameProcesses], "KS-2024-622")

	rootA, err := a.integrity.Root(int64(head))
	require.NoError(t, err)
	rootB, err := b.integrity.Root(int64(head))
	require.NoError(t, err)
	require.Equal(t, rootA, rootB)
	ckA, err := a.integrity.SignCheckpoint()
	require.NoError(t, err)
	ckB, err := b.integrity.SignCheckpoint()
	require.NoError(t, err)
	require.Equal(t, int64(head), ckA.Size)
	require.True(t, bytes.Equal(ckA.Note, ckB.Note), "the same signed checkpoint:\n%s\n%s", ckA.Note, ckB.Note)
}

// bulkDomain writes n generated domain events straight into the fake's log,
// encoded as the KurrentDB adapter encodes them, as other nodes would have
// written them.
func bulkDomain(t *testing.T, srv *kurrenttest.Server, g *bench.LogGen, n int) {
	t.Helper()
	at := time.Date(2024, 9, 2, 8, 0, 0, 0, time.UTC)
	for i := range n {
		stream, e := g.Next()
		md, err := json.Marshal(struct {
			eventstore.Metadata
			SchemaVersion int       `json:"schema_version"`
			RecordedAt    time.Time `json:"recorded_at"`
		}{e.Metadata, e.Version, at.Add(time.Duration(i) * time.Second)})
		require.NoError(t, err)
		srv.AppendDirect(stream, esdb.EventData{EventID: e.ID, EventType: e.Type, ContentType: esdb.ContentTypeJson, Data: e.Data, Metadata: md})
		if i%4096 == 4095 {
			g.Publish()
		}
	}
	g.Publish()
}

// TestScaleOutRestart restarts a ledger node over a 100 000-event log on
// KurrentDB and counts what the server sends it: only what was appended
// while it was down (read by the Position index, the read models and the
// integrity log), never the log from the start.
func TestScaleOutRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	srv := startFake(t)
	g := bench.NewLogGen(18)
	size := eventstore.Position(100_000)
	if raceEnabled {
		size = 10_000 // the race detector makes folding 100 000 events take minutes
	}
	const late = 25
	bulkDomain(t, srv, g, int(size))
	dir := t.TempDir()
	start := func() (*node, func()) {
		n, err := openNode(ctx, nodeConfig{dataDir: dir, storeURL: srv.URL()})
		require.NoError(t, err)
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- n.Run(runCtx) }()
		return n, func() {
			stop()
			require.NoError(t, <-done)
			require.NoError(t, n.Close())
		}
	}
	caughtUp := func(n *node, head eventstore.Position) {
		require.NoError(t, n.runner.Wait(ctx, head))
		_, err := n.integrity.WaitFor(ctx, head)
		require.NoError(t, err)
	}

	began := time.Now()
	n, stop := start()
	caughtUp(n, size)
	t.Logf("first start over %d events: %v", size, time.Since(began).Round(time.Millisecond))
	stop()
	require.Eventually(t, func() bool { return srv.LiveSubscriptions() == 0 }, 10*time.Second, 5*time.Millisecond)

	before, _ := srv.Count()
	bulkDomain(t, srv, g, late)
	after, _ := srv.Count()
	sent, reads := srv.EventsSent(), srv.AllReads()
	began = time.Now()
	n, stop = start()
	defer stop()
	caughtUp(n, size+late)
	read, probes := srv.EventsSent()-sent, srv.AllReads()-reads
	t.Logf("restart: %d records appended while down; %d events sent to the node in %d reads of $all; caught up in %v",
		after-before, read, probes, time.Since(began).Round(time.Millisecond))
	// Each read of $all starts at the record the node last saw and returns
	// it again (KurrentDB's reads include their start): the index's check
	// at start-up, and each check for news (Head, a read near the head).
	require.LessOrEqual(t, read, after-before+probes)
	require.LessOrEqual(t, probes, 20, "a handful of checks, not a read of the log")
}
