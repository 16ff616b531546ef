package polis_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/ledger"
	"github.com/malmo/participation-ledger/polis"
)

// TestSummaryCountsAreInformation: some Polis versions count only accepted
// comments in summary.csv. Such an export imports whole, with a warning.
func TestSummaryCountsAreInformation(t *testing.T) {
	dir := damaged(t, "summary.csv", func(s string) string { return strings.Replace(s, "comments,54\n", "comments,30\n", 1) })
	c, err := polis.Read(dir)
	require.NoError(t, err)
	assert.Equal(t, []string{"summary.csv says comments 30, comments.csv has 54 (31 not moderated out)"}, c.Warnings)
	e := newEnv(t)
	res, err := polis.Import(e.ctx, e.svc, c, polis.Options{Title: "Importerad dialog"})
	require.NoError(t, err)
	assert.Equal(t, c.Warnings, res.Warnings)
	assert.Equal(t, 54, res.Statements)
	assert.Equal(t, expectedCounts(t, filepath.Join(samples, conversations[0])), e.ledgerCounts(res.ProcessID))

	// The samples' own summaries agree with their files.
	for _, name := range conversations {
		assert.Empty(t, read(t, name).Warnings, name)
	}
}

// earlier writes the export the conversation would have had at cutoff:
// comments and votes up to then, comment 13 not yet moderated out and
// comment 0 moderated out (the source's moderator later changed their mind).
func earlier(t *testing.T, c *polis.Conversation, cutoff time.Time) (string, *polis.Conversation) {
	t.Helper()
	short := &polis.Conversation{Summary: c.Summary}
	for _, cm := range c.Comments {
		if cm.Timestamp.After(cutoff) {
			continue
		}
		switch cm.ID {
		case 13:
			require.Equal(t, polis.ModeratedOut, cm.Moderated)
			cm.Moderated = polis.Unmoderated
		case 0:
			require.Equal(t, polis.Accepted, cm.Moderated)
			cm.Moderated = polis.ModeratedOut
		}
		short.Comments = append(short.Comments, cm)
	}
	for _, v := range c.Votes {
		if !v.Timestamp.After(cutoff) {
			short.Votes = append(short.Votes, v)
		}
	}
	dir := t.TempDir()
	_, err := polis.Write(dir, short)
	require.NoError(t, err)
	short, err = polis.Read(dir)
	require.NoError(t, err)
	return dir, short
}

func statement(t *testing.T, e *env, id string) domain.Statement {
	t.Helper()
	evs, err := e.store.ReadStream(e.ctx, domain.StreamForStatement(id), eventstore.ReadStreamOptions{Limit: 100})
	require.NoError(t, err)
	var st domain.Statement
	for _, ev := range evs {
		de, err := domain.Decode(ev.Type, ev.Version, ev.Data)
		require.NoError(t, err)
		st.Apply(de)
	}
	return st
}

func TestReimportAppendsOnlyWhatIsNew(t *testing.T) {
	full := read(t, conversations[0])
	times := make([]time.Time, len(full.Votes))
	for i, v := range full.Votes {
		times[i] = v.Timestamp
	}
	slices.SortFunc(times, time.Time.Compare)
	dir, short := earlier(t, full, times[len(times)/2])
	require.Less(t, len(short.Votes), len(full.Votes))
	require.Less(t, len(short.Comments), len(full.Comments))

	e := newEnv(t)
	first := e.importDir(dir)
	assert.Equal(t, len(short.Votes), first.Added.Votes)
	assert.Equal(t, polis.StatementID(first.ProcessID, 0), statement(t, e, polis.StatementID(first.ProcessID, 0)).ID)
	assert.Equal(t, domain.StatusHidden, statement(t, e, polis.StatementID(first.ProcessID, 0)).Status)

	second := e.importDir(filepath.Join(samples, conversations[0]))
	assert.False(t, second.AlreadyComplete)
	assert.Equal(t, first.ProcessID, second.ProcessID, "the same conversation continues the same process")
	assert.NotEqual(t, first.ImportID, second.ImportID)
	assert.Equal(t, len(full.Votes)-len(short.Votes), second.Added.Votes, "exactly the new votes")
	assert.Equal(t, len(full.Comments)-len(short.Comments), second.Added.Statements)
	newAccepted := 0
	for _, cm := range full.Comments {
		if !slices.ContainsFunc(short.Comments, func(s polis.Comment) bool { return s.ID == cm.ID }) && cm.Moderated == polis.Accepted {
			newAccepted++
		}
	}
	assert.Equal(t, newAccepted+2, second.Added.Decisions, "approvals of new statements, comment 13 hidden, comment 0 restored")
	assert.Equal(t, domain.StatusHidden, statement(t, e, polis.StatementID(first.ProcessID, 13)).Status)
	assert.Equal(t, domain.StatusVisible, statement(t, e, polis.StatementID(first.ProcessID, 0)).Status)
	assert.Zero(t, second.SkippedVotes)
	assert.Equal(t, expectedCounts(t, filepath.Join(samples, conversations[0])), e.ledgerCounts(first.ProcessID))

	// Again: nothing.
	head, err := e.store.Head(e.ctx)
	require.NoError(t, err)
	again := e.importDir(filepath.Join(samples, conversations[0]))
	assert.True(t, again.AlreadyComplete)
	head2, err := e.store.Head(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, head, head2)

	// The earlier export, imported after the later one, is complete too.
	older := e.importDir(dir)
	assert.True(t, older.AlreadyComplete)
}

