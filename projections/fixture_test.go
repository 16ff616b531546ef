package projections

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/eventstore/memory"
)

var base = time.Date(2024, 9, 2, 8, 0, 0, 0, time.UTC)

// ledger appends domain events to a memory store whose clock moves one
// minute per append, so recorded times are distinct and known.
type ledger struct {
	t   testing.TB
	s   *memory.Store
	now time.Time // only touched by the store's clock, under its lock
}

func newLedger(t testing.TB) *ledger {
	l := &ledger{t: t, now: base}
	l.s = memory.New(memory.WithClock(func() time.Time {
		l.now = l.now.Add(time.Minute)
		return l.now
	}))
	t.Cleanup(func() { _ = l.s.Close() })
	return l
}

// add appends ev by actor in role; occurred is the occurred-at time (zero:
// the recorded time).
func (l *ledger) add(actor string, role domain.Role, ev domain.Event, occurred ...time.Time) eventstore.Event {
	l.t.Helper()
	typ, ver, data, err := domain.Encode(ev)
	require.NoError(l.t, err)
	md := eventstore.Metadata{Actor: actor, Role: string(role)}
	if len(occurred) > 0 {
		md.OccurredAt = occurred[0]
	}
	res, err := l.s.Append(context.Background(), domain.StreamOf(ev), eventstore.Any(),
		eventstore.EventData{ID: uuid.New(), Type: typ, Version: ver, Data: data, Metadata: md})
	require.NoError(l.t, err)
	return res.Last()
}

func (l *ledger) head() eventstore.Position {
	h, err := l.s.Head(context.Background())
	require.NoError(l.t, err)
	return h
}

// sealed stands in for the privacy package's sealing: "ct:" + plaintext.
func sealed(subject, plain string) domain.Personal {
	return domain.Personal{Subject: subject, Sealed: []byte("ct:" + plain)}
}

// testOpener opens what sealed seals, and nothing else (a "shredded" field).
func testOpener(p domain.Personal) (string, bool) {
	return strings.CutPrefix(string(p.Sealed), "ct:")
}

func openProcess(l *ledger, id, body string, threshold int, mode domain.ModerationMode) {
	l.add("official-anna", domain.RoleOfficial, &domain.ProcessOpened{ProcessID: id,
		Title: domain.Text{Sv: "Trygghet i " + id, En: "Safety in " + id}, Kind: domain.KindProposal,
		OwnerBody: body, CaseNumber: "STK-2024-" + id, Administrations: []string{"Stadskontoret"},
		Phases:           []domain.Phase{{Name: "förslag", StartsAt: base, Accepts: []domain.ContributionKind{domain.AcceptsSubmissions, domain.AcceptsComments, domain.AcceptsSupport}}},
		SupportThreshold: threshold, ModerationMode: mode, PolicyReference: "Riktlinjer 2024", OpenedBy: "official-anna"})
}

func register(l *ledger, id, district, age string) {
	l.add("intake-bo", domain.RoleIntake, &domain.ParticipantRegistered{ParticipantID: id, Pseudonym: "invånare-" + id,
		Name: sealed(id, "Namn "+id), Email: sealed(id, id+"@example.se"), District: sealed(id, district),
		AgeBand: sealed(id, age), Language: "sv"})
}

func submit(l *ledger, id, process, author string, ch domain.Channel, premod bool) {
	l.add(author, domain.RoleParticipant, &domain.SubmissionReceived{SubmissionID: id, ProcessID: process,
		Author: author, Channel: ch, Language: "sv", Title: sealed(id, "Titel "+id), Body: sealed(id, "Text "+id),
		Premoderated: premod})
}

func commentOn(l *ledger, id, sub, process, author string, premod bool) {
	l.add(author, domain.RoleParticipant, &domain.CommentPosted{CommentID: id, SubmissionID: sub, ProcessID: process,
		Author: author, Channel: domain.ChannelWeb, Language: "sv", Body: sealed(id, "Kommentar "+id), Premoderated: premod})
}

func decide(l *ledger, moderator, decisionID, itemID string, kind domain.ItemKind, vis domain.Visibility, flags []string, occurred ...time.Time) {
	d := &domain.ModerationDecided{DecisionID: decisionID, ItemID: itemID, ItemKind: kind, ContentVersion: 1,
		Visibility: vis, AutomatedDecision: domain.AutomatedNot, Source: domain.SourceOwnInitiative, FlagIDs: flags,
		Moderator: moderator}
	if vis.Restricts() {
		d.Ground, d.PolicyClause, d.Category = domain.GroundIncompatible, "4.2", domain.CategoryIllegalOrHarmfulSpeech
		d.Explanation = "Personangrepp mot en namngiven person."
	}
	l.add(moderator, domain.RoleModerator, d, occurred...)
}

