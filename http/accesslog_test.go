package ledgerhttp_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	ledgerhttp "github.com/malmo/participation-ledger/http"
)

// logBuffer collects JSON log lines from a server (handlers log from the
// server's goroutines).
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// lines returns every logged record, and the raw text.
func (l *logBuffer) lines(t *testing.T) ([]map[string]any, string) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(l.b.Bytes()))
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), "not a JSON line: %s", sc.Text())
		out = append(out, m)
	}
	return out, l.b.String()
}

// withJSONLog gives the server a JSON logger at debug level writing to buf.
func withJSONLog(buf *logBuffer) func(*ledgerhttp.Config) {
	return func(cfg *ledgerhttp.Config) {
		cfg.Logger = slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
}

// accessLine finds the access-log line of the request with id.
func accessLine(t *testing.T, buf *logBuffer, id string) map[string]any {
	t.Helper()
	lines, raw := buf.lines(t)
	for _, l := range lines {
		if l["msg"] == "request" && l["request_id"] == id {
			return l
		}
	}
	t.Fatalf("no access-log line with request_id %s in:\n%s", id, raw)
	return nil
}

func TestAccessLogJSON(t *testing.T) {
	var buf logBuffer
	e := newEnv(t, withJSONLog(&buf))

	// A write with a staff token: one info line with the fields, and
	// neither the token nor the body's personal data anywhere in the log.
	r := e.must(201, e.do("POST", "/v1/participants", "intake",
		`{"pseudonym":"granne","name":"Lisa Hemlig","email":"lisa.hemlig@example.se","language":"sv"}`))
	id := r.header.Get("X-Request-Id")
	require.NotEmpty(t, id)
	l := accessLine(t, &buf, id)
	assert.Equal(t, "INFO", l["level"])
	assert.Equal(t, "POST", l["method"])
	assert.Equal(t, "/v1/participants", l["route"])
	assert.Equal(t, float64(201), l["status"])
	assert.Equal(t, float64(len(r.body)), l["bytes"])
	assert.Contains(t, l, "duration_ms")
	_, raw := buf.lines(t)
	assert.NotContains(t, raw, e.tokens["intake"])
	assert.NotContains(t, raw, "Lisa Hemlig")
	assert.NotContains(t, raw, "lisa.hemlig@example.se")
	assert.NotContains(t, raw, r.str(t, "id"), "the path and answer hold the participant id; the log holds the route")

	// A 401 from a bad token is logged under the route it was for, not
	// "unmatched", and the bad token is not logged either.
	r = e.do("GET", "/v1/participants/"+e.own+"/data", "not-a-real-token", "")
	require.Equal(t, 401, r.status)
	l = accessLine(t, &buf, r.header.Get("X-Request-Id"))
	assert.Equal(t, "/v1/participants/{id}/data", l["route"])
	assert.Equal(t, float64(401), l["status"])
	_, raw = buf.lines(t)
	assert.NotContains(t, raw, "not-a-real-token")

	// A path no route has is "unmatched".
	r = e.do("GET", "/v1/no-such-thing", "", "")
	assert.Equal(t, "unmatched", accessLine(t, &buf, r.header.Get("X-Request-Id"))["route"])

	// A client's X-Request-Id is kept when it is plain; anything else is
	// replaced rather than written into the log.
	r = e.do("GET", "/healthz", "", "", "X-Request-Id", "abc-123")
	assert.Equal(t, "abc-123", r.header.Get("X-Request-Id"))
	r = e.do("GET", "/healthz", "", "", "X-Request-Id", "a b\tc")
	assert.NotEqual(t, "a b\tc", r.header.Get("X-Request-Id"))
}

func TestErrorLogCarriesTheProblemsRequestID(t *testing.T) {
	var buf logBuffer
	e := newEnv(t, withJSONLog(&buf))
	require.NoError(t, e.svc.Store().Close()) // every store call now fails: a 500

	r := e.do("GET", "/v1/events", "auditor", "")
	require.Equal(t, 500, r.status, "%s", r.body)
	assert.Equal(t, "internal", r.problemType(t))
	id := r.str(t, "request_id")
	require.NotEmpty(t, id, "the problem carries the request id")
	assert.Equal(t, r.header.Get("X-Request-Id"), id)
	assert.NotContains(t, string(r.body), "closed", "internal error text stays in the log")

	lines, _ := buf.lines(t)
	var errLine map[string]any
	for _, l := range lines {
		if l["level"] == "ERROR" && l["request_id"] == id {
			errLine = l
		}
	}
	require.NotNil(t, errLine, "an ERROR line with the problem's request id")
	assert.NotEmpty(t, errLine["err"])
	assert.NotContains(t, errLine, "path")
	assert.Equal(t, float64(500), accessLine(t, &buf, id)["status"])
}

func TestClientCancellationIsDebug(t *testing.T) {
	var buf logBuffer
	e := newEnv(t, withJSONLog(&buf))
	// A request whose client has gone: the handler's store call fails
	// with context.Canceled.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequestWithContext(ctx, "GET", "/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+e.tokens["auditor"])
	req.Header.Set("X-Request-Id", "gone-1")
	w := httptest.NewRecorder()
	e.api.ServeHTTP(w, req)
	assert.Equal(t, ledgerhttp.StatusClientClosed, w.Code)

	lines, raw := buf.lines(t)
	found := false
	for _, l := range lines {
		if l["request_id"] != "gone-1" {
			continue
		}
		assert.NotEqual(t, "ERROR", l["level"], "a client going away is not a server error:\n%s", raw)
		if l["msg"] == "client went away" {
			found = true
			assert.Equal(t, "DEBUG", l["level"])
		}
	}
	assert.True(t, found, "a debug line for the cancellation:\n%s", raw)
	assert.Equal(t, float64(ledgerhttp.StatusClientClosed), accessLine(t, &buf, "gone-1")["status"])
}

func TestBuildInfoAndSeparateMetrics(t *testing.T) {
	build := ledgerhttp.BuildInfo{Version: "v1.2.3", Commit: "abc123", Time: "2026-12-01T10:00:00Z", GoVersion: "go1.26.8"}
	reg := prometheus.NewRegistry()
	e := newEnv(t, func(cfg *ledgerhttp.Config) {
		cfg.Build, cfg.Registry, cfg.MetricsElsewhere = build, reg, true
	})

	var health struct {
		Status string               `json:"status"`
		Build  ledgerhttp.BuildInfo `json:"build"`
	}
	require.NoError(t, json.Unmarshal(e.must(200, e.do("GET", "/healthz", "", "")).body, &health))
	assert.Equal(t, build, health.Build)

	// /metrics is not on the API, nor in its document…
	assert.Equal(t, 404, e.do("GET", "/metrics", "", "").status)
	assert.NotContains(t, string(e.must(200, e.do("GET", "/v1/openapi.json", "", "")).body), `"/metrics"`)

	// …but on the handler the caller serves elsewhere, with the build.
	m := httptest.NewServer(e.api.MetricsHandler())
	defer m.Close()
	res, err := http.Get(m.URL)
	require.NoError(t, err)
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	assert.Contains(t, string(body), `ledger_build_info{build_time="2026-12-01T10:00:00Z",commit="abc123",go_version="go1.26.8",version="v1.2.3"} 1`)
	assert.True(t, strings.Contains(string(body), "ledger_http_requests_total"), "the API's request metrics")
}
