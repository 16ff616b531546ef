package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore/embedded"
	"github.com/malmo/participation-ledger/export"
	"github.com/malmo/participation-ledger/ledger"
	"github.com/malmo/participation-ledger/privacy"
)

// exportData makes a stopped ledger's data directory with a process, a
// participant and a submission.
func exportData(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	data := t.TempDir()
	store, err := embedded.Open(filepath.Join(data, "store"))
	require.NoError(t, err)
	keys, err := privacy.Open(filepath.Join(data, "keys"))
	require.NoError(t, err)
	svc := ledger.New(store, keys)
	official := domain.Actor{ID: "anna.lindqvist", Role: domain.RoleOfficial}
	proc, err := svc.OpenProcess(ctx, official, ledger.Request[domain.OpenProcess]{IdempotencyKey: "p", Command: domain.OpenProcess{
		Title: domain.Text{Sv: "Cykelbanor"}, Kind: domain.KindProposal, OwnerBody: "Tekniska nämnden", CaseNumber: "TN-2024-1",
		Phases: []domain.Phase{{Name: "förslag", StartsAt: time.Date(2024, 9, 1, 0, 0, 0, 0, time.UTC),
			Accepts: []domain.ContributionKind{domain.AcceptsSubmissions}}},
		ModerationMode: domain.ModerationPost, PolicyReference: "Riktlinjer"}})
	require.NoError(t, err)
	who, err := svc.RegisterParticipant(ctx, domain.Actor{ID: "sara.nilsson", Role: domain.RoleIntake}, ledger.Request[domain.RegisterParticipant]{
		IdempotencyKey: "r", Command: domain.RegisterParticipant{Pseudonym: "x", Name: "Hemligt Namn", Email: "hemlig@example.se", Language: "sv"}})
	require.NoError(t, err)
	_, err = svc.ReceiveSubmission(ctx, domain.Actor{ID: who.ID, Role: domain.RoleParticipant}, proc.ID, ledger.Request[domain.ReceiveSubmission]{
		IdempotencyKey: "s", Command: domain.ReceiveSubmission{Language: "sv", Title: "Förslag", Body: "Bygg en cykelbana"}})
	require.NoError(t, err)
	require.NoError(t, store.Close())
	return data
}

func runLedger(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, func(string) string { return "" }, &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestExportCommandAuditVerifies(t *testing.T) {
	data := exportData(t)
	out := filepath.Join(t.TempDir(), "audit")
	stdout, stderr, err := runLedger(t, "export", "--data", data, "--kind", "audit", "--out", out, "--requester", "per.wallin")
	require.NoError(t, err, stderr)
	assert.Contains(t, stdout, "audit export of positions 1..3, 3 events")
	assert.Contains(t, stdout, "recorded as ExportIssued at position 4")
	assert.Contains(t, stderr, "100%", "a progress bar on stderr")

	stdout, stderr, err = runLedger(t, "verify", "--export", out)
	require.NoError(t, err, stderr)
	assert.Contains(t, stdout, "ok: 3 events reproduce the signed checkpoint")

	m, err := export.ReadManifest(out)
	require.NoError(t, err)
	require.NoError(t, export.CheckFiles(out, m))

	// The export is on record, and the data directory still verifies.
	stdout, stderr, err = runLedger(t, "verify", "--data", data)
	require.NoError(t, err, stderr)
	assert.Contains(t, stdout, "ok: 4 events")

	// A second audit export covers the ExportIssued event too.
	out2 := filepath.Join(t.TempDir(), "audit2")
	_, stderr, err = runLedger(t, "export", "--data", data, "--kind", "audit", "--out", out2, "--quiet")
	require.NoError(t, err, stderr)
	stdout, stderr, err = runLedger(t, "verify", "--export", out2)
	require.NoError(t, err, stderr)
	assert.Contains(t, stdout, "ok: 4 events")
}

func TestExportCommandResearch(t *testing.T) {
	data := exportData(t)
	out := filepath.Join(t.TempDir(), "research")
	_, _, err := runLedger(t, "export", "--data", data, "--kind", "research", "--out", out)
	require.Error(t, err, "a research export needs a recipient")
	stdout, stderr, err := runLedger(t, "export", "--data", data, "--kind", "research", "--out", out, "--recipient", "eva.strand", "--quiet")
	require.NoError(t, err, stderr)
	assert.Contains(t, stdout, "research export of positions 1..3")
	for _, f := range []string{"events.ndjson", "submissions.csv", "submissions.parquet", "datapackage.json", "LICENSE", "manifest.json"} {
		b, err := os.ReadFile(filepath.Join(out, f))
		require.NoError(t, err, f)
		assert.False(t, strings.Contains(string(b), "Hemligt Namn") || strings.Contains(string(b), "hemlig@example.se"), "%s leaks personal data", f)
	}
	_, _, err = runLedger(t, "export", "--data", data, "--kind", "bogus", "--out", out)
	assert.ErrorIs(t, err, errUsage)
}
