package ledgerhttp_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func dialogueBody() string {
	return strings.Replace(strings.Replace(processBody, `"kind":"proposal"`, `"kind":"dialogue"`, 1),
		`"accepts":["submissions","comments","support","survey_answers"]`, `"accepts":["statements","votes"]`, 1)
}

type dialogueAnswer struct {
	Position   uint64 `json:"position"`
	Statements []struct {
		StatementID string          `json:"statement_id"`
		Status      string          `json:"status"`
		Agree       int             `json:"agree"`
		Disagree    int             `json:"disagree"`
		Pass        int             `json:"pass"`
		Body        json.RawMessage `json:"body"`
	} `json:"statements"`
}

func (e *env) dialogue(t *testing.T, path string, hdr ...string) dialogueAnswer {
	t.Helper()
	r := e.must(200, e.do("GET", path, "", "", hdr...))
	var a struct {
		Position uint64         `json:"position"`
		Dialogue dialogueAnswer `json:"dialogue"`
	}
	require.NoError(t, json.Unmarshal(r.body, &a))
	a.Dialogue.Position = a.Position
	return a.Dialogue
}

func TestDialogueOverHTTP(t *testing.T) {
	e := newEnv(t, withReads(t))
	proc := e.must(201, e.do("POST", "/v1/processes", "official", dialogueBody())).str(t, "id")
	st := e.must(201, e.do("POST", "/v1/processes/"+proc+"/statements", "own", `{"language":"sv","body":"Fler träd på torget"}`)).str(t, "id")
	seed := e.must(201, e.do("POST", "/v1/processes/"+proc+"/statements", "official", `{"language":"sv","body":"Torget ska vara bilfritt","seed":true}`)).str(t, "id")

	// A vote, its retry with the same key (the same vote), a change of mind.
	v1 := e.must(201, e.do("POST", "/v1/statements/"+st+"/votes", "other", `{"vote":"agree"}`, "Idempotency-Key", "vote-1"))
	again := e.must(201, e.do("POST", "/v1/statements/"+st+"/votes", "other", `{"vote":"agree"}`, "Idempotency-Key", "vote-1"))
	assert.Equal(t, v1.str(t, "event_id"), again.str(t, "event_id"))
	e.must(201, e.do("POST", "/v1/statements/"+seed+"/votes", "own", `{"vote":"pass"}`))
	e.waitForReads(e.must(201, e.do("POST", "/v1/statements/"+seed+"/votes", "other", `{"vote":"disagree"}`)).position(t))
	before := e.dialogue(t, "/v1/processes/"+proc+"/statements")
	changed := e.must(201, e.do("POST", "/v1/statements/"+st+"/votes", "other", `{"vote":"disagree"}`))
	e.waitForReads(changed.position(t))

	now := e.dialogue(t, "/v1/processes/"+proc+"/statements")
	require.Len(t, now.Statements, 2)
	assert.Equal(t, [3]int{0, 1, 0}, [3]int{now.Statements[0].Agree, now.Statements[0].Disagree, now.Statements[0].Pass})
	assert.Equal(t, [3]int{0, 1, 1}, [3]int{now.Statements[1].Agree, now.Statements[1].Disagree, now.Statements[1].Pass})
	assert.JSONEq(t, `{"text":"Fler träd på torget"}`, string(now.Statements[0].Body))
	old := e.dialogue(t, "/v1/processes/"+proc+"/statements?as_of="+itoa(int64(before.Position)))
	assert.Equal(t, before, old, "as_of answers what the ledger answered then")
	assert.Equal(t, 1, old.Statements[0].Agree)

	// Hidden: no more votes, and the public view shows status only.
	hide := e.must(201, e.do("POST", "/v1/moderation/decisions", "moderator", `{"item":{"kind":"statement","id":"`+st+`"},"content_version":1,
		"visibility":"content_disabled","ground":"incompatible_content","policy_clause":"3.2","category":"other_violation_tc",
		"explanation":"Utanför ämnet","ground_explanation":"Villkoren 3.2: håll dig till ämnet.","automated_decision":"automated_decision_not_automated","source":"source_voluntary"}`))
	refused := e.do("POST", "/v1/statements/"+st+"/votes", "own", `{"vote":"agree"}`)
	assert.Equal(t, 409, refused.status, "%s", refused.body)
	e.waitForReads(hide.position(t))
	hidden := e.dialogue(t, "/v1/processes/"+proc+"/statements")
	assert.Equal(t, "hidden", hidden.Statements[0].Status)
	assert.Equal(t, 0, hidden.Statements[0].Disagree)
	assert.Empty(t, hidden.Statements[0].Body)

	// The matrix is for researchers, with participants as numbers only.
	assert.Equal(t, 401, e.do("GET", "/v1/processes/"+proc+"/dialogue/matrix", "", "").status)
	// Research use follows consent: neither participant gave it yet, so
	// no row and no statement of theirs, only the counts.
	m := e.must(200, e.do("GET", "/v1/processes/"+proc+"/dialogue/matrix", "researcher", ""))
	assert.Contains(t, string(m.body), `"rows":[]`)
	assert.Contains(t, string(m.body), `"left_out":{"participants":{"no_research_consent":2},"statements":{"no_research_consent":1}}`)
	consent := e.must(201, e.do("POST", "/v1/participants/"+e.other+"/consent", "other", `{"publish_name":false,"research_use":true}`))
	m = e.must(200, e.do("GET", "/v1/processes/"+proc+"/dialogue/matrix", "researcher", "", "X-Ledger-Min-Position", consent.position(t)))
	assert.NotContains(t, string(m.body), e.own)
	assert.NotContains(t, string(m.body), e.other)
	assert.NotContains(t, string(m.body), st, "the statement of a participant without consent")
	assert.Contains(t, string(m.body), `"statements":["`+seed+`"],"rows":[{"participant":`)
	tl := e.must(200, e.do("GET", "/v1/processes/"+proc+"/dialogue/timeline", "", ""))
	assert.Contains(t, string(tl.body), `"votes":4`)
	assert.Equal(t, 404, e.do("GET", "/v1/processes/nope/statements", "", "").status)
}
