package ledgerhttp_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore/memory"
	ledgerhttp "github.com/malmo/participation-ledger/http"
	"github.com/malmo/participation-ledger/ledger"
	"github.com/malmo/participation-ledger/privacy"
)

// env is a real server on loopback over a memory store, with a token for
// every role and two participants ("own" and "other").
type env struct {
	t      testing.TB
	srv    *httptest.Server
	api    *ledgerhttp.Server
	svc    *ledger.Service
	tokens map[string]string // role (or "own"/"other" participant) → token
	own    string            // participant ids
	other  string
	keys   atomic.Int64
}

func newEnv(t testing.TB, tweak func(*ledgerhttp.Config)) *env {
	t.Helper()
	ctx := context.Background()
	store := memory.New()
	t.Cleanup(func() { store.Close() })
	keys, err := privacy.Open(t.TempDir())
	require.NoError(t, err)
	svc := ledger.New(store, keys)
	cfg := ledgerhttp.Config{Service: svc, DataDir: t.TempDir()}
	if tweak != nil {
		tweak(&cfg)
	}
	api, err := ledgerhttp.NewServer(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { api.Close() })
	e := &env{t: t, srv: httptest.NewServer(api), api: api, svc: svc, tokens: map[string]string{}}
	t.Cleanup(e.srv.Close)

	boot := domain.Actor{ID: "bootstrap", Role: domain.RoleAdmin}
	issue := func(name string, role domain.Role, participant string) string {
		res, err := svc.IssueToken(ctx, boot, ledger.Request[ledger.IssueToken]{IdempotencyKey: "boot-" + name,
			Command: ledger.IssueToken{Name: name, Role: role, Participant: participant}})
		require.NoError(t, err)
		return res.Token
	}
	for _, r := range []domain.Role{domain.RoleIntake, domain.RoleModerator, domain.RoleOfficial, domain.RoleAuditor, domain.RoleResearcher, domain.RoleAdmin, domain.RoleElected} {
		e.tokens[string(r)] = issue(string(r)+"-1", r, "")
	}
	e.tokens["moderator2"] = issue("moderator-2", domain.RoleModerator, "")
	intake := domain.Actor{ID: "intake-1", Role: domain.RoleIntake}
	for _, who := range []string{"own", "other"} {
		res, err := svc.RegisterParticipant(ctx, intake, ledger.Request[domain.RegisterParticipant]{IdempotencyKey: "boot-" + who,
			Command: domain.RegisterParticipant{Pseudonym: who, Name: "Namn " + who, Email: who + "@example.se", Language: "sv"}})
		require.NoError(t, err)
		e.tokens[who] = issue("p-"+who, domain.RoleParticipant, res.ID)
		if who == "own" {
			e.own = res.ID
		} else {
			e.other = res.ID
		}
	}
	return e
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.body, &m), "body: %s", r.body)
	return m
}

func (r reply) str(t testing.TB, key string) string {
	t.Helper()
	v, _ := r.json(t)[key].(string)
	return v
}

// problemType returns the last segment of a problem's type URI.
func (r reply) problemType(t testing.TB) string {
	t.Helper()
	require.Equal(t, "application/problem+json", r.header.Get("Content-Type"), "status %d body %s", r.status, r.body)
	typ := r.str(t, "type")
	return typ[strings.LastIndex(typ, "/")+1:]
}

// do sends a request. who is a key of env.tokens ("" for none); a write
// gets a fresh Idempotency-Key unless hdr sets one ("-" removes it).
func (e *env) do(method, path, who, body string, hdr ...string) reply {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	require.NoError(e.t, err)
	if who != "" {
		tok, ok := e.tokens[who]
		if !ok {
			tok = who // a raw token
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if method != http.MethodGet {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "k-"+itoa(e.keys.Add(1)))
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "-" {
			req.Header.Del(hdr[i])
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := e.srv.Client().Do(req)
	require.NoError(e.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
	return reply{status: res.StatusCode, header: res.Header, body: b}
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// must asserts the status and returns the reply.
func (e *env) must(status int, r reply) reply {
	e.t.Helper()
	require.Equal(e.t, status, r.status, "body: %s", r.body)
	return r
}

const processBody = `{"title":{"sv":"Trygghet i Möllevången","en":"Safety in Möllevången"},"kind":"proposal",
"owner_body":"Kommunstyrelsen","case_number":"KS-2024-622","administrations":["Stadskontoret","Miljöförvaltningen"],
"phases":[{"name":"förslag","starts_at":"2024-09-01T00:00:00Z","accepts":["submissions","comments","support","survey_answers"]},
{"name":"beslut","starts_at":"2024-12-01T00:00:00Z","accepts":[]}],
"support_threshold":2,"moderation_mode":"post","policy_reference":"Riktlinjer för digital dialog 2023"}`

// world is a process with a submission by "own" carrying a restricting
// moderation decision, for the tests that need existing resources.
type world struct {
	process, submission, decision string
}

func (e *env) world() world {
	e.t.Helper()
	var w world
	w.process = e.must(201, e.do("POST", "/v1/processes", "official", processBody)).str(e.t, "id")
	e.must(201, e.do("POST", "/v1/processes/"+w.process+"/survey", "official",
		`{"title":{"sv":"Enkät"},"questions":[{"id":"q1","kind":"scale","text":{"sv":"Hur trygg känner du dig?"},"scale_min":1,"scale_max":5}]}`))
	w.submission = e.must(201, e.do("POST", "/v1/processes/"+w.process+"/submissions", "own",
		`{"language":"sv","title":"Bättre belysning","body":"Belysningen i parken är dålig."}`)).str(e.t, "id")
	w.decision = e.must(201, e.do("POST", "/v1/moderation/decisions", "moderator",
		`{"item":{"kind":"submission","id":"`+w.submission+`"},"content_version":1,"visibility":"content_labelled",
		"ground":"incompatible_content","policy_clause":"3.1","category":"other_violation_tc",
		"explanation":"Delvis utanför ämnet","ground_explanation":"Villkoren 3.1: håll dig till ämnet.","automated_decision":"automated_decision_not_automated","source":"source_voluntary"}`)).str(e.t, "id")
	return w
}
