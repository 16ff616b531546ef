package polis_test

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/eventstore/memory"
	"github.com/malmo/participation-ledger/ledger"
	"github.com/malmo/participation-ledger/polis"
	"github.com/malmo/participation-ledger/privacy"
)

// Real Polis conversations (CC BY 4.0, attribution in testdata/LICENSE-AND-ATTRIBUTION.md).
var samples = "testdata"

var conversations = []string{"15-per-hour-seattle", "scoop-hivemind.freshwater"}

type env struct {
	t     *testing.T
	ctx   context.Context
	store eventstore.Store
	keys  *privacy.Keys
	svc   *ledger.Service
}

func newEnv(t *testing.T) *env {
	t.Helper()
	keys, err := privacy.Open(t.TempDir())
	require.NoError(t, err)
	store := memory.New()
	t.Cleanup(func() { store.Close() })
	return &env{t: t, ctx: context.Background(), store: store, keys: keys, svc: ledger.New(store, keys)}
}

func (e *env) open(p domain.Personal) (string, bool) {
	s, err := e.keys.Open(p.Subject, p.Sealed)
	return s, err == nil
}

func read(t *testing.T, name string) *polis.Conversation {
	t.Helper()
	c, err := polis.Read(filepath.Join(samples, name))
	require.NoError(t, err)
	return c
}

// counts are agree/disagree/pass counts per Polis comment id.
type counts map[int][3]int

// expectedCounts computes latest-vote counts straight from votes.csv,
// without the package under test: per (comment, voter) the vote with the
// latest timestamp, the later row on a tie.
func expectedCounts(t *testing.T, dir string) counts {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "votes.csv"))
	require.NoError(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	type key struct{ c, v string }
	type vote struct {
		ts   int64
		vote string
	}
	latest := map[key]vote{}
	for _, r := range recs[1:] {
		ts, err := strconv.ParseInt(r[0], 10, 64)
		require.NoError(t, err)
		k := key{r[2], r[3]}
		if old, ok := latest[k]; ok && ts < old.ts {
			continue
		}
		latest[k] = vote{ts, r[4]}
	}
	out := counts{}
	for k, v := range latest {
		id, _ := strconv.Atoi(k.c)
		c := out[id]
		switch v.vote {
		case "1":
			c[0]++
		case "-1":
			c[1]++
		case "0":
			c[2]++
		default:
			t.Fatalf("vote %q", v.vote)
		}
		out[id] = c
	}
	return out
}

// ledgerCounts folds the latest votes of a process from the log.
func (e *env) ledgerCounts(proc string) counts {
	e.t.Helper()
	type key struct{ st, p string }
	latest := map[key]domain.Vote{}
	source := map[string]int{}
	head, err := e.store.Head(e.ctx)
	require.NoError(e.t, err)
	evs, err := e.store.ReadAll(e.ctx, 0, int(head))
	require.NoError(e.t, err)
	for _, ev := range evs {
		de, err := domain.Decode(ev.Type, ev.Version, ev.Data)
		require.NoError(e.t, err)
		switch x := de.(type) {
		case *domain.StatementPosted:
			if x.ProcessID == proc {
				source[x.StatementID], _ = strconv.Atoi(x.SourceID)
			}
		case *domain.VoteCast:
			if x.ProcessID == proc {
				latest[key{x.StatementID, x.ParticipantID}] = x.Vote
			}
		}
	}
	out := counts{}
	for k, v := range latest {
		c := out[source[k.st]]
		c[slices.Index([]domain.Vote{domain.VoteAgree, domain.VoteDisagree, domain.VotePass}, v)]++
		out[source[k.st]] = c
	}
	return out
}

func (e *env) importDir(dir string) polis.Result {
	e.t.Helper()
	c, err := polis.Read(dir)
	require.NoError(e.t, err)
	res, err := polis.Import(e.ctx, e.svc, c, polis.Options{Title: "Importerad dialog"})
	require.NoError(e.t, err)
	return res
}

func TestReadSamples(t *testing.T) {
	for name, want := range map[string][2]int{conversations[0]: {54, 2995}, conversations[1]: {80, 3979}} {
		c := read(t, name)
		assert.Len(t, c.Comments, want[0], name)
		assert.Len(t, c.Votes, want[1], name)
		assert.Len(t, c.Files, 3)
		assert.NotEmpty(t, c.Get("topic"))
		for _, cm := range c.Comments {
			assert.NotEmpty(t, cm.Body)
		}
	}
}

