package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/eventstore/embedded"
	"github.com/malmo/participation-ledger/eventstore/kurrent"
	"github.com/malmo/participation-ledger/eventstore/kurrent/kurrenttest"
	"github.com/malmo/participation-ledger/integrity"
	"github.com/malmo/participation-ledger/ledger"
	"github.com/malmo/participation-ledger/privacy"
)

func rq[C any](key string, c C) ledger.Request[C] {
	return ledger.Request[C]{Command: c, IdempotencyKey: key}
}

// seedLedger writes a small but varied Malmö-like ledger through the
// command service: processes, participants (sealed personal data),
// submissions, support up to the threshold, comments, a flag, a moderation
// decision, an appeal decided by another moderator, a remiss, an official
// response and a disposal that shreds a participant's keys. round makes the
// keys and names of a second call distinct, so the ledger can grow.
func seedLedger(t *testing.T, ctx context.Context, svc *ledger.Service, round int) {
	t.Helper()
	official := domain.Actor{ID: "official-eva", Role: domain.RoleOfficial}
	intake := domain.Actor{ID: "intake-ida", Role: domain.RoleIntake}
	modA := domain.Actor{ID: "mod-anna", Role: domain.RoleModerator}
	modB := domain.Actor{ID: "mod-bo", Role: domain.RoleModerator}
	admin := domain.Actor{ID: "admin-ali", Role: domain.RoleAdmin}
	k := func(s string, i int) string { return fmt.Sprintf("r%d-%s-%d", round, s, i) }
	must := func(res ledger.Result, err error) ledger.Result {
		t.Helper()
		require.NoError(t, err)
		return res
	}
	for p := range 3 {
		proc := must(svc.OpenProcess(ctx, official, rq(k("open", p), domain.OpenProcess{
			Title: domain.Text{Sv: fmt.Sprintf("Trygghet i Möllevången %d-%d", round, p), En: "Safety"}, Kind: domain.KindProposal,
			OwnerBody: "Kommunstyrelsen", CaseNumber: fmt.Sprintf("KS-2024-%d", 600+10*round+p),
			Administrations: []string{"Stadskontoret", "Miljöförvaltningen"},
			Phases: []domain.Phase{{Name: "förslag", StartsAt: time.Date(2024, 9, 1, 0, 0, 0, 0, time.UTC),
				Accepts: []domain.ContributionKind{domain.AcceptsSubmissions, domain.AcceptsComments, domain.AcceptsSupport}}},
			SupportThreshold: 2, ModerationMode: domain.ModerationPost, PolicyReference: "Riktlinjer för digital dialog 2023",
		}))).ID
		var people []string
		for i := range 4 {
			people = append(people, must(svc.RegisterParticipant(ctx, intake, rq(k(fmt.Sprint("reg", p), i), domain.RegisterParticipant{
				Pseudonym: k(fmt.Sprint("p", p), i), Name: fmt.Sprintf("Sara Lindqvist %d", i), Email: k("mail", i) + "@example.se",
				District: "Rosengård", AgeBand: "30-39", Language: "sv",
			}))).ID)
		}
		who := func(i int) domain.Actor { return domain.Actor{ID: people[i], Role: domain.RoleParticipant} }
		sub := must(svc.ReceiveSubmission(ctx, who(0), proc, rq(k("sub", p), domain.ReceiveSubmission{
			Language: "sv", Title: "Bättre belysning", Body: "Belysningen i parken är dålig <särskilt> på kvällen & natten.",
		}))).ID
		for i := 1; i < 4; i++ {
			must(svc.GiveSupport(ctx, who(i), sub, rq(k(fmt.Sprint("support", p), i), domain.GiveSupport{})))
		}
		must(svc.PostComment(ctx, who(1), sub, rq(k("comment", p), domain.PostComment{Language: "sv", Body: "Bra idé!"})))
		flag := must(svc.FlagContent(ctx, who(2), domain.ItemSubmission, sub, rq(k("flag", p), domain.FlagContent{
			ContentVersion: 1, Source: domain.FlagByParticipant, Category: domain.CategoryIllegalOrHarmfulSpeech, Explanation: "Kränkande"})))
		dec := must(svc.DecideModeration(ctx, modA, domain.ItemSubmission, sub, rq(k("decide", p), domain.DecideModeration{
			ContentVersion: 1, Visibility: domain.VisibilityDisabled, Ground: domain.GroundIncompatible, PolicyClause: "4.2",
			GroundExplanation: "Villkoren förbjuder personangrepp.",
			Category:          domain.CategoryIllegalOrHarmfulSpeech, Explanation: "Personangrepp", AutomatedDecision: domain.AutomatedNot,
			Source: domain.SourceParticipantNotice, FlagIDs: []string{flag.ID}})))
		appeal := must(svc.FileAppeal(ctx, who(0), domain.ItemSubmission, sub, rq(k("appeal", p), domain.FileAppeal{DecisionID: dec.ID, Grounds: "Det var inte ett angrepp"})))
		must(svc.DecideAppeal(ctx, modB, domain.ItemSubmission, sub, rq(k("appeal-decision", p), domain.DecideAppeal{AppealID: appeal.ID, Outcome: domain.AppealOverturned, Explanation: "Inom ramarna"})))
		must(svc.ForwardSubmission(ctx, official, sub, rq(k("forward", p), domain.ForwardSubmission{To: "Stadsbyggnadskontoret", Note: "För yttrande"})))
		must(svc.PublishResponse(ctx, official, sub, rq(k("response", p), domain.PublishResponse{Body: "Beviljas delvis",
			ResponsibleBody: "Kommunstyrelsen", DecisionReference: "KS 2024-09-09 §418", Outcome: domain.OutcomePartiallyApproved})))
		must(svc.Dispose(ctx, admin, rq(k("dispose", p), domain.DecideDisposal{CaseNumber: "KS-2031-77", Scope: domain.ScopeParticipant,
			SubjectID: people[3], LegalBasis: "Dokumenthanteringsplan 4.3"})))
	}
}

