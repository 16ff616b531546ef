package ledger_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/ledger"
)

// A participant token is issued only for a participant who exists.
func TestTokenOnlyForAnExistingParticipant(t *testing.T) {
	f := newFixture(t)
	admin := domain.Actor{ID: "admin-1", Role: domain.RoleAdmin}
	_, err := f.svc.IssueToken(f.ctx, admin, rq("t-ghost", ledger.IssueToken{Name: "ghost", Role: domain.RoleParticipant, Participant: "no-such-person"}))
	require.ErrorIs(t, err, domain.ErrNotFound)
	id := f.register("p-1", "Blå Häger 17")
	res, err := f.svc.IssueToken(f.ctx, admin, rq("t-real", ledger.IssueToken{Name: "real", Role: domain.RoleParticipant, Participant: id}))
	require.NoError(t, err)
	require.NotEmpty(t, res.Token)
}
