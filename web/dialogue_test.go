package web_test

import (
	"context"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/ledger"
	"github.com/malmo/participation-ledger/polis"
	"github.com/malmo/participation-ledger/projections"
)

// seattleNode is a ledger holding a real Polis conversation (CC BY 4.0,
// polis/testdata) and the fixture's processes.
func seattleNode(t testing.TB) (*ledgerNode, string) {
	t.Helper()
	var proc string
	n := newNodeWith(t, func(ctx context.Context, svc *ledger.Service) {
		seed(t, ctx, svc)
		c, err := polis.Read(filepath.Join("..", "polis", "testdata", "15-per-hour-seattle"))
		require.NoError(t, err)
		res, err := polis.Import(ctx, svc, c, polis.Options{Title: "Minimilön 15 dollar i Seattle"})
		require.NoError(t, err)
		proc = res.ProcessID
	})
	return n, proc
}

func TestDialoguePageShowsOpinionGroups(t *testing.T) {
	n, proc := seattleNode(t)
	c := n.client()

	// What the page must show: the dialogue model's groups, folded here.
	head, err := n.store.Head(n.ctx)
	require.NoError(t, err)
	m := projections.NewDialogue()
	_, _, err = projections.Fold(n.ctx, projections.Events(n.ctx, n.store, 0, head), m)
	require.NoError(t, err)
	want, ok := m.Groups(proc)
	require.True(t, ok)
	require.Len(t, want.Groups, 2)
	counts, _ := m.Counts(proc, true)
	textOf := func(id string) string {
		for _, s := range counts.Statements {
			if s.StatementID == id {
				t, _ := n.svc.Open(*s.Body)
				return strings.Join(strings.Fields(t), " ")
			}
		}
		return ""
	}

	status, page := c.get("/processes/"+proc+"/dialogue", "Accept-Language", "sv")
	require.Equal(t, http.StatusOK, status)
	pt := text(page)
	assert.Contains(t, pt, "Opinionsgrupper")
	assert.Contains(t, page, `<svg class="opinion-map"`)
	assert.Contains(t, page, `role="img" aria-labelledby="map-t map-d"`)
	assert.Equal(t, len(want.Points), strings.Count(page, `class="og og-`), "one marker per grouped participant")
	// The import appends voters' streams concurrently, so the log's order of
	// votes — and with it who came into the conversation first (once in,
	// always in) — may differ between runs by a participant: the page must
	// show what the fold of this log gives (138 or 139 for the sample).
	assert.Contains(t, pt, "Grupperade deltagare "+strconv.Itoa(len(want.Points)))
	assert.InDelta(t, 138, len(want.Points), 1)
	for i, g := range want.Groups {
		label := string(rune('A' + i))
		assert.Contains(t, pt, "Grupp "+label+" ", "group %s", label)
		assert.Contains(t, pt, strconv.Itoa(g.Members)+" deltagare")
		// The group card names its representative statements, with the share.
		rep := g.Representative[0]
		assert.Contains(t, pt, textOf(rep.StatementID))
		assert.Contains(t, pt, "("+strconv.Itoa(rep.Count)+" av "+strconv.Itoa(rep.Of)+")")
	}
	require.NotEmpty(t, want.Consensus)
	assert.Contains(t, pt, "Samsyn mellan grupperna")
	assert.Contains(t, pt, textOf(want.Consensus[0].StatementID))
	assert.NotContains(t, page, proc+"-p", "no participant ids")

	// English, the link from the process page, as_of, and 404s.
	_, en := c.get("/processes/" + proc + "/dialogue?lang=en")
	assert.Contains(t, text(en), "Common ground across groups")
	assert.Contains(t, text(en), "Group B")
	_, procPage := c.get("/processes/" + proc)
	assert.Contains(t, procPage, `href="/processes/`+proc+`/dialogue"`)
	_, early := c.get("/processes/" + proc + "/dialogue?as_of=" + strconv.FormatUint(uint64(head)*2/3, 10))
	assert.Contains(t, early, "Historical view.")
	assert.NotContains(t, text(early), "Grupperade deltagare 138")
	status, _ = c.get("/processes/" + n.seed.cycling + "/dialogue")
	assert.Equal(t, http.StatusNotFound, status, "not a dialogue")
	status, _ = c.get("/processes/nope/dialogue")
	assert.Equal(t, http.StatusNotFound, status)
}
