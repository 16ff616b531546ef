package export_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/demo"
	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/eventstore/memory"
	"github.com/malmo/participation-ledger/export"
	"github.com/malmo/participation-ledger/integrity"
	"github.com/malmo/participation-ledger/ledger"
	"github.com/malmo/participation-ledger/privacy"
)

// TestResearchExportOfTheDemo exports the demo history: every participant's
// name and e-mail stays out, and an event type the export does not know
// has its body removed rather than copied.
func TestResearchExportOfTheDemo(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store := memory.New()
	defer store.Close()
	keys, err := privacy.Open(filepath.Join(dir, "keys"))
	require.NoError(t, err)
	svc := ledger.New(store, keys)
	_, err = demo.Seed(ctx, svc, demo.Config{Seed: 1, Size: demo.Small})
	require.NoError(t, err)
	_, err = store.Append(ctx, "future-1", eventstore.NoStream(), eventstore.EventData{ID: uuid.New(), Type: "SomethingFuture", Version: 1,
		Data: []byte(`{"note":"FutureSecret-Text"}`)})
	require.NoError(t, err)
	log, err := integrity.Open(dir)
	require.NoError(t, err)
	defer log.Close()
	require.NoError(t, log.CatchUp(ctx, store))

	// The personal data the demo sealed that must not come out.
	secrets := []string{"FutureSecret-Text"}
	evs, err := store.ReadAll(ctx, 0, eventstore.MaxReadLimit)
	require.NoError(t, err)
	for _, e := range evs {
		if e.Type != "ParticipantRegistered" {
			continue
		}
		de, err := domain.Decode(e.Type, e.Version, e.Data)
		require.NoError(t, err)
		pr := de.(*domain.ParticipantRegistered)
		for _, p := range []domain.Personal{pr.Name, pr.Email} {
			if text, disposed := svc.Open(p); !disposed && len(text) > 3 {
				secrets = append(secrets, text)
			}
		}
	}
	require.Greater(t, len(secrets), 10)

	out := filepath.Join(t.TempDir(), "export")
	res, err := export.Run(ctx, export.Source{Store: store, Log: log, HistoryFile: filepath.Join(dir, "integrity", "checkpoints"),
		Keys: keys, Secret: []byte("demo-secret-demo-secret-demo-sec")}, export.Options{Kind: export.Research, Dir: out, Recipient: "eva.strand"})
	require.NoError(t, err)
	require.NoError(t, export.CheckFiles(out, res.Manifest))
	assert.Greater(t, res.Manifest.Tables["submissions"], int64(5))
	assert.Greater(t, res.Manifest.Tables["moderation_decisions"], int64(0))
	assert.Greater(t, res.Manifest.Tables["appeals"], int64(0))

	for _, f := range res.Manifest.Files {
		b, err := os.ReadFile(filepath.Join(out, f.Name))
		require.NoError(t, err)
		for _, s := range secrets {
			if strings.Contains(string(b), s) {
				t.Errorf("%s contains personal data %q", f.Name, s)
			}
		}
	}
	b, err := os.ReadFile(filepath.Join(out, export.EventsFile))
	require.NoError(t, err)
	assert.Contains(t, string(b), `"type":"SomethingFuture","version":1`)
	assert.Contains(t, string(b), `"data":{"removed":true}`)
}
