package export_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/eventstore/memory"
	"github.com/malmo/participation-ledger/export"
	"github.com/malmo/participation-ledger/integrity"
	"github.com/malmo/participation-ledger/ledger"
	"github.com/malmo/participation-ledger/polis"
	"github.com/malmo/participation-ledger/privacy"
)

// The Polis sample conversations are the polis package's test fixtures
// (CC BY 4.0, attribution in polis/testdata/LICENSE-AND-ATTRIBUTION.md).
var polisSamples = filepath.Join("..", "polis", "testdata")

// dialogueLedger is a ledger holding one imported Polis conversation.
type dialogueLedger struct {
	ctx     context.Context
	store   eventstore.Store
	keys    *privacy.Keys
	svc     *ledger.Service
	dataDir string
	process string
}

func importedLedger(t *testing.T, src string) *dialogueLedger {
	t.Helper()
	d := &dialogueLedger{ctx: context.Background(), store: memory.New(), dataDir: t.TempDir()}
	t.Cleanup(func() { d.store.Close() })
	var err error
	d.keys, err = privacy.Open(filepath.Join(d.dataDir, "keys"))
	require.NoError(t, err)
	d.svc = ledger.New(d.store, d.keys)
	c, err := polis.Read(src)
	require.NoError(t, err)
	res, err := polis.Import(d.ctx, d.svc, c, polis.Options{Title: "Importerad dialog"})
	require.NoError(t, err)
	d.process = res.ProcessID
	return d
}

// tally is agree/disagree/pass counts of latest votes per Polis comment id.
type tally map[int][3]int

// ledgerTally folds the process's latest votes straight from the log, and
// collects the texts of its hidden statements.
func (d *dialogueLedger) ledgerTally(t *testing.T) (tally, []string) {
	t.Helper()
	head, err := d.store.Head(d.ctx)
	require.NoError(t, err)
	evs, err := d.store.ReadAll(d.ctx, 0, int(head))
	require.NoError(t, err)
	type key struct{ st, p string }
	latest := map[key]domain.Vote{}
	source := map[string]int{}
	bodies := map[string]domain.Personal{}
	hidden := map[string]bool{}
	for _, ev := range evs {
		de, err := domain.Decode(ev.Type, ev.Version, ev.Data)
		require.NoError(t, err)
		switch x := de.(type) {
		case *domain.StatementPosted:
			source[x.StatementID], _ = strconv.Atoi(x.SourceID)
			bodies[x.StatementID] = x.Body
		case *domain.VoteCast:
			latest[key{x.StatementID, x.ParticipantID}] = x.Vote
		case *domain.ModerationDecided:
			if x.ItemKind == domain.ItemStatement {
				hidden[x.ItemID] = x.Visibility.Restricts()
			}
		}
	}
	out := tally{}
	for k, v := range latest {
		c := out[source[k.st]]
		switch v {
		case domain.VoteAgree:
			c[0]++
		case domain.VoteDisagree:
			c[1]++
		default:
			c[2]++
		}
		out[source[k.st]] = c
	}
	var texts []string
	for id, h := range hidden {
		if !h {
			continue
		}
		text, err := d.keys.Open(bodies[id].Subject, bodies[id].Sealed)
		require.NoError(t, err)
		texts = append(texts, text)
	}
	return out, texts
}

func readRecords(t *testing.T, name string) [][]string {
	t.Helper()
	f, err := os.Open(name)
	require.NoError(t, err)
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	require.NoError(t, err)
	return recs
}

// fileTally reads the latest-vote counts of a Polis export: agrees and
// disagrees from comments.csv, passes from the latest rows of votes.csv
// (which must agree with comments.csv on the other two).
func fileTally(t *testing.T, dir string) tally {
	t.Helper()
	out := tally{}
	for _, r := range readRecords(t, filepath.Join(dir, polis.CommentsFile))[1:] {
		id, _ := strconv.Atoi(r[2])
		a, _ := strconv.Atoi(r[4])
		d, _ := strconv.Atoi(r[5])
		out[id] = [3]int{a, d, 0}
	}
	type key struct{ c, v string }
	latest := map[key]string{}
	for _, r := range readRecords(t, filepath.Join(dir, polis.VotesFile))[1:] {
		latest[key{r[2], r[3]}] = r[4] // rows are in time order: the later row wins
	}
	check := tally{}
	for k, v := range latest {
		id, _ := strconv.Atoi(k.c)
		c := check[id]
		c[map[string]int{"1": 0, "-1": 1, "0": 2}[v]]++
		check[id] = c
	}
	for id, c := range check {
		require.Equal(t, out[id][0], c[0], "agrees of comment %d: comments.csv vs votes.csv", id)
		require.Equal(t, out[id][1], c[1], "disagrees of comment %d: comments.csv vs votes.csv", id)
		x := out[id]
		x[2] = c[2]
		out[id] = x
	}
	for id, c := range out {
		if c == [3]int{} {
			delete(out, id) // no votes: the ledger's tally has no entry
		}
	}
	return out
}

