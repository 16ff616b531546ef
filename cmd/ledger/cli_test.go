package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/netip"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runEnv runs the command line with the given environment.
func runEnv(t *testing.T, environ map[string]string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, func(k string) string { return environ[k] }, &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestVersion(t *testing.T) {
	for _, arg := range []string{"--version", "-version", "version"} {
		stdout, _, err := runLedger(t, arg)
		require.NoError(t, err)
		b := currentBuild()
		assert.Equal(t, "ledger "+b.Version+" (commit "+b.Commit+", built "+b.Time+", "+b.GoVersion+")\n", stdout)
		assert.Regexp(t, `^ledger \S+ \(commit \S+, built \S+, go1\.\d+`, stdout)
	}
	_, _, err := runLedger(t, "--version", "extra")
	assert.Equal(t, 2, exitCode(err))

	// The Makefile's -ldflags values win over what the toolchain stamped.
	version, commit, buildTime = "v9.9.9", "0123abc", "2026-12-02T08:00:00Z"
	t.Cleanup(func() { version, commit, buildTime = "", "", "" })
	stdout, _, err := runLedger(t, "--version")
	require.NoError(t, err)
	assert.Contains(t, stdout, "ledger v9.9.9 (commit 0123abc, built 2026-12-02T08:00:00Z, go1.")
}

// TestHelp: `ledger help CMD` is `ledger CMD -h` for every command, exits
// 0, and every flag's help names its environment variable.
func TestHelp(t *testing.T) {
	flagLine := regexp.MustCompile(`^  -(\S+)`)
	for name := range commands() {
		t.Run(name, func(t *testing.T) {
			viaHelp, viaHelpErr, err := runLedger(t, "help", name)
			require.NoError(t, err, "ledger help %s", name)
			direct, directErr, err := runLedger(t, name, "-h")
			require.NoError(t, err, "ledger %s -h", name)
			assert.Equal(t, direct+directErr, viaHelp+viaHelpErr)
			require.NotEmpty(t, viaHelpErr)

			// PrintDefaults: "  -name type" then the usage on the next
			// line(s), indented by a tab.
			lines := strings.Split(viaHelpErr, "\n")
			for i := 0; i < len(lines); i++ {
				m := flagLine.FindStringSubmatch(lines[i])
				if m == nil {
					continue
				}
				text := lines[i]
				for i+1 < len(lines) && strings.HasPrefix(lines[i+1], "    \t") {
					i++
					text += lines[i]
				}
				assert.Regexp(t, `\(LEDGER_[A-Z0-9_]+[;)]`, text, "ledger %s -%s names no environment variable", name, m[1])
			}
		})
	}
	// Subcommands of subcommands answer -h too.
	for _, args := range [][]string{{"token", "create", "-h"}, {"import", "polis", "-h"}, {"help", "token"}} {
		_, stderr, err := runLedger(t, args...)
		assert.NoError(t, err, args)
		assert.Contains(t, strings.ToLower(stderr), "usage", args)
	}
	stdout, _, err := runLedger(t, "help")
	require.NoError(t, err)
	assert.Contains(t, stdout, "ledger help <command>")

	_, _, err = runLedger(t, "help", "nope")
	assert.Equal(t, 2, exitCode(err))
	assert.Contains(t, errorLine(err), `unknown command "nope"; the commands are adopt, backup, bench, demo,`)
}

func TestEnvironmentSetsEveryFlag(t *testing.T) {
	// A variable sets the flag; a bad value names the variable and what is
	// valid; the command line wins over the variable.
	_, _, err := runEnv(t, map[string]string{"LEDGER_DEMO_SIZE": "huge"}, "demo", "--data", t.TempDir())
	require.Error(t, err)
	assert.Equal(t, 2, exitCode(err))
	assert.Equal(t, `--size "huge": want small or normal`, errorLine(err))

	_, _, err = runEnv(t, map[string]string{"LEDGER_SERVE_RATE": "fast"}, "serve", "--data", t.TempDir())
	assert.Equal(t, 2, exitCode(err))
	assert.Contains(t, errorLine(err), `LEDGER_SERVE_RATE="fast"`)

	_, _, err = runEnv(t, map[string]string{"LEDGER_REPLAY_MODEL": "nope"}, "replay", "--data", t.TempDir(), "--model", "overview", "--to", "soon")
	assert.Contains(t, errorLine(err), `--to "soon"`, "--model from the command line won, so --to is the first complaint")

	// The shared variables keep their names.
	_, _, err = runEnv(t, map[string]string{"LEDGER_LOG_FORMAT": "xml"}, "serve", "--data", t.TempDir())
	assert.Equal(t, `--log-format "xml": want text or json`, errorLine(err))
	_, _, err = runEnv(t, nil, "serve", "--data", t.TempDir(), "--log-level", "loud")
	assert.Equal(t, `--log-level "loud": want debug, info, warn or error`, errorLine(err))
	assert.Equal(t, 2, exitCode(err))
}

// TestBadValuesNameWhatIsValid: usage errors print a line saying what is
// valid and exit 2.
func TestBadValuesNameWhatIsValid(t *testing.T) {
	data := exportData(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"replay", "--data", data, "--model", "foo"}, `--model "foo": want one of processes, submissions, trails, queue, transparency, participation, actors, dialogue`},
		{[]string{"replay", "--data", data}, `--model "": want one of processes,`},
		{[]string{"export", "--data", data, "--kind", "everything", "--out", t.TempDir()}, `--kind "everything": want audit, research or dsa`},
		{[]string{"nope"}, `unknown command "nope"; the commands are adopt, backup, bench, demo, export,`},
		{[]string{"token", "mint"}, `unknown subcommand "mint"; want create`},
		{[]string{"import", "csv"}, `unknown subcommand "csv"; want polis`},
		{[]string{"token", "create", "--data", data, "--role", "boss", "--name", "x"}, `--role "boss": want one of participant, intake, moderator, official, auditor, researcher, admin`},
		{[]string{"token", "create", "--data", data, "--role", "admin"}, `--name is required (see ledger help token)`},
		{[]string{"export", "--data", data, "--kind", "audit"}, `--out is required (see ledger help export)`},
		{[]string{"migrate", "--from", data}, `--to is required`},
		{[]string{"migrate", "--from", data, "--to", t.TempDir(), "--page", "0"}, `--page 0: want 1 to `},
		{[]string{"import", "polis", "--data", data, "--process-title", "T"}, `ledger import polis needs 1 argument(s), found 0 (see ledger help import)`},
		{[]string{"verify", "--receipt", "r.json", "--export", "x"}, `--receipt is checked on its own`},
		{[]string{"key", "--data", data, "extra"}, `unexpected argument "extra"`},
	} {
		_, _, err := runLedger(t, c.args...)
		require.Error(t, err, c.args)
		assert.Equal(t, 2, exitCode(err), c.args)
		assert.Contains(t, errorLine(err), c.want, c.args)
		assert.NotContains(t, errorLine(err), ": usage", c.args)
	}
	// An unknown flag: the flag package names it and lists the flags.
	_, stderr, err := runLedger(t, "replay", "--modle", "overview")
	assert.Equal(t, 2, exitCode(err))
	assert.Contains(t, stderr, "flag provided but not defined: -modle")
	assert.Contains(t, stderr, "-model")

	// replay --to beyond the last event is an error, not a silent stop at
	// the head (exportData holds 3 events).
	_, _, err = runLedger(t, "replay", "--data", data, "--model", "overview", "--to", "99999")
	require.Error(t, err)
	assert.Equal(t, 1, exitCode(err))
	assert.Equal(t, "--to 99999 is beyond the last event, position 3", errorLine(err))
	_, _, err = runLedger(t, "replay", "--data", data, "--model", "overview", "--to", "3")
	assert.NoError(t, err)
	// So is export --to beyond the head.
	_, _, err = runLedger(t, "export", "--data", data, "--kind", "audit", "--to", "99999", "--out", filepath.Join(t.TempDir(), "x"))
	require.Error(t, err)
	assert.Contains(t, errorLine(err), "to position 99999 is beyond the last event, position 3")
}

