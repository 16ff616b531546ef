package projections

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/domain"
)

func TestHiddenCommentPublicShowsReasonInternalShowsContent(t *testing.T) {
	l := newLedger(t)
	seed(l)
	s := NewSubmissions()
	foldAll(t, l.s, s)

	pub, ok := s.Public("s1")
	require.True(t, ok)
	require.Len(t, pub.Comments, 2)
	c1 := pub.Comments[0]
	assert.Equal(t, "c1", c1.ID)
	assert.Equal(t, StatusHidden, c1.Status)
	assert.Nil(t, c1.Content, "hidden content must not be in the public view")
	require.NotNil(t, c1.Hidden)
	assert.Equal(t, domain.GroundIncompatible, c1.Hidden.Ground)
	assert.Equal(t, "4.2", c1.Hidden.PolicyClause)
	assert.Equal(t, "Personangrepp mot en namngiven person.", c1.Hidden.Explanation)
	assert.Equal(t, "invånare-u2", c1.Author)
	require.NotNil(t, pub.Comments[1].Content)
	assert.Equal(t, StatusPublished, pub.Comments[1].Status)

	// The public view of the submission itself.
	require.NotNil(t, pub.Content)
	txt, _ := testOpener(pub.Content.Body)
	assert.Equal(t, "Text s1", txt)
	assert.Equal(t, 2, pub.Supports, "three supports, one withdrawn")
	require.NotNil(t, pub.Threshold)
	require.NotNil(t, pub.Response)
	assert.Equal(t, "KS 2024-09-09 §418", pub.Response.DecisionReference)
	require.Len(t, pub.Forwards, 1)

	in, ok := s.Internal("s1")
	require.True(t, ok)
	require.Len(t, in.Comments, 2)
	body, ok := testOpener(in.Comments[0].Content.Body)
	require.True(t, ok)
	assert.Equal(t, "Kommentar c1", body, "internal view keeps hidden content")
	require.NotNil(t, in.Comments[0].Restriction)
	assert.Equal(t, []string{"u2", "u3"}, in.Supporters)

	// The whole public view never carries plaintext, only sealed fields.
	b, err := json.Marshal(pub)
	require.NoError(t, err)
	assert.NotContains(t, string(b), "Kommentar c1")
}

func TestPremoderationPublicOnlyAfterApproval(t *testing.T) {
	l := newLedger(t)
	seed(l)
	s := NewSubmissions()
	foldAll(t, l.s, s)

	_, ok := s.Public("s2")
	assert.False(t, ok, "pending pre-moderated submission must not be public")
	in, ok := s.Internal("s2")
	require.True(t, ok)
	assert.True(t, in.Pending)
	assert.Equal(t, StatusPending, in.Status)

	// s3: approved, hidden by an automated decision, restored by appeal.
	pub, ok := s.Public("s3")
	require.True(t, ok)
	assert.Equal(t, StatusPublished, pub.Status)
	require.NotNil(t, pub.Content)
	assert.Nil(t, pub.Hidden)

	ids := []string{}
	for _, p := range s.PublicList("p2") {
		ids = append(ids, p.ID)
	}
	assert.Equal(t, []string{"s3"}, ids)
}

func TestProcessOverview(t *testing.T) {
	l := newLedger(t)
	seed(l)
	p := NewProcesses()
	foldAll(t, l.s, p)

	o, ok := p.Process("p1")
	require.True(t, ok)
	assert.Equal(t, "open", o.Status)
	assert.Equal(t, "förslag", o.CurrentPhase)
	assert.Equal(t, Counts{Total: 1, Published: 1}, o.Submissions)
	assert.Equal(t, Counts{Total: 2, Published: 1, Hidden: 1}, o.Comments)
	assert.Equal(t, 2, o.Supports)
	assert.Equal(t, 1, o.Forwarded)
	assert.Equal(t, 1, o.Answered)
	assert.Equal(t, &ThresholdProgress{Threshold: 3, Reached: 1, MaxSupport: 2}, o.ThresholdProgress)

	o2, ok := p.Process("p2")
	require.True(t, ok)
	assert.Equal(t, Counts{Total: 2, Published: 1, Pending: 1}, o2.Submissions)
	assert.Nil(t, o2.ThresholdProgress)
	assert.Len(t, p.List(), 2)
}

