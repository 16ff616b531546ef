package export_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/eventstore/memory"
	"github.com/malmo/participation-ledger/export"
	"github.com/malmo/participation-ledger/integrity"
	"github.com/malmo/participation-ledger/ledger"
	"github.com/malmo/participation-ledger/privacy"
)

// Strings planted in personal fields and in content that must not reach a
// research export: names, e-mails, hidden, disposed and free-text content.
var planted = []string{
	"Plantad Personsson", "plantad.personsson@example.se", "Hemlig-Stadsdel",
	"DoldText-Kränkande", "GallradText-Borta", "EnkätFritext-Privat", "FlaggText-Privat", "ÖverklagandeText-Privat",
	"DisplayPseudonym-Unik",
}

var (
	official = domain.Actor{ID: "anna.lindqvist", Role: domain.RoleOfficial}
	intake   = domain.Actor{ID: "sara.nilsson", Role: domain.RoleIntake}
	modA     = domain.Actor{ID: "karin.sjoberg", Role: domain.RoleModerator}
	modB     = domain.Actor{ID: "lars.ekdahl", Role: domain.RoleModerator}
	admin    = domain.Actor{ID: "maria.holm", Role: domain.RoleAdmin}
)

// fixture is a small ledger with every table's kind of row, planted
// personal strings, a hidden and a disposed submission, and a second
// process.
type fixture struct {
	t       *testing.T
	ctx     context.Context
	store   eventstore.Store
	keys    *privacy.Keys
	svc     *ledger.Service
	log     *integrity.Log
	dataDir string
	secret  []byte

	process, other                  string
	public, hidden, disposed, third string
	author                          string
	b, c                            string // the other two participants
}

func rq[C any](key string, c C) ledger.Request[C] {
	return ledger.Request[C]{Command: c, IdempotencyKey: key}
}

func p(id string) domain.Actor { return domain.Actor{ID: id, Role: domain.RoleParticipant} }

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	keys, err := privacy.Open(dir + "/keys")
	require.NoError(t, err)
	store := memory.New()
	t.Cleanup(func() { store.Close() })
	f := &fixture{t: t, ctx: context.Background(), store: store, keys: keys, dataDir: dir,
		secret: []byte("0123456789abcdef0123456789abcdef")}
	now := time.Date(2024, 9, 2, 8, 0, 0, 0, time.UTC)
	f.svc = ledger.New(store, keys, ledger.WithClock(func() time.Time { now = now.Add(time.Minute); return now }))
	f.seed()
	f.log, err = integrity.Open(dir)
	require.NoError(t, err)
	t.Cleanup(func() { f.log.Close() })
	require.NoError(t, f.log.CatchUp(f.ctx, store))
	return f
}

func (f *fixture) must(res ledger.Result, err error) ledger.Result {
	f.t.Helper()
	require.NoError(f.t, err)
	return res
}

func (f *fixture) openProcess(key, title string) string {
	return f.must(f.svc.OpenProcess(f.ctx, official, rq(key, domain.OpenProcess{
		Title: domain.Text{Sv: title, En: "Bike lanes"}, Kind: domain.KindProposal, OwnerBody: "Tekniska nämnden",
		CaseNumber: "TN-2024-1234", Administrations: []string{"Fastighets- och gatukontoret", "Stadskontoret"},
		Phases: []domain.Phase{{Name: "förslag", StartsAt: time.Date(2024, 9, 1, 0, 0, 0, 0, time.UTC),
			Accepts: []domain.ContributionKind{domain.AcceptsSubmissions, domain.AcceptsComments, domain.AcceptsSupport, domain.AcceptsSurveyAnswers}}},
		SupportThreshold: 2, ModerationMode: domain.ModerationPost, PolicyReference: "Malmö stads riktlinjer 2023",
	}))).ID
}

func (f *fixture) register(key, pseudonym, name string) string {
	return f.must(f.svc.RegisterParticipant(f.ctx, intake, rq(key, domain.RegisterParticipant{
		Pseudonym: pseudonym, Name: name, Email: "plantad.personsson@example.se", District: "Hemlig-Stadsdel",
		AgeBand: "30-39", Language: "sv", ResearchUse: true}))).ID
}

func (f *fixture) submit(key, process, author, body string) string {
	return f.must(f.svc.ReceiveSubmission(f.ctx, p(author), process, rq(key, domain.ReceiveSubmission{
		Language: "sv", Title: "Cykelbana " + key, Body: body}))).ID
}