// seedDataDir writes the seed ledger into DIR/store and DIR/keys.
func seedDataDir(t *testing.T, ctx context.Context, dir string, round int) {
	t.Helper()
	st, err := embedded.Open(filepath.Join(dir, "store"))
	require.NoError(t, err)
	defer st.Close()
	keys, err := privacy.Open(filepath.Join(dir, "keys"))
	require.NoError(t, err)
	seedLedger(t, ctx, ledger.New(st, keys), round)
	// The other secrets of a data directory, as `ledger serve` makes them.
	_, err = secret(filepath.Join(dir, "pseudonym.key"))
	require.NoError(t, err)
	_, err = integrity.KeyVerifier(dir)
	require.NoError(t, err)
}

func startFake(t *testing.T) *kurrenttest.Server {
	t.Helper()
	srv, err := kurrenttest.Start()
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	return srv
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func migrate(ctx context.Context, args ...string) (string, error) {
	var out bytes.Buffer
	err := run(ctx, append([]string{"migrate"}, args...), func(string) string { return "" }, &out, &out)
	return out.String(), err
}

// storeState is everything a backend holds: every event's canonical bytes,
// in position order, and the Merkle root over them.
type storeState struct {
	canonical []string
	root      tlog.Hash
}

func stateOf(t *testing.T, ctx context.Context, st eventstore.Store) storeState {
	t.Helper()
	evs, err := st.ReadAll(ctx, 0, eventstore.MaxReadLimit)
	require.NoError(t, err)
	var s storeState
	// The integrity log computes the root as `ledger serve` does, in a
	// scratch data directory of its own.
	log, err := integrity.Open(t.TempDir())
	require.NoError(t, err)
	defer log.Close()
	for i, e := range evs {
		require.Equal(t, eventstore.Position(i+1), e.Position)
		s.canonical = append(s.canonical, string(eventstore.Canonical(e)))
	}
	require.NoError(t, log.CatchUp(ctx, st))
	s.root, err = log.Root(int64(len(evs)))
	require.NoError(t, err)
	return s
}

func embeddedState(t *testing.T, ctx context.Context, dir string) storeState {
	t.Helper()
	st, err := embedded.Open(filepath.Join(dir, "store"))
	require.NoError(t, err)
	defer st.Close()
	return stateOf(t, ctx, st)
}

func kurrentState(t *testing.T, ctx context.Context, url string) storeState {
	t.Helper()
	st, err := kurrent.Open(ctx, url)
	require.NoError(t, err)
	defer st.Close()
	return stateOf(t, ctx, st)
}

// TestMigrateRoundTrip copies a seeded ledger embedded → KurrentDB (fake) →
// embedded and finds the same events, byte for byte, and the same Merkle
// root everywhere; the source's signed checkpoint verifies the final copy,
// which also got the source's secrets.
func TestMigrateRoundTrip(t *testing.T) {
	ctx := testCtx(t)
	srv := startFake(t)
	a, c := t.TempDir(), filepath.Join(t.TempDir(), "copy")
	seedDataDir(t, ctx, a, 0)
	want := embeddedState(t, ctx, a)
	require.Greater(t, len(want.canonical), 50)

	out, err := migrate(ctx, "--from", a, "--to", srv.URL(), "--page", "25")
	require.NoError(t, err, out)
	require.Contains(t, out, fmt.Sprintf("done: %d events copied", len(want.canonical)))
	require.Contains(t, out, "copied 25 of")
	require.Equal(t, want, kurrentState(t, ctx, srv.URL()))

	out, err = migrate(ctx, "--from", srv.URL(), "--to", c, "--keys-from", a)
	require.NoError(t, err, out)
	require.Equal(t, want, embeddedState(t, ctx, c))

	// Secrets came along: the same data keys (so sealed fields open), the
	// same pseudonyms and the same signing key.
	secrets := []string{"pseudonym.key", "integrity/signing.key"}
	keysA, err := os.ReadDir(filepath.Join(a, "keys"))
	require.NoError(t, err)
	require.NotEmpty(t, keysA)
	for _, e := range keysA {
		secrets = append(secrets, filepath.Join("keys", e.Name()))
	}
	for _, f := range secrets {
		wantB, err := os.ReadFile(filepath.Join(a, f))
		require.NoError(t, err)
		got, err := os.ReadFile(filepath.Join(c, f))
		require.NoError(t, err, f)
		require.Equal(t, wantB, got, f)
	}
	vc, err := integrity.KeyVerifier(c)
	require.NoError(t, err)
	va, err := integrity.KeyVerifier(a)
	require.NoError(t, err)
	require.Equal(t, va, vc)

	// The signed checkpoint of the source verifies the copy.
	logA, err := integrity.Open(a)
	require.NoError(t, err)
	stA, err := embedded.Open(filepath.Join(a, "store"))
	require.NoError(t, err)
	require.NoError(t, logA.CatchUp(ctx, stA))
	ck, err := logA.SignCheckpoint()
	require.NoError(t, err)
	require.NoError(t, logA.Close())
	require.NoError(t, stA.Close())
	stC, err := embedded.Open(filepath.Join(c, "store"))
	require.NoError(t, err)
	defer stC.Close()
	rep, err := integrity.VerifyStore(ctx, stC, integrity.Config{Checkpoint: ck.Note, Key: logA.Verifier()})
	require.NoError(t, err)
	require.Equal(t, int64(len(want.canonical)), rep.Events)
}

// TestMigrateResumes interrupts a copy, grows the source, and runs again:
// the second and third runs check the copied prefix and continue after it.
func TestMigrateResumes(t *testing.T) {
	ctx := testCtx(t)
	srv := startFake(t)
	a := t.TempDir()
	seedDataDir(t, ctx, a, 0)
	n := len(embeddedState(t, ctx, a).canonical)

	// Cancel the first run once it has reported its first page.
	cctx, cancel := context.WithCancel(ctx)
	var out cancelOn
	out.cancel, out.marker = cancel, "copied 10 of"
	err := run(cctx, []string{"migrate", "--from", a, "--to", srv.URL(), "--page", "10"}, func(string) string { return "" }, &out, &out)
	require.Error(t, err)
	all, system := srv.Count()
	copied := all - system
	require.Greater(t, copied, 0)
	require.Less(t, copied, n)

	res, err := migrate(ctx, "--from", a, "--to", srv.URL())
	require.NoError(t, err, res)
	require.Contains(t, res, fmt.Sprintf("resuming after position %d", copied))
	require.Contains(t, res, fmt.Sprintf("done: %d events copied", n-copied))

	seedDataDir(t, ctx, a, 1)
	want := embeddedState(t, ctx, a)
	res, err = migrate(ctx, "--from", a, "--to", srv.URL())
	require.NoError(t, err, res)
	require.Contains(t, res, fmt.Sprintf("resuming after position %d", n))
	require.Equal(t, want, kurrentState(t, ctx, srv.URL()))

	// Nothing left: a rerun copies nothing and writes nothing.
	appends := srv.Appends()
	res, err = migrate(ctx, "--from", a, "--to", srv.URL())
	require.NoError(t, err, res)
	require.Contains(t, res, "done: 0 events copied")
	require.Equal(t, appends, srv.Appends())
}

// cancelOn cancels a context once marker has been written to it.
type cancelOn struct {
	bytes.Buffer
	marker string
	cancel context.CancelFunc
}

func (c *cancelOn) Write(p []byte) (int, error) {
	n, err := c.Buffer.Write(p)
	if strings.Contains(c.String(), c.marker) {
		c.cancel()
	}
	return n, err
}

// TestMigrateRefuses: a target that is not a prefix of the source (another
// ledger, or a longer one) is refused and left as it was, and so is a data
// directory target whose secrets differ.
func TestMigrateRefuses(t *testing.T) {
	ctx := testCtx(t)
	a, b := t.TempDir(), t.TempDir()
	seedDataDir(t, ctx, a, 0)
	seedDataDir(t, ctx, b, 7) // another ledger: different ids from position 1
	before := embeddedState(t, ctx, b)

	srv := startFake(t)
	out, err := migrate(ctx, "--from", b, "--to", srv.URL())
	require.NoError(t, err, out)
	out, err = migrate(ctx, "--from", a, "--to", srv.URL())
	require.ErrorContains(t, err, "not a prefix of the source: position 1 ", out)
	require.Equal(t, before, kurrentState(t, ctx, srv.URL()), "a refused target is unchanged")

	// b's secrets differ from a's: refused before any event is copied.
	c := filepath.Join(t.TempDir(), "c")
	require.NoError(t, os.MkdirAll(filepath.Join(c, "keys"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(c, "pseudonym.key"), bytes.Repeat([]byte{1}, 32), 0o600))
	_, err = migrate(ctx, "--from", a, "--to", c)
	require.ErrorContains(t, err, "pseudonym.key differs")
	require.NoFileExists(t, filepath.Join(c, "store"))

	// A longer target than the source.
	small := t.TempDir()
	st, err := embedded.Open(filepath.Join(small, "store"))
	require.NoError(t, err)
	require.NoError(t, st.Close())
	_, err = migrate(ctx, "--from", small, "--to", srv.URL())
	require.ErrorContains(t, err, "more than the source's 0")

	// A mistyped source is not created.
	_, err = migrate(ctx, "--from", filepath.Join(t.TempDir(), "nope"), "--to", srv.URL())
	require.ErrorContains(t, err, "not a ledger data directory")
}

// TestMigrateBackTakesKeysFromKurrent: a node that served on KurrentDB
// moved its data keys into the database; migrating back to a data
// directory brings them (and the shreddings) along.
func TestMigrateBackTakesKeysFromKurrent(t *testing.T) {
	ctx := testCtx(t)
	srv := startFake(t)
	a, c := t.TempDir(), filepath.Join(t.TempDir(), "copy")
	seedDataDir(t, ctx, a, 0)
	out, err := migrate(ctx, "--from", a, "--to", srv.URL())
	require.NoError(t, err, out)

	// Serving a on KurrentDB moves its key files into the database.
	st, err := kurrent.Open(ctx, srv.URL())
	require.NoError(t, err)
	_, err = openKeys(a, st, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	left, err := os.ReadDir(filepath.Join(a, "keys"))
	require.NoError(t, err)
	require.Empty(t, left)
	var live, gone []string
	require.NoError(t, st.Vault().Each(func(s string, _ []byte, _ privacy.Labels, shredded bool) error {
		if shredded {
			gone = append(gone, s)
		} else {
			live = append(live, s)
		}
		return nil
	}))
	require.NotEmpty(t, live)
	require.NotEmpty(t, gone, "the seed disposes of a participant")

	out, err = migrate(ctx, "--from", srv.URL(), "--to", c, "--keys-from", a)
	require.NoError(t, err, out)
	require.Contains(t, out, fmt.Sprintf("copied %d data keys and %d shreddings from KurrentDB", len(live), len(gone)))
	files, err := privacy.Files(filepath.Join(c, "keys"))
	require.NoError(t, err)
	for _, s := range live {
		want, err := st.Vault().Key(s)
		require.NoError(t, err)
		got, err := files.Key(s)
		require.NoError(t, err)
		require.Equal(t, want, got, s)
	}
	for _, s := range gone {
		_, err := files.Key(s)
		require.ErrorIs(t, err, privacy.ErrShredded, s)
	}
	require.NoError(t, st.Close())
}
