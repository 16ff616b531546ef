package projections

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
)

// syntheticDialogue folds a dialogue of participants × statements with
// votesEach votes each, from two latent opinion groups (even and odd
// participants), with statement 0 hidden after the votes.
func syntheticDialogue(participants, statements, votesEach int) *Dialogue {
	d := NewDialogue()
	pos := eventstore.Position(0)
	apply := func(de domain.Event) {
		pos++
		d.Apply(eventstore.Event{Position: pos, Metadata: eventstore.Metadata{OccurredAt: base.Add(time.Duration(pos) * time.Second)}}, de)
	}
	apply(&domain.ProcessOpened{ProcessID: "d1", Kind: domain.KindDialogue})
	for s := range statements {
		apply(&domain.StatementPosted{StatementID: fmt.Sprint("s", s), ProcessID: "d1", Author: "p0", Body: sealed(fmt.Sprint("s", s), "Påstående")})
	}
	r := rand.New(rand.NewPCG(7, 8))
	votes := []domain.Vote{domain.VoteAgree, domain.VoteDisagree, domain.VotePass}
	for p := range participants {
		for _, s := range r.Perm(statements)[:votesEach] {
			v := votes[(s+p%2)%2] // the two groups disagree on everything
			if r.Float64() < 0.25 {
				v = votes[r.IntN(3)]
			}
			apply(&domain.VoteCast{ProcessID: "d1", StatementID: fmt.Sprint("s", s), ParticipantID: fmt.Sprint("participant-", p), Vote: v})
		}
	}
	apply(&domain.ModerationDecided{ItemID: "s0", ItemKind: domain.ItemStatement, Visibility: domain.VisibilityDisabled})
	return d
}

func TestGroupsFromTheDialogueModel(t *testing.T) {
	d := syntheticDialogue(300, 40, 20)
	g, ok := d.Groups("d1")
	require.True(t, ok)
	require.Len(t, g.Groups, 2)
	assert.Equal(t, 300, g.Voters)
	assert.Equal(t, 300, g.InConversation)
	assert.Len(t, g.Points, 300)
	assert.InDelta(t, 150, g.Groups[0].Members, 10)
	assert.Len(t, g.Statements, 39, "the hidden statement is left out")
	for _, s := range g.Statements {
		assert.NotEqual(t, "s0", s.StatementID)
	}
	for _, grp := range g.Groups {
		require.NotEmpty(t, grp.Representative)
		for _, rep := range grp.Representative {
			assert.NotEqual(t, "s0", rep.StatementID)
		}
	}
	b, err := json.Marshal(g)
	require.NoError(t, err)
	assert.NotContains(t, string(b), "participant-", "participants only as counts and points")

	in, _ := d.GroupsInput("d1")
	assert.Equal(t, g, in.Compute(), "the same votes, the same groups")
	_, ok = d.Groups("nope")
	assert.False(t, ok)
}

// BenchmarkDialogueGroups60k: copy the votes of a 60 000-vote dialogue
// (1 500 participants, 300 statements) and compute its groups.
func BenchmarkDialogueGroups60k(b *testing.B) {
	d := syntheticDialogue(1500, 300, 40)
	for b.Loop() {
		in, _ := d.GroupsInput("d1")
		if g := in.Compute(); len(g.Groups) < 2 {
			b.Fatal("no groups")
		}
	}
}

// TestOnceInAlwaysIn: a participant who voted on every statement while
// there were only three is in the conversation for good, though three
// votes are too few once there are more statements; one who votes three
// times later is not.
func TestOnceInAlwaysIn(t *testing.T) {
	d := NewDialogue()
	pos := eventstore.Position(0)
	apply := func(de domain.Event) {
		pos++
		d.Apply(eventstore.Event{Position: pos, Metadata: eventstore.Metadata{OccurredAt: base.Add(time.Duration(pos) * time.Second)}}, de)
	}
	vote := func(p, s int, v domain.Vote) {
		apply(&domain.VoteCast{ProcessID: "d1", StatementID: fmt.Sprint("s", s), ParticipantID: fmt.Sprint("participant-", p), Vote: v})
	}
	apply(&domain.ProcessOpened{ProcessID: "d1", Kind: domain.KindDialogue})
	for s := range 20 {
		apply(&domain.StatementPosted{StatementID: fmt.Sprint("s", s), ProcessID: "d1", Author: "p0", Body: sealed(fmt.Sprint("s", s), "Påstående")})
	}
	for s := range 3 {
		vote(0, s, domain.VoteAgree) // early: three statements with votes, three votes
	}
	r := rand.New(rand.NewPCG(1, 1))
	for p := 1; p <= 40; p++ {
		for _, s := range r.Perm(20)[:10] {
			vote(p, s, []domain.Vote{domain.VoteAgree, domain.VoteDisagree}[(p+s)%2])
		}
	}
	for s := range 3 {
		vote(41, s, domain.VoteAgree) // late: three votes of twenty statements
	}
	vote(0, 0, domain.VoteDisagree) // a change of mind adds no statement
	g, ok := d.Groups("d1")
	require.True(t, ok)
	assert.Equal(t, 42, g.Voters)
	assert.Equal(t, 41, g.InConversation, "participant 0 stays in, participant 41 never came in")

	// The same after a snapshot round trip.
	b, err := json.Marshal(d)
	require.NoError(t, err)
	back := NewDialogue()
	require.NoError(t, json.Unmarshal(b, back))
	g2, _ := back.Groups("d1")
	assert.Equal(t, g, g2)
	b2, err := json.Marshal(back)
	require.NoError(t, err)
	assert.JSONEq(t, string(b), string(b2))
}
