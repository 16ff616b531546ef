package ledger_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/eventstore/memory"
	"github.com/malmo/participation-ledger/ledger"
	"github.com/malmo/participation-ledger/privacy"
)

var (
	official = domain.Actor{ID: "official-eva", Role: domain.RoleOfficial}
	admin    = domain.Actor{ID: "admin-ali", Role: domain.RoleAdmin}
	intake   = domain.Actor{ID: "intake-ida", Role: domain.RoleIntake}
	modA     = domain.Actor{ID: "mod-anna", Role: domain.RoleModerator}
	modB     = domain.Actor{ID: "mod-bo", Role: domain.RoleModerator}
)

type fixture struct {
	t     *testing.T
	ctx   context.Context
	store eventstore.Store
	keys  *privacy.Keys
	svc   *ledger.Service
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	keys, err := privacy.Open(t.TempDir())
	require.NoError(t, err)
	store := memory.New()
	t.Cleanup(func() { store.Close() })
	return &fixture{t: t, ctx: context.Background(), store: store, keys: keys, svc: ledger.New(store, keys)}
}

func rq[C any](key string, c C) ledger.Request[C] {
	return ledger.Request[C]{Command: c, IdempotencyKey: key}
}

func (f *fixture) openProcess(threshold int, mode domain.ModerationMode) string {
	f.t.Helper()
	res, err := f.svc.OpenProcess(f.ctx, official, rq("open-"+string(mode), domain.OpenProcess{
		Title: domain.Text{Sv: "Nya cykelbanor i Rosengård"}, Kind: domain.KindProposal, OwnerBody: "Tekniska nämnden",
		CaseNumber: "TN-2024-1234", Administrations: []string{"Fastighets- och gatukontoret"},
		Phases: []domain.Phase{{Name: "förslag", StartsAt: time.Date(2024, 9, 1, 0, 0, 0, 0, time.UTC),
			Accepts: []domain.ContributionKind{domain.AcceptsSubmissions, domain.AcceptsComments, domain.AcceptsSupport, domain.AcceptsSurveyAnswers}}},
		SupportThreshold: threshold, ModerationMode: mode, PolicyReference: "Malmö stads riktlinjer 2023",
	}))
	require.NoError(f.t, err)
	return res.ID
}

func (f *fixture) register(key, pseudonym string) string {
	f.t.Helper()
	res, err := f.svc.RegisterParticipant(f.ctx, intake, rq(key, domain.RegisterParticipant{
		Pseudonym: pseudonym, Name: "Sara Lindqvist " + pseudonym, Email: strings.ReplaceAll(pseudonym, " ", ".") + "@example.se",
		District: "Rosengård", AgeBand: "30-39", Language: "sv",
	}))
	require.NoError(f.t, err)
	return res.ID
}

func participantActor(id string) domain.Actor {
	return domain.Actor{ID: id, Role: domain.RoleParticipant}
}

func (f *fixture) submit(key, process, author string) string {
	f.t.Helper()
	res, err := f.svc.ReceiveSubmission(f.ctx, participantActor(author), process, rq(key, domain.ReceiveSubmission{
		Language: "sv", Title: "Cykelbana längs Amiralsgatan", Body: "Jag föreslår en separerad cykelbana.",
	}))
	require.NoError(f.t, err)
	return res.ID
}

func (f *fixture) stream(name string) []eventstore.Event {
	f.t.Helper()
	evs, err := f.store.ReadStream(f.ctx, name, eventstore.ReadStreamOptions{Limit: 1000})
	require.NoError(f.t, err)
	return evs
}

func TestPersonalDataIsSealedAndOpens(t *testing.T) {
	f := newFixture(t)
	p := f.openProcess(0, domain.ModerationPost)
	who := f.register("reg-1", "cyklist42")
	sub := f.submit("sub-1", p, who)

	for _, stream := range []string{domain.StreamForParticipant(who), domain.StreamForSubmission(sub)} {
		for _, e := range f.stream(stream) {
			for _, plain := range []string{"Sara Lindqvist", "@example.se", "Rosengård", "Amiralsgatan", "separerad"} {
				assert.False(t, bytes.Contains(e.Data, []byte(plain)), "%s stores %q in plaintext: %s", e.Type, plain, e.Data)
			}
		}
	}
	ev := f.stream(domain.StreamForSubmission(sub))[0]
	de, err := domain.Decode(ev.Type, ev.Version, ev.Data)
	require.NoError(t, err)
	got := de.(*domain.SubmissionReceived)
	title, disposed := f.svc.Open(got.Title)
	assert.False(t, disposed)
	assert.Equal(t, "Cykelbana längs Amiralsgatan", title)
	assert.Equal(t, who, got.Author)
	assert.Equal(t, who, ev.Metadata.Actor)
	assert.Equal(t, "participant", ev.Metadata.Role)

	reg := f.stream(domain.StreamForParticipant(who))[0]
	assert.True(t, bytes.Contains(reg.Data, []byte(`"pseudonym":"cyklist42"`)))
	assert.Equal(t, intake.ID, reg.Metadata.Actor)
}

