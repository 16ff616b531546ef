package export_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/export"
	"github.com/malmo/participation-ledger/integrity"
)

var fixedNow = func() time.Time { return time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC) }

func research(t *testing.T, f *fixture, recipient string, tweak func(*export.Options)) (string, export.Result) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "out")
	opt := export.Options{Kind: export.Research, Dir: dir, Recipient: recipient, Role: "researcher", Requester: recipient, Now: fixedNow}
	if tweak != nil {
		tweak(&opt)
	}
	res, err := export.Run(f.ctx, f.source(), opt)
	require.NoError(t, err)
	return dir, res
}

func TestAuditExportVerifies(t *testing.T) {
	f := newFixture(t)
	dir := filepath.Join(t.TempDir(), "audit")
	var bar bytes.Buffer
	res, err := export.Run(f.ctx, f.source(), export.Options{Kind: export.Audit, Dir: dir, Role: "auditor", Progress: &bar, Now: fixedNow})
	require.NoError(t, err)
	head, err := f.store.Head(f.ctx)
	require.NoError(t, err)
	m := res.Manifest
	assert.Equal(t, eventstore.Position(1), m.FirstPosition)
	assert.Equal(t, head, m.LastPosition)
	assert.Equal(t, int64(head), m.EventCount)
	assert.Equal(t, int64(head), m.Checkpoint.Size)
	assert.Equal(t, "auditor", m.RequesterRole)
	assert.Contains(t, bar.String(), "100%")

	// Each line is exactly the stored event's canonical bytes.
	evs, err := f.store.ReadAll(f.ctx, 0, 1000)
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(dir, export.EventsFile))
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	require.Len(t, lines, len(evs))
	for i, e := range evs {
		assert.Equal(t, string(eventstore.Canonical(e)), lines[i])
	}

	// Offline verification with only the export.
	ckpt, err := os.ReadFile(filepath.Join(dir, export.CheckpointFile))
	require.NoError(t, err)
	hist, err := os.ReadFile(filepath.Join(dir, export.HistoryFile))
	require.NoError(t, err)
	notes, _ := integrity.SplitNotes(hist)
	require.NotEmpty(t, notes)
	report, err := integrity.VerifyLeaves(bytes.NewReader(b), integrity.Config{Checkpoint: ckpt, Key: f.log.Verifier(), History: notes})
	require.NoError(t, err)
	assert.Equal(t, int64(head), report.Events)

	got, err := export.ReadManifest(dir)
	require.NoError(t, err)
	require.NoError(t, export.CheckFiles(dir, got))
	// A changed byte is caught.
	require.NoError(t, os.WriteFile(filepath.Join(dir, export.KeyFile), []byte("x\n"), 0o600))
	assert.Error(t, export.CheckFiles(dir, got))
}

func TestAuditExportEndsAtASignedCheckpoint(t *testing.T) {
	f := newFixture(t)
	signed := f.log.Checkpoint().Size // CatchUp signed nothing yet: sign now
	if signed == 0 {
		c, err := f.log.SignCheckpoint()
		require.NoError(t, err)
		signed = c.Size
	}
	// More events after the signature, then an export bounded below them.
	f.register("reg-late", "late", "Sen Deltagare")
	f.register("reg-later", "later", "Senare Deltagare")
	require.NoError(t, f.log.CatchUp(f.ctx, f.store))
	dir := filepath.Join(t.TempDir(), "audit")
	res, err := export.Run(f.ctx, f.source(), export.Options{Kind: export.Audit, Dir: dir, To: export.Bound{Pos: eventstore.Position(signed) + 1}, Now: fixedNow})
	require.NoError(t, err)
	assert.Equal(t, eventstore.Position(signed), res.Manifest.LastPosition, "the largest signed size not beyond --to")

	_, err = export.Run(f.ctx, f.source(), export.Options{Kind: export.Audit, Dir: t.TempDir(), Process: f.process})
	assert.ErrorIs(t, err, export.ErrInvalid)
	_, err = export.Run(f.ctx, f.source(), export.Options{Kind: export.Audit, Dir: t.TempDir(), From: export.Bound{Pos: 3}})
	assert.ErrorIs(t, err, export.ErrInvalid)
}

