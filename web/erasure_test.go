package web_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/domain"
)

// TestErasedParticipantIsARemovedParticipant: after a granted erasure the
// submission page names no pseudonym, says "removed participant" and
// "removed at the participant's request" with the legal ground, in both
// languages, and does not use a disposal's wording.
func TestErasedParticipantIsARemovedParticipant(t *testing.T) {
	n := newNode(t)
	ctx := n.ctx
	intake := domain.Actor{ID: "intake-erasure", Role: domain.RoleIntake}
	who, err := n.svc.RegisterParticipant(ctx, intake, rq("er-reg", domain.RegisterParticipant{Pseudonym: "Lyktstolpe77", Name: "Raderad Person", Language: "sv"}))
	require.NoError(t, err)
	author := domain.Actor{ID: who.ID, Role: domain.RoleParticipant}
	sub, err := n.svc.ReceiveSubmission(ctx, author, n.seed.cycling, rq("er-sub", domain.ReceiveSubmission{Language: "sv", Title: "Belysning i Rosengård", Body: "Fler lampor längs cykelbanan."}))
	require.NoError(t, err)
	_, err = n.svc.PostComment(ctx, author, n.seed.popular, rq("er-com", domain.PostComment{Language: "sv", Body: "Kommentar som ska bort."}))
	require.NoError(t, err)
	req, err := n.svc.RequestErasure(ctx, author, who.ID, rq("er-req", domain.RequestErasure{Channel: domain.ChannelWeb}))
	require.NoError(t, err)
	_, err = n.svc.DecideErasure(ctx, admin, who.ID, rq("er-dec", domain.DecideErasure{RequestID: req.ID, Outcome: domain.ErasureGranted, Basis: "GDPR art. 17(1)(a)"}))
	require.NoError(t, err)
	n.caughtUp()

	c := n.client()
	status, sv := c.get("/submissions/"+sub.ID, "Accept-Language", "sv")
	require.Equal(t, http.StatusOK, status)
	svT := text(sv)
	assert.Contains(t, svT, "borttagen deltagare")
	assert.Contains(t, svT, "Borttaget på deltagarens begäran")
	assert.Contains(t, svT, "GDPR art. 17(1)(a)")
	assert.NotContains(t, svT, "Lyktstolpe77")
	assert.NotContains(t, svT, "gallrat", "an erasure is not a disposal")

	_, en := c.get("/submissions/"+sub.ID, "Accept-Language", "en")
	enT := text(en)
	assert.Contains(t, enT, "removed participant")
	assert.Contains(t, enT, "Removed at the participant's request")

	_, pop := c.get("/submissions/"+n.seed.popular, "Accept-Language", "sv")
	popT := text(pop)
	assert.Contains(t, popT, "borttagen deltagare", "the erased comment's author")
	assert.NotContains(t, popT, "Kommentar som ska bort.")
	assert.NotContains(t, popT, "Lyktstolpe77")
	assert.Contains(t, popT, "Cykelpump36", "other authors keep their pseudonyms")
}
