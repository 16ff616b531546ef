package dsa_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/demo"
	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/dsa"
	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/eventstore/memory"
	"github.com/malmo/participation-ledger/ledger"
	"github.com/malmo/participation-ledger/privacy"
)

// database is a stand-in for the DSA Transparency Database's bulk endpoint
// on loopback: it checks the token, applies the same rules (ValidateBulk)
// and the platform-wide puid uniqueness, and injects the faults in
// script (by call number, from 1): "503", "429", or "drop" (store the
// statements, then cut the connection before answering).
type database struct {
	mu     sync.Mutex
	token  string
	puids  map[string]bool
	calls  int
	script map[int]string
}

func (d *database) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls++
	if r.Method != http.MethodPost || r.URL.Path != "/api/v1/statements" {
		http.NotFound(w, r)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+d.token {
		http.Error(w, `{"message":"Unauthenticated."}`, http.StatusUnauthorized)
		return
	}
	switch d.script[d.calls] {
	case "503":
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
		return
	case "429":
		w.Header().Set("Retry-After", "0")
		http.Error(w, "slow down", http.StatusTooManyRequests)
		return
	}
	body, _ := io.ReadAll(r.Body)
	errs, err := dsa.ValidateBulk(body)
	if err != nil || len(errs) > 0 {
		w.WriteHeader(http.StatusUnprocessableEntity)
		_ = json.NewEncoder(w).Encode(map[string]any{"errors": errs})
		return
	}
	var b dsa.Bulk
	_ = json.Unmarshal(body, &b)
	var existing []string
	for _, s := range b.Statements {
		if d.puids[s.PUID] {
			existing = append(existing, s.PUID)
		}
	}
	if len(existing) > 0 {
		w.WriteHeader(http.StatusUnprocessableEntity)
		_ = json.NewEncoder(w).Encode(map[string]any{"message": "The platform identifier(s) are not all unique within this call.",
			"errors": map[string]any{"puid": []string{"The platform identifier(s) are not all unique within this call."}, "existing_puids": existing}})
		return
	}
	for _, s := range b.Statements {
		d.puids[s.PUID] = true
	}
	if d.script[d.calls] == "drop" {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
		return
	}
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(b)
}

func TestClientSubmitsRetriesAndRecords(t *testing.T) {
	ctx := context.Background()
	store := memory.New()
	t.Cleanup(func() { _ = store.Close() })
	keys, err := privacy.Open(t.TempDir())
	require.NoError(t, err)
	svc := ledger.New(store, keys)
	_, err = demo.Seed(ctx, svc, demo.Config{Seed: 1, Size: demo.Small})
	require.NoError(t, err)

	db := &database{token: "X|secret", puids: map[string]bool{}, script: map[int]string{1: "503", 2: "429", 3: "drop"}}
	srv := httptest.NewServer(db)
	t.Cleanup(srv.Close)
	system := domain.Actor{ID: "dsa-submitter", Role: domain.RoleSystem}
	n := 0
	client := &dsa.Client{URL: srv.URL, Token: db.token, HTTP: srv.Client(), Attempts: 5, Backoff: time.Millisecond,
		Record: func(ctx context.Context, rec domain.RecordDSASubmission) error {
			n++
			_, err := svc.RecordDSASubmission(ctx, system, ledger.Request[domain.RecordDSASubmission]{
				IdempotencyKey: "dsa-test-" + string(rune('0'+n)), Command: rec})
			return err
		}}

	res, err := dsa.Collect(ctx, store, 0)
	require.NoError(t, err)
	require.NotEmpty(t, res.Statements)
	recs, err := client.SubmitAll(ctx, res)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	assert.Equal(t, domain.DSAAccepted, recs[0].Outcome, recs[0].Detail)
	assert.Equal(t, 4, recs[0].Attempts, "503, 429, a lost answer, then the database's 'already there'")
	assert.Len(t, db.puids, len(res.Statements), "every statement is in the database once")

	// The submission is an event; the next run finds nothing pending.
	evs, err := store.ReadStream(ctx, domain.DSASubmissionsStream, eventstore.ReadStreamOptions{Direction: eventstore.Forwards, Limit: 10})
	require.NoError(t, err)
	require.Len(t, evs, 1)
	de, err := domain.Decode(evs[0].Type, evs[0].Version, evs[0].Data)
	require.NoError(t, err)
	sub := de.(*domain.DSAStatementsSubmitted)
	assert.Equal(t, srv.URL+"/api/v1/statements", sub.Endpoint)
	assert.Len(t, sub.PUIDs, len(res.Statements))
	assert.Equal(t, "dsa-submitter", sub.SubmittedBy)
	res, err = dsa.Collect(ctx, store, 0)
	require.NoError(t, err)
	assert.Empty(t, res.Pending())
	calls := db.calls
	recs, err = client.SubmitAll(ctx, res)
	require.NoError(t, err)
	assert.Empty(t, recs)
	assert.Equal(t, calls, db.calls, "nothing posted again")

	// The database refuses a wrong token and a bad statement: no retry.
	bad := &dsa.Client{URL: srv.URL, Token: "wrong", HTTP: srv.Client(), Backoff: time.Millisecond}
	one := dsa.Bulk{Statements: []dsa.Statement{{PUID: "x-1"}}}
	rec := bad.Submit(ctx, one)
	assert.Equal(t, domain.DSARefused, rec.Outcome)
	assert.Equal(t, http.StatusUnauthorized, rec.Status)
	assert.Equal(t, 1, rec.Attempts)
	rec = client.Submit(ctx, one)
	assert.Equal(t, domain.DSARefused, rec.Outcome)
	assert.Equal(t, 1, rec.Attempts)
	assert.Contains(t, rec.Detail, "statement_0")

	// An unreachable database: every attempt fails, the outcome says so.
	srv.Close()
	rec = client.Submit(ctx, dsa.Bulk{Statements: res.Statements[:1]})
	assert.Equal(t, domain.DSAFailed, rec.Outcome)
	assert.Equal(t, 5, rec.Attempts)
	assert.NotEmpty(t, rec.Detail)
}