// readCSV reads a table with Go's csv reader and checks every value
// against the type the data dictionary declares.
func readCSV(t *testing.T, dir, table string, fields []dpField) []map[string]string {
	t.Helper()
	fh, err := os.Open(filepath.Join(dir, table+".csv"))
	require.NoError(t, err)
	defer fh.Close()
	r := csv.NewReader(fh)
	recs, err := r.ReadAll()
	require.NoError(t, err)
	require.NotEmpty(t, recs)
	names := make([]string, len(fields))
	for i, fd := range fields {
		names[i] = fd.Name
	}
	require.Equal(t, names, recs[0], "%s header", table)
	var rows []map[string]string
	for _, rec := range recs[1:] {
		row := map[string]string{}
		for i, v := range rec {
			fd := fields[i]
			row[fd.Name] = v
			if v == "" {
				assert.False(t, fd.Constraints.Required && fd.Type != "string", "%s.%s is required", table, fd.Name)
				continue
			}
			var err error
			switch fd.Type {
			case "integer":
				_, err = strconv.ParseInt(v, 10, 64)
			case "boolean":
				_, err = strconv.ParseBool(v)
			case "datetime":
				var tm time.Time
				tm, err = time.Parse(time.RFC3339Nano, v)
				if err == nil {
					assert.True(t, strings.HasSuffix(v, "Z") && tm.Location() == time.UTC, "%s.%s is UTC", table, fd.Name)
				}
			}
			assert.NoError(t, err, "%s.%s = %q is not a %s", table, fd.Name, v, fd.Type)
			if fd.Constraints.Enum != nil {
				assert.Contains(t, fd.Constraints.Enum, v, "%s.%s", table, fd.Name)
			}
		}
		rows = append(rows, row)
	}
	return rows
}

type dpField struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Description string `json:"description"`
	Constraints struct {
		Required bool     `json:"required"`
		Enum     []string `json:"enum"`
	} `json:"constraints"`
}

type dataPackage struct {
	Licenses  []struct{ Name string } `json:"licenses"`
	Resources []struct {
		Name   string `json:"name"`
		Path   string `json:"path"`
		Format string `json:"format"`
		Hash   string `json:"hash"`
		Schema struct {
			Fields []dpField `json:"fields"`
		} `json:"schema"`
	} `json:"resources"`
}

var tableNames = []string{"processes", "submissions", "comments", "supports", "survey_answers", "moderation_decisions", "appeals", "responses"}

