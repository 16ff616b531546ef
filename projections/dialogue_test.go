package projections

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
)

func statement(l *ledger, id, process, author string, premod bool, at time.Time) {
	l.add(author, domain.RoleParticipant, &domain.StatementPosted{StatementID: id, ProcessID: process, Author: author,
		Channel: domain.ChannelWeb, Language: "sv", Body: sealed(id, "Påstående "+id), Premoderated: premod}, at)
}

func vote(l *ledger, process, st, who string, v domain.Vote, at time.Time) eventstore.Event {
	return l.add(who, domain.RoleParticipant, &domain.VoteCast{ProcessID: process, StatementID: st, ParticipantID: who, Vote: v}, at)
}

// seedDialogue: a pre-moderated dialogue with three statements (one still
// pending, one hidden after votes), votes with a change of mind, over two
// days, and an import marker; returns the position after the first day.
func seedDialogue(l *ledger) eventstore.Position {
	day1, day2 := base, base.Add(24*time.Hour)
	l.add("official-anna", domain.RoleOfficial, &domain.ProcessOpened{ProcessID: "d1", Title: domain.Text{Sv: "Dialog"},
		Kind: domain.KindDialogue, OwnerBody: "KS", CaseNumber: "KS-1", ModerationMode: domain.ModerationPre, PolicyReference: "R",
		Phases: []domain.Phase{{Name: "dialog", StartsAt: base, Accepts: []domain.ContributionKind{domain.AcceptsStatements, domain.AcceptsVotes}}}})
	l.add("official-anna", domain.RoleOfficial, &domain.ImportStarted{ImportID: "i1", ProcessID: "d1", Source: "polis", SourceRef: "https://pol.is/x"})
	statement(l, "st1", "d1", "u1", true, day1)
	statement(l, "st2", "d1", "u2", true, day1)
	statement(l, "st3", "d1", "u3", true, day1) // never approved
	decide(l, "moderator-karin", "a1", "st1", domain.ItemStatement, domain.VisibilityApproved, nil)
	decide(l, "moderator-karin", "a2", "st2", domain.ItemStatement, domain.VisibilityApproved, nil)
	vote(l, "d1", "st1", "u2", domain.VoteAgree, day1)
	vote(l, "d1", "st1", "u4", domain.VoteDisagree, day1)
	vote(l, "d1", "st2", "u4", domain.VotePass, day1)
	mid := l.head()
	vote(l, "d1", "st1", "u4", domain.VoteAgree, day2) // changed
	vote(l, "d1", "st2", "u5", domain.VoteDisagree, day2)
	vote(l, "d1", "st2", "u1", domain.VoteAgree, day2)
	decide(l, "moderator-karin", "h1", "st2", domain.ItemStatement, domain.VisibilityDisabled, nil)
	l.add("official-anna", domain.RoleOfficial, &domain.ImportCompleted{ImportID: "i1", ProcessID: "d1", Votes: 6})
	// Another kind of process is not a dialogue.
	openProcess(l, "p1", "KS", 0, domain.ModerationPost)
	return mid
}

