package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
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
	"github.com/malmo/participation-ledger/export"
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
	writeManifest(t, f.export, int64(len(evs)), string(c.Note), c.Size)
	return f
}

// writeManifest writes the manifest.json an auditor export carries, listing
// every file in dir.
func writeManifest(t *testing.T, dir string, events int64, note string, size int64) {
	t.Helper()
	m := export.Manifest{Format: "participation-ledger-export", Kind: export.Audit, EventCount: events,
		FirstPosition: 1, LastPosition: eventstore.Position(events),
		Checkpoint: export.ManifestCheckpoint{Size: size, Note: note}}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		if e.Name() == export.ManifestName {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		sum := sha256.Sum256(b)
		m.Files = append(m.Files, export.ManifestFile{Name: e.Name(), Bytes: int64(len(b)), SHA256: hex.EncodeToString(sum[:])})
	}
	b, err := json.Marshal(m)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, export.ManifestName), b, 0o644))
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
	_, _, err = f.run(t, "--export", f.export)
	require.ErrorContains(t, err, "key is in the export but not in its manifest")
	ckpt, err := os.ReadFile(filepath.Join(f.export, "checkpoint"))
	require.NoError(t, err)
	writeManifest(t, f.export, 25, string(ckpt), 25)
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

// TestVerifyExportManifest: an export is checked whole — files, counts,
// range, checkpoint — and its own checkpoint history catches a rollback.
func TestVerifyExportManifest(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, dir string)
		want   string
	}{
		{"a file deleted", func(t *testing.T, dir string) {
			require.NoError(t, os.Remove(filepath.Join(dir, "checkpoints")))
		}, "checkpoints"},
		{"the manifest deleted", func(t *testing.T, dir string) {
			require.NoError(t, os.Remove(filepath.Join(dir, export.ManifestName)))
		}, "manifest.json"},
		{"an event count edited", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m *export.Manifest) { m.EventCount-- })
		}, "counts 24 events"},
		{"a file's hash edited", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m *export.Manifest) { m.Files[0].SHA256 = strings.Repeat("0", 64) })
		}, "sha"},
		{"a file's size edited", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m *export.Manifest) { m.Files[0].Bytes++ })
		}, ""},
		{"the position range edited", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m *export.Manifest) { m.LastPosition = 30 })
		}, "positions"},
		{"rolled back to an earlier checkpoint", func(t *testing.T, dir string) {
			// The history lists the final checkpoint; the export now claims
			// an older one as final (events cut to match).
			hist, err := os.ReadFile(filepath.Join(dir, "checkpoints"))
			require.NoError(t, err)
			notes, _ := integrity.SplitNotes(hist)
			require.Len(t, notes, 2)
			require.NoError(t, os.WriteFile(filepath.Join(dir, "checkpoint"), notes[0], 0o644))
			b, err := os.ReadFile(filepath.Join(dir, "events.ndjson"))
			require.NoError(t, err)
			lines := strings.SplitAfter(string(b), "\n")
			require.NoError(t, os.WriteFile(filepath.Join(dir, "events.ndjson"), []byte(strings.Join(lines[:10], "")), 0o644))
			writeManifest(t, dir, 10, string(notes[0]), 10)
		}, "rollback"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newVerifyFixture(t)
			ckpt, err := os.ReadFile(filepath.Join(f.export, "checkpoint"))
			require.NoError(t, err)
			older, err := os.ReadFile(f.older)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(f.export, "checkpoints"), append(append(older, '\n'), append(ckpt, '\n')...), 0o644))
			writeManifest(t, f.export, 25, string(ckpt), 25)
			_, _, err = f.run(t, "--export", f.export, "--key", f.verifier)
			require.NoError(t, err, "the untouched export verifies")
			tc.tamper(t, f.export)
			_, _, err = f.run(t, "--export", f.export, "--key", f.verifier)
			require.Error(t, err)
			assert.Equal(t, 1, exitCode(err))
			assert.Contains(t, strings.ToLower(err.Error()), tc.want)
		})
	}
}

func editManifest(t *testing.T, dir string, edit func(*export.Manifest)) {
	t.Helper()
	m, err := export.ReadManifest(dir)
	require.NoError(t, err)
	edit(&m)
	b, err := json.Marshal(m)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, export.ManifestName), b, 0o644))
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