func TestResearchExportWritesDialoguesInPolisFormat(t *testing.T) {
	src := filepath.Join(polisSamples, "15-per-hour-seattle")
	d := importedLedger(t, src)
	log, err := integrity.Open(d.dataDir)
	require.NoError(t, err)
	defer log.Close()
	require.NoError(t, log.CatchUp(d.ctx, d.store))

	out := filepath.Join(t.TempDir(), "export")
	res, err := export.Run(d.ctx, export.Source{Store: d.store, Log: log, HistoryFile: filepath.Join(d.dataDir, "integrity", "checkpoints"),
		Keys: d.keys, Secret: []byte("polis-secret-polis-secret-polis-")}, export.Options{Kind: export.Research, Dir: out, Recipient: "eva.strand"})
	require.NoError(t, err)

	// The four files are in the manifest, and their checksums hold.
	require.NoError(t, export.CheckFiles(out, res.Manifest))
	names := map[string]bool{}
	for _, f := range res.Manifest.Files {
		names[f.Name] = true
	}
	rel := path.Join(export.PolisDir, d.process)
	for _, f := range []string{polis.SummaryFile, polis.CommentsFile, polis.VotesFile, polis.ParticipantsVotesFile} {
		assert.True(t, names[path.Join(rel, f)], "manifest lists %s", f)
	}
	// A tampered Polis file fails the check.
	votes := filepath.Join(out, filepath.FromSlash(rel), polis.VotesFile)
	orig, err := os.ReadFile(votes)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(votes, append(append([]byte{}, orig...), orig[len(orig)-2:]...), 0o600))
	assert.Error(t, export.CheckFiles(out, res.Manifest))
	require.NoError(t, os.WriteFile(votes, orig, 0o600))

	// datapackage.json describes them with a Table Schema.
	var dp struct {
		Resources []struct {
			Path   string `json:"path"`
			Hash   string `json:"hash"`
			Schema struct {
				Fields []struct {
					Name string `json:"name"`
					Type string `json:"type"`
				} `json:"fields"`
			} `json:"schema"`
		} `json:"resources"`
	}
	b, err := os.ReadFile(filepath.Join(out, export.DataPackageFile))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &dp))
	described := map[string]int{}
	for _, r := range dp.Resources {
		if strings.HasPrefix(r.Path, rel+"/") {
			described[path.Base(r.Path)] = len(r.Schema.Fields)
		}
		if r.Path == path.Join(rel, polis.CommentsFile) {
			require.Len(t, r.Schema.Fields, 8)
			assert.Equal(t, "comment-id", r.Schema.Fields[2].Name)
			assert.Equal(t, "integer", r.Schema.Fields[2].Type)
		}
	}
	hdr := readRecords(t, filepath.Join(out, filepath.FromSlash(rel), polis.ParticipantsVotesFile))[0]
	assert.Equal(t, map[string]int{polis.SummaryFile: 2, polis.CommentsFile: 8, polis.VotesFile: 5, polis.ParticipantsVotesFile: len(hdr)}, described)

	// Vote counts equal the ledger's latest votes per statement.
	want, hiddenTexts := d.ledgerTally(t)
	require.NotEmpty(t, want)
	dir := filepath.Join(out, filepath.FromSlash(rel))
	assert.Equal(t, want, fileTally(t, dir))

	// No hidden statement's text appears anywhere in the export (one of
	// them is "?", which is too short to search for).
	require.Len(t, hiddenTexts, 23)
	for _, f := range res.Manifest.Files {
		b, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(f.Name)))
		require.NoError(t, err)
		for _, s := range hiddenTexts {
			if len(s) >= 12 && strings.Contains(string(b), s) {
				t.Errorf("%s contains the hidden statement %q", f.Name, s)
			}
		}
	}
	// Public statements' text is there.
	comments := readRecords(t, filepath.Join(dir, polis.CommentsFile))[1:]
	empty := 0
	for _, r := range comments {
		if r[6] == "-1" {
			assert.Empty(t, r[7])
			empty++
		} else {
			assert.NotEmpty(t, r[7])
		}
	}
	assert.Equal(t, 23, empty)

	// The research tables: every statement, text only for public ones;
	// every vote, voters pseudonymised.
	stmts := readRecords(t, filepath.Join(out, "statements.csv"))
	require.Len(t, stmts[1:], 54)
	col := func(hdr []string, name string) int {
		for i, h := range hdr {
			if h == name {
				return i
			}
		}
		t.Fatalf("no column %s", name)
		return -1
	}
	status, body := col(stmts[0], "status"), col(stmts[0], "body")
	for _, r := range stmts[1:] {
		assert.Equal(t, r[status] != "hidden", r[body] != "", "statement row %v", r)
	}
	vrows := readRecords(t, filepath.Join(out, "votes.csv"))
	require.Equal(t, int64(len(vrows)-1), res.Manifest.Tables["votes"])
	require.Len(t, vrows[1:], len(readRecords(t, filepath.Join(dir, polis.VotesFile)))-1)
	pcol := col(vrows[0], "participant_id")
	for _, r := range vrows[1:] {
		require.Regexp(t, "^[0-9a-f]{32}$", r[pcol])
	}
	ev, err := os.ReadFile(filepath.Join(out, export.EventsFile))
	require.NoError(t, err)
	assert.NotContains(t, string(ev), d.process+"-p", "a participant id in events.ndjson")
	assert.Contains(t, string(ev), `"type":"StatementPosted"`)
	assert.Regexp(t, `"type":"VoteCast".*"participant_id":"[0-9a-f]{32}"`, string(ev))
	assert.Regexp(t, `"type":"StatementPosted".*"body":\{"removed":true\}`, string(ev))

	// The files import again: the same statements, votes and counts.
	again := importedLedger(t, dir)
	got, hiddenAgain := again.ledgerTally(t)
	assert.Equal(t, want, got)
	assert.Len(t, hiddenAgain, 23)
	for _, s := range hiddenAgain {
		assert.Equal(t, polis.WithheldBody, s)
	}
}