// seed writes a small but complete history: two processes (post- and
// pre-moderated), seven participants, submissions, comments, supports up
// to the threshold, a participant notice and a hidden comment, a pending
// pre-moderated submission, an approved one with an automated flag whose
// automated decision an appeal overturns, a forward and an answer.
func seed(l *ledger) {
	openProcess(l, "p1", "Kommunstyrelsen", 3, domain.ModerationPost)
	openProcess(l, "p2", "Tekniska nämnden", 0, domain.ModerationPre)
	for i := 1; i <= 7; i++ {
		district := "Rosengård"
		switch i {
		case 6:
			district = "Fosie"
		case 7:
			district = "Limhamn"
		}
		register(l, fmt.Sprintf("u%d", i), district, "30-44")
	}
	submit(l, "s1", "p1", "u1", domain.ChannelWeb, false)
	commentOn(l, "c1", "s1", "p1", "u2", false)
	commentOn(l, "c2", "s1", "p1", "u3", false)
	for _, u := range []string{"u2", "u3", "u4"} {
		l.add(u, domain.RoleParticipant, &domain.SupportGiven{SubmissionID: "s1", ProcessID: "p1", ParticipantID: u})
	}
	l.add("system", domain.RoleSystem, &domain.SupportThresholdReached{SubmissionID: "s1", ProcessID: "p1",
		Threshold: 3, Count: 3, SupporterSetHash: "abc"})
	l.add("u5", domain.RoleParticipant, &domain.ContentFlagged{FlagID: "f1", ItemID: "c1", ItemKind: domain.ItemComment,
		ContentVersion: 1, Source: domain.FlagByParticipant, FlaggedBy: "u5", Category: domain.CategoryIllegalOrHarmfulSpeech,
		Explanation: sealed("c1", "Det här är ett personangrepp")})
	decide(l, "moderator-karin", "d1", "c1", domain.ItemComment, domain.VisibilityDisabled, []string{"f1"})
	l.add("moderator-karin", domain.RoleModerator, &domain.AuthorNotified{ItemID: "c1", ItemKind: domain.ItemComment,
		DecisionID: "d1", Author: "u2", Method: "in_app", NotifiedBy: "moderator-karin"})

	submit(l, "s2", "p2", "u6", domain.ChannelPaper, true) // stays pending
	submit(l, "s3", "p2", "u7", domain.ChannelWeb, true)
	decide(l, "moderator-karin", "d2", "s3", domain.ItemSubmission, domain.VisibilityApproved, nil)
	l.add("classifier", domain.RoleSystem, &domain.ContentFlagged{FlagID: "f2", ItemID: "s3", ItemKind: domain.ItemSubmission,
		ContentVersion: 1, Source: domain.FlagByAutomated, FlaggedBy: "toxicity",
		Classifier: &domain.Classifier{Name: "toxicity", Version: "1.2", Score: 0.93}, Category: domain.CategoryIllegalOrHarmfulSpeech})
	l.add("classifier", domain.RoleSystem, &domain.ModerationDecided{DecisionID: "d3", ItemID: "s3", ItemKind: domain.ItemSubmission,
		ContentVersion: 1, Visibility: domain.VisibilityDisabled, Ground: domain.GroundIncompatible, PolicyClause: "4.1",
		Category: domain.CategoryIllegalOrHarmfulSpeech, Explanation: "Automatiskt dold: hatiskt språk.",
		AutomatedDetection: true, AutomatedDecision: domain.AutomatedFully, Source: domain.SourceOwnInitiative,
		FlagIDs: []string{"f2"}, Moderator: "classifier"})
	l.add("u7", domain.RoleParticipant, &domain.AppealFiled{AppealID: "a1", DecisionID: "d3", ItemID: "s3",
		ItemKind: domain.ItemSubmission, By: "u7", Grounds: sealed("s3", "Det är inte hat")})
	l.add("moderator-lars", domain.RoleModerator, &domain.AppealDecided{AppealID: "a1", DecisionID: "d3", ItemID: "s3",
		ItemKind: domain.ItemSubmission, Outcome: domain.AppealOverturned, Moderator: "moderator-lars",
		Explanation: "Kritik av en åtgärd, inte hat."})
	l.add("official-anna", domain.RoleOfficial, &domain.SubmissionForwarded{SubmissionID: "s1", To: "Fritidsförvaltningen",
		Note: "För yttrande", ForwardedBy: "official-anna", CaseNumber: "FRI-2024-77"})
	l.add("official-anna", domain.RoleOfficial, &domain.OfficialResponsePublished{SubmissionID: "s1", ResponseID: "r1",
		Body: "Förslaget bifalls.", ResponsibleBody: "Kommunstyrelsen", DecisionReference: "KS 2024-09-09 §418",
		Outcome: domain.OutcomeApproved, PublishedBy: "official-anna"})
	l.add("u4", domain.RoleParticipant, &domain.SupportWithdrawn{SubmissionID: "s1", ProcessID: "p1", ParticipantID: "u4"})
}

// allModels returns one fresh instance of every registered read model.
func allModels() []Model {
	var out []Model
	for _, k := range Kinds() {
		out = append(out, k.New(Options{PseudonymKey: []byte("test-key")}))
	}
	return out
}

// asOf folds m, empty, up to pos from the snapshots in dir ("": none).
func asOf[M Model](ctx context.Context, s eventstore.Store, dir string, m M, pos eventstore.Position) (M, error) {
	return m, foldAsOf(ctx, s, dir, m, pos)
}

// lockedRead calls fn under the runner's read lock, as a live View does.
func lockedRead(r *Runner, fn func(eventstore.Position)) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	fn(r.pos)
}

// changedBy names the registered models that say they change with ev.
func changedBy(ev eventstore.Event) []string {
	var out []string
	for _, k := range Kinds() {
		if k.changes(ev) {
			out = append(out, k.Name)
		}
	}
	return out
}

// foldAll applies every stored event to ms directly (no runner).
func foldAll(t testing.TB, s eventstore.Store, ms ...Model) {
	t.Helper()
	evs, err := s.ReadAll(context.Background(), 0, eventstore.MaxReadLimit)
	require.NoError(t, err)
	for _, ev := range evs {
		de := decode(ev)
		require.NotNil(t, de, "event %d (%s) does not decode", ev.Position, ev.Type)
		for _, m := range ms {
			m.Apply(ev, de)
		}
	}
}

func marshal(t testing.TB, m Model) string {
	t.Helper()
	b, err := m.MarshalJSON()
	require.NoError(t, err)
	return string(b)
}
