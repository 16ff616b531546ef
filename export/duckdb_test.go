package export_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/export"
	"github.com/malmo/participation-ledger/integrity"
)

// TestResearchExportLoadsInDuckDB loads a research export with DuckDB's
// auto-detecting readers, as a researcher would, through tools/duckdb.
func TestResearchExportLoadsInDuckDB(t *testing.T) {
	tool, err := filepath.Abs("../tools/duckdb")
	require.NoError(t, err)
	if _, err := os.Stat(filepath.Join(tool, "node_modules", "@duckdb", "node-api")); err != nil {
		t.Skip("SKIPPED: DuckDB check needs `npm ci` in tools/duckdb (.ci/run does it)")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("SKIPPED: DuckDB check needs node on PATH")
	}
	f := newFixture(t)
	dir, res := research(t, f, "eva.strand", nil)
	t.Run("proposals", func(t *testing.T) { checkDuckDB(t, node, tool, dir, res, tableNames) })

	// The dialogue tables need a dialogue: an imported Polis conversation.
	d := importedLedger(t, filepath.Join(polisSamples, "15-per-hour-seattle"))
	log, err := integrity.Open(d.dataDir)
	require.NoError(t, err)
	defer log.Close()
	require.NoError(t, log.CatchUp(d.ctx, d.store))
	ddir := filepath.Join(t.TempDir(), "dialogue")
	dres, err := export.Run(d.ctx, export.Source{Store: d.store, Log: log, Keys: d.keys, Secret: []byte("polis-secret-polis-secret-polis-")},
		export.Options{Kind: export.Research, Dir: ddir, Recipient: "eva.strand"})
	require.NoError(t, err)
	t.Run("dialogue", func(t *testing.T) {
		checkDuckDB(t, node, tool, ddir, dres, []string{"processes", "statements", "votes"})
	})
}

func checkDuckDB(t *testing.T, node, tool, dir string, res export.Result, tableNames []string) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{filepath.Join(tool, "check.mjs"), dir}, tableNames...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "DuckDB could not load the export: %s", stderr.String())

	type described struct {
		Rows    int64 `json:"rows"`
		Columns []struct{ Name, Type string }
	}
	var got struct {
		Tables map[string]struct{ CSV, Parquet described }
		Events described
	}
	require.NoError(t, json.Unmarshal(out, &got))
	assert.Equal(t, res.Manifest.EventCount, got.Events.Rows)
	for _, name := range tableNames {
		tb := got.Tables[name]
		assert.Positive(t, tb.CSV.Rows, "%s has rows (the sniffer needs values to type a column)", name)
		assert.Equal(t, res.Manifest.Tables[name], tb.CSV.Rows, "%s.csv rows", name)
		assert.Equal(t, tb.CSV.Rows, tb.Parquet.Rows, "%s: CSV and Parquet rows", name)
		require.Len(t, tb.Parquet.Columns, len(tb.CSV.Columns), name)
		clocks := 0
		for i, c := range tb.Parquet.Columns {
			assert.Equal(t, c.Name, tb.CSV.Columns[i].Name, "%s column %d", name, i)
			// DuckDB types the Parquet columns from the schema; the CSV
			// sniffer must land on the same family for every column it
			// has a non-empty value for.
			if strings.HasPrefix(c.Type, "TIMESTAMP") {
				assert.Contains(t, []string{"TIMESTAMP WITH TIME ZONE", "TIMESTAMP", "VARCHAR"}, tb.CSV.Columns[i].Type, "%s.%s", name, c.Name)
			}
			// Both clocks, named the same in every table, are timestamps
			// to DuckDB in both formats.
			if c.Name == "occurred_at" || c.Name == "recorded_at" {
				clocks++
				assert.True(t, strings.HasPrefix(c.Type, "TIMESTAMP"), "%s.%s (Parquet) read as %s", name, c.Name, c.Type)
				assert.True(t, strings.HasPrefix(tb.CSV.Columns[i].Type, "TIMESTAMP"), "%s.%s (CSV) read as %s", name, c.Name, tb.CSV.Columns[i].Type)
			}
		}
		assert.Equal(t, 2, clocks, "%s has occurred_at and recorded_at", name)
	}
	t.Logf("duckdb: %s", out)
}
