package ledger_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/ledger"
)

// TestGrantedErasureClosesTheAccount: granting an erasure revokes every
// token of the participant and runs the erasure hooks (where web sessions
// end) in the same request; another participant's token keeps working; a
// retry repeats nothing; no new token can be issued for them.
func TestGrantedErasureClosesTheAccount(t *testing.T) {
	f := newFixture(t)
	var ended []string
	f.svc = ledger.New(f.store, f.keys, ledger.WithErasureHook(func(_ context.Context, id string) error {
		ended = append(ended, id)
		return nil
	}))
	who := f.register("reg-1", "a")
	other := f.register("reg-2", "b")
	issue := func(key, participant string) string {
		res, err := f.svc.IssueToken(f.ctx, admin, rq(key, ledger.IssueToken{Name: key, Role: domain.RoleParticipant, Participant: participant}))
		require.NoError(t, err)
		return res.Token
	}
	phone, laptop, theirs := issue("t-phone", who), issue("t-laptop", who), issue("t-other", other)

	req, err := f.svc.RequestErasure(f.ctx, participantActor(who), who, rq("er-1", domain.RequestErasure{Reason: "Jag flyttar", Channel: domain.ChannelWeb}))
	require.NoError(t, err)
	decide := rq("ed-1", domain.DecideErasure{RequestID: req.ID, Outcome: domain.ErasureGranted, Basis: "GDPR art. 17(1)(a)"})
	res, err := f.svc.DecideErasure(f.ctx, admin, who, decide)
	require.NoError(t, err)
	var types []string
	for _, e := range res.Events {
		types = append(types, e.Type)
	}
	assert.Equal(t, []string{"ErasureDecided", "TokenRevoked", "TokenRevoked", "KeysShredded"}, types)
	assert.Equal(t, []string{who}, ended, "the hook ran once, for them")

	for _, tok := range []string{phone, laptop} {
		_, err := f.svc.Authenticate(f.ctx, tok)
		assert.ErrorIs(t, err, ledger.ErrUnauthorized, "their token stops working in the same request")
	}
	p, err := f.svc.Authenticate(f.ctx, theirs)
	require.NoError(t, err)
	assert.Equal(t, other, p.Participant)

	again, err := f.svc.DecideErasure(f.ctx, admin, who, decide)
	require.NoError(t, err)
	assert.Equal(t, res, again, "a retried request appends nothing new")

	_, err = f.svc.IssueToken(f.ctx, admin, rq("t-new", ledger.IssueToken{Name: "new", Role: domain.RoleParticipant, Participant: who}))
	assert.ErrorIs(t, err, domain.ErrConflict, "an erased participant's account stays closed")

	// A refused erasure revokes nothing.
	req2, err := f.svc.RequestErasure(f.ctx, participantActor(other), other, rq("er-2", domain.RequestErasure{Channel: domain.ChannelWeb}))
	require.NoError(t, err)
	_, err = f.svc.DecideErasure(f.ctx, admin, other, rq("ed-2", domain.DecideErasure{RequestID: req2.ID, Outcome: domain.ErasureRefused,
		Basis: "GDPR art. 17(3)(b), arkivlagen (1990:782)"}))
	require.NoError(t, err)
	_, err = f.svc.Authenticate(f.ctx, theirs)
	assert.NoError(t, err)
}

// TestParticipantDisposalClosesTheAccount: a disposal decision covering a
// participant ends their tokens and sessions too.
func TestParticipantDisposalClosesTheAccount(t *testing.T) {
	f := newFixture(t)
	var ended []string
	f.svc = ledger.New(f.store, f.keys, ledger.WithErasureHook(func(_ context.Context, id string) error {
		ended = append(ended, id)
		return nil
	}))
	who := f.register("reg-1", "a")
	res, err := f.svc.IssueToken(f.ctx, admin, rq("t", ledger.IssueToken{Name: "t", Role: domain.RoleParticipant, Participant: who}))
	require.NoError(t, err)
	_, err = f.svc.Dispose(f.ctx, admin, rq("d", domain.DecideDisposal{CaseNumber: "KS-2031-77", Scope: domain.ScopeParticipant,
		SubjectID: who, LegalBasis: "Dokumenthanteringsplan 4.3"}))
	require.NoError(t, err)
	_, err = f.svc.Authenticate(f.ctx, res.Token)
	assert.ErrorIs(t, err, ledger.ErrUnauthorized)
	assert.Equal(t, []string{who}, ended)
}
