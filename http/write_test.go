package ledgerhttp_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore/memory"
	ledgerhttp "github.com/malmo/participation-ledger/http"
	"github.com/malmo/participation-ledger/ledger"
	"github.com/malmo/participation-ledger/privacy"
)

func TestEveryWriteRoute(t *testing.T) {
	e := newEnv(t, nil)
	w := e.world()
	sub := w.submission

	// Answers carry ids and positions only.
	r := e.must(201, e.do("POST", "/v1/submissions/"+sub+"/revisions", "own", `{"title":"Bättre belysning i Folkets park","body":"Fler lampor längs gångvägarna."}`))
	m := r.json(t)
	assert.Equal(t, "submission-"+sub, m["stream"])
	assert.EqualValues(t, 2, m["revision"])
	assert.NotZero(t, m["position"])
	assert.NotEmpty(t, m["event_id"])
	assert.NotContains(t, string(r.body), "lampor", "no content in answers")

	com := e.must(201, e.do("POST", "/v1/submissions/"+sub+"/comments", "other", `{"language":"sv","body":"Håller med!"}`)).str(t, "id")
	e.must(201, e.do("POST", "/v1/submissions/"+sub+"/comments", "intake", `{"author":"`+e.other+`","channel":"paper","language":"sv","body":"Svar på brev","parent_id":"`+com+`","occurred_at":"2024-09-20T10:00:00+02:00"}`))
	e.must(201, e.do("POST", "/v1/submissions/"+sub+"/support", "other", ``))
	e.must(200, e.do("DELETE", "/v1/submissions/"+sub+"/support", "other", `{}`))
	e.must(201, e.do("POST", "/v1/processes/"+w.process+"/survey/answers", "own", `{"answers":[{"question_id":"q1","scale":4}]}`))

	flag := e.must(201, e.do("POST", "/v1/flags", "other", `{"item":{"kind":"comment","id":"`+com+`"},"content_version":1,"category":"illegal_or_harmful_speech","explanation":"Otrevligt"}`)).str(t, "id")
	e.must(201, e.do("POST", "/v1/moderation/decisions", "moderator", `{"item":{"kind":"comment","id":"`+com+`"},"content_version":1,
		"visibility":"no_action","explanation":"Inget brott mot riktlinjerna","automated_decision":"automated_decision_not_automated",
		"source":"source_article_16","flag_ids":["`+flag+`"]}`))

	appeal := e.must(201, e.do("POST", "/v1/appeals", "own", `{"item":{"kind":"submission","id":"`+sub+`"},"decision_id":"`+w.decision+`","grounds":"Förslaget handlar om parken"}`)).str(t, "id")
	// The moderator who decided may not decide the appeal.
	assert.Equal(t, "forbidden", e.must(403, e.do("POST", "/v1/appeals/"+appeal+"/decision", "moderator", `{"item":{"kind":"submission","id":"`+sub+`"},"outcome":"overturned","explanation":"x"}`)).problemType(t))
	e.must(201, e.do("POST", "/v1/appeals/"+appeal+"/decision", "moderator2", `{"item":{"kind":"submission","id":"`+sub+`"},"outcome":"overturned","explanation":"Inom ämnet"}`))

	e.must(201, e.do("POST", "/v1/submissions/"+sub+"/forward", "official", `{"to":"Fastighets- och gatukontoret","note":"För yttrande","respond_by":"2024-11-01"}`))
	e.must(201, e.do("POST", "/v1/submissions/"+sub+"/response", "official", `{"body":"Belysningen byts 2025.","responsible_body":"Tekniska nämnden","decision_reference":"TN 2024-10-17 §212","outcome":"approved"}`))

	e.must(201, e.do("POST", "/v1/participants/"+e.own+"/consent", "own", `{"publish_name":true,"research_use":false}`))
	er := e.must(201, e.do("POST", "/v1/participants/"+e.own+"/erasure", "own", `{"reason":"Vill inte synas"}`)).str(t, "id")
	e.must(201, e.do("POST", "/v1/participants/"+e.own+"/erasure/decision", "admin", `{"request_id":"`+er+`","outcome":"refused","basis":"GDPR art. 17(3)(b); arkivlagen"}`))

	data := e.must(200, e.do("GET", "/v1/participants/"+e.own+"/data", "own", ""))
	assert.Contains(t, string(data.body), "Fler lampor längs gångvägarna", "the participant sees their own content opened")
	assert.Equal(t, "no-store", data.header.Get("Cache-Control"))
	e.must(200, e.do("GET", "/v1/participants/"+e.own+"/data?purpose=registerutdrag", "intake", ""))

	newP := e.must(201, e.do("POST", "/v1/participants", "intake", `{"pseudonym":"nyinflyttad","name":"Nils Nyman","language":"sv"}`)).str(t, "id")
	assert.NotEmpty(t, newP)

	disp := e.must(201, e.do("POST", "/v1/disposals", "admin", `{"case_number":"KS-2031-77","scope":"comment","subject_id":"`+com+`","legal_basis":"Dokumenthanteringsplan 4.3"}`)).json(t)
	assert.Len(t, disp["events"], 2, "DisposalDecided and KeysShredded")

	tok := e.must(201, e.do("POST", "/v1/tokens", "admin", `{"name":"handläggare-2","role":"official"}`))
	secret, id := tok.str(t, "token"), tok.str(t, "id")
	require.NotEmpty(t, secret)
	e.must(201, e.do("POST", "/v1/processes/"+w.process+"/phase", secret, `{"to":"beslut"}`))
	e.must(200, e.do("DELETE", "/v1/tokens/"+id, "admin", `{"reason":"slutat"}`))
	assert.Equal(t, "unauthorized", e.must(401, e.do("POST", "/v1/processes/"+w.process+"/close", secret, `{"reason":"klart"}`)).problemType(t))
	e.must(201, e.do("POST", "/v1/processes/"+w.process+"/close", "official", `{"reason":"Beslut fattat"}`))
	assert.Equal(t, "conflict", e.must(409, e.do("POST", "/v1/processes/"+w.process+"/submissions", "own", `{"language":"sv","title":"Sent","body":"För sent"}`)).problemType(t))
}