// syncBuffer is written by a server goroutine and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeJSONLogsAndMetricsAddr serves a ledger with --log-format json
// and --metrics-addr: every stderr line is JSON, requests are logged at
// info, /metrics answers on the metrics address only, with the build.
func TestServeJSONLogsAndMetricsAddr(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--data", t.TempDir(), "--addr", "127.0.0.1:0"}, func(k string) string {
			return map[string]string{"LEDGER_LOG_FORMAT": "json", "LEDGER_METRICS_ADDR": "127.0.0.1:0"}[k]
		}, &stdout, &stderr)
	}()
	addrs := map[string]string{}
	require.Eventually(t, func() bool {
		sc := bufio.NewScanner(strings.NewReader(stderr.String()))
		for sc.Scan() {
			var l map[string]any
			if json.Unmarshal(sc.Bytes(), &l) == nil {
				if a, ok := l["addr"].(string); ok {
					addrs[l["msg"].(string)] = a
				}
			}
		}
		return addrs["serving"] != "" && addrs["serving metrics"] != ""
	}, time.Minute, 20*time.Millisecond, "stderr:\n%s", stderr.String())

	get := func(url string) (int, string) {
		t.Helper()
		res, err := http.Get(url)
		require.NoError(t, err)
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	api, metrics := "http://"+addrs["serving"], "http://"+addrs["serving metrics"]
	status, body := get(api + "/healthz")
	assert.Equal(t, 200, status)
	assert.Contains(t, body, `"version":"`+currentBuild().Version+`"`)
	status, _ = get(api + "/metrics")
	assert.Equal(t, 404, status, "metrics are not on the public address")
	status, body = get(metrics + "/metrics")
	assert.Equal(t, 200, status)
	assert.Contains(t, body, "ledger_build_info{")
	assert.Contains(t, body, `ledger_http_requests_total{method="GET",route="/healthz",status="200"} 1`)

	cancel()
	require.NoError(t, <-done)
	sc := bufio.NewScanner(strings.NewReader(stderr.String()))
	requests := 0
	for sc.Scan() {
		var l map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &l), "a line that is not JSON: %s", sc.Text())
		if l["msg"] == "request" {
			requests++
			assert.Equal(t, "INFO", l["level"])
			assert.NotEmpty(t, l["request_id"])
			assert.Equal(t, 1, strings.Count(sc.Text(), `"request_id"`), "the id once: %s", sc.Text())
		}
	}
	assert.Equal(t, 2, requests, "one line per API request:\n%s", stderr.String())
}