func (f *fixture) seed() {
	f.process = f.openProcess("open-1", "Nya cykelbanor")
	f.other = f.openProcess("open-2", "Parkprogram")
	f.author = f.register("reg-1", "DisplayPseudonym-Unik", "Plantad Personsson")
	b := f.register("reg-2", "b", "Plantad Personsson B")
	c := f.register("reg-3", "c", "Plantad Personsson C")
	f.b, f.c = b, c

	f.public = f.submit("sub-public", f.process, f.author, "Offentlig text om cykelbanor, \"citat\", radbrytning\noch komma.")
	f.hidden = f.submit("sub-hidden", f.process, b, "DoldText-Kränkande")
	f.disposed = f.submit("sub-disposed", f.process, c, "GallradText-Borta")
	f.third = f.submit("sub-other", f.other, b, "Fler bänkar i parken")

	f.must(f.svc.GiveSupport(f.ctx, p(b), f.public, rq("s1", domain.GiveSupport{})))
	f.must(f.svc.GiveSupport(f.ctx, p(c), f.public, rq("s2", domain.GiveSupport{})))
	f.must(f.svc.WithdrawSupport(f.ctx, p(c), f.public, rq("s3", domain.WithdrawSupport{})))
	f.must(f.svc.PostComment(f.ctx, p(b), f.public, rq("c1", domain.PostComment{Language: "sv", Body: "Bra idé!"})))

	flag := f.must(f.svc.FlagContent(f.ctx, p(f.author), domain.ItemSubmission, f.hidden, rq("f1", domain.FlagContent{
		ContentVersion: 1, Source: domain.FlagByParticipant, Category: domain.CategoryIllegalOrHarmfulSpeech, Explanation: "FlaggText-Privat"})))
	dec := f.must(f.svc.DecideModeration(f.ctx, modA, domain.ItemSubmission, f.hidden, rq("d1", domain.DecideModeration{
		ContentVersion: 1, Visibility: domain.VisibilityDisabled, Ground: domain.GroundIncompatible, PolicyClause: "4.2",
		GroundExplanation: "Villkoren förbjuder personangrepp.",
		Category:          domain.CategoryIllegalOrHarmfulSpeech, Explanation: "Personangrepp", AutomatedDecision: domain.AutomatedNot,
		Source: domain.SourceParticipantNotice, FlagIDs: []string{flag.ID}})))
	appeal := f.must(f.svc.FileAppeal(f.ctx, p(b), domain.ItemSubmission, f.hidden, rq("a1", domain.FileAppeal{
		DecisionID: dec.ID, Grounds: "ÖverklagandeText-Privat"})))
	f.must(f.svc.DecideAppeal(f.ctx, modB, domain.ItemSubmission, f.hidden, rq("ad1", domain.DecideAppeal{
		AppealID: appeal.ID, Outcome: domain.AppealUpheld, Explanation: "Beslutet står fast"})))

	f.must(f.svc.PublishResponse(f.ctx, official, f.public, rq("resp", domain.PublishResponse{Body: "Beviljas delvis",
		ResponsibleBody: "Tekniska nämnden", DecisionReference: "TN 2024-10-17 §212", Outcome: domain.OutcomePartiallyApproved})))

	f.must(f.svc.PublishSurvey(f.ctx, official, f.process, rq("survey", domain.PublishSurvey{Title: domain.Text{Sv: "Enkät"},
		Questions: []domain.Question{
			{ID: "q1", Kind: domain.QuestionFreeText, Text: domain.Text{Sv: "Vad tycker du?"}},
			{ID: "q2", Kind: domain.QuestionScale, Text: domain.Text{Sv: "Hur nöjd?"}, ScaleMin: 1, ScaleMax: 5},
		}})))
	three := 3
	f.must(f.svc.AnswerSurvey(f.ctx, p(f.author), f.process, rq("ans-1", domain.AnswerSurvey{Answers: []domain.SurveyResponse{
		{QuestionID: "q1", Text: "EnkätFritext-Privat"}, {QuestionID: "q2", Scale: &three}}})))

	f.must(f.svc.Dispose(f.ctx, admin, rq("disp", domain.DecideDisposal{CaseNumber: "KS-2031-77", Scope: domain.ScopeSubmission,
		SubjectID: f.disposed, LegalBasis: "Dokumenthanteringsplan 4.3"})))
}

func (f *fixture) source() export.Source {
	return export.Source{Store: f.store, Log: f.log, HistoryFile: f.dataDir + "/integrity/checkpoints", Keys: f.keys, Secret: f.secret}
}