func TestRetryReturnsOriginalResult(t *testing.T) {
	f := newFixture(t)
	p := f.openProcess(0, domain.ModerationPost)
	who := f.register("reg-1", "a")
	sub := f.submit("sub-1", p, who)

	give := func() (ledger.Result, error) {
		return f.svc.GiveSupport(f.ctx, participantActor(who), sub, rq("support-1", domain.GiveSupport{}))
	}
	first, err := give()
	require.NoError(t, err)
	// State moved on (a revision) before the retry arrives: the retry must
	// still answer with the original events, not "already supports".
	_, err = f.svc.ReviseSubmission(f.ctx, participantActor(who), sub, rq("rev-1", domain.ReviseSubmission{Title: "Ny titel", Body: "Ny text"}))
	require.NoError(t, err)
	again, err := give()
	require.NoError(t, err)
	assert.Equal(t, first, again)
	assert.Len(t, f.stream(domain.StreamForSubmission(sub)), 3, "no duplicate SupportGiven")

	// A retried creation lands on the same new aggregate.
	assert.Equal(t, sub, f.submit("sub-1", p, who))

	// Without a key it is a new command, which the domain refuses.
	_, err = f.svc.GiveSupport(f.ctx, participantActor(who), sub, rq("support-2", domain.GiveSupport{}))
	assert.ErrorIs(t, err, domain.ErrConflict)
}

func TestIfMatch(t *testing.T) {
	f := newFixture(t)
	p := f.openProcess(0, domain.ModerationPost)
	stale := uint64(5)
	_, err := f.svc.ChangePhase(f.ctx, official, p, ledger.Request[domain.ChangePhase]{Command: domain.ChangePhase{To: "x"}, IfMatch: &stale, IdempotencyKey: "k"})
	var pre *ledger.PreconditionError
	require.ErrorAs(t, err, &pre)
	assert.Equal(t, uint64(0), pre.Actual)
	assert.True(t, pre.Exists)
	assert.ErrorIs(t, err, eventstore.ErrWrongExpectedVersion)

	current := uint64(0)
	res, err := f.svc.CloseProcess(f.ctx, official, p, ledger.Request[domain.CloseProcess]{Command: domain.CloseProcess{Reason: "klar"}, IfMatch: &current, IdempotencyKey: "c"})
	require.NoError(t, err)
	assert.Equal(t, uint64(1), res.Last().Revision)
}

