package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/eventstore/memory"
	"github.com/malmo/participation-ledger/ledger"
	"github.com/malmo/participation-ledger/privacy"
	"github.com/malmo/participation-ledger/projections"
)

// noClose keeps a test's memory store open when replay closes it.
type noClose struct{ eventstore.Store }

func (noClose) Close() error { return nil }

// replayFixture is a small ledger in a memory store, with its keys in a
// data directory, and an auditor export of it.
type replayFixture struct {
	data, export string
	store        *memory.Store
	process      string
	submission   string
	mid          eventstore.Position // after the first decision
}

func newReplayFixture(t *testing.T) replayFixture {
	t.Helper()
	ctx := context.Background()
	f := replayFixture{data: t.TempDir(), export: t.TempDir(), store: memory.New()}
	keys, err := privacy.Open(filepath.Join(f.data, "keys"))
	require.NoError(t, err)
	svc := ledger.New(f.store, keys)
	n := 0
	rq := func() string { n++; return "k" + strconv.Itoa(n) }
	official := domain.Actor{ID: "official-1", Role: domain.RoleOfficial}
	intake := domain.Actor{ID: "intake-1", Role: domain.RoleIntake}
	mod := domain.Actor{ID: "moderator-1", Role: domain.RoleModerator}

	res, err := svc.OpenProcess(ctx, official, ledger.Request[domain.OpenProcess]{IdempotencyKey: rq(), Command: domain.OpenProcess{
		Title: domain.Text{Sv: "Trygghet i Möllevången"}, Kind: domain.KindProposal, OwnerBody: "Kommunstyrelsen",
		CaseNumber: "KS-2024-622", ModerationMode: domain.ModerationPost, PolicyReference: "Riktlinjer 2023",
		Phases: []domain.Phase{{Name: "förslag", StartsAt: time.Date(2024, 9, 1, 0, 0, 0, 0, time.UTC),
			Accepts: []domain.ContributionKind{domain.AcceptsSubmissions}}}}})
	require.NoError(t, err)
	f.process = res.ID
	var subs []string
	for i := range 6 {
		p, err := svc.RegisterParticipant(ctx, intake, ledger.Request[domain.RegisterParticipant]{IdempotencyKey: rq(),
			Command: domain.RegisterParticipant{Pseudonym: fmt.Sprintf("p%d", i), Name: "Namn", District: "Möllevången", Language: "sv"}})
		require.NoError(t, err)
		s, err := svc.ReceiveSubmission(ctx, intake, f.process, ledger.Request[domain.ReceiveSubmission]{IdempotencyKey: rq(),
			Command: domain.ReceiveSubmission{Author: p.ID, Channel: domain.ChannelPaper, Language: "sv", Title: "T", Body: "B"}})
		require.NoError(t, err)
		subs = append(subs, s.ID)
	}
	f.submission = subs[0]
	decide := func(v domain.Visibility) ledger.Result {
		r, err := svc.DecideModeration(ctx, mod, domain.ItemSubmission, f.submission, ledger.Request[domain.DecideModeration]{
			IdempotencyKey: rq(), Command: domain.DecideModeration{ContentVersion: 1, Visibility: v,
				Ground: domain.GroundIncompatible, PolicyClause: "3.1", Category: domain.Category("other_violation_tc"),
				Explanation: "Utanför ämnet", GroundExplanation: "Villkoren 3.1: håll dig till ämnet.", AutomatedDecision: domain.AutomatedDecision("automated_decision_not_automated"),
				Source: domain.DecisionSource("source_voluntary")}})
		require.NoError(t, err)
		return r
	}
	f.mid = decide(domain.VisibilityLabelled).Last().Position
	decide(domain.VisibilityDisabled)

	evs, err := f.store.ReadAll(ctx, 0, 1000)
	require.NoError(t, err)
	var nd bytes.Buffer
	for _, ev := range evs {
		nd.Write(eventstore.Canonical(ev))
		nd.WriteByte('\n')
	}
	require.NoError(t, os.WriteFile(filepath.Join(f.export, "events.ndjson"), nd.Bytes(), 0o644))
	return f
}

func (f replayFixture) replay(t *testing.T, args ...string) (map[string]json.RawMessage, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := runReplay(context.Background(), args, func(string) string { return "" }, &out, &errOut,
		func(string) (eventstore.Store, error) { return noClose{f.store}, nil })
	if err != nil {
		return nil, errOut.String(), err
	}
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(out.Bytes(), &m), "stdout %s", out.String())
	return m, errOut.String(), nil
}

