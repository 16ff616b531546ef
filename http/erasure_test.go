package ledgerhttp_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGrantedErasure: once an erasure is granted the participant's old
// token gets 401 on their next write, the public view names them only as
// a removed participant, with the removal at their request and its legal
// ground (not a disposal), and the data route says what was erased and
// when.
func TestGrantedErasure(t *testing.T) {
	e := newEnv(t, withReads(t))
	w := e.world()
	comment := e.must(201, e.do("POST", "/v1/submissions/"+w.submission+"/comments", "own", `{"language":"sv","body":"Och lamporna vid dammen."}`)).str(t, "id")
	e.must(201, e.do("POST", "/v1/submissions/"+w.submission+"/comments", "other", `{"language":"sv","body":"Håller med."}`))

	req := e.must(201, e.do("POST", "/v1/participants/"+e.own+"/erasure", "own", `{"reason":"Jag flyttar"}`)).str(t, "id")
	const basis = "GDPR art. 17(1)(a)"
	dec := e.must(201, e.do("POST", "/v1/participants/"+e.own+"/erasure/decision", "admin",
		`{"request_id":"`+req+`","outcome":"granted","basis":"`+basis+`"}`))
	pos := dec.position(t)

	// The old token is dead on the next write; the other participant's is not.
	r := e.do("POST", "/v1/submissions/"+w.submission+"/comments", "own", `{"language":"sv","body":"Ett till."}`)
	assert.Equal(t, 401, r.status, "body %s", r.body)
	e.must(201, e.do("POST", "/v1/submissions/"+w.submission+"/comments", "other", `{"language":"sv","body":"Fortfarande här."}`))

	type public struct {
		Author        string `json:"author"`
		AuthorRemoved bool   `json:"author_removed"`
		Removed       *struct {
			LegalBasis string `json:"legal_basis"`
		} `json:"removed"`
		Disposed any `json:"disposed"`
		Content  any `json:"content"`
		Comments []struct {
			ID            string `json:"id"`
			Author        string `json:"author"`
			AuthorRemoved bool   `json:"author_removed"`
			Removed       *struct {
				LegalBasis string `json:"legal_basis"`
			} `json:"removed"`
			Disposed any `json:"disposed"`
		} `json:"comments"`
	}
	sub := decode[struct {
		Submission public `json:"submission"`
	}](t, e.must(200, e.get("/v1/submissions/"+w.submission, "", pos))).Submission
	assert.Empty(t, sub.Author, "no pseudonym")
	assert.True(t, sub.AuthorRemoved)
	require.NotNil(t, sub.Removed, "removed at the participant's request")
	assert.Equal(t, basis, sub.Removed.LegalBasis)
	assert.Nil(t, sub.Disposed, "an erasure is not a disposal")
	assert.Nil(t, sub.Content)
	seen := 0
	for _, c := range sub.Comments {
		if c.ID == comment {
			seen++
			assert.Empty(t, c.Author)
			assert.True(t, c.AuthorRemoved)
			require.NotNil(t, c.Removed)
			assert.Nil(t, c.Disposed)
		} else {
			assert.Equal(t, "other", c.Author)
			assert.False(t, c.AuthorRemoved)
		}
	}
	assert.Equal(t, 1, seen)
	assert.NotContains(t, string(e.get("/v1/submissions/"+w.submission, "", pos).body), `"own"`, "the pseudonym is nowhere in the public view")

	// The data route (staff now: the participant's token is gone).
	data := decode[struct {
		Erasures []struct {
			RequestID string `json:"request_id"`
			Outcome   string `json:"outcome"`
			Basis     string `json:"basis"`
			DecidedAt string `json:"decided_at"`
			ErasedAt  string `json:"erased_at"`
			Erased    []struct{ Kind, ID string }
		} `json:"erasures"`
	}](t, e.must(200, e.do("GET", "/v1/participants/"+e.own+"/data?purpose=registerutdrag", "intake", "")))
	require.Len(t, data.Erasures, 1)
	er := data.Erasures[0]
	assert.Equal(t, req, er.RequestID)
	assert.Equal(t, "granted", er.Outcome)
	assert.Equal(t, basis, er.Basis)
	assert.NotEmpty(t, er.DecidedAt)
	assert.NotEmpty(t, er.ErasedAt)
	kinds := map[string]string{}
	for _, x := range er.Erased {
		kinds[x.ID] = x.Kind
	}
	assert.Equal(t, "personal_data", kinds[""])
	assert.Equal(t, "submission", kinds[w.submission])
	assert.Equal(t, "comment", kinds[comment])
	assert.Equal(t, 401, e.do("GET", "/v1/participants/"+e.own+"/data", "own", "").status)
}