func TestImportCountsMatchVotesCSV(t *testing.T) {
	for _, name := range conversations {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			res := e.importDir(filepath.Join(samples, name))
			c := read(t, name)
			assert.Equal(t, len(c.Votes), res.Votes)
			assert.Equal(t, len(c.Comments), res.Statements)
			want := expectedCounts(t, filepath.Join(samples, name))
			assert.Equal(t, want, e.ledgerCounts(res.ProcessID))

			// Original timestamps are the occurred-at times; authors and
			// moderation made it in.
			evs, err := e.store.ReadStream(e.ctx, domain.StreamForStatement(polis.StatementID(res.ProcessID, c.Comments[0].ID)),
				eventstore.ReadStreamOptions{Limit: 10})
			require.NoError(t, err)
			assert.Equal(t, c.Comments[0].Timestamp, evs[0].Metadata.OccurredAt)
			assert.NotEqual(t, evs[0].Metadata.OccurredAt, evs[0].RecordedAt)
			hidden := 0
			for _, cm := range c.Comments {
				evs, err := e.store.ReadStream(e.ctx, domain.StreamForStatement(polis.StatementID(res.ProcessID, cm.ID)), eventstore.ReadStreamOptions{Limit: 10})
				require.NoError(t, err)
				var st domain.Statement
				for _, ev := range evs {
					de, err := domain.Decode(ev.Type, ev.Version, ev.Data)
					require.NoError(t, err)
					st.Apply(de)
					if d, ok := de.(*domain.ModerationDecided); ok && d.Visibility == domain.VisibilityDisabled {
						assert.Equal(t, polis.HiddenReason, d.Explanation)
						hidden++
					}
				}
				assert.Equal(t, polis.ParticipantID(res.ProcessID, cm.AuthorID), st.Author)
				switch cm.Moderated {
				case polis.ModeratedOut:
					assert.Equal(t, domain.StatusHidden, st.Status)
				case polis.Accepted:
					assert.Equal(t, domain.StatusVisible, st.Status)
					assert.Len(t, st.Decisions, 1)
				default:
					assert.Equal(t, domain.StatusVisible, st.Status)
					assert.Empty(t, st.Decisions)
				}
			}
			assert.Equal(t, res.Hidden, hidden)
		})
	}
}

func TestImportTwiceAddsNothing(t *testing.T) {
	e := newEnv(t)
	dir := filepath.Join(samples, conversations[1])
	first := e.importDir(dir)
	assert.Greater(t, first.Appended, first.Votes)
	head, err := e.store.Head(e.ctx)
	require.NoError(t, err)
	again := e.importDir(dir)
	assert.True(t, again.AlreadyComplete)
	assert.Equal(t, 0, again.Appended)
	head2, err := e.store.Head(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, head, head2)
}

// failing fails every append after the first n, like a crash part-way.
type failing struct {
	eventstore.Store
	left atomic.Int64
}

var errCrash = errors.New("simulated crash")

func (f *failing) Append(ctx context.Context, stream string, exp eventstore.ExpectedRevision, evs ...eventstore.EventData) (eventstore.AppendResult, error) {
	if f.left.Add(-1) < 0 {
		return eventstore.AppendResult{}, errCrash
	}
	return f.Store.Append(ctx, stream, exp, evs...)
}

func TestImportResumesAfterACrash(t *testing.T) {
	dir := filepath.Join(samples, conversations[0])
	clean := newEnv(t)
	want := clean.importDir(dir)
	wantHead, err := clean.store.Head(clean.ctx)
	require.NoError(t, err)

	e := newEnv(t)
	c := read(t, conversations[0])
	for _, n := range []int64{3, 150, 400} { // in participants, statements, votes
		f := &failing{Store: e.store}
		f.left.Store(n)
		_, err := polis.Import(e.ctx, ledger.New(f, e.keys), c, polis.Options{Title: "Importerad dialog"})
		require.ErrorIs(t, err, errCrash, "crash after %d appends", n)
		// The partial import is marked: started, not completed.
		evs, err := e.store.ReadStream(e.ctx, domain.StreamForProcess(want.ProcessID), eventstore.ReadStreamOptions{Limit: 10})
		require.NoError(t, err)
		types := []string{}
		for _, ev := range evs {
			types = append(types, ev.Type)
		}
		assert.Equal(t, []string{"ProcessOpened", "ImportStarted"}, types)
	}
	res, err := polis.Import(e.ctx, e.svc, c, polis.Options{Title: "Importerad dialog"})
	require.NoError(t, err)
	assert.False(t, res.AlreadyComplete)
	head, err := e.store.Head(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, wantHead, head, "a resumed import ends with exactly the events of a clean one")
	assert.Equal(t, expectedCounts(t, dir), e.ledgerCounts(res.ProcessID))
}