func TestResearchExport(t *testing.T) {
	f := newFixture(t)
	dir, res := research(t, f, "eva.strand", nil)
	m := res.Manifest
	require.NoError(t, export.CheckFiles(dir, m))
	assert.Equal(t, "CC0-1.0", m.Licence)
	assert.NotEmpty(t, m.Checkpoint.Note)

	var dp dataPackage
	b, err := os.ReadFile(filepath.Join(dir, export.DataPackageFile))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &dp))
	schemas := map[string][]dpField{}
	for _, r := range dp.Resources {
		if r.Format == "csv" {
			schemas[r.Name] = r.Schema.Fields
			for _, fd := range r.Schema.Fields {
				assert.NotEmpty(t, fd.Description, "%s.%s has a description", r.Name, fd.Name)
			}
		}
	}
	tables := map[string][]map[string]string{}
	for _, name := range tableNames {
		require.Contains(t, schemas, name)
		tables[name] = readCSV(t, dir, name, schemas[name])
		assert.NotEmpty(t, tables[name], "%s has rows", name)
		assert.Equal(t, int64(len(tables[name])), m.Tables[name], "%s rows in the manifest", name)

		// Parquet: the same columns, the declared types, the same rows.
		pf, err := os.Open(filepath.Join(dir, name+".parquet"))
		require.NoError(t, err)
		st, _ := pf.Stat()
		file, err := parquet.OpenFile(pf, st.Size())
		require.NoError(t, err)
		assert.Equal(t, int64(len(tables[name])), file.NumRows(), "%s: CSV and Parquet row counts", name)
		cols := file.Schema().Fields()
		require.Len(t, cols, len(schemas[name]))
		for i, c := range cols {
			fd := schemas[name][i]
			assert.Equal(t, fd.Name, c.Name())
			kind := c.Type().Kind()
			switch fd.Type {
			case "string":
				assert.Equal(t, parquet.ByteArray, kind, "%s.%s", name, fd.Name)
			case "integer":
				assert.Equal(t, parquet.Int64, kind, "%s.%s", name, fd.Name)
			case "boolean":
				assert.Equal(t, parquet.Boolean, kind, "%s.%s", name, fd.Name)
			case "datetime":
				assert.Contains(t, c.Type().LogicalType().String(), "TIMESTAMP", "%s.%s", name, fd.Name)
			}
			assert.Equal(t, !fd.Constraints.Required, c.Optional(), "%s.%s optional", name, fd.Name)
		}
		rows := make([]parquet.Row, 100)
		n, _ := file.RowGroups()[0].Rows().ReadRows(rows)
		assert.Equal(t, len(tables[name]), n)
		pf.Close()
	}

	// Disposed and hidden content is absent; public content is there.
	subs := map[string]map[string]string{}
	for _, r := range tables["submissions"] {
		subs[r["id"]] = r
	}
	assert.Contains(t, subs[f.public]["body"], "Offentlig text om cykelbanor")
	assert.Equal(t, "true", subs[f.public]["published"])
	assert.Equal(t, "true", subs[f.public]["answered"])
	assert.Equal(t, "", subs[f.hidden]["body"])
	assert.Equal(t, "hidden", subs[f.hidden]["status"])
	assert.Equal(t, "true", subs[f.disposed]["disposed"])
	assert.Equal(t, "", subs[f.disposed]["body"])
	assert.Equal(t, "upheld", tables["appeals"][0]["outcome"])
	assert.Equal(t, "3", tables["survey_answers"][1]["scale"])
	assert.Equal(t, "true", tables["survey_answers"][0]["has_text"])

	events, err := os.ReadFile(filepath.Join(dir, export.EventsFile))
	require.NoError(t, err)
	assert.Contains(t, string(events), `{"disposed":true}`)
	assert.Contains(t, string(events), `{"removed":true}`)
	assert.NotContains(t, string(events), `"sealed"`)
	assert.NotContains(t, string(events), f.author, "participant ids are pseudonymised")
	assert.NotContains(t, string(events), "karin.sjoberg", "staff ids are pseudonymised")
	sc := bufio.NewScanner(bytes.NewReader(events))
	lines := 0
	for sc.Scan() {
		var ev map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &ev))
		assert.NotEqual(t, "TokenIssued", ev["type"])
		lines++
	}
	assert.Equal(t, int64(lines), m.EventCount)

	// No planted personal string anywhere in the export.
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		for _, s := range planted {
			assert.NotContains(t, string(b), s, "%s leaks %q", e.Name(), s)
		}
		assert.NotContains(t, string(b), f.author, "%s names a participant id", e.Name())
	}
}

func TestPseudonymsPerRecipient(t *testing.T) {
	f := newFixture(t)
	authorOf := func(dir string) string {
		t.Helper()
		fh, err := os.Open(filepath.Join(dir, "submissions.csv"))
		require.NoError(t, err)
		defer fh.Close()
		recs, err := csv.NewReader(fh).ReadAll()
		require.NoError(t, err)
		return recs[1][2] // author_id of the first submission
	}
	a1, _ := research(t, f, "eva.strand", nil)
	a2, _ := research(t, f, "eva.strand", nil)
	b, _ := research(t, f, "olle.berg", nil)
	assert.Len(t, authorOf(a1), 32)
	assert.Equal(t, authorOf(a1), authorOf(a2), "stable for one recipient")
	assert.NotEqual(t, authorOf(a1), authorOf(b), "different for two recipients")
	assert.Equal(t, export.NewPseudonymizer(f.secret, "eva.strand").Of(f.author), authorOf(a1))
}

