package main

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDevProviderRefusesNonLoopback(t *testing.T) {
	for _, args := range [][]string{
		{"--addr", "0.0.0.0:0", "--dev-oidc", "127.0.0.1:0"},
		{"--addr", "127.0.0.1:0", "--dev-oidc", "0.0.0.0:0"},
	} {
		_, _, err := runEnv(t, nil, append([]string{"serve", "--data", t.TempDir()}, args...)...)
		require.Error(t, err, "%v", args)
		assert.Contains(t, err.Error(), "loopback", "%v", args)
	}
	_, _, err := runEnv(t, map[string]string{"LEDGER_OIDC": "name=eid kind=resident"}, "serve", "--data", t.TempDir(), "--addr", "127.0.0.1:0")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--oidc")
}

// `serve --dev-oidc` as make run starts it: a demo staff member signs in
// through the development provider and gets the role from the groups claim.
func TestServeSignsInThroughTheDevelopmentProvider(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--data", t.TempDir(), "--addr", "127.0.0.1:0", "--dev-oidc", "127.0.0.1:0"},
			func(string) string { return "" }, &stdout, &stderr)
	}()
	serving := regexp.MustCompile(`serving \S+ on (http://\S+) `)
	var base string
	require.Eventually(t, func() bool {
		if m := serving.FindStringSubmatch(stdout.String()); m != nil {
			base = m[1]
		}
		return base != ""
	}, 20*time.Second, 20*time.Millisecond, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	assert.Contains(t, stdout.String(), "development sign-in (demo people, loopback only) at http://127.0.0.1:")

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	get := func(u string) (string, string) {
		t.Helper()
		res, err := c.Get(u)
		require.NoError(t, err)
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.Request.URL.String(), string(b)
	}
	at, page := get(base + "/signin/dev-staff")
	m := regexp.MustCompile(`name="id" value="([^"]+)"`).FindStringSubmatch(page)
	require.NotNil(t, m, "the provider's page at %s", at)
	assert.Contains(t, page, "Karin Sjöberg (ledger-moderators)")
	u, _ := url.Parse(at)
	res, err := c.PostForm(u.Scheme+"://"+u.Host+"/login", url.Values{"id": {m[1]}, "subject": {"dev-staff-karin.sjoberg"}})
	require.NoError(t, err)
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	assert.Equal(t, base+"/dashboard", res.Request.URL.String())
	assert.Contains(t, string(b), "karin.sjoberg (Moderator)")
	_, me := get(base + "/v1/me")
	assert.JSONEq(t, `{"role":"moderator","actor":"karin.sjoberg","via":"session"}`, me)

	cancel()
	require.NoError(t, <-done)
}
