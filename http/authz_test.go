package ledgerhttp_test

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Who may call what, written out independently of routes.go so that a
// change there that widens access fails here. "own" marks routes where a
// participant may act only on their own resource or as themself (the probes
// address resources of, or name as author, the participant "own").
var access = []struct {
	method, pattern string
	roles           string // space-separated; "public" for no token needed
	own             bool
}{
	{"GET", "/healthz", "public", false},
	{"GET", "/readyz", "public", false},
	{"GET", "/metrics", "public", false},
	{"GET", "/v1/openapi.json", "public", false},
	{"POST", "/v1/processes", "official admin", false},
	{"POST", "/v1/processes/{id}/phase", "official admin", false},
	{"POST", "/v1/processes/{id}/close", "official admin", false},
	{"POST", "/v1/processes/{id}/survey", "official admin", false},
	{"POST", "/v1/processes/{id}/feedback", "elected", false},
	{"POST", "/v1/processes/{id}/submissions", "participant intake", true},
	{"POST", "/v1/submissions/{id}/revisions", "participant intake", true},
	{"POST", "/v1/submissions/{id}/comments", "participant intake", true},
	{"POST", "/v1/submissions/{id}/support", "participant intake", false},
	{"DELETE", "/v1/submissions/{id}/support", "participant intake", false},
	{"POST", "/v1/processes/{id}/statements", "participant intake official admin", true},
	{"POST", "/v1/statements/{id}/votes", "participant intake", true},
	{"GET", "/v1/processes/{id}/statements", "public", false},
	{"GET", "/v1/processes/{id}/dialogue/timeline", "public", false},
	{"GET", "/v1/processes/{id}/dialogue/groups", "public", false},
	{"GET", "/v1/processes/{id}/dialogue/matrix", "researcher auditor admin", false},
	{"POST", "/v1/processes/{id}/survey/answers", "participant intake", false},
	{"POST", "/v1/flags", "participant intake moderator official admin", false},
	{"POST", "/v1/moderation/decisions", "moderator", false},
	{"POST", "/v1/appeals", "participant intake", true},
	{"POST", "/v1/appeals/{id}/decision", "moderator", false},
	{"POST", "/v1/submissions/{id}/forward", "official", false},
	{"POST", "/v1/submissions/{id}/response", "official", false},
	{"POST", "/v1/participants", "intake admin", false},
	{"POST", "/v1/participants/{id}/consent", "participant intake", true},
	{"POST", "/v1/participants/{id}/erasure", "participant intake", true},
	{"POST", "/v1/participants/{id}/erasure/decision", "admin", false},
	{"GET", "/v1/participants/{id}/data", "participant intake admin", true},
	{"POST", "/v1/disposals", "admin", false},
	{"GET", "/v1/me", "participant intake moderator official auditor researcher admin elected", false},
	{"POST", "/v1/tokens", "admin", false},
	{"DELETE", "/v1/tokens/{id}", "admin", false},
	{"POST", "/v1/admin/backup", "admin", false},
	{"POST", "/v1/exports", "auditor researcher", false},
	{"GET", "/v1/exports/{id}/{file}", "auditor researcher", false},
	{"GET", "/v1/exports/{id}/polis/{process}/{file}", "auditor researcher", false},
	{"GET", "/v1/exports/dsa", "moderator auditor admin", false},
	{"GET", "/v1/exports/dsa/{batch}", "moderator auditor admin", false},
	{"GET", "/v1/processes", "public", false},
	{"GET", "/v1/processes/{id}", "public", false},
	{"GET", "/v1/processes/{id}/submissions", "public", false},
	{"GET", "/v1/processes/{id}/results", "public", false},
	{"GET", "/v1/submissions/{id}", "public", false},
	{"GET", "/v1/items/{id}/trail", "public", false},
	{"GET", "/v1/moderation/queue", "moderator admin", false},
	{"GET", "/v1/reports/transparency", "public", false},
	{"GET", "/v1/stats/participation", "public", false},
	{"GET", "/v1/actors/{id}/trail", "moderator official auditor admin", false},
	{"GET", "/v1/events", "auditor admin", false},
	{"GET", "/v1/streams/{stream}", "auditor admin", false},
	{"GET", "/v1/access", "auditor", false},
	{"GET", "/v1/live", "public", false},
	{"GET", "/v1/ledger/checkpoint", "public", false},
	{"GET", "/v1/ledger/key", "public", false},
	{"GET", "/v1/ledger/proof/inclusion", "public", false},
	{"GET", "/v1/ledger/proof/consistency", "public", false},
	{"GET", "/v1/ledger/receipt", "public", false},
}