func TestModerationAppealAndCaseHandling(t *testing.T) {
	f := newFixture(t)
	p := f.openProcess(2, domain.ModerationPost)
	author := f.register("reg-1", "a")
	other := f.register("reg-2", "b")
	third := f.register("reg-3", "c")
	sub := f.submit("sub-1", p, author)

	_, err := f.svc.GiveSupport(f.ctx, participantActor(other), sub, rq("s1", domain.GiveSupport{}))
	require.NoError(t, err)
	res, err := f.svc.GiveSupport(f.ctx, participantActor(third), sub, rq("s2", domain.GiveSupport{}))
	require.NoError(t, err)
	require.Len(t, res.Events, 2)
	assert.Equal(t, "SupportThresholdReached", res.Events[1].Type)

	com, err := f.svc.PostComment(f.ctx, participantActor(other), sub, rq("c1", domain.PostComment{Language: "sv", Body: "Bra idé!"}))
	require.NoError(t, err)
	assert.Equal(t, domain.StreamForComment(com.ID), com.Last().Stream)

	flag, err := f.svc.FlagContent(f.ctx, participantActor(other), domain.ItemSubmission, sub, rq("f1", domain.FlagContent{
		ContentVersion: 1, Source: domain.FlagByParticipant, Category: domain.CategoryIllegalOrHarmfulSpeech, Explanation: "Kränkande"}))
	require.NoError(t, err)
	dec, err := f.svc.DecideModeration(f.ctx, modA, domain.ItemSubmission, sub, rq("d1", domain.DecideModeration{
		ContentVersion: 1, Visibility: domain.VisibilityDisabled, Ground: domain.GroundIncompatible, PolicyClause: "4.2",
		GroundExplanation: "Villkoren förbjuder personangrepp.",
		Category:          domain.CategoryIllegalOrHarmfulSpeech, Explanation: "Personangrepp", AutomatedDecision: domain.AutomatedNot,
		Source: domain.SourceParticipantNotice, FlagIDs: []string{flag.ID}}))
	require.NoError(t, err)

	// Only the author appeals.
	_, err = f.svc.FileAppeal(f.ctx, participantActor(other), domain.ItemSubmission, sub, rq("a0", domain.FileAppeal{DecisionID: dec.ID, Grounds: "Fel"}))
	assert.ErrorIs(t, err, domain.ErrForbidden)
	appeal, err := f.svc.FileAppeal(f.ctx, participantActor(author), domain.ItemSubmission, sub, rq("a1", domain.FileAppeal{DecisionID: dec.ID, Grounds: "Det var inte ett angrepp"}))
	require.NoError(t, err)
	// Not by the moderator who decided.
	_, err = f.svc.DecideAppeal(f.ctx, modA, domain.ItemSubmission, sub, rq("ad0", domain.DecideAppeal{AppealID: appeal.ID, Outcome: domain.AppealOverturned, Explanation: "ok"}))
	assert.ErrorIs(t, err, domain.ErrForbidden)
	_, err = f.svc.DecideAppeal(f.ctx, modB, domain.ItemSubmission, sub, rq("ad1", domain.DecideAppeal{AppealID: appeal.ID, Outcome: domain.AppealOverturned, Explanation: "Inom ramarna"}))
	require.NoError(t, err)

	_, err = f.svc.ForwardSubmission(f.ctx, official, sub, rq("fw", domain.ForwardSubmission{To: "Stadsbyggnadskontoret", Note: "För yttrande"}))
	require.NoError(t, err)
	resp, err := f.svc.PublishResponse(f.ctx, official, sub, rq("resp", domain.PublishResponse{Body: "Beviljas delvis",
		ResponsibleBody: "Tekniska nämnden", DecisionReference: "TN 2024-10-17 §212", Outcome: domain.OutcomePartiallyApproved}))
	require.NoError(t, err)
	assert.Equal(t, "OfficialResponsePublished", resp.Last().Type)

	var types []string
	for _, e := range f.stream(domain.StreamForSubmission(sub)) {
		types = append(types, e.Type)
	}
	assert.Equal(t, []string{"SubmissionReceived", "SupportGiven", "SupportGiven", "SupportThresholdReached", "ContentFlagged",
		"ModerationDecided", "AppealFiled", "AppealDecided", "SubmissionForwarded", "OfficialResponsePublished"}, types)
}

func TestSurveyAnswerOncePerParticipant(t *testing.T) {
	f := newFixture(t)
	p := f.openProcess(0, domain.ModerationPost)
	who := f.register("reg-1", "a")
	_, err := f.svc.PublishSurvey(f.ctx, official, p, rq("survey", domain.PublishSurvey{Title: domain.Text{Sv: "Enkät"},
		Questions: []domain.Question{{ID: "q1", Kind: domain.QuestionFreeText, Text: domain.Text{Sv: "Vad tycker du?"}}}}))
	require.NoError(t, err)
	ans := domain.AnswerSurvey{Answers: []domain.SurveyResponse{{QuestionID: "q1", Text: "Mer grönska"}}}
	_, err = f.svc.AnswerSurvey(f.ctx, participantActor(who), p, rq("ans-1", ans))
	require.NoError(t, err)
	_, err = f.svc.AnswerSurvey(f.ctx, participantActor(who), p, rq("ans-2", ans))
	assert.ErrorIs(t, err, domain.ErrConflict)
	evs := f.stream(domain.StreamForSurveyAnswer(p, who))
	require.Len(t, evs, 1)
	assert.False(t, bytes.Contains(evs[0].Data, []byte("grönska")))
}

