package ledgerhttp_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/oapi-codegen/oapi-codegen/v2/pkg/codegen"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	// The generated client imports the runtime; this keeps it (and its
	// version, which the generated program builds with) in go.mod.
	_ "github.com/oapi-codegen/runtime"
)

// TestGeneratedClientCallsAsOf generates a Go client from the served
// OpenAPI document with oapi-codegen, builds it in a scratch module with
// this module's versions (offline), and has it read the process list as
// of an earlier position from a real server on loopback.
func TestGeneratedClientCallsAsOf(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a generated program")
	}
	e := newEnv(t, withReads(t))
	first := e.must(201, e.do("POST", "/v1/processes", "official", processBody))
	at := first.position(t)
	second := e.must(201, e.do("POST", "/v1/processes", "official", processBody))
	e.waitForReads(second.position(t))

	raw := e.must(200, e.do("GET", "/v1/openapi.json", "", "")).body
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(raw)
	require.NoError(t, err)
	src, err := codegen.Generate(doc, codegen.Configuration{
		PackageName: "main",
		Generate:    codegen.GenerateOptions{Client: true, Models: true},
	})
	require.NoError(t, err)
	// The parameter struct carries as_of as a typed, tagged field.
	require.Regexp(t, regexp.MustCompile(`(?s)type GetV1ProcessesParams struct \{.*AsOf \*string `+"`form:\"as_of,omitempty\" json:\"as_of,omitempty\"`"), src)

	dir := t.TempDir()
	mod, err := os.ReadFile("../go.mod")
	require.NoError(t, err)
	mod = regexp.MustCompile(`(?m)^module .*$`).ReplaceAll(mod, []byte("module generatedclient"))
	sum, err := os.ReadFile("../go.sum")
	require.NoError(t, err)
	write := func(name string, b []byte) { require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o644)) }
	write("go.mod", mod)
	write("go.sum", sum)
	write("client.go", []byte(src))
	write("main.go", []byte(`package main

import (
	"context"
	"fmt"
	"os"
)

func main() {
	c, err := NewClientWithResponses(os.Args[1])
	if err != nil {
		panic(err)
	}
	params := &GetV1ProcessesParams{}
	if len(os.Args) > 2 {
		params.AsOf = &os.Args[2]
	}
	res, err := c.GetV1ProcessesWithResponse(context.Background(), params)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d %s", res.StatusCode(), res.Body)
}
`))
	build := exec.Command("go", "build", "-o", "client", ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "GOPROXY=off", "GOWORK=off", "GOFLAGS=-mod=mod")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)

	call := func(args ...string) (status string, body map[string]any) {
		out, err := exec.Command(filepath.Join(dir, "client"), append([]string{e.srv.URL}, args...)...).CombinedOutput()
		require.NoError(t, err, "%s", out)
		status, rest, _ := strings.Cut(string(out), " ")
		require.NoError(t, json.Unmarshal([]byte(rest), &body), "%s", out)
		return status, body
	}
	status, now := call()
	assert.Equal(t, "200", status)
	assert.Len(t, now["processes"], 2)
	status, then := call(at)
	assert.Equal(t, "200", status)
	assert.Equal(t, at, itoa(int64(then["position"].(float64))))
	assert.Len(t, then["processes"], 1, "as_of=%s: only the first process existed", at)
}
