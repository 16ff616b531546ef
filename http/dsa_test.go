package ledgerhttp_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/dsa"
)

func TestDSAExportRoutes(t *testing.T) {
	e := newEnv(t, nil)
	w := e.world()
	// A second restriction with everything given explicitly, on illegal grounds.
	sub := e.must(201, e.do("POST", "/v1/processes/"+w.process+"/submissions", "own",
		`{"language":"en","title":"Threat","body":"I know where you live."}`)).str(t, "id")
	e.must(201, e.do("POST", "/v1/moderation/decisions", "moderator", `{"item":{"kind":"submission","id":"`+sub+`"},"content_version":1,
		"visibility":"content_disabled","ground":"illegal_content","legal_ground":"Brottsbalken 4 kap. 5 §","category":"violence",
		"ground_explanation":"A threat that can cause serious fear is an unlawful threat.","explanation":"The post threatens staff.",
		"content_type":["text"],"content_date":"2024-09-02","territorial_scope":["SE"],
		"automated_decision":"automated_decision_not_automated","source":"source_voluntary"}`))
	// A restriction with a retired category is refused by the API.
	refused := e.do("POST", "/v1/moderation/decisions", "moderator", `{"item":{"kind":"submission","id":"`+sub+`"},"content_version":1,
		"visibility":"content_labelled","ground":"incompatible_content","policy_clause":"3.1","category":"scope_of_platform_service",
		"ground_explanation":"x","explanation":"x","automated_decision":"automated_decision_not_automated","source":"source_voluntary"}`)
	assert.Equal(t, 422, refused.status, "%s", refused.body)

	sum := e.must(200, e.do("GET", "/v1/exports/dsa", "auditor", ""))
	var s struct {
		Restrictions int            `json:"restrictions"`
		Statements   int            `json:"statements"`
		Batches      int            `json:"batches"`
		HeldBack     []dsa.HeldBack `json:"held_back"`
	}
	require.NoError(t, json.Unmarshal(sum.body, &s))
	assert.Equal(t, 2, s.Restrictions)
	assert.Equal(t, 2, s.Statements)
	assert.Equal(t, 1, s.Batches)
	assert.Empty(t, s.HeldBack)

	body := e.must(200, e.do("GET", "/v1/exports/dsa/1", "moderator", "")).body
	errs, err := dsa.ValidateBulk(body)
	require.NoError(t, err)
	assert.Empty(t, errs)
	var b dsa.Bulk
	require.NoError(t, json.Unmarshal(body, &b))
	require.Len(t, b.Statements, 2)
	assert.Equal(t, w.decision, b.Statements[0].PUID)
	assert.Equal(t, "2024-09-02", b.Statements[1].ContentDate)
	assert.Equal(t, "EN", b.Statements[1].ContentLanguage)
	assert.Equal(t, "Brottsbalken 4 kap. 5 §", b.Statements[1].IllegalContentLegalGround)

	assert.Equal(t, 404, e.do("GET", "/v1/exports/dsa/2", "auditor", "").status)
	assert.Equal(t, 404, e.do("GET", "/v1/exports/dsa/x", "auditor", "").status)
	assert.Equal(t, 403, e.do("GET", "/v1/exports/dsa", "own", "").status)
	assert.Equal(t, 401, e.do("GET", "/v1/exports/dsa", "", "").status)
}