func TestBadInput(t *testing.T) {
	e := newEnv(t, nil)
	w := e.world()
	rev := "/v1/submissions/" + w.submission + "/revisions"
	good := `{"title":"T","body":"B"}`

	cases := []struct {
		name   string
		method string
		path   string
		who    string
		body   string
		hdr    []string
		status int
		typ    string
	}{
		{"malformed JSON", "POST", rev, "own", `{"title":`, nil, 400, "bad-request"},
		{"unknown field", "POST", rev, "own", `{"title":"T","body":"B","colour":"red"}`, nil, 400, "bad-request"},
		{"trailing data", "POST", rev, "own", good + `{}`, nil, 400, "bad-request"},
		{"missing Idempotency-Key", "POST", rev, "own", good, []string{"Idempotency-Key", "-"}, 400, "bad-request"},
		{"missing reasons", "POST", "/v1/moderation/decisions", "moderator", `{"item":{"kind":"submission","id":"` + w.submission + `"},"content_version":1,"visibility":"content_disabled","automated_decision":"automated_decision_not_automated","source":"source_voluntary"}`, nil, 422, "invalid"},
		{"missing title", "POST", rev, "own", `{"body":"B"}`, nil, 422, "invalid"},
		{"wrong role", "POST", "/v1/moderation/decisions", "official", `{}`, nil, 403, "forbidden"},
		{"another's submission", "POST", rev, "other", good, nil, 403, "forbidden"},
		{"no token", "POST", rev, "", good, nil, 401, "unauthorized"},
		{"bad token", "POST", rev, "garbage", good, nil, 401, "unauthorized"},
		{"stale If-Match", "POST", rev, "own", good, []string{"If-Match", `"0"`}, 412, "precondition-failed"},
		{"bad If-Match", "POST", rev, "own", good, []string{"If-Match", `W/"x"`}, 400, "bad-request"},
		{"too large", "POST", rev, "own", `{"title":"T","body":"` + strings.Repeat("x", 1<<20) + `"}`, nil, 413, "too-large"},
		{"not JSON", "POST", rev, "own", good, []string{"Content-Type", "text/plain"}, 415, "unsupported-media-type"},
		{"unknown submission", "POST", "/v1/submissions/nope/revisions", "own", good, nil, 404, "not-found"},
		{"unknown route", "POST", "/v1/nothing", "own", good, nil, 404, "not-found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(c.method, c.path, c.who, c.body, c.hdr...)
			require.Equal(t, c.status, r.status, "body %s", r.body)
			assert.Equal(t, c.typ, r.problemType(t))
			assert.EqualValues(t, c.status, r.json(t)["status"])
		})
	}

	t.Run("precondition answer carries the actual revision", func(t *testing.T) {
		r := e.must(412, e.do("POST", rev, "own", good, "If-Match", `"7"`))
		assert.EqualValues(t, 1, r.json(t)["revision"])
		e.must(201, e.do("POST", rev, "own", good, "If-Match", `"1"`))
	})
}

