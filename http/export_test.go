package ledgerhttp_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/export"
	ledgerhttp "github.com/malmo/participation-ledger/http"
	"github.com/malmo/participation-ledger/integrity"
	"github.com/malmo/participation-ledger/privacy"
)

// followingLog catches the integrity log up with the store before each
// signature, as the server's integrity follower would have.
type followingLog struct {
	*integrity.Log
	store eventstore.Store
}

func (l followingLog) SignCheckpoint() (integrity.SignedCheckpoint, error) {
	if err := l.CatchUp(context.Background(), l.store); err != nil {
		return integrity.SignedCheckpoint{}, err
	}
	return l.Log.SignCheckpoint()
}

func exportEnv(t *testing.T) *env {
	t.Helper()
	return newEnv(t, func(cfg *ledgerhttp.Config) {
		data := t.TempDir()
		log, err := integrity.Open(data)
		require.NoError(t, err)
		t.Cleanup(func() { log.Close() })
		keys, err := privacy.Open(filepath.Join(data, "keys"))
		require.NoError(t, err)
		store := cfg.Service.Store()
		cfg.Exports = export.NewService(export.Source{Store: store, Log: followingLog{log, store},
			HistoryFile: filepath.Join(data, "integrity", "checkpoints"), Keys: keys, Secret: bytes.Repeat([]byte{7}, 32)},
			filepath.Join(data, "exports"))
	})
}

func TestExportRoutes(t *testing.T) {
	e := exportEnv(t)
	e.world()

	// The role decides the kind.
	r := e.must(403, e.do("POST", "/v1/exports", "auditor", `{"kind":"research"}`))
	assert.Contains(t, r.str(t, "detail"), "the auditor role may not ask for research exports", "not \"a auditor\"")
	assert.Equal(t, 403, e.do("POST", "/v1/exports", "researcher", `{"kind":"audit"}`).status)
	assert.Equal(t, 422, e.do("POST", "/v1/exports", "researcher", `{"kind":"research","to":"yesterday"}`).status)

	created := e.must(201, e.do("POST", "/v1/exports", "auditor", `{"kind":"audit"}`, "Idempotency-Key", "audit-1"))
	id := created.str(t, "id")
	require.NotEmpty(t, id)
	again := e.must(201, e.do("POST", "/v1/exports", "auditor", `{"kind":"audit"}`, "Idempotency-Key", "audit-1"))
	assert.Equal(t, id, again.str(t, "id"), "a retry is the same export")

	manifest := e.must(200, e.do("GET", "/v1/exports/"+id+"/manifest.json", "auditor", ""))
	m := manifest.json(t)
	assert.Equal(t, "audit", m["kind"])
	events := e.must(200, e.do("GET", "/v1/exports/"+id+"/events.ndjson", "auditor", ""))
	assert.Equal(t, "application/x-ndjson", events.header.Get("Content-Type"))
	ckpt := e.must(200, e.do("GET", "/v1/exports/"+id+"/checkpoint", "auditor", ""))
	key := e.must(200, e.do("GET", "/v1/exports/"+id+"/key", "auditor", ""))
	_, err := integrity.VerifyLeaves(bytes.NewReader(events.body), integrity.Config{Checkpoint: ckpt.body, Key: string(bytes.TrimSpace(key.body))})
	require.NoError(t, err, "the downloaded export verifies")

	// Researchers cannot read an auditor export; unknown files are 404.
	assert.Equal(t, 403, e.do("GET", "/v1/exports/"+id+"/events.ndjson", "researcher", "").status)
	assert.Equal(t, 404, e.do("GET", "/v1/exports/"+id+"/..%2Fkeys", "auditor", "").status)
	assert.Equal(t, 404, e.do("GET", "/v1/exports/"+id+"/nope.csv", "auditor", "").status)
	assert.Equal(t, 404, e.do("GET", "/v1/exports/not-an-id/manifest.json", "auditor", "").status)

	// The export is on record with the manifest's hash.
	evs, err := e.svc.Store().ReadStream(context.Background(), domain.ExportsStream, eventstore.ReadStreamOptions{Limit: 10})
	require.NoError(t, err)
	require.Len(t, evs, 1)
	de, err := domain.Decode(evs[0].Type, evs[0].Version, evs[0].Data)
	require.NoError(t, err)
	issued := de.(*domain.ExportIssued)
	sum := sha256.Sum256(manifest.body)
	assert.Equal(t, hex.EncodeToString(sum[:]), issued.ManifestHash)
	assert.Equal(t, "auditor", issued.Kind)
	assert.Equal(t, "auditor-1", issued.Requester)

	// A research export, readable by its researcher only.
	rid := e.must(201, e.do("POST", "/v1/exports", "researcher", `{"kind":"research"}`)).str(t, "id")
	rm := e.must(200, e.do("GET", "/v1/exports/"+rid+"/manifest.json", "researcher", "")).json(t)
	assert.Equal(t, "researcher-1", rm["recipient"])
	csv := e.must(200, e.do("GET", "/v1/exports/"+rid+"/submissions.csv", "researcher", ""))
	assert.Contains(t, string(csv.body), "author_id")
	assert.NotContains(t, string(csv.body), e.own)
	assert.Equal(t, 403, e.do("GET", "/v1/exports/"+rid+"/submissions.csv", "auditor", "").status)
}
