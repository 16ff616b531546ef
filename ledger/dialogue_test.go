package ledger_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/ledger"
)

func (f *fixture) openDialogue() string {
	f.t.Helper()
	res, err := f.svc.OpenProcess(f.ctx, official, rq("open-dialogue", domain.OpenProcess{
		Title: domain.Text{Sv: "Dialog om Möllevångstorget"}, Kind: domain.KindDialogue, OwnerBody: "Kommunstyrelsen",
		CaseNumber: "STK-2025-77", Phases: []domain.Phase{{Name: "dialog", StartsAt: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC),
			Accepts: []domain.ContributionKind{domain.AcceptsStatements, domain.AcceptsVotes}}},
		ModerationMode: domain.ModerationPost, PolicyReference: "Malmö stads riktlinjer 2023",
	}))
	require.NoError(f.t, err)
	return res.ID
}

func TestDialogueStatementsVotesAndModeration(t *testing.T) {
	f := newFixture(t)
	proc := f.openDialogue()
	alice := f.register("reg-alice", "Alice")
	bob := f.register("reg-bob", "Bob")

	res, err := f.svc.PostStatement(f.ctx, participantActor(alice), proc, rq("st-1", domain.PostStatement{
		Language: "sv", Body: "Torget behöver fler bänkar"}))
	require.NoError(t, err)
	st := res.ID
	assert.Equal(t, domain.StreamForStatement(st), res.Last().Stream)
	seed, err := f.svc.PostStatement(f.ctx, official, proc, rq("seed-1", domain.PostStatement{
		Seed: true, Language: "sv", Body: "Torget ska vara bilfritt på lördagar"}))
	require.NoError(t, err)

	// A retried vote (same key) is the same vote; a new vote changes it.
	v1, err := f.svc.CastVote(f.ctx, participantActor(bob), st, rq("vote-1", domain.CastVote{Vote: domain.VoteAgree}))
	require.NoError(t, err)
	again, err := f.svc.CastVote(f.ctx, participantActor(bob), st, rq("vote-1", domain.CastVote{Vote: domain.VoteAgree}))
	require.NoError(t, err)
	assert.Equal(t, v1, again)
	_, err = f.svc.CastVote(f.ctx, participantActor(bob), st, rq("vote-2", domain.CastVote{Vote: domain.VoteDisagree}))
	require.NoError(t, err)
	evs, err := f.store.ReadStream(f.ctx, domain.StreamForVotes(proc, bob), eventstore.ReadStreamOptions{Limit: 10})
	require.NoError(t, err)
	require.Len(t, evs, 2)

	// Moderation of statements goes through the shared item commands.
	_, err = f.svc.DecideModeration(f.ctx, modA, domain.ItemStatement, st, rq("hide", domain.DecideModeration{
		ContentVersion: 1, Visibility: domain.VisibilityDisabled, Ground: domain.GroundIncompatible, PolicyClause: "§4",
		Category: domain.CategoryOtherViolationTC, Explanation: "Utanför ämnet", GroundExplanation: "Villkoren 4: håll dig till ämnet.", AutomatedDecision: domain.AutomatedNot,
		Source: domain.SourceOwnInitiative}))
	require.NoError(t, err)
	_, err = f.svc.CastVote(f.ctx, participantActor(alice), st, rq("vote-3", domain.CastVote{Vote: domain.VotePass}))
	require.ErrorIs(t, err, domain.ErrConflict)
	_, err = f.svc.CastVote(f.ctx, participantActor(alice), seed.ID, rq("vote-4", domain.CastVote{Vote: domain.VotePass}))
	require.NoError(t, err)
	_, err = f.svc.CastVote(f.ctx, participantActor(alice), "nope", rq("vote-5", domain.CastVote{Vote: domain.VotePass}))
	require.ErrorIs(t, err, domain.ErrNotFound)
}

func TestImportVotesBatchesAndResumes(t *testing.T) {
	f := newFixture(t)
	proc := f.openDialogue()
	var sts []string
	for i := range 3 {
		res, err := f.svc.PostStatement(f.ctx, intake, proc, rq(fmt.Sprint("st-", i), domain.PostStatement{
			Author: fmt.Sprint("p", i), Language: "en", Body: fmt.Sprint("statement ", i)}))
		require.NoError(t, err)
		sts = append(sts, res.ID)
	}
	t0 := time.Date(2017, 7, 18, 10, 0, 0, 0, time.UTC)
	var votes []ledger.ImportedVote
	for p := range 40 {
		for i := range 60 { // 60 votes each: more than one chunk for nobody, many appends
			votes = append(votes, ledger.ImportedVote{StatementID: sts[i%3], ParticipantID: fmt.Sprint("p", p),
				Vote: []domain.Vote{domain.VoteAgree, domain.VoteDisagree, domain.VotePass}[(p+i)%3], At: t0.Add(time.Duration(p*100+i) * time.Second)})
		}
	}
	// A first run that covers only half the participants stands for a
	// crash mid-import.
	half := votes[:20*60]
	r, err := f.svc.ImportVotes(f.ctx, intake, proc, "imp", half)
	require.NoError(t, err)
	assert.Equal(t, ledger.VotesImported{Appended: 1200, Appends: 20}, r)

	r, err = f.svc.ImportVotes(f.ctx, intake, proc, "imp", votes)
	require.NoError(t, err)
	assert.Equal(t, ledger.VotesImported{Appended: 1200, Existing: 1200, Appends: 20}, r)
	head, _ := f.store.Head(f.ctx)
	r, err = f.svc.ImportVotes(f.ctx, intake, proc, "imp", votes)
	require.NoError(t, err)
	assert.Equal(t, 2400, r.Existing)
	head2, _ := f.store.Head(f.ctx)
	assert.Equal(t, head, head2, "a repeated import appends nothing")

	evs, err := f.store.ReadStream(f.ctx, domain.StreamForVotes(proc, "p7"), eventstore.ReadStreamOptions{Limit: 100})
	require.NoError(t, err)
	require.Len(t, evs, 60)
	assert.Equal(t, t0.Add(703*time.Second), evs[3].Metadata.OccurredAt, "occurred-at is the vote's own time")
	assert.Equal(t, "intake-ida", evs[0].Metadata.Actor)

	// A vote on a hidden statement is refused, and nothing of its chunk is written.
	_, err = f.svc.DecideModeration(f.ctx, modA, domain.ItemStatement, sts[0], rq("hide", domain.DecideModeration{
		ContentVersion: 1, Visibility: domain.VisibilityDisabled, Ground: domain.GroundIncompatible, PolicyClause: "§4",
		Category: domain.CategoryOtherViolationTC, Explanation: "x", GroundExplanation: "y", AutomatedDecision: domain.AutomatedNot, Source: domain.SourceOwnInitiative}))
	require.NoError(t, err)
	_, err = f.svc.ImportVotes(f.ctx, intake, proc, "imp2", []ledger.ImportedVote{
		{StatementID: sts[1], ParticipantID: "q", Vote: domain.VoteAgree, At: t0},
		{StatementID: sts[0], ParticipantID: "q", Vote: domain.VoteAgree, At: t0}})
	require.ErrorIs(t, err, domain.ErrConflict)
	_, err = f.store.ReadStream(f.ctx, domain.StreamForVotes(proc, "q"), eventstore.ReadStreamOptions{Limit: 1})
	require.ErrorIs(t, err, eventstore.ErrStreamNotFound)
}
