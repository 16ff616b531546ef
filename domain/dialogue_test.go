package domain

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func openDialogue(t *testing.T, mode ModerationMode) Process {
	t.Helper()
	return Fold[Process](ok(t)(Process{}.Open(OpenProcess{
		ProcessID: "d1", Title: Text{Sv: "Framtidens Möllevången"}, Kind: KindDialogue, OwnerBody: "Kommunstyrelsen",
		CaseNumber: "STK-2025-101", ModerationMode: mode, PolicyReference: "Villkor 2024",
		Phases: []Phase{{Name: "dialog", StartsAt: decidedAt, Accepts: []ContributionKind{AcceptsStatements, AcceptsVotes}},
			{Name: "analys", StartsAt: decidedAt.AddDate(0, 1, 0), Accepts: []ContributionKind{}}},
		By: official,
	})))
}

// postStatement posts, seals personal fields as the service would and checks the events
// encode and go on the statement's stream.
func postStatement(t *testing.T, p Process, cmd PostStatement) (Statement, []Event) {
	t.Helper()
	evs := ok(t)(Statement{}.Post(p, cmd))
	for _, e := range evs {
		require.Equal(t, StreamForStatement(cmd.StatementID), StreamOf(e))
		for _, f := range PersonalFields(e) {
			f.Sealed, f.Plain = []byte("sealed:"+f.Plain), ""
		}
		_, _, _, err := Encode(e)
		require.NoError(t, err)
	}
	return Fold[Statement](evs), evs
}

func TestStatementsAndSeeds(t *testing.T) {
	p := openDialogue(t, ModerationPost)
	st, evs := postStatement(t, p, PostStatement{StatementID: "s1", Author: "alice", Channel: ChannelWeb, Language: "sv",
		Body: "Fler träd på Möllevångstorget", By: alice})
	assert.Equal(t, StatusVisible, st.Status)
	assert.Equal(t, ItemStatement, st.Kind)
	assert.Equal(t, "alice", st.Author)
	assert.Empty(t, evs[0].(*StatementPosted).RegisteredBy)

	seed, evs := postStatement(t, p, PostStatement{StatementID: "s2", Seed: true, Channel: ChannelWeb, Language: "sv",
		Body: "Torget ska vara bilfritt", By: official})
	assert.True(t, seed.Seed)
	assert.Equal(t, "official-anna", seed.Author)
	assert.Equal(t, "official-anna", evs[0].(*StatementPosted).RegisteredBy)

	_, err := Statement{}.Post(p, PostStatement{StatementID: "s3", Seed: true, Channel: ChannelWeb, Language: "sv", Body: "x", By: alice})
	is(t, err, ErrForbidden)
	_, err = Statement{}.Post(p, PostStatement{StatementID: "s3", Author: "bob", Channel: ChannelWeb, Language: "sv", Body: "x", By: alice})
	is(t, err, ErrForbidden, "themself")
	_, err = Statement{}.Post(p, PostStatement{StatementID: "s3", Author: "alice", Channel: ChannelWeb, Language: "sv", Body: "x", HoldForReview: true, By: alice})
	is(t, err, ErrForbidden)
	long := make([]byte, maxStatement+1)
	for i := range long {
		long[i] = 'a'
	}
	_, err = Statement{}.Post(p, PostStatement{StatementID: "s3", Author: "alice", Channel: ChannelWeb, Language: "sv", Body: string(long), By: alice})
	is(t, err, ErrInvalid, "statement")
	_, err = st.Post(p, PostStatement{StatementID: "s1", Author: "alice", Channel: ChannelWeb, Language: "sv", Body: "igen", By: alice})
	is(t, err, ErrConflict, "already exists")

	// Only dialogue processes take statements.
	proposal := Fold[Process](openProcess(t, ModerationPost, 0))
	proposal.Phases[0].Accepts = append(proposal.Phases[0].Accepts, AcceptsStatements)
	_, err = Statement{}.Post(proposal, PostStatement{StatementID: "s4", Author: "alice", Channel: ChannelWeb, Language: "sv", Body: "x", By: alice})
	is(t, err, ErrConflict, "not a dialogue")
	// Nor in a phase that does not accept them.
	p2 := Fold[Process](append(openDialogueEvents(t), ok(t)(p.ChangePhase(ChangePhase{To: "analys", By: official}))...))
	_, err = Statement{}.Post(p2, PostStatement{StatementID: "s4", Author: "alice", Channel: ChannelWeb, Language: "sv", Body: "x", By: alice})
	is(t, err, ErrConflict, "does not accept")
}

func openDialogueEvents(t *testing.T) []Event {
	return ok(t)(Process{}.Open(OpenProcess{
		ProcessID: "d1", Title: Text{Sv: "Framtidens Möllevången"}, Kind: KindDialogue, OwnerBody: "Kommunstyrelsen",
		CaseNumber: "STK-2025-101", ModerationMode: ModerationPost, PolicyReference: "Villkor 2024",
		Phases: []Phase{{Name: "dialog", StartsAt: decidedAt, Accepts: []ContributionKind{AcceptsStatements, AcceptsVotes}},
			{Name: "analys", StartsAt: decidedAt.AddDate(0, 1, 0), Accepts: []ContributionKind{}}},
		By: official,
	}))
}