func TestIdempotencyKey(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, func(c *ledgerhttp.Config) { c.DataDir = dir })
	w := e.world()
	path := "/v1/submissions/" + w.submission + "/support"

	first := e.must(201, e.do("POST", path, "other", `{}`, "Idempotency-Key", "support-1"))
	again := e.must(201, e.do("POST", path, "other", `{}`, "Idempotency-Key", "support-1"))
	assert.Equal(t, string(first.body), string(again.body))
	assert.Equal(t, "true", again.header.Get("Idempotent-Replayed"))

	// The same key with another body (or path) is refused.
	assert.Equal(t, "idempotency-key-reused", e.must(422, e.do("POST", path, "other", `{"participant":"x"}`, "Idempotency-Key", "support-1")).problemType(t))
	// Keys are per token: another caller's identical key is theirs.
	e.must(201, e.do("POST", path, "own", `{}`, "Idempotency-Key", "support-1"))

	// A domain rejection is an answer too, and is repeated.
	rej := e.must(409, e.do("POST", path, "other", `{}`, "Idempotency-Key", "support-2"))
	assert.Equal(t, string(rej.body), string(e.must(409, e.do("POST", path, "other", `{}`, "Idempotency-Key", "support-2")).body))

	// Records survive a restart of the HTTP layer.
	require.NoError(t, e.api.Close())
	api2, err := ledgerhttp.NewServer(ledgerhttp.Config{Service: e.svc, DataDir: dir})
	require.NoError(t, err)
	defer api2.Close()
	e.srv.Config.Handler = api2
	after := e.must(201, e.do("POST", path, "other", `{}`, "Idempotency-Key", "support-1"))
	assert.Equal(t, string(first.body), string(after.body))
	assert.Equal(t, "true", after.header.Get("Idempotent-Replayed"))

	// Without the record (memory only), the store's derived event ids
	// still give the original answer.
	api3, err := ledgerhttp.NewServer(ledgerhttp.Config{Service: e.svc})
	require.NoError(t, err)
	e.srv.Config.Handler = api3
	fresh := e.must(201, e.do("POST", path, "other", `{}`, "Idempotency-Key", "support-1"))
	assert.Equal(t, string(first.body), string(fresh.body))
	assert.Empty(t, fresh.header.Get("Idempotent-Replayed"))
}

func TestRateLimit(t *testing.T) {
	now := time.Date(2024, 9, 1, 12, 0, 0, 0, time.UTC)
	e := newEnv(t, func(c *ledgerhttp.Config) {
		c.RateLimit = ledgerhttp.RateLimit{PerSecond: 0.5, Burst: 3}
		c.Now = func() time.Time { return now }
	})
	for range 3 {
		e.must(200, e.do("GET", "/healthz", "own", ""))
	}
	r := e.must(429, e.do("POST", "/v1/participants/"+e.own+"/consent", "own", `{"publish_name":true,"research_use":true}`))
	assert.Equal(t, "rate-limited", r.problemType(t))
	assert.Equal(t, "2", r.header.Get("Retry-After"))
	// Another token has its own bucket.
	e.must(200, e.do("GET", "/healthz", "other", ""))
	now = now.Add(2 * time.Second)
	e.must(201, e.do("POST", "/v1/participants/"+e.own+"/consent", "own", `{"publish_name":true,"research_use":true}`))
}

func TestMetricsAndHealth(t *testing.T) {
	e := newEnv(t, nil)
	e.must(200, e.do("GET", "/healthz", "", ""))
	e.must(200, e.do("GET", "/readyz", "", ""))
	e.must(201, e.do("POST", "/v1/processes", "official", processBody))
	m := e.must(200, e.do("GET", "/metrics", "", ""))
	assert.Contains(t, string(m.body), `ledger_http_requests_total{method="POST",route="/v1/processes",status="201"} 1`)
	assert.Contains(t, string(m.body), `ledger_http_request_duration_seconds_count{method="POST",route="/v1/processes"}`)
}

func TestReceiptIncluded(t *testing.T) {
	e := newEnv(t, func(c *ledgerhttp.Config) {
		c.Receipt = func(_ context.Context, ev ledger.Appended) (any, error) {
			return map[string]any{"leaf_index": uint64(ev.Position) - 1}, nil
		}
	})
	r := e.must(201, e.do("POST", "/v1/processes", "official", processBody)).json(t)
	pos := r["position"].(float64)
	assert.Equal(t, pos-1, r["receipt"].(map[string]any)["leaf_index"])
}

func TestInternalErrorsAreNotLeaked(t *testing.T) {
	e := newEnv(t, nil)
	require.NoError(t, e.svc.Store().Close())
	r := e.must(500, e.do("POST", "/v1/processes", "official", processBody))
	assert.Equal(t, "internal", r.problemType(t))
	assert.NotContains(t, string(r.body), "closed")
	assert.Empty(t, r.json(t)["detail"])
}

func TestAppendMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	store := memory.New()
	defer store.Close()
	keys, err := privacy.Open(t.TempDir())
	require.NoError(t, err)
	svc := ledger.New(store, keys, ledger.WithAppendObserver(ledgerhttp.AppendObserver(reg)))
	_, err = svc.IssueToken(context.Background(), domain.Actor{ID: "a", Role: domain.RoleAdmin},
		ledger.Request[ledger.IssueToken]{Command: ledger.IssueToken{Name: "n", Role: domain.RoleAuditor}})
	require.NoError(t, err)
	mfs, err := reg.Gather()
	require.NoError(t, err)
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch {
			case m.GetCounter() != nil:
				got[mf.GetName()] += m.GetCounter().GetValue()
			case m.GetHistogram() != nil:
				got[mf.GetName()] += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	assert.Equal(t, 1.0, got["ledger_appended_events_total"])
	assert.Equal(t, 1.0, got["ledger_appends_total"])
	assert.Equal(t, 1.0, got["ledger_append_duration_seconds"])
}