// callers: every role, a participant on their own resource and on
// another's, and nobody.
var callers = []string{"", "own", "other", "intake", "moderator", "official", "auditor", "researcher", "admin", "elected"}

func roleOf(caller string) string {
	if caller == "own" || caller == "other" {
		return "participant"
	}
	return caller
}

func TestAuthorizationMatrix(t *testing.T) {
	e := newEnv(t, withReads(t))
	w := e.world()
	// An appeal by "own" against a decision by moderator2, so that
	// "moderator" is a different moderator and may decide it.
	dec := e.must(201, e.do("POST", "/v1/moderation/decisions", "moderator2", `{"item":{"kind":"submission","id":"`+w.submission+`"},"content_version":1,
		"visibility":"content_demoted","ground":"incompatible_content","policy_clause":"3.2","category":"other_violation_tc",
		"explanation":"Dubblett","ground_explanation":"Villkoren 3.2: inga dubbletter.","automated_decision":"automated_decision_not_automated","source":"source_voluntary"}`)).str(t, "id")
	appealed := e.must(201, e.do("POST", "/v1/appeals", "own", `{"item":{"kind":"submission","id":"`+w.submission+`"},"decision_id":"`+dec+`","grounds":"Inte en dubblett"}`))
	appeal := appealed.str(t, "id")
	// A dialogue process with a statement by "own", for the dialogue routes.
	dialogue := e.must(201, e.do("POST", "/v1/processes", "official", strings.Replace(strings.Replace(processBody,
		`"kind":"proposal"`, `"kind":"dialogue"`, 1), `"accepts":["submissions","comments","support","survey_answers"]`, `"accepts":["statements","votes"]`, 1))).str(t, "id")
	stated := e.must(201, e.do("POST", "/v1/processes/"+dialogue+"/statements", "own", `{"language":"sv","body":"Fler träd"}`))
	statement := stated.str(t, "id")
	e.waitForReads(stated.position(t))

	item := `{"kind":"submission","id":"` + w.submission + `"}`
	type probe struct{ path, body string }
	// Requests that get past decoding, addressing a resource owned by "own".
	probes := map[string]func(caller string) probe{
		"POST /v1/processes":            func(string) probe { return probe{"/v1/processes", processBody} },
		"POST /v1/processes/{id}/phase": func(string) probe { return probe{"/v1/processes/" + w.process + "/phase", `{"to":"förslag"}`} },
		"POST /v1/processes/{id}/close": func(string) probe { return probe{"/v1/processes/nope/close", `{"reason":"x"}`} },
		"POST /v1/processes/{id}/survey": func(string) probe {
			return probe{"/v1/processes/" + w.process + "/survey", `{"title":{"sv":"x"},"questions":[]}`}
		},
		"POST /v1/processes/{id}/feedback": func(string) probe {
			return probe{"/v1/processes/" + w.process + "/feedback", `{"summary":"S","body":"KF","paragraph":"§ 1","decided_on":"2025-03-27","outcome":"accepted","progress":0}`}
		},
		"POST /v1/processes/{id}/submissions": func(string) probe {
			return probe{"/v1/processes/" + w.process + "/submissions", `{"author":"` + e.own + `","language":"sv","title":"T","body":"B"}`}
		},
		"POST /v1/submissions/{id}/revisions": func(string) probe {
			return probe{"/v1/submissions/" + w.submission + "/revisions", `{"title":"T2","body":"B2"}`}
		},
		"POST /v1/submissions/{id}/comments": func(string) probe {
			return probe{"/v1/submissions/" + w.submission + "/comments", `{"author":"` + e.own + `","language":"sv","body":"C"}`}
		},
		"POST /v1/submissions/{id}/support":   func(string) probe { return probe{"/v1/submissions/" + w.submission + "/support", `{}`} },
		"DELETE /v1/submissions/{id}/support": func(string) probe { return probe{"/v1/submissions/" + w.submission + "/support", `{}`} },
		"POST /v1/processes/{id}/statements": func(caller string) probe {
			if caller == "official" || caller == "admin" {
				return probe{"/v1/processes/" + dialogue + "/statements", `{"language":"sv","body":"S","seed":true}`}
			}
			return probe{"/v1/processes/" + dialogue + "/statements", `{"author":"` + e.own + `","language":"sv","body":"S"}`}
		},
		"POST /v1/statements/{id}/votes": func(string) probe {
			return probe{"/v1/statements/" + statement + "/votes", `{"participant":"` + e.own + `","vote":"agree"}`}
		},
		"GET /v1/processes/{id}/statements":        func(string) probe { return probe{"/v1/processes/" + dialogue + "/statements", ""} },
		"GET /v1/processes/{id}/dialogue/timeline": func(string) probe { return probe{"/v1/processes/" + dialogue + "/dialogue/timeline", ""} },
		"GET /v1/processes/{id}/dialogue/groups":   func(string) probe { return probe{"/v1/processes/" + dialogue + "/dialogue/groups", ""} },
		"GET /v1/processes/{id}/dialogue/matrix":   func(string) probe { return probe{"/v1/processes/" + dialogue + "/dialogue/matrix", ""} },
		"POST /v1/processes/{id}/survey/answers": func(string) probe {
			return probe{"/v1/processes/" + w.process + "/survey/answers", `{"answers":[{"question_id":"q1","scale":3}]}`}
		},
		"POST /v1/flags": func(string) probe {
			return probe{"/v1/flags", `{"item":` + item + `,"content_version":1,"category":"scams_and_fraud"}`}
		},
		"POST /v1/moderation/decisions": func(string) probe {
			return probe{"/v1/moderation/decisions", `{"item":` + item + `,"content_version":1,"visibility":"no_action","explanation":"ok","automated_decision":"automated_decision_not_automated","source":"source_voluntary"}`}
		},
		"POST /v1/appeals": func(caller string) probe {
			behalf := ""
			if caller == "intake" {
				behalf = `,"on_behalf_of":"` + e.own + `"`
			}
			return probe{"/v1/appeals", `{"item":` + item + `,"decision_id":"` + w.decision + `","grounds":"G"` + behalf + `}`}
		},
		"POST /v1/appeals/{id}/decision": func(string) probe {
			return probe{"/v1/appeals/" + appeal + "/decision", `{"item":` + item + `,"outcome":"upheld","explanation":"E"}`}
		},
		"POST /v1/submissions/{id}/forward": func(string) probe {
			return probe{"/v1/submissions/" + w.submission + "/forward", `{"to":"Stadskontoret"}`}
		},
		"POST /v1/submissions/{id}/response": func(string) probe {
			return probe{"/v1/submissions/nope/response", `{"body":"B","responsible_body":"KS","decision_reference":"KS §1","outcome":"answered"}`}
		},
		"POST /v1/participants": func(string) probe { return probe{"/v1/participants", `{"pseudonym":"p","language":"sv"}`} },
		"POST /v1/participants/{id}/consent": func(string) probe {
			return probe{"/v1/participants/" + e.own + "/consent", `{"publish_name":true,"research_use":true}`}
		},
		"POST /v1/participants/{id}/erasure": func(string) probe { return probe{"/v1/participants/" + e.own + "/erasure", `{}`} },
		"POST /v1/participants/{id}/erasure/decision": func(string) probe {
			return probe{"/v1/participants/" + e.own + "/erasure/decision", `{"request_id":"nope","outcome":"refused","basis":"B"}`}
		},
		"GET /v1/participants/{id}/data": func(string) probe { return probe{"/v1/participants/" + e.own + "/data?purpose=audit", ""} },
		"POST /v1/disposals": func(string) probe {
			return probe{"/v1/disposals", `{"case_number":"C","scope":"process","subject_id":"nope","legal_basis":"L"}`}
		},
		"POST /v1/tokens":                    func(string) probe { return probe{"/v1/tokens", `{"name":"n","role":"auditor"}`} },
		"DELETE /v1/tokens/{id}":             func(string) probe { return probe{"/v1/tokens/nope", `{}`} },
		"GET /v1/processes/{id}":             func(string) probe { return probe{"/v1/processes/" + w.process, ""} },
		"GET /v1/processes/{id}/results":     func(string) probe { return probe{"/v1/processes/" + w.process + "/results", ""} },
		"GET /v1/processes/{id}/submissions": func(string) probe { return probe{"/v1/processes/" + w.process + "/submissions", ""} },
		"GET /v1/submissions/{id}":           func(string) probe { return probe{"/v1/submissions/" + w.submission, ""} },
		"GET /v1/items/{id}/trail":           func(string) probe { return probe{"/v1/items/" + w.submission + "/trail", ""} },
		"GET /v1/stats/participation":        func(string) probe { return probe{"/v1/stats/participation?process=" + w.process, ""} },
		"GET /v1/actors/{id}/trail": func(caller string) probe {
			// Moderators and officials may read their own trail only.
			if caller == "official" {
				return probe{"/v1/actors/official-1/trail", ""}
			}
			return probe{"/v1/actors/moderator-1/trail", ""}
		},
		"GET /v1/streams/{stream}":         func(string) probe { return probe{"/v1/streams/process-" + w.process, ""} },
		"GET /v1/ledger/proof/inclusion":   func(string) probe { return probe{"/v1/ledger/proof/inclusion?index=0&size=1", ""} },
		"GET /v1/ledger/proof/consistency": func(string) probe { return probe{"/v1/ledger/proof/consistency?from=1&to=1", ""} },
		"GET /v1/ledger/receipt":           func(string) probe { return probe{"/v1/ledger/receipt?index=0", ""} },
	}

	// Every served route has a row here.
	served := map[string]bool{}
	require.NoError(t, chi.Walk(e.api.Router(), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		served[method+" "+route] = true
		return nil
	}))
	listed := map[string]bool{}
	for _, a := range access {
		listed[a.method+" "+a.pattern] = true
	}
	assert.Equal(t, keys(served), keys(listed), "routes served vs. routes with an access rule")

	for _, a := range access {
		for _, caller := range callers {
			name := a.method + " " + a.pattern + " as " + caller
			if caller == "" {
				name += "anonymous"
			}
			t.Run(name, func(t *testing.T) {
				p := probe{path: a.pattern}
				if f, ok := probes[a.method+" "+a.pattern]; ok {
					p = f(caller)
				}
				var r reply
				if a.pattern == "/v1/live" {
					r = e.peek(p.path, caller) // an event stream never ends
				} else {
					r = e.do(a.method, p.path, caller, p.body)
				}
				allowed := a.roles == "public" || strings.Contains(" "+a.roles+" ", " "+roleOf(caller)+" ") && caller != ""
				switch {
				case a.roles == "public":
					assert.Less(t, r.status, 400, "body %s", r.body)
				case caller == "":
					assert.Equal(t, 401, r.status, "body %s", r.body)
				case !allowed || (a.own && caller == "other"):
					assert.Equal(t, 403, r.status, "body %s", r.body)
				default:
					assert.NotContains(t, []int{401, 403}, r.status, "body %s", r.body)
					assert.Less(t, r.status, 500, "body %s", r.body)
				}
			})
		}
	}
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestOpenAPIMatchesRouter(t *testing.T) {
	e := newEnv(t, nil)
	r := e.must(200, e.do("GET", "/v1/openapi.json", "", ""))

	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(r.body)
	require.NoError(t, err)
	require.NoError(t, doc.Validate(context.Background()))
	assert.True(t, doc.IsOpenAPI31OrLater())

	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	served := map[string]bool{}
	require.NoError(t, chi.Walk(e.api.Router(), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		served[method+" "+route] = true
		return nil
	}))
	assert.Equal(t, keys(served), keys(documented))

	op := doc.Paths.Find("/v1/moderation/decisions").Post
	require.NotNil(t, op.RequestBody)
	schema := doc.Components.Schemas["DecisionBody"].Value
	assert.Contains(t, schema.Properties, "explanation")
	assert.Contains(t, schema.Required, "explanation")
}