// TestPolisFilesFollowTheProcessFilter: every dialogue process gets its
// Polis files, and --process keeps only that one's.
func TestPolisFilesFollowTheProcessFilter(t *testing.T) {
	d := importedLedger(t, filepath.Join(polisSamples, "15-per-hour-seattle"))
	official := domain.Actor{ID: "anna.lindqvist", Role: domain.RoleOfficial}
	opened, err := d.svc.OpenProcess(d.ctx, official, ledger.Request[domain.OpenProcess]{IdempotencyKey: "open-dialogue",
		Command: domain.OpenProcess{Title: domain.Text{Sv: "Ny dialog"}, Kind: domain.KindDialogue, OwnerBody: "Kommunstyrelsen",
			CaseNumber: "KS-2026-1", ModerationMode: domain.ModerationPre, PolicyReference: "Riktlinjer",
			Phases: []domain.Phase{{Name: "dialog", StartsAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
				Accepts: []domain.ContributionKind{domain.AcceptsStatements, domain.AcceptsVotes}}}}})
	require.NoError(t, err)
	log, err := integrity.Open(d.dataDir)
	require.NoError(t, err)
	defer log.Close()
	require.NoError(t, log.CatchUp(d.ctx, d.store))
	src := export.Source{Store: d.store, Log: log, HistoryFile: filepath.Join(d.dataDir, "integrity", "checkpoints"),
		Keys: d.keys, Secret: []byte("polis-secret-polis-secret-polis-")}

	polisDirs := func(process string) map[string]bool {
		out := filepath.Join(t.TempDir(), "export")
		res, err := export.Run(d.ctx, src, export.Options{Kind: export.Research, Dir: out, Recipient: "eva.strand", Process: process})
		require.NoError(t, err)
		require.NoError(t, export.CheckFiles(out, res.Manifest))
		dirs := map[string]bool{}
		for _, f := range res.Manifest.Files {
			if strings.HasPrefix(f.Name, export.PolisDir+"/") {
				dirs[path.Base(path.Dir(f.Name))] = true
			}
		}
		return dirs
	}
	assert.Equal(t, map[string]bool{d.process: true, opened.ID: true}, polisDirs(""))
	assert.Equal(t, map[string]bool{d.process: true}, polisDirs(d.process))
}