func TestDialogueCountsTimelineMatrix(t *testing.T) {
	l := newLedger(t)
	mid := seedDialogue(l)
	d := NewDialogue()
	foldAll(t, l.s, d)

	sum, ok := d.Counts("d1", false)
	require.True(t, ok)
	byID := map[string]StatementCounts{}
	for _, s := range sum.Statements {
		require.NotNil(t, s.Body)
		assert.Equal(t, sealed(s.StatementID, "Påstående "+s.StatementID), *s.Body)
		s.Body = nil
		byID[s.StatementID] = s
	}
	assert.Equal(t, StatementCounts{StatementID: "st1", Status: domain.StatusVisible, PostedAt: base, Agree: 2, Voters: 2, VotesCast: 3}, byID["st1"])
	assert.Equal(t, StatementCounts{StatementID: "st2", Status: domain.StatusHidden, PostedAt: base, Agree: 1, Disagree: 1, Pass: 1, Voters: 3, VotesCast: 3}, byID["st2"])
	assert.Equal(t, domain.StatusPending, byID["st3"].Status)
	assert.Equal(t, 5, sum.Participants)
	assert.Equal(t, []ImportState{{ImportID: "i1", Source: "polis", SourceRef: "https://pol.is/x", Completed: true}}, sum.Imports)

	// The public view shows a hidden statement's status, not its counts.
	pub, _ := d.Counts("d1", true)
	assert.Equal(t, StatementCounts{StatementID: "st2", Status: domain.StatusHidden, PostedAt: base}, pub.Statements[1])
	assert.Equal(t, 2, pub.Statements[0].Agree)
	assert.NotNil(t, pub.Statements[0].Body)

	tl, ok := d.Timeline("d1")
	require.True(t, ok)
	assert.Equal(t, []DayActivity{
		{Date: "2024-09-02", Statements: 3, Votes: 3, NewParticipants: 4, Participants: 4},
		{Date: "2024-09-03", Votes: 3, NewParticipants: 1, Participants: 5},
	}, tl)

	m, ok := d.Matrix("d1")
	require.True(t, ok)
	assert.Equal(t, []string{"st1", "st2", "st3"}, m.Statements)
	codes := map[int][]any{}
	for _, r := range m.Rows {
		row := []any{}
		for _, v := range r.Votes {
			if v == nil {
				row = append(row, nil)
			} else {
				row = append(row, *v)
			}
		}
		codes[r.Participant] = row
	}
	// Participants by number in order of first activity: u1 u2 u3 u4 u5.
	assert.Equal(t, map[int][]any{0: {nil, 1, nil}, 1: {1, nil, nil}, 3: {1, 0, nil}, 4: {nil, -1, nil}}, codes)
	b, err := json.Marshal(m)
	require.NoError(t, err)
	assert.NotContains(t, string(b), "u4", "the matrix names no participant")

	_, ok = d.Counts("p1", false)
	assert.False(t, ok, "a proposal process is not a dialogue")

	// As of the end of day one: before the change of mind and the hiding.
	then, err := asOf(t.Context(), l.s, "", NewDialogue(), mid)
	require.NoError(t, err)
	old, _ := then.Counts("d1", false)
	assert.Equal(t, 1, old.Statements[0].Agree)
	assert.Equal(t, 1, old.Statements[0].Disagree)
	assert.Equal(t, domain.StatusVisible, old.Statements[1].Status)
	assert.False(t, old.Imports[0].Completed, "as of then the import was still running")

	// A snapshot restores the same answers.
	snap, err := d.MarshalJSON()
	require.NoError(t, err)
	back := NewDialogue()
	require.NoError(t, back.UnmarshalJSON(snap))
	again, _ := back.Counts("d1", false)
	assert.Equal(t, sum, again)
	vote(l, "d1", "st1", "u5", domain.VotePass, base)
	evs, err := l.s.ReadAll(t.Context(), l.head()-1, 1)
	require.NoError(t, err)
	back.Apply(evs[0], decode(evs[0]))
	d.Apply(evs[0], decode(evs[0]))
	a, _ := back.Counts("d1", false)
	b2, _ := d.Counts("d1", false)
	assert.Equal(t, b2, a, "a restored model keeps folding like the original")
	assert.Equal(t, 1, a.Statements[0].Pass)
}

func TestDialogueChangesTableAndQueue(t *testing.T) {
	l := newLedger(t)
	seedDialogue(l)
	ms := []Model{NewDialogue(), NewQueue(), NewProcesses(), NewSubmissions(), NewTransparency(), NewParticipation()}
	evs, err := l.s.ReadAll(t.Context(), 0, 1000)
	require.NoError(t, err)
	for _, ev := range evs {
		de := decode(ev)
		for _, m := range ms {
			before := marshal(t, m)
			m.Apply(ev, de)
			if marshal(t, m) != before {
				assert.True(t, slices.Contains(changedBy(ev), m.Name()), "%s changes %s but changes() does not say so", ev.Type, m.Name())
			}
		}
	}
	// The pre-moderated statement still waiting is in the moderation queue.
	q := ms[1].(*Queue)
	var ids []string
	for _, e := range q.Entries("d1") {
		ids = append(ids, e.ItemID)
	}
	assert.Equal(t, []string{"st3"}, ids)
}