// failingStore fails appends of one event type once, to simulate a crash
// between shredding and recording it.
type failingStore struct {
	eventstore.Store
	mu     sync.Mutex
	failOn string
}

var errCrash = errors.New("simulated crash")

func (s *failingStore) Append(ctx context.Context, stream string, exp eventstore.ExpectedRevision, evs ...eventstore.EventData) (eventstore.AppendResult, error) {
	s.mu.Lock()
	fail := s.failOn != "" && evs[0].Type == s.failOn
	if fail {
		s.failOn = ""
	}
	s.mu.Unlock()
	if fail {
		return eventstore.AppendResult{}, errCrash
	}
	return s.Store.Append(ctx, stream, exp, evs...)
}

func TestDisposalShredsAndSurvivesCrash(t *testing.T) {
	f := newFixture(t)
	fs := &failingStore{Store: f.store}
	svc := ledger.New(fs, f.keys)
	p := f.openProcess(0, domain.ModerationPost)
	who := f.register("reg-1", "a")
	sub := f.submit("sub-1", p, who)
	keep := f.submit("sub-2", p, f.register("reg-2", "b"))

	dispose := rq("disp-1", domain.DecideDisposal{CaseNumber: "KS-2031-77", Scope: domain.ScopeParticipant, SubjectID: who,
		LegalBasis: "Dokumenthanteringsplan 4.3"})
	fs.failOn = "KeysShredded"
	_, err := svc.Dispose(f.ctx, admin, dispose)
	require.ErrorIs(t, err, errCrash)
	assert.True(t, f.keys.Shredded(who), "keys are destroyed before KeysShredded is recorded")

	res, err := svc.Dispose(f.ctx, admin, dispose)
	require.NoError(t, err)
	require.Len(t, res.Events, 2)
	assert.Equal(t, []string{"DisposalDecided", "KeysShredded"}, []string{res.Events[0].Type, res.Events[1].Type})

	evs := f.stream(domain.StreamForParticipant(who))
	require.Len(t, evs, 3, "one decision, one KeysShredded")
	de, err := domain.Decode(evs[2].Type, evs[2].Version, evs[2].Data)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{who, sub}, de.(*domain.KeysShredded).Subjects)

	// The submission's content is gone; another participant's is not.
	sr := f.stream(domain.StreamForSubmission(sub))[0]
	d, _ := domain.Decode(sr.Type, sr.Version, sr.Data)
	_, disposed := f.svc.Open(d.(*domain.SubmissionReceived).Body)
	assert.True(t, disposed)
	kr := f.stream(domain.StreamForSubmission(keep))[0]
	d, _ = domain.Decode(kr.Type, kr.Version, kr.Data)
	text, disposed := f.svc.Open(d.(*domain.SubmissionReceived).Body)
	assert.False(t, disposed)
	assert.NotEmpty(t, text)

	// A third identical request is a pure replay.
	again, err := svc.Dispose(f.ctx, admin, dispose)
	require.NoError(t, err)
	assert.Equal(t, res, again)
}

func TestGrantedErasureShreds(t *testing.T) {
	f := newFixture(t)
	who := f.register("reg-1", "a")
	req, err := f.svc.RequestErasure(f.ctx, participantActor(who), who, rq("er-1", domain.RequestErasure{Reason: "Jag flyttar"}))
	require.NoError(t, err)
	res, err := f.svc.DecideErasure(f.ctx, admin, who, rq("ed-1", domain.DecideErasure{RequestID: req.ID,
		Outcome: domain.ErasureGranted, Basis: "GDPR art. 17(1)(a)"}))
	require.NoError(t, err)
	assert.Equal(t, []string{"ErasureDecided", "KeysShredded"}, []string{res.Events[0].Type, res.Events[1].Type})
	assert.True(t, f.keys.Shredded(who))
}

