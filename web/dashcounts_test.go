package web_test

import (
	"net/http"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/projections"
)

// TestDashboardCountsDialogue: the officials' dashboard counts a
// dialogue's statements and votes as the dialogue model does.
func TestDashboardCountsDialogue(t *testing.T) {
	n, proc := seattleNode(t)
	var statements, votes int
	_, err := n.runner.Read(n.ctx, projections.Live(), func(v *projections.View) error {
		dc, ok := projections.Get[*projections.Dialogue](v).Counts(proc, false)
		require.True(t, ok)
		statements = len(dc.Statements)
		for _, s := range dc.Statements {
			votes += s.VotesCast
		}
		return nil
	})
	require.NoError(t, err)
	require.Positive(t, votes)

	c := n.client()
	c.login(n, official.ID)
	status, page := c.get("/dashboard")
	require.Equal(t, http.StatusOK, status)
	row := regexp.MustCompile(`(?s)<tr id="p-` + regexp.QuoteMeta(proc) + `">.*?</tr>`).FindString(page)
	require.NotEmpty(t, row)
	assert.Contains(t, row, `data-col="statements">`+strconv.Itoa(statements)+`<`)
	assert.Contains(t, row, `data-col="votes">`+strconv.Itoa(votes)+`<`)
	assert.Contains(t, row, `data-col="survey">0<`)
}