func TestResearchExportFilters(t *testing.T) {
	f := newFixture(t)
	dir, res := research(t, f, "eva", func(o *export.Options) { o.Process = f.other })
	b, err := os.ReadFile(filepath.Join(dir, "submissions.csv"))
	require.NoError(t, err)
	assert.Contains(t, string(b), f.third)
	assert.NotContains(t, string(b), f.public)
	assert.Equal(t, int64(1), res.Manifest.Tables["submissions"])
	assert.Equal(t, int64(1), res.Manifest.Tables["processes"])

	// A position range: only the first five events.
	_, res = research(t, f, "eva", func(o *export.Options) { o.To = export.Bound{Pos: 5} })
	assert.Equal(t, eventstore.Position(5), res.Manifest.LastPosition)
	assert.Equal(t, int64(2), res.Manifest.Tables["processes"])
	assert.Equal(t, int64(0), res.Manifest.Tables["submissions"])

	// A time range resolves to positions by recorded-at.
	evs, err := f.store.ReadAll(f.ctx, 0, 1000)
	require.NoError(t, err)
	_, res = research(t, f, "eva", func(o *export.Options) {
		o.From = export.Bound{Time: evs[9].RecordedAt}
		o.To = export.Bound{Time: evs[19].RecordedAt}
	})
	assert.Equal(t, eventstore.Position(11), res.Manifest.FirstPosition, "from: the first event recorded after the time")
	assert.Equal(t, eventstore.Position(20), res.Manifest.LastPosition)
}

// cancelStore cancels the export's context after a few reads, like an
// operator's Ctrl-C, and returns short pages so the cut falls mid-log.
type cancelStore struct {
	eventstore.Store
	reads  int
	after  int
	cancel context.CancelFunc
}

func (s *cancelStore) ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.Event, error) {
	s.reads++
	if s.reads == s.after {
		s.cancel()
	}
	return s.Store.ReadAll(ctx, after, min(limit, 4))
}

func TestResumeGivesTheSameExport(t *testing.T) {
	for _, kind := range []export.Kind{export.Audit, export.Research} {
		t.Run(string(kind), func(t *testing.T) {
			f := newFixture(t)
			opt := export.Options{Kind: kind, Recipient: "eva", Now: fixedNow}
			whole := opt
			whole.Dir = filepath.Join(t.TempDir(), "whole")
			want, err := export.Run(f.ctx, f.source(), whole)
			require.NoError(t, err)

			ctx, cancel := context.WithCancel(f.ctx)
			defer cancel()
			src := f.source()
			src.Store = &cancelStore{Store: f.store, after: 3, cancel: cancel}
			cut := opt
			cut.Dir = filepath.Join(t.TempDir(), "cut")
			_, err = export.Run(ctx, src, cut)
			require.ErrorIs(t, err, context.Canceled)
			// A crash after the last save leaves extra bytes: resume cuts them.
			fh, err := os.OpenFile(filepath.Join(cut.Dir, export.EventsFile), os.O_APPEND|os.O_WRONLY, 0)
			require.NoError(t, err)
			fh.WriteString(`{"torn":`)
			fh.Close()

			_, err = export.Run(f.ctx, f.source(), cut)
			assert.ErrorIs(t, err, export.ErrInvalid, "an unfinished export is not overwritten without resume")
			cut.Resume = true
			got, err := export.Run(f.ctx, f.source(), cut)
			require.NoError(t, err)
			assert.Equal(t, want.Manifest.Files, got.Manifest.Files)
			assert.Equal(t, want.ManifestHash, got.ManifestHash)
			_, err = os.Stat(filepath.Join(cut.Dir, "export.state"))
			assert.ErrorIs(t, err, os.ErrNotExist)

			_, err = export.Run(f.ctx, f.source(), cut)
			assert.ErrorIs(t, err, export.ErrInvalid, "nothing left to resume")
		})
	}
}