func TestRoundTripIsLossless(t *testing.T) {
	for _, name := range conversations {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			res := e.importDir(filepath.Join(samples, name))
			out := t.TempDir()
			x, err := polis.Export(e.ctx, e.store, e.open, res.ProcessID, out, polis.ExportOptions{IncludeHidden: true})
			require.NoError(t, err)
			assert.Equal(t, res.Votes, x.Votes)
			for _, f := range []string{"summary.csv", "comments.csv", "votes.csv", "participants-votes.csv"} {
				assert.FileExists(t, filepath.Join(out, f))
			}

			orig, back := read(t, name), func() *polis.Conversation {
				c, err := polis.Read(out)
				require.NoError(t, err)
				return c
			}()
			// Statements: id, author, time, moderation and text, exactly.
			norm := func(cs []polis.Comment) []polis.Comment {
				cs = slices.Clone(cs)
				for i := range cs {
					cs[i].Agrees, cs[i].Disagrees = 0, 0
				}
				slices.SortFunc(cs, func(a, b polis.Comment) int { return a.ID - b.ID })
				return cs
			}
			assert.Equal(t, norm(orig.Comments), norm(back.Comments))
			// Votes: the same multiset of rows.
			key := func(vs []polis.Vote) []string {
				out := make([]string, len(vs))
				for i, v := range vs {
					out[i] = fmt.Sprint(v.Timestamp.UnixMilli(), v.CommentID, v.VoterID, v.Vote)
				}
				slices.Sort(out)
				return out
			}
			assert.Equal(t, key(orig.Votes), key(back.Votes))
			assert.Equal(t, orig.Get("url"), back.Get("url"))
			assert.Equal(t, orig.Get("conversation-description"), back.Get("conversation-description"))

			// comments.csv carries the ledger's latest-vote counts, and
			// participants-votes.csv the same latest votes.
			want := expectedCounts(t, filepath.Join(samples, name))
			for _, cm := range back.Comments {
				assert.Equal(t, want[cm.ID][0], cm.Agrees, "comment %d agrees", cm.ID)
				assert.Equal(t, want[cm.ID][1], cm.Disagrees, "comment %d disagrees", cm.ID)
			}
			assert.Equal(t, matrix(t, filepath.Join(out, "participants-votes.csv")), latestMatrix(orig))

			// Into a fresh ledger: identical counts.
			fresh := newEnv(t)
			res2 := fresh.importDir(out)
			assert.Equal(t, e.ledgerCounts(res.ProcessID), fresh.ledgerCounts(res2.ProcessID))
			assert.Equal(t, res.Hidden, res2.Hidden)
			assert.Equal(t, res.Approved, res2.Approved)
		})
	}
}

// matrix reads participants-votes.csv into participant → comment → vote.
func matrix(t *testing.T, path string) map[string]map[string]string {
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	out := map[string]map[string]string{}
	for _, r := range recs[1:] {
		row := map[string]string{}
		for i, v := range r[6:] {
			if v != "" {
				row[recs[0][6+i]] = v
			}
		}
		if len(row) > 0 {
			out[r[0]] = row
		}
	}
	return out
}

func latestMatrix(c *polis.Conversation) map[string]map[string]string {
	out := map[string]map[string]string{}
	for k, v := range polis.Latest(c.Votes) {
		p := strconv.Itoa(k.Voter)
		if out[p] == nil {
			out[p] = map[string]string{}
		}
		out[p][strconv.Itoa(k.Comment)] = strconv.Itoa(v)
	}
	return out
}

// damaged copies a sample conversation into a temp dir with one file
// rewritten by edit.
func damaged(t *testing.T, file string, edit func(string) string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"summary.csv", "comments.csv", "votes.csv"} {
		b, err := os.ReadFile(filepath.Join(samples, conversations[0], f))
		require.NoError(t, err)
		s := string(b)
		if f == file {
			s = edit(s)
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), []byte(s), 0o644))
	}
	return dir
}

