package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/eventstore/memory"
	"github.com/malmo/participation-ledger/integrity"
)

// verifyFixture is a data directory whose integrity log covers the events
// of a memory store, plus an auditor export of it.
type verifyFixture struct {
	data, export string
	store        *memory.Store
	verifier     string
	older        string // a checkpoint file of size 10
	receipt      string
}

func newVerifyFixture(t *testing.T) verifyFixture {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f := verifyFixture{data: t.TempDir(), export: t.TempDir(), store: memory.New()}
	l, err := integrity.Open(f.data)
	require.NoError(t, err)
	appendN := func(n int) {
		for i := 0; i < n; i++ {
			_, err := f.store.Append(ctx, fmt.Sprintf("process-%d", i%3), eventstore.Any(), eventstore.EventData{
				ID: uuid.New(), Type: "ProcessPhaseChanged", Version: 1, Data: fmt.Appendf(nil, `{"i":%d}`, i),
			})
			require.NoError(t, err)
		}
		require.NoError(t, l.CatchUp(ctx, f.store))
	}
	appendN(10)
	old, err := l.SignCheckpoint()
	require.NoError(t, err)
	f.older = filepath.Join(t.TempDir(), "old-checkpoint")
	require.NoError(t, os.WriteFile(f.older, old.Note, 0o644))
	appendN(15)
	c, err := l.SignCheckpoint()
	require.NoError(t, err)
	f.verifier = l.Verifier()

	evs, err := f.store.ReadAll(ctx, 0, 100)
	require.NoError(t, err)
	r, err := l.Receipt(evs[4])
	require.NoError(t, err)
	b, err := json.Marshal(r)
	require.NoError(t, err)
	f.receipt = filepath.Join(t.TempDir(), "receipt.json")
	require.NoError(t, os.WriteFile(f.receipt, b, 0o644))
	require.NoError(t, l.Close())

	var nd bytes.Buffer
	for _, ev := range evs {
		nd.Write(eventstore.Canonical(ev))
		nd.WriteByte('\n')
	}
	require.NoError(t, os.WriteFile(filepath.Join(f.export, "events.ndjson"), nd.Bytes(), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(f.export, "checkpoint"), c.Note, 0o644))
	return f
}

func (f verifyFixture) run(t *testing.T, args ...string) (string, string, error) {
	var out, errOut bytes.Buffer
	open := func(string) (eventstore.Store, error) { return f.store, nil }
	getenv := func(string) string { return "" }
	err := runVerify(context.Background(), args, getenv, &out, &errOut, open)
	return out.String(), errOut.String(), err
}

func TestVerifyCommand(t *testing.T) {
	f := newVerifyFixture(t)

	out, _, err := f.run(t, "--export", f.export, "--key", f.verifier, "--since", f.older)
	require.NoError(t, err)
	assert.Contains(t, out, "ok: 25 events reproduce the signed checkpoint")
	assert.Contains(t, out, "extends the older checkpoint of size 10")
	assert.Contains(t, out, "(from --key)")

	_, _, err = f.run(t, "--export", f.export)
	require.ErrorContains(t, err, "pass --key", "an export alone does not say whom to trust")

	require.NoError(t, os.WriteFile(filepath.Join(f.export, "key"), []byte(f.verifier+"\n"), 0o644))
	out, _, err = f.run(t, "--export", f.export)
	require.NoError(t, err)
	assert.Contains(t, out, "from the export's key file")

	out, _, err = f.run(t, "--receipt", f.receipt, "--key", f.verifier)
	require.NoError(t, err)
	assert.Contains(t, out, "is leaf 4 (position 5)")

	// The data directory: key, stored hashes and history from DIR/integrity.
	out, _, err = f.run(t, "--data", f.data, "--since", f.older)
	require.NoError(t, err)
	assert.Contains(t, out, "pass --key for a check independent")
	assert.Contains(t, out, "ok: 25 events")

	// Tampering makes the command fail and name the event.
	events := filepath.Join(f.export, "events.ndjson")
	b, err := os.ReadFile(events)
	require.NoError(t, err)
	lines := strings.SplitAfter(string(b), "\n")
	lines[7] = strings.Replace(lines[7], `"i":7`, `"i":8`, 1)
	require.NoError(t, os.WriteFile(events, []byte(strings.Join(lines, "")), 0o644))
	_, _, err = f.run(t, "--export", f.export, "--key", f.verifier)
	require.ErrorIs(t, err, integrity.ErrMismatch)
	assert.Equal(t, 1, exitCode(err))
	t.Log(err)

	// A key that is not the ledger's.
	_, other, err := noteKey()
	require.NoError(t, err)
	_, _, err = f.run(t, "--receipt", f.receipt, "--key", other)
	require.ErrorIs(t, err, integrity.ErrSignature)

	_, _, err = f.run(t, "--export", f.export, "--receipt", f.receipt)
	require.ErrorIs(t, err, errUsage)
}

func noteKey() (string, string, error) {
	d := filepath.Join(os.TempDir(), uuid.NewString())
	defer os.RemoveAll(d)
	v, err := integrity.KeyVerifier(d)
	return "", v, err
}

func TestKeyCommand(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	getenv := func(k string) string {
		if k == "LEDGER_DATA" {
			return dir
		}
		return ""
	}
	require.NoError(t, cmdKey(context.Background(), nil, getenv, &out, &out))
	v, err := integrity.ReadVerifier(dir)
	require.NoError(t, err)
	assert.Equal(t, v+"\n", out.String())
	assert.True(t, strings.HasPrefix(v, integrity.DefaultOrigin+"+"))
}