func TestDecisionTrailPublicPseudonymsInternalNames(t *testing.T) {
	l := newLedger(t)
	seed(l)
	tr := NewTrails([]byte("k1"))
	foldAll(t, l.s, tr)

	pub, ok := tr.Public("s3", Latest)
	require.True(t, ok)
	types := []string{}
	for _, e := range pub {
		types = append(types, e.Type)
	}
	assert.Equal(t, []string{"SubmissionReceived", "ModerationDecided", "ContentFlagged", "ModerationDecided",
		"AppealFiled", "AppealDecided"}, types)
	assert.Equal(t, "", pub[0].Actor, "participants are shown by role only")
	assert.Equal(t, "participant", pub[0].Role)
	assert.Equal(t, Pseudonym([]byte("k1"), "moderator-karin"), pub[1].Actor)
	assert.NotContains(t, pub[1].Actor, "karin")
	assert.Equal(t, "classifier", pub[3].Actor, "automated decisions name the system")
	assert.Equal(t, domain.AutomatedFully, pub[3].AutomatedDecision)
	assert.Equal(t, domain.AppealOverturned, pub[5].AppealOutcome)
	assert.NotEqual(t, pub[1].Actor, pub[5].Actor, "the appeal was decided by another moderator")

	// Stable: the same moderator has the same pseudonym on another item.
	c1, ok := tr.Public("c1", Latest)
	require.True(t, ok)
	var decided TrailEntry
	for _, e := range c1 {
		if e.Type == "ModerationDecided" {
			decided = e
		}
		if e.Type == "ContentFlagged" {
			assert.Empty(t, e.Actor, "who sent a participant notice is not public")
		}
	}
	assert.Equal(t, pub[1].Actor, decided.Actor)
	assert.Equal(t, "4.2", decided.PolicyClause)

	in, ok := tr.Internal("s3", Latest)
	require.True(t, ok)
	assert.Equal(t, "moderator-karin", in[1].Actor)
	assert.Equal(t, "moderator-lars", in[5].Actor)
	assert.Equal(t, "u7", in[0].Actor)
}

func TestQueueOldestFirst(t *testing.T) {
	l := newLedger(t)
	seed(l)
	// A flag on s1 and an appeal nobody has decided yet.
	l.add("u6", domain.RoleParticipant, &domain.ContentFlagged{FlagID: "f9", ItemID: "s1", ItemKind: domain.ItemSubmission,
		ContentVersion: 1, Source: domain.FlagByParticipant, FlaggedBy: "u6", Category: domain.CategoryScams})
	l.add("u2", domain.RoleParticipant, &domain.AppealFiled{AppealID: "a2", DecisionID: "d1", ItemID: "c1", ItemKind: domain.ItemComment, By: "u2"})
	q := NewQueue()
	foldAll(t, l.s, q)

	got := q.Entries("")
	require.Len(t, got, 3)
	assert.Equal(t, []string{"s2", "s1", "c1"}, []string{got[0].ItemID, got[1].ItemID, got[2].ItemID})
	assert.Equal(t, []string{ReasonPremoderation, ReasonFlagged, ReasonAppeal}, []string{got[0].Reason, got[1].Reason, got[2].Reason})
	assert.True(t, got[0].Since.Before(got[1].Since) && got[1].Since.Before(got[2].Since))
	assert.Equal(t, []domain.Category{domain.CategoryScams}, got[1].Categories)
	assert.Equal(t, "d1", got[2].DecisionID)
	assert.Len(t, q.Entries("p2"), 1)

	// Deciding on s2 takes it off the queue.
	decide(l, "moderator-karin", "d9", "s2", domain.ItemSubmission, domain.VisibilityApproved, nil)
	q = NewQueue()
	foldAll(t, l.s, q)
	assert.Len(t, q.Entries("p2"), 0)
}