func TestBadExportsNameFileAndLine(t *testing.T) {
	cases := []struct {
		name, file string
		edit       func(string) string
		want       string
	}{
		{"truncated mid-row", "votes.csv", func(s string) string { return s[:len(s)-3] }, "votes.csv line 2996: "},
		{"truncated comment body", "comments.csv", func(s string) string { return s[:len(s)-40] }, "comments.csv line"},
		{"lost rows", "comments.csv", func(s string) string {
			lines := strings.SplitAfter(s, "\n")
			return strings.Join(lines[:5], "")
		}, "votes.csv line 2: not a valid Polis export: vote on comment-id 0, which is not in comments.csv"},
		{"bad vote", "votes.csv", func(s string) string { return strings.Replace(s, ",0,1,1\n", ",0,1,7\n", 1) }, "votes.csv line 3: not a valid Polis export: vote \"7\""},
		{"unknown comment", "votes.csv", func(s string) string { return strings.Replace(s, ",0,1,1\n", ",999,1,1\n", 1) }, "votes.csv line 3: not a valid Polis export: vote on comment-id 999"},
		{"bad timestamp", "comments.csv", func(s string) string { return strings.Replace(s, "1542406176584,", "15424x6176584,", 1) }, "comments.csv line 2: "},
		{"wrong header", "votes.csv", func(s string) string { return strings.Replace(s, "voter-id", "voter", 1) }, "votes.csv line 1: "},
		{"unbalanced quote", "comments.csv", func(s string) string { return strings.Replace(s, ",Not sure I believe", ",\"Not sure I believe", 1) }, "comments.csv line"},
		{"missing field", "votes.csv", func(s string) string { return strings.Replace(s, ",0,1,1\n", ",0,1\n", 1) }, "votes.csv line 3: "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := damaged(t, c.file, c.edit)
			_, err := polis.Read(dir)
			require.Error(t, err)
			assert.ErrorIs(t, err, polis.ErrFormat)
			assert.Contains(t, err.Error(), c.want)
		})
	}
	_, err := polis.Read(t.TempDir())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "summary.csv")
}

// TestEmptyBodyOnlyForModeratedOut: an export that leaves out moderated-out
// text (the ledger's research export) reads and imports, the comment
// keeping a placeholder text and its hiding; any other empty body is a
// damaged file.
func TestEmptyBodyOnlyForModeratedOut(t *testing.T) {
	dir := damaged(t, "comments.csv", func(s string) string { return strings.Replace(s, ",-1,Hello.\n", ",-1,\n", 1) })
	c, err := polis.Read(dir)
	require.NoError(t, err)
	e := newEnv(t)
	res, err := polis.Import(e.ctx, e.svc, c, polis.Options{Title: "Importerad dialog"})
	require.NoError(t, err)
	evs, err := e.store.ReadStream(e.ctx, domain.StreamForStatement(polis.StatementID(res.ProcessID, 13)), eventstore.ReadStreamOptions{Limit: 10})
	require.NoError(t, err)
	var st domain.Statement
	for _, ev := range evs {
		de, err := domain.Decode(ev.Type, ev.Version, ev.Data)
		require.NoError(t, err)
		st.Apply(de)
	}
	assert.Equal(t, domain.StatusHidden, st.Status)
	text, ok := e.open(st.Body)
	require.True(t, ok)
	assert.Equal(t, polis.WithheldBody, text)

	dir = damaged(t, "comments.csv", func(s string) string {
		return strings.Replace(s, ",0,Not sure I believe any of this...\n", ",0,\n", 1)
	})
	_, err = polis.Read(dir)
	require.ErrorIs(t, err, polis.ErrFormat)
	assert.Contains(t, err.Error(), "comments.csv line 2: not a valid Polis export: comment 53 has an empty comment-body")
}

// groupIDs reads participants-votes.csv's group-id column.
func groupIDs(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	require.Equal(t, "group-id", recs[0][1])
	out := map[string]string{}
	for _, r := range recs[1:] {
		if r[1] != "" {
			out[r[0]] = r[1]
		}
	}
	return out
}

// TestExportFillsGroupID: the export's participants-votes.csv carries the
// opinion groups, for the same participants Polis grouped.
func TestExportFillsGroupID(t *testing.T) {
	e := newEnv(t)
	res := e.importDir(filepath.Join(samples, conversations[0]))
	out := t.TempDir()
	_, err := polis.Export(e.ctx, e.store, e.open, res.ProcessID, out, polis.ExportOptions{})
	require.NoError(t, err)
	ours := groupIDs(t, filepath.Join(out, polis.ParticipantsVotesFile))
	theirs := groupIDs(t, filepath.Join(samples, conversations[0], polis.ParticipantsVotesFile))
	assert.Len(t, ours, len(theirs))
	distinct := map[string]bool{}
	for pid, g := range ours {
		assert.Contains(t, theirs, pid)
		distinct[g] = true
	}
	assert.Len(t, distinct, 2)
}
