package ledgerhttp_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRecordFeedback(t *testing.T) {
	e := newEnv(t, nil)
	w := e.world()
	ok := e.must(201, e.do("POST", "/v1/processes/"+w.process+"/feedback", "elected",
		`{"summary":"Fullmäktige beslutar att belysa parken.","body":"Kommunfullmäktige","paragraph":"§ 112","decided_on":"2025-03-27",
		"outcome":"partly_accepted","progress":40,"answers":["`+w.submission+`"]}`))
	assert.NotEmpty(t, ok.str(t, "id"))
	assert.Equal(t, "FeedbackRecorded", ok.json(t)["events"].([]any)[0].(map[string]any)["type"])

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