func TestVotesChangeAndNeverOnHiddenOrPending(t *testing.T) {
	p := openDialogue(t, ModerationPost)
	_, stEvs := postStatement(t, p, PostStatement{StatementID: "s1", Author: "alice", Channel: ChannelWeb, Language: "sv",
		Body: "Fler träd", By: alice})
	st := Fold[Statement](stEvs)

	var mine []Event
	vote := func(v Vote) error {
		evs, err := Fold[Votes](mine).Cast(p, st, CastVote{StatementID: "s1", ParticipantID: "bob", Vote: v, By: bob})
		if err == nil {
			require.Len(t, evs, 1)
			assert.Equal(t, StreamForVotes("d1", "bob"), StreamOf(evs[0]))
			mine = append(mine, evs...)
		}
		return err
	}
	require.NoError(t, vote(VoteAgree))
	require.NoError(t, vote(VoteDisagree)) // a change of mind is a new event
	require.NoError(t, vote(VoteDisagree)) // so is repeating it (Polis records both)
	vs := Fold[Votes](mine)
	assert.Equal(t, VoteDisagree, vs.Latest["s1"])
	assert.Equal(t, 3, vs.Count)

	is(t, vote("maybe"), ErrInvalid, "agree, disagree or pass")
	_, err := Votes{}.Cast(p, st, CastVote{StatementID: "s1", ParticipantID: "alice", Vote: VotePass, By: bob})
	is(t, err, ErrForbidden)
	_, err = Votes{}.Cast(p, Statement{}, CastVote{StatementID: "nope", ParticipantID: "bob", Vote: VotePass, By: bob})
	is(t, err, ErrNotFound)
	// Intake registers a vote on someone's behalf.
	evs := ok(t)(Votes{}.Cast(p, st, CastVote{StatementID: "s1", ParticipantID: "bob", Vote: VotePass, By: intake}))
	assert.Equal(t, "intake-bo", evs[0].(*VoteCast).RegisteredBy)

	// Hidden: no votes.
	h := hide(1)
	stEvs = append(stEvs, ok(t)(st.Decide(h))...)
	st = Fold[Statement](stEvs)
	assert.Equal(t, StatusHidden, st.Status)
	is(t, vote(VoteAgree), ErrConflict, "hidden")

	// Pre-moderated: no votes until approved.
	pre := openDialogue(t, ModerationPre)
	_, preEvs := postStatement(t, pre, PostStatement{StatementID: "s2", Author: "alice", Channel: ChannelWeb, Language: "sv", Body: "x", By: alice})
	st2 := Fold[Statement](preEvs)
	assert.Equal(t, StatusPending, st2.Status)
	_, err = Votes{}.Cast(pre, st2, CastVote{StatementID: "s2", ParticipantID: "bob", Vote: VoteAgree, By: bob})
	is(t, err, ErrConflict, "pending")
	approve := DecideModeration{DecisionID: "a1", ContentVersion: 1, Visibility: VisibilityApproved, Explanation: "OK",
		AutomatedDecision: AutomatedNot, Source: SourceOwnInitiative, By: modKim, At: decidedAt}
	st2 = Fold[Statement](append(preEvs, ok(t)(st2.Decide(approve))...))
	ok(t)(Votes{}.Cast(pre, st2, CastVote{StatementID: "s2", ParticipantID: "bob", Vote: VoteAgree, By: bob}))

	// Seeds skip pre-moderation; held statements wait even in post mode.
	seed, _ := postStatement(t, pre, PostStatement{StatementID: "s3", Seed: true, Channel: ChannelWeb, Language: "sv", Body: "x", By: official})
	assert.Equal(t, StatusVisible, seed.Status)
	held, _ := postStatement(t, p, PostStatement{StatementID: "s4", Author: "alice", Channel: ChannelWeb, Language: "sv", Body: "x", HoldForReview: true, By: intake})
	assert.Equal(t, StatusPending, held.Status)
}

func TestImportMarkers(t *testing.T) {
	p := openDialogue(t, ModerationPost)
	importer := Actor{ID: "import-polis", Role: RoleOfficial}
	files := []ImportedFile{{Name: "votes.csv", SHA256: "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03", Rows: 3}}
	start := StartImport{ImportID: "i1", Source: "polis", Files: files, By: importer}
	evs := ok(t)(Imports{}.Start(p, start))
	assert.Equal(t, StreamForProcess("d1"), StreamOf(evs[0]))
	im := Fold[Imports](evs)
	_, err := im.Start(p, start)
	is(t, err, ErrConflict, "already started")
	_, err = Imports{}.Complete(p, CompleteImport{ImportID: "i1", By: importer})
	is(t, err, ErrNotFound)
	evs = append(evs, ok(t)(im.Complete(p, CompleteImport{ImportID: "i1", Votes: 3, By: importer}))...)
	im = Fold[Imports](evs)
	assert.True(t, im.Completed["i1"])
	_, err = im.Complete(p, CompleteImport{ImportID: "i1", By: importer})
	is(t, err, ErrConflict)
	_, err = Imports{}.Start(p, StartImport{ImportID: "i2", Source: "polis", By: alice})
	is(t, err, ErrForbidden)
	_, err = Imports{}.Start(p, StartImport{ImportID: "i2", Source: "polis", Files: []ImportedFile{{Name: "x", SHA256: "short"}}, By: importer})
	is(t, err, ErrInvalid)
}
