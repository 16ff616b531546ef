package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestImportPolis(t *testing.T) {
	sample := filepath.Join("..", "..", "polis", "testdata", "scoop-hivemind.freshwater")
	data := t.TempDir()
	imp := func(dir string) (string, error) {
		var out, errs bytes.Buffer
		err := run(context.Background(), []string{"import", "polis", "--data", data, "--process-title", "Sötvatten", dir},
			func(string) string { return "" }, &out, &errs)
		return out.String(), err
	}
	out, err := imp(sample)
	require.NoError(t, err)
	assert.Contains(t, out, "statements 80 (approved 51, hidden 29), votes 3979")
	assert.Contains(t, out, "added: participants 117, statements 80, votes 3979")
	assert.NotContains(t, out, "warning")
	out, err = imp(sample)
	require.NoError(t, err)
	assert.Contains(t, out, "already imported")

	// summary.csv counting only accepted comments: imported, with a warning.
	accepted := t.TempDir()
	for _, f := range []string{"summary.csv", "comments.csv", "votes.csv"} {
		b, err := os.ReadFile(filepath.Join(sample, f))
		require.NoError(t, err)
		if f == "summary.csv" {
			b = []byte(strings.Replace(string(b), "comments,80\n", "comments,51\n", 1))
		}
		require.NoError(t, os.WriteFile(filepath.Join(accepted, f), b, 0o644))
	}
	out, err = imp(accepted)
	require.NoError(t, err)
	assert.Contains(t, out, "warning: summary.csv says comments 51, comments.csv has 80 (51 not moderated out)")
	assert.Contains(t, out, "added: participants 0, statements 0, votes 0, moderation decisions 0", "the same conversation, nothing new")

	bad := t.TempDir()
	for _, f := range []string{"summary.csv", "comments.csv", "votes.csv"} {
		b, err := os.ReadFile(filepath.Join(sample, f))
		require.NoError(t, err)
		if f == "votes.csv" {
			b = []byte(strings.Replace(string(b), "\n", "\n1500431922866,x,0,1\n", 1))
		}
		require.NoError(t, os.WriteFile(filepath.Join(bad, f), b, 0o644))
	}
	_, err = imp(bad)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "votes.csv line 2")
}
