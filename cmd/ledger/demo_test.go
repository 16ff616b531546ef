package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDemoServed seeds the small demo with the command, refuses to seed
// again, then serves the data directory over loopback and checks that the
// API shows it: processes, an answered submission, a decision trail with
// an overturned appeal, the transparency report, and the demo's tokens.
func TestDemoServed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	getenv := func(string) string { return "" }
	var out, errOut bytes.Buffer
	err := run(ctx, []string{"demo", "--data", dir, "--size", "small", "--seed", "3", "--url", "http://example.test"}, getenv, &out, &errOut)
	require.NoError(t, err, errOut.String())
	stdout := out.String()
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	admin := lines[len(lines)-1]
	assert.Regexp(t, `^[A-Za-z0-9_-]{43}$`, admin, "the admin token alone on the last line")
	assert.Contains(t, stdout, "STK-2024-622")
	moderatorToken := regexp.MustCompile(`moderator\s+karin\.sjoberg\s+(\S+)`).FindStringSubmatch(stdout)
	require.Len(t, moderatorToken, 2, "a moderator token is printed:\n%s", stdout)
	ids := func(re string) string {
		m := regexp.MustCompile(re).FindStringSubmatch(stdout)
		require.Len(t, m, 2, "%s in:\n%s", re, stdout)
		return m[1]
	}
	answered := ids(`/v1/submissions/(\S+)\s+forwarded`)
	overturned := ids(`/v1/items/(\S+)/trail\s+hidden, appealed`)
	disposed := ids(`/v1/submissions/(\S+)\s+disposed`)
	pending := ids(`/v1/moderation/queue\?process=(\S+)`)

	// A second run refuses the non-empty ledger.
	out.Reset()
	err = run(ctx, []string{"demo", "--data", dir, "--size", "small"}, getenv, &out, &errOut)
	require.ErrorIs(t, err, errNotEmpty)
	assert.Equal(t, 2, exitCode(err))
	assert.Empty(t, out.String())

	n, err := openNode(ctx, nodeConfig{dataDir: dir})
	require.NoError(t, err)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- n.Run(runCtx) }()
	srv := httptest.NewServer(n.Handler()) // loopback
	t.Cleanup(func() {
		srv.Close()
		stop()
		<-done
		require.NoError(t, n.Close())
	})
	head, err := n.store.Head(ctx)
	require.NoError(t, err)
	require.NoError(t, n.runner.Wait(ctx, head), "read models catch up with the demo")

	get := func(path, token string) map[string]any {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, "GET", srv.URL+path, nil)
		require.NoError(t, err)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", path, b)
		var v map[string]any
		require.NoError(t, json.Unmarshal(b, &v), "%s: %s", path, b)
		return v
	}
	js := func(v any) string {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		return string(b)
	}

	procs := js(get("/v1/processes", ""))
	for _, cn := range []string{"STK-2024-622", "KS 2024/418", "MFN 2025-00213", "SBN-2025-1130", "TN-2026-0142", "KN-2026-0087"} {
		assert.Contains(t, procs, cn)
	}
	assert.Contains(t, procs, "Stadsbyggnadsnämnden")

	sub := js(get("/v1/submissions/"+answered, ""))
	assert.Contains(t, sub, "KS 2024-09-09 §418", "the official answer with its decision reference")
	assert.Contains(t, sub, "FGK-2024-1893", "the remiss")
	assert.Contains(t, sub, "Tack till dig och till alla", "the answer's text")

	trail := js(get("/v1/items/"+overturned+"/trail", ""))
	for _, want := range []string{"ContentFlagged", "ModerationDecided", "4.1 Personangrepp", "AppealFiled", "AppealDecided", "overturned"} {
		assert.Contains(t, trail, want)
	}
	assert.NotContains(t, trail, "karin.sjoberg", "the public trail names no moderator")
	assert.Contains(t, js(get("/v1/items/"+overturned+"/trail?view=internal", admin)), "karin.sjoberg", "the internal trail does")

	gone := js(get("/v1/submissions/"+disposed, ""))
	assert.Contains(t, gone, "KS 2025/1021")
	assert.NotContains(t, gone, "070-123 45 67", "disposed content is not shown")

	report := get("/v1/reports/transparency", "")
	r, ok := report["report"].(map[string]any)
	require.True(t, ok, js(report))
	assert.Positive(t, r["decisions"])
	assert.EqualValues(t, 3, r["appeals_filed"])
	assert.EqualValues(t, 2, r["appeals_overturned"])
	assert.EqualValues(t, 1, r["appeals_upheld"])

	queue := js(get("/v1/moderation/queue?process="+pending, moderatorToken[1]))
	assert.Contains(t, queue, `"process_id":"`+pending+`"`, "the moderator token works and the demo left items in the queue")
}