func TestParticipationSmallCellSuppression(t *testing.T) {
	l := newLedger(t)
	seed(l)
	// Three more participants in p1.
	for _, u := range []string{"u5", "u6", "u7"} {
		l.add(u, domain.RoleParticipant, &domain.SupportGiven{SubmissionID: "s1", ProcessID: "p1", ParticipantID: u})
	}
	p := NewParticipation()
	foldAll(t, l.s, p)

	// p1: u1 (submission), u2, u3 (comments, support), u4 (support),
	// u5 (support): Rosengård; u6: Fosie; u7: Limhamn. 7 participants.
	st, ok := p.Stats("p1", testOpener)
	require.True(t, ok)
	require.NotNil(t, st.Participants.Count)
	assert.Equal(t, 7, *st.Participants.Count)
	byKey := func(cs []Cell) map[string]Cell {
		m := map[string]Cell{}
		for _, c := range cs {
			m[c.Key] = c
		}
		return m
	}
	d := byKey(st.ByDistrict)
	require.NotNil(t, d["Rosengård"].Count)
	assert.Equal(t, 5, *d["Rosengård"].Count)
	assert.True(t, d["Limhamn"].Suppressed)
	assert.True(t, d["Fosie"].Suppressed)
	assert.Nil(t, d["Limhamn"].Count)

	// p2 has two participants: everything under 5 is suppressed, and the
	// JSON carries no count for them.
	st2, ok := p.Stats("p2", testOpener)
	require.True(t, ok)
	assert.True(t, st2.Participants.Suppressed)
	for _, c := range append(append(st2.ByDistrict, st2.ByChannel...), st2.ByAgeBand...) {
		assert.True(t, c.Suppressed, c.Key)
	}
	b, err := json.Marshal(st2)
	require.NoError(t, err)
	assert.NotContains(t, string(b), `"count":2`)
	assert.NotContains(t, string(b), `"count":1`)

	// A shredded key (the opener fails) moves a participant to unknown.
	shredU7 := func(f domain.Personal) (string, bool) {
		if f.Subject == "u7" {
			return "", false
		}
		return testOpener(f)
	}
	st3, _ := p.Stats("p1", shredU7)
	keys := []string{}
	for _, c := range st3.ByDistrict {
		keys = append(keys, c.Key)
	}
	assert.Equal(t, []string{"Fosie", "Rosengård", Unknown}, keys)
}

func TestSecondarySuppression(t *testing.T) {
	cells := breakdown(map[string]int{"a": 10, "b": 2, "c": 7, "d": 30}, true)
	var suppressed []string
	for _, c := range cells {
		if c.Suppressed {
			suppressed = append(suppressed, c.Key)
		}
	}
	// b alone could be recovered from the total; c (the next smallest) goes too.
	assert.Equal(t, []string{"b", "c"}, suppressed)
	cells = breakdown(map[string]int{"a": 10, "b": 2}, false)
	assert.False(t, cells[0].Suppressed)
	assert.True(t, cells[1].Suppressed)
}

func TestActorTrail(t *testing.T) {
	l := newLedger(t)
	seed(l)
	a := NewActors()
	foldAll(t, l.s, a)
	tr := a.Trail("moderator-karin", 0, Latest, 0)
	var types []string
	for _, e := range tr {
		types = append(types, e.Type)
	}
	assert.Equal(t, []string{"ModerationDecided", "AuthorNotified", "ModerationDecided"}, types)
	assert.Equal(t, "c1", tr[0].ItemID)
	assert.Equal(t, "d1", tr[0].DecisionID)
	assert.Equal(t, "moderator", tr[0].Role)
	assert.Len(t, a.Trail("moderator-karin", tr[0].Position, Latest, 1), 1)
	assert.Equal(t, tr[1].Position, a.Trail("moderator-karin", tr[0].Position, Latest, 1)[0].Position)
	assert.Len(t, a.Trail("official-anna", 0, Latest, 0), 4)
}

// TestChangesTable checks that live notifications name every model an
// event changes: for each event, a model whose snapshot bytes change must
// be listed.
func TestChangesTable(t *testing.T) {
	l := newLedger(t)
	seed(l)
	ms := allModels()
	evs, err := l.s.ReadAll(t.Context(), 0, 1000)
	require.NoError(t, err)
	for _, ev := range evs {
		de := decode(ev)
		for _, m := range ms {
			before := marshal(t, m)
			m.Apply(ev, de)
			if marshal(t, m) != before && m.Name() != NameActors {
				assert.True(t, slices.Contains(changedBy(ev), m.Name()), "%s changes %s but changes() does not say so", ev.Type, m.Name())
			}
		}
	}
}