func TestTokens(t *testing.T) {
	f := newFixture(t)
	res, err := f.svc.IssueToken(f.ctx, admin, rq("t1", ledger.IssueToken{Name: "mod-anna", Role: domain.RoleModerator}))
	require.NoError(t, err)
	require.Len(t, res.Token, 43, "32 bytes base64url")
	for _, e := range f.stream(domain.TokensStream) {
		assert.False(t, bytes.Contains(e.Data, []byte(res.Token)), "token stored in the clear")
	}
	p, err := f.svc.Authenticate(f.ctx, res.Token)
	require.NoError(t, err)
	assert.Equal(t, ledger.Principal{TokenID: res.ID, Name: "mod-anna", Role: domain.RoleModerator}, p)

	// A retry finds the original event but cannot show the secret again.
	again, err := f.svc.IssueToken(f.ctx, admin, rq("t1", ledger.IssueToken{Name: "mod-anna", Role: domain.RoleModerator}))
	require.NoError(t, err)
	assert.Equal(t, res.ID, again.ID)
	assert.Empty(t, again.Token)

	// Another service over the same store rebuilds the index.
	other := ledger.New(f.store, f.keys)
	_, err = other.Authenticate(f.ctx, res.Token)
	require.NoError(t, err)

	_, err = f.svc.RevokeToken(f.ctx, admin, rq("r1", ledger.RevokeToken{TokenID: res.ID, Reason: "slutat"}))
	require.NoError(t, err)
	_, err = f.svc.Authenticate(f.ctx, res.Token)
	assert.ErrorIs(t, err, ledger.ErrUnauthorized)
	_, err = f.svc.Authenticate(f.ctx, "not-a-token")
	assert.ErrorIs(t, err, ledger.ErrUnauthorized)

	_, err = f.svc.IssueToken(f.ctx, modA, rq("t2", ledger.IssueToken{Name: "x", Role: domain.RoleAdmin}))
	assert.ErrorIs(t, err, domain.ErrForbidden)
}

func TestParticipantData(t *testing.T) {
	f := newFixture(t)
	p := f.openProcess(0, domain.ModerationPost)
	who := f.register("reg-1", "a")
	other := f.register("reg-2", "b")
	sub := f.submit("sub-1", p, who)
	f.submit("sub-2", p, other)
	_, err := f.svc.DecideModeration(f.ctx, modA, domain.ItemSubmission, sub, rq("d1", domain.DecideModeration{
		ContentVersion: 1, Visibility: domain.VisibilityLabelled, Ground: domain.GroundIncompatible, PolicyClause: "2.1",
		Category: domain.CategoryOtherViolationTC, Explanation: "Utanför ämnet", GroundExplanation: "Villkoren 2.1: håll dig till ämnet.", AutomatedDecision: domain.AutomatedNot, Source: domain.SourceOwnInitiative}))
	require.NoError(t, err)

	evs, err := f.svc.ParticipantData(f.ctx, participantActor(who), who, "")
	require.NoError(t, err)
	var types []string
	var all bytes.Buffer
	for _, e := range evs {
		types = append(types, e.Type)
		all.Write(e.Data)
	}
	assert.Equal(t, []string{"ParticipantRegistered", "SubmissionReceived", "ModerationDecided"}, types)
	assert.Contains(t, all.String(), "Sara Lindqvist a", "opened for the participant")
	assert.Contains(t, all.String(), "Amiralsgatan")

	_, err = f.svc.ParticipantData(f.ctx, participantActor(other), who, "")
	assert.ErrorIs(t, err, domain.ErrForbidden)

	// Staff reads are recorded before the data is returned.
	_, err = f.svc.ParticipantData(f.ctx, intake, who, "begäran om registerutdrag")
	require.NoError(t, err)
	acc := f.stream(domain.StreamForAccess(intake.ID))
	require.Len(t, acc, 1)
	assert.Equal(t, "PersonalDataAccessed", acc[0].Type)

	_, err = f.svc.ParticipantData(f.ctx, intake, "nobody", "x")
	assert.ErrorIs(t, err, eventstore.ErrStreamNotFound)
}

func TestConcurrentWritersRetryOnConflict(t *testing.T) {
	f := newFixture(t)
	p := f.openProcess(0, domain.ModerationPost)
	sub := f.submit("sub-1", p, f.register("reg-0", "z"))
	// Two services share the store but not their in-process locks, like two
	// server processes: optimistic concurrency must still let all succeed.
	svcs := []*ledger.Service{f.svc, ledger.New(f.store, f.keys)}
	const n = 16
	ids := make([]string, n)
	for i := range n {
		ids[i] = f.register("reg-x"+string(rune('a'+i)), "p"+string(rune('a'+i)))
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			_, err := svcs[i%2].GiveSupport(f.ctx, participantActor(ids[i]), sub, rq("s", domain.GiveSupport{}))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
	assert.Len(t, f.stream(domain.StreamForSubmission(sub)), n+1)
}