// TestReimportResumesAfterACrash: a re-import stopped part-way and run
// again ends with exactly the events of an uninterrupted one.
func TestReimportResumesAfterACrash(t *testing.T) {
	full := read(t, conversations[0])
	dir, _ := earlier(t, full, full.Votes[len(full.Votes)/2].Timestamp)
	clean := newEnv(t)
	clean.importDir(dir)
	want := clean.importDir(filepath.Join(samples, conversations[0]))
	wantHead, err := clean.store.Head(clean.ctx)
	require.NoError(t, err)

	e := newEnv(t)
	e.importDir(dir)
	for _, n := range []int64{5, 60, 200} { // in participants, statements, votes
		f := &failing{Store: e.store}
		f.left.Store(n)
		_, err := polis.Import(e.ctx, ledger.New(f, e.keys), full, polis.Options{Title: "Importerad dialog"})
		require.ErrorIs(t, err, errCrash, "crash after %d appends", n)
	}
	res, err := polis.Import(e.ctx, e.svc, full, polis.Options{Title: "Importerad dialog"})
	require.NoError(t, err)
	head, err := e.store.Head(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, wantHead, head)
	assert.Equal(t, want.ProcessID, res.ProcessID)
	assert.Equal(t, expectedCounts(t, filepath.Join(samples, conversations[0])), e.ledgerCounts(res.ProcessID))
}

// TestLegacyProcessIsContinued: a ledger that imported an export when the
// process id was the export's content hash finds that process again.
func TestLegacyProcessIsContinued(t *testing.T) {
	c := read(t, conversations[1])
	legacy := polis.ImportID(c)
	require.NotEqual(t, legacy, polis.ProcessID(c))
	noURL := &polis.Conversation{Files: c.Files}
	assert.Equal(t, polis.ImportID(noURL), polis.ProcessID(noURL), "without a URL the content names the process")

	e := newEnv(t)
	official := domain.Actor{ID: polis.ImporterID, Role: domain.RoleOfficial}
	at := time.Date(2017, 7, 1, 0, 0, 0, 0, time.UTC)
	_, err := e.svc.OpenProcess(e.ctx, official, ledger.Request[domain.OpenProcess]{IdempotencyKey: "polis/" + legacy + "/process",
		Command: domain.OpenProcess{ProcessID: legacy, Title: domain.Text{Sv: "Sötvatten"}, Kind: domain.KindDialogue, OwnerBody: "Okänd",
			CaseNumber: "polis-import", ModerationMode: domain.ModerationPost, PolicyReference: "Polis",
			Phases: []domain.Phase{{Name: "dialog", StartsAt: at, Accepts: []domain.ContributionKind{domain.AcceptsStatements, domain.AcceptsVotes}}}}})
	require.NoError(t, err)
	_, err = e.svc.StartImport(e.ctx, official, legacy, ledger.Request[domain.StartImport]{IdempotencyKey: "polis/" + legacy + "/start",
		Command: domain.StartImport{ImportID: legacy, Source: "polis"}})
	require.NoError(t, err)
	_, err = e.svc.CompleteImport(e.ctx, official, legacy, ledger.Request[domain.CompleteImport]{IdempotencyKey: "polis/" + legacy + "/complete",
		Command: domain.CompleteImport{ImportID: legacy}})
	require.NoError(t, err)
	res, err := polis.Import(e.ctx, e.svc, c, polis.Options{Title: "Sötvatten"})
	require.NoError(t, err)
	assert.Equal(t, legacy, res.ProcessID)
	assert.True(t, res.AlreadyComplete)
}