func TestReplay(t *testing.T) {
	f := newReplayFixture(t)
	ctx := context.Background()

	t.Run("data and export agree", func(t *testing.T) {
		for _, model := range []string{"overview", "submissions", "queue", "transparency", "actors"} {
			fromData, progress, err := f.replay(t, "--data", f.data, "--model", model)
			require.NoError(t, err)
			assert.Contains(t, progress, "replay: folded")
			fromExport, _, err := f.replay(t, "--export", f.export, "--model", model)
			require.NoError(t, err)
			assert.JSONEq(t, string(fromData[model]), string(fromExport[model]), model)
			assert.Equal(t, string(fromData["position"]), string(fromExport["position"]))
		}
	})

	t.Run("as of a position equals the runner's as-of fold", func(t *testing.T) {
		got, _, err := f.replay(t, "--data", f.data, "--model", "overview", "--to", strconv.FormatUint(uint64(f.mid), 10))
		require.NoError(t, err)
		assert.Equal(t, strconv.FormatUint(uint64(f.mid), 10), string(got["position"]))
		m := projections.NewProcesses()
		_, _, err = projections.Fold(ctx, projections.Events(ctx, f.store, 0, f.mid), m)
		require.NoError(t, err)
		want, err := json.Marshal(m.List())
		require.NoError(t, err)
		assert.JSONEq(t, string(want), string(got["overview"]))
		var ov []struct {
			Submissions struct{ Restricted, Hidden int }
		}
		require.NoError(t, json.Unmarshal(got["overview"], &ov))
		assert.Equal(t, 1, ov[0].Submissions.Restricted, "labelled, not yet hidden")
		assert.Equal(t, 0, ov[0].Submissions.Hidden)

		now, _, err := f.replay(t, "--export", f.export, "--model", "overview")
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(now["overview"], &ov))
		assert.Equal(t, 1, ov[0].Submissions.Hidden)
	})

	t.Run("as of a time", func(t *testing.T) {
		got, _, err := f.replay(t, "--export", f.export, "--model", "queue", "--to", "2001-01-01T00:00:00Z")
		require.NoError(t, err)
		assert.Equal(t, "0", string(got["position"]))
		assert.Equal(t, "[]", string(got["queue"]))
		got, _, err = f.replay(t, "--export", f.export, "--model", "actors", "--to", time.Now().Add(time.Hour).Format(time.RFC3339))
		require.NoError(t, err)
		head, _ := f.store.Head(ctx)
		assert.Equal(t, strconv.FormatUint(uint64(head), 10), string(got["position"]))
	})

	t.Run("item views", func(t *testing.T) {
		got, _, err := f.replay(t, "--export", f.export, "--model", "trail", "--item", f.submission)
		require.NoError(t, err)
		var trail []struct{ Type, Actor string }
		require.NoError(t, json.Unmarshal(got["trail"], &trail))
		require.Len(t, trail, 3)
		assert.Equal(t, "moderator-1", trail[2].Actor, "replay is an auditor's tool: actors named")

		got, _, err = f.replay(t, "--data", f.data, "--model", "submissions", "--item", f.submission, "--to", strconv.FormatUint(uint64(f.mid), 10))
		require.NoError(t, err)
		var sub struct{ Status string }
		require.NoError(t, json.Unmarshal(got["submissions"], &sub))
		assert.Equal(t, "restricted", sub.Status)

		_, _, err = f.replay(t, "--data", f.data, "--model", "submissions", "--item", "nope")
		assert.ErrorContains(t, err, "no submission")
	})

	t.Run("participation opens districts with the data directory's keys", func(t *testing.T) {
		type stats []struct {
			ByDistrict []struct {
				Key   string
				Count *int
			} `json:"participants_by_district"`
		}
		got, _, err := f.replay(t, "--data", f.data, "--model", "participation")
		require.NoError(t, err)
		var st stats
		require.NoError(t, json.Unmarshal(got["participation"], &st))
		require.Len(t, st, 1)
		require.Len(t, st[0].ByDistrict, 1)
		assert.Equal(t, "Möllevången", st[0].ByDistrict[0].Key)
		assert.Equal(t, 6, *st[0].ByDistrict[0].Count)

		got, _, err = f.replay(t, "--export", f.export, "--model", "participation")
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(got["participation"], &st))
		assert.Equal(t, projections.Unknown, st[0].ByDistrict[0].Key, "an export has no keys")
	})

	t.Run("usage", func(t *testing.T) {
		_, _, err := f.replay(t, "--data", f.data, "--model", "nope")
		assert.ErrorIs(t, err, errUsage)
		_, _, err = f.replay(t, "--data", f.data, "--model", "queue", "--to", "soon")
		assert.ErrorContains(t, err, "--to")
	})
}
