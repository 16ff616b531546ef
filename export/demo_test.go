package export_test

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	// Some demo participants said no to research use: left out, counted.
	assert.Positive(t, res.Manifest.LeftOut["submissions"][export.NoResearchConsent])

	// Both clocks tell a consistent story: an item precedes the decision
	// on it, a decision the appeal against it, an appeal its decision; and
	// nothing is recorded before it occurred.
	occurred := map[string]time.Time{}
	for _, table := range []string{"submissions", "comments", "statements", "moderation_decisions", "appeals"} {
		for _, row := range csvRows(t, filepath.Join(out, table+".csv")) {
			o, r := parseTime(t, row["occurred_at"]), parseTime(t, row["recorded_at"])
			assert.False(t, r.Before(o), "%s %s recorded before it occurred", table, row["id"])
			occurred[row["id"]] = o
		}
	}
	recorded := map[string]time.Time{}
	for _, d := range csvRows(t, filepath.Join(out, "moderation_decisions.csv")) {
		recorded[d["id"]] = parseTime(t, d["recorded_at"])
		if item, ok := occurred[d["item_id"]]; ok {
			assert.False(t, occurred[d["id"]].Before(item), "decision %s before its item", d["id"])
		}
	}
	appeals := csvRows(t, filepath.Join(out, "appeals.csv"))
	require.NotEmpty(t, appeals)
	for _, a := range appeals {
		filed := occurred[a["id"]]
		assert.False(t, filed.Before(occurred[a["decision_id"]]), "appeal %s filed before the decision it appeals", a["id"])
		assert.False(t, parseTime(t, a["recorded_at"]).Before(recorded[a["decision_id"]]), "appeal %s recorded before the decision", a["id"])
		if a["decided_occurred_at"] != "" {
			assert.False(t, parseTime(t, a["decided_occurred_at"]).Before(filed), "appeal %s decided before it was filed", a["id"])
		}
	}

	b, err := os.ReadFile(filepath.Join(out, export.EventsFile))
	require.NoError(t, err)
	assert.Contains(t, string(b), `"type":"SomethingFuture","version":1`)
	assert.Contains(t, string(b), `"data":{"removed":true}`)
}

func csvRows(t *testing.T, name string) []map[string]string {
	t.Helper()
	fh, err := os.Open(name)
	require.NoError(t, err)
	defer fh.Close()
	recs, err := csv.NewReader(fh).ReadAll()
	require.NoError(t, err)
	var out []map[string]string
	for _, rec := range recs[1:] {
		row := map[string]string{}
		for i, v := range rec {
			row[recs[0][i]] = v
		}
		out = append(out, row)
	}
	return out
}

func parseTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	require.NoError(t, err)
	return tm
}
