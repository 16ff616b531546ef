package ledgerhttp_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/polis"
)

type groupsAnswer struct {
	Position uint64 `json:"position"`
	Groups   struct {
		Voters         int `json:"voters"`
		InConversation int `json:"in_conversation"`
		Groups         []struct {
			Members        int `json:"members"`
			Representative []struct {
				StatementID string `json:"statement_id"`
				Direction   string `json:"direction"`
				Count, Of   int
			} `json:"representative"`
		} `json:"groups"`
		Consensus  []json.RawMessage `json:"consensus"`
		Statements []struct {
			StatementID string          `json:"statement_id"`
			Body        json.RawMessage `json:"body"`
			Groups      []struct{ Agree, Disagree, Pass int }
		} `json:"statements"`
		Points []struct {
			X, Y  float64
			Group int
		} `json:"points"`
	} `json:"groups"`
}

// TestOpinionGroupsOverHTTP: a real Polis conversation's opinion groups,
// public, with the statements' text and no participant ids, as_of too.
func TestOpinionGroupsOverHTTP(t *testing.T) {
	e := newEnv(t, withReads(t))
	c, err := polis.Read(filepath.Join("..", "polis", "testdata", "15-per-hour-seattle"))
	require.NoError(t, err)
	opened := e.must(201, e.do("POST", "/v1/processes", "official", dialogueBody()))
	res, err := polis.Import(context.Background(), e.svc, c, polis.Options{Title: "15 dollar"})
	require.NoError(t, err)
	head, err := e.svc.Store().Head(context.Background())
	require.NoError(t, err)
	e.waitForReads(itoa(int64(head)))

	path := "/v1/processes/" + res.ProcessID + "/dialogue/groups"
	var (
		r reply
		a groupsAnswer
	)
	require.Eventually(t, func() bool { // the runner may still be folding the import
		r = e.must(200, e.do("GET", path, "", ""))
		require.NoError(t, json.Unmarshal(r.body, &a))
		return a.Position == uint64(head)
	}, 30*time.Second, 50*time.Millisecond)
	g := a.Groups
	assert.Equal(t, 339, g.Voters)
	// Polis grouped 138. The import appends voters' streams concurrently,
	// so the log's order of votes — and who came into the conversation
	// first (once in, always in) — may differ between runs by one.
	assert.InDelta(t, 138, g.InConversation, 1, "Polis grouped 138")
	require.Len(t, g.Groups, 2)
	assert.Equal(t, g.InConversation, g.Groups[0].Members+g.Groups[1].Members)
	assert.Len(t, g.Points, g.InConversation)
	for _, grp := range g.Groups {
		assert.NotEmpty(t, grp.Representative)
	}
	assert.NotEmpty(t, g.Consensus)
	require.NotEmpty(t, g.Statements)
	assert.Contains(t, string(g.Statements[0].Body), `"text":`)
	assert.NotContains(t, string(r.body), res.ProcessID+"-p", "no participant ids")
	assert.NotContains(t, string(r.body), "sealed")

	// as_of: the groups of what the ledger held then.
	same := e.must(200, e.do("GET", path+"?as_of="+itoa(int64(head)), "", ""))
	assert.JSONEq(t, string(r.body), string(same.body))
	mid := e.must(200, e.do("GET", path+"?as_of="+itoa(int64(head)*2/3), "", ""))
	var m groupsAnswer
	require.NoError(t, json.Unmarshal(mid.body, &m))
	assert.Equal(t, uint64(head)*2/3, m.Position)
	assert.Less(t, m.Groups.Voters, 339)
	assert.Less(t, m.Groups.InConversation, g.InConversation)
	before := e.do("GET", path+"?as_of="+opened.position(t), "", "")
	assert.Equal(t, 404, before.status, "the process did not exist yet")
	assert.Equal(t, 404, e.do("GET", "/v1/processes/nope/dialogue/groups", "", "").status)
}
