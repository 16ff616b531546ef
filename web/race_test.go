package web_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/domain"
)

// TestDashboardRendersWhileWritesHappen renders the dashboard and the
// moderation form of an appealed item (which names the moderator of the
// appealed decision from the trail) while notices about that same item
// are appended and projected. Run under -race, it fails if any page reads
// a model outside the runner's synchronisation.
func TestDashboardRendersWhileWritesHappen(t *testing.T) {
	n := newNode(t)
	s := n.seed
	intake := domain.Actor{ID: "ida.intake", Role: domain.RoleIntake}
	who, err := n.svc.RegisterParticipant(n.ctx, intake, rq("reg-race", domain.RegisterParticipant{
		Pseudonym: "Racer1", Name: "Invånare Racer", Email: "racer@example.se", District: "Husie", AgeBand: "30-39", Language: "sv"}))
	require.NoError(t, err)
	resident := domain.Actor{ID: who.ID, Role: domain.RoleParticipant}

	c := n.client()
	c.login(n, modB.ID)
	const writes, readers, renders = 150, 3, 40
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range writes {
			_, err := n.svc.FlagContent(n.ctx, resident, domain.ItemSubmission, s.hidden, rq(fmt.Sprintf("race-flag-%d", i),
				domain.FlagContent{ContentVersion: 1, Source: domain.FlagByParticipant, Category: domain.CategoryOtherViolationTC}))
			assert.NoError(t, err)
		}
	})
	for range readers {
		wg.Go(func() {
			for range renders {
				status, page := c.get("/dashboard/items/submission/" + s.hidden)
				assert.Equal(t, http.StatusOK, status)
				assert.Contains(t, page, "/appeals/"+s.appeal+`"`, "modB may decide modA's appealed decision")
				status, _ = c.get("/dashboard")
				assert.Equal(t, http.StatusOK, status)
			}
		})
	}
	wg.Wait()
}
