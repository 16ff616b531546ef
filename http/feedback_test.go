package ledgerhttp_test

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRecordFeedback(t *testing.T) {
	e := newEnv(t, withReads(t))
	w := e.world()
	ok := e.must(201, e.do("POST", "/v1/processes/"+w.process+"/feedback", "elected",
		`{"summary":"Fullmäktige beslutar att belysa parken.","body":"Kommunfullmäktige","paragraph":"§ 112","decided_on":"2025-03-27",
		"outcome":"partly_accepted","progress":40,"answers":["`+w.submission+`"]}`))
	assert.NotEmpty(t, ok.str(t, "id"))
	assert.Equal(t, "FeedbackRecorded", ok.json(t)["events"].([]any)[0].(map[string]any)["type"])

	e.waitForReads(ok.position(t))

	// The public results: the proposal decided, with the decision's reference.
	res := e.must(200, e.do("GET", "/v1/processes/"+w.process+"/results", "", ""))
	results := res.json(t)["results"].(map[string]any)
	prop := results["proposals"].([]any)[0].(map[string]any)
	assert.Equal(t, w.submission, prop["id"])
	assert.Equal(t, "decided", prop["stage"])
	assert.Equal(t, "partly_accepted", prop["outcome"])
	assert.Equal(t, 40.0, prop["progress"])
	assert.Equal(t, "Kommunfullmäktige § 112 2025-03-27", prop["decision"])
	assert.Equal(t, "Bättre belysning", prop["title"].(map[string]any)["text"], "titles are opened in the JSON answer")
	assert.Len(t, results["feedback"], 1)
	assert.Equal(t, 1.0, results["moderation"].(map[string]any)["decisions"])
	csv := e.must(200, e.do("GET", "/v1/processes/"+w.process+"/results", "", "", "Accept", "text/csv"))
	assert.Contains(t, string(csv.body), w.submission+",decided,")
	assert.NotContains(t, string(csv.body), "Bättre belysning")
	// As of before the feedback: the proposal was only received.
	before := e.must(200, e.do("GET", "/v1/processes/"+w.process+"/results?as_of="+itoa(int64(mustUint(t, ok.position(t)))-1), "", ""))
	assert.Equal(t, "received", before.json(t)["results"].(map[string]any)["proposals"].([]any)[0].(map[string]any)["stage"])
	assert.Equal(t, 404, e.do("GET", "/v1/processes/nope/results", "", "").status)

	bad := e.do("POST", "/v1/processes/"+w.process+"/feedback", "elected",
		`{"summary":"S","body":"KF","paragraph":"§ 1","decided_on":"27 mars","outcome":"accepted"}`)
	assert.Equal(t, 422, bad.status, "%s", bad.body)
	assert.Equal(t, "invalid", bad.problemType(t))

	missing := e.do("POST", "/v1/processes/nope/feedback", "elected",
		`{"summary":"S","body":"KF","paragraph":"§ 1","decided_on":"2025-03-27","outcome":"accepted"}`)
	assert.Equal(t, 404, missing.status, "%s", missing.body)
	// An official does not speak for the elected body.
	assert.Equal(t, 403, e.do("POST", "/v1/processes/"+w.process+"/feedback", "official",
		`{"summary":"S","body":"KF","paragraph":"§ 1","decided_on":"2025-03-27","outcome":"accepted"}`).status)
}

func mustUint(t *testing.T, s string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