// TestVerifyNeverServed: a ledger seeded by `ledger demo` was never served,
// so no checkpoint was signed. verify checks the events and the tree, says
// so plainly, and exits 3.
func TestVerifyNeverServed(t *testing.T) {
	data := t.TempDir()
	_, stderr, err := runLedger(t, "demo", "--data", data, "--size", "small")
	require.NoError(t, err, stderr)

	stdout, _, err := runLedger(t, "verify", "--data", data)
	require.Error(t, err)
	assert.Equal(t, 3, exitCode(err))
	assert.Contains(t, errorLine(err), "no checkpoint has been signed yet")
	assert.Contains(t, stdout, "has no signed checkpoint: it was never served")
	m := regexp.MustCompile(`ok: (\d+) events are in canonical form, decode as domain events and follow on in every stream`).FindStringSubmatch(stdout)
	require.Len(t, m, 2, stdout)
	assert.Regexp(t, `tree: size `+m[1]+` root \S{44} \(unsigned\)`, stdout)

	// Once a checkpoint is signed (here by `ledger export`, as serve
	// would), it is of the same tree: the unsigned root is the signed one.
	out := filepath.Join(t.TempDir(), "audit")
	_, stderr, err = runLedger(t, "export", "--data", data, "--kind", "audit", "--out", out)
	require.NoError(t, err, stderr)
	signed, _, err := runLedger(t, "verify", "--export", out)
	require.NoError(t, err, signed)
	root := regexp.MustCompile(`root (\S{44}) \(unsigned\)`).FindStringSubmatch(stdout)[1]
	assert.Contains(t, signed, "ok: "+m[1]+" events reproduce the signed checkpoint")
	assert.Contains(t, signed, "size "+m[1]+" root "+root)
	stdout, _, err = runLedger(t, "verify", "--data", data)
	require.NoError(t, err, stdout)

	// Not a ledger at all: an error that says so, exit 1.
	_, _, err = runLedger(t, "verify", "--data", t.TempDir())
	assert.Equal(t, 1, exitCode(err))
	assert.Contains(t, errorLine(err), "holds no ledger")
}

func TestTrustedProxiesFlag(t *testing.T) {
	got, err := parsePrefixes("127.0.0.1, ::1,10.1.2.3/8")
	require.NoError(t, err)
	assert.Equal(t, []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("10.0.0.0/8")}, got)
	_, _, err = runEnv(t, map[string]string{"LEDGER_SERVE_TRUSTED_PROXIES": "proxy.example"}, "serve", "--data", t.TempDir())
	assert.Equal(t, 2, exitCode(err))
	assert.Equal(t, `--trusted-proxies: "proxy.example" is neither an address nor a CIDR prefix (e.g. 10.0.0.0/8)`, errorLine(err))
}
