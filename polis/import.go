package polis

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/ledger"
)

// ImporterID is the actor id every imported event carries, in the role
// each step needs (official to open the process, intake to register
// participants, statements and votes on their behalf, moderator to record
// the source system's moderation). It is fixed so that event ids, derived
// from the actor and the idempotency key, are the same on every run.
const ImporterID = "import-polis"

// WithheldBody stands in for the text of a moderated-out comment that
// the source export left out (the ledger needs a statement's text).
const WithheldBody = "(text withheld in the source export: moderated out)"

// HiddenReason is the statement of reasons of a hide decision the import
// records for a comment the source system moderated out.
const HiddenReason = "moderated out in the source system (Polis), no reason recorded"

// AcceptedReason explains the approval recorded for a comment the source
// system's moderator accepted.
const AcceptedReason = "accepted in the source system (Polis)"

// RestoredReason explains the restoration recorded when a later export
// shows a comment an earlier import had hidden.
const RestoredReason = "shown again in the source system (Polis)"

// Options describe the dialogue process an import creates.
type Options struct {
	Title           string // required
	OwnerBody       string // default "Okänd (importerad från Polis)"
	CaseNumber      string // default: the conversation's URL, or "polis-import"
	PolicyReference string // default: the source system's moderation
	Language        string // language tag of the statements (default "und": undetermined)
	// Progress, if set, is told of each step as it finishes.
	Progress func(step string, n int)
}

// Result summarises an import. Participants, Statements, Votes, Approved
// and Hidden count the export; Added says what this run appended.
type Result struct {
	ProcessID       string
	ImportID        string
	AlreadyComplete bool // a previous run had completed it; nothing was done
	Participants    int
	Statements      int
	Votes           int
	Approved        int
	Hidden          int
	Added           Added
	// SkippedVotes are votes new in this export on statements an earlier
	// import had hidden and the source still has moderated out: the
	// ledger takes no vote on a hidden statement.
	SkippedVotes int
	// Warnings are the export's inconsistencies that did not stop the
	// import (see Conversation.Warnings) and what the import left out.
	Warnings []string
	Appended int // events appended by this run (0 when repeated)
	Duration time.Duration
}

// Added is what one run appended.
type Added struct {
	Participants, Statements, Votes int
	Decisions                       int // moderation decisions: approvals, hidings, restorations
}

// ProcessID is the id of the process a conversation is imported into:
// derived from the conversation's URL in summary.csv, so a later, larger
// export of the same conversation continues the same process. An export
// without a URL cannot be recognised again and gets a process of its own,
// named by its content (ImportID).
func ProcessID(c *Conversation) string {
	if url := strings.TrimSpace(c.Get("url")); url != "" {
		return "polis-" + shortHash("url\x00"+url)
	}
	return ImportID(c)
}

// ImportID names one export: derived from its files' content, so
// importing the same files again finds the import complete and adds
// nothing. (Before re-imports were possible this was also the process id;
// Import still finds a process imported that way.)
func ImportID(c *Conversation) string {
	var b strings.Builder
	for _, f := range c.Files {
		b.WriteString(f.Name + "\x00" + f.SHA256 + "\n")
	}
	return "polis-" + shortHash(b.String())
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:16]
}

// ParticipantID and StatementID are the ledger ids of a Polis participant
// and comment in process processID.
func ParticipantID(processID string, pid int) string { return processID + "-p" + strconv.Itoa(pid) }

// StatementID is the ledger id of Polis comment cid.
func StatementID(processID string, cid int) string { return processID + "-s" + strconv.Itoa(cid) }

// workers is how many commands run concurrently: appends to different
// streams share fsyncs in the embedded store's group commit.
const workers = 16

var (
	asOfficial  = domain.Actor{ID: ImporterID, Role: domain.RoleOfficial}
	asIntake    = domain.Actor{ID: ImporterID, Role: domain.RoleIntake}
	asModerator = domain.Actor{ID: ImporterID, Role: domain.RoleModerator}
)

// Import appends conversation c (read and checked by Read) as a dialogue
// process through the command service: the process, an ImportStarted
// marker, the participants (pseudonymous: "Polis deltagare N"), the
// statements with their original times as occurred-at, the source
// system's approvals, the votes (batched, many per append), the hide
// decisions for moderated-out comments, and ImportCompleted.
//
// A later export of the same conversation (same URL) continues the same
// process and appends only what is new: participants and statements not
// yet there, the votes not yet recorded (compared as a multiset of
// statement, vote and time per participant with the votes recorded before
// this import started), and moderation changes (hidden, or restored when
// the source shows a hidden comment again).
//
// Every step is idempotent (event ids derive from the process or the
// import and the record), so a run that stopped part-way is finished by
// running it again, and a complete import run again appends nothing. Hide
// decisions come after the votes because Polis counted the votes cast
// before a comment was moderated out, and the ledger takes no vote on a
// hidden statement; Polis does not record when it moderated, so their
// occurred-at is the conversation's last activity.
func Import(ctx context.Context, svc *ledger.Service, c *Conversation, opt Options) (Result, error) {
	began := time.Now()
	if opt.Title == "" {
		return Result{}, fmt.Errorf("%w: a process title is required", domain.ErrInvalid)
	}
	store := svc.Store()
	proc, importID := ProcessID(c), ImportID(c)
	if legacy, err := exists(ctx, store, domain.StreamForProcess(importID)); err != nil {
		return Result{}, err
	} else if legacy {
		proc = importID // imported before process ids came from the URL
	}
	res := Result{ProcessID: proc, ImportID: importID, Warnings: slices.Clone(c.Warnings)}
	headBefore, err := store.Head(ctx)
	if err != nil {
		return res, err
	}
	if done, err := completed(ctx, store, proc, importID); err != nil || done {
		res.AlreadyComplete = done
		res.Duration = time.Since(began)
		return res, err
	}
	isNew := func(r ledger.Result) bool { return len(r.Events) > 0 && r.Events[0].Position > headBefore }

	first, last := span(c)
	// Records of the conversation (process, participants, statements)
	// are keyed by the process, so every export finds them; what one
	// export decides (its start, votes, moderation) by the import.
	keyIn := func(scope string) func(parts ...string) string {
		return func(parts ...string) string { return "polis/" + scope + "/" + strings.Join(parts, "/") }
	}
	procKey, importKey := keyIn(proc), keyIn(importID)
	lang := orDefault(opt.Language, "und")
	progress := func(step string, n int) {
		if opt.Progress != nil {
			opt.Progress(step, n)
		}
	}

	// The process and the start marker.
	url := c.Get("url")
	description := c.Get("conversation-description")
	_, err = svc.OpenProcess(ctx, asOfficial, ledger.Request[domain.OpenProcess]{
		IdempotencyKey: procKey("process"), OccurredAt: first,
		Command: domain.OpenProcess{ProcessID: proc, Title: domain.Text{Sv: opt.Title}, Description: domain.Text{Sv: description},
			Kind: domain.KindDialogue, OwnerBody: orDefault(opt.OwnerBody, "Okänd (importerad från Polis)"),
			CaseNumber: orDefault(opt.CaseNumber, orDefault(url, "polis-import")), ModerationMode: domain.ModerationPost,
			PolicyReference: orDefault(opt.PolicyReference, "Polis conversation moderation (source system)"),
			Phases: []domain.Phase{{Name: "dialog", StartsAt: first,
				Accepts: []domain.ContributionKind{domain.AcceptsStatements, domain.AcceptsVotes}}}},
	})
	if err != nil {
		return res, fmt.Errorf("opening the process: %w", err)
	}
	files := make([]domain.ImportedFile, len(c.Files))
	for i, f := range c.Files {
		files[i] = domain.ImportedFile{Name: f.Name, SHA256: f.SHA256, Rows: f.Rows}
	}
	started, err := svc.StartImport(ctx, asOfficial, proc, ledger.Request[domain.StartImport]{IdempotencyKey: importKey("start"), OccurredAt: first,
		Command: domain.StartImport{ImportID: importID, Source: "polis", SourceRef: url, Files: files}})
	if err != nil {
		return res, fmt.Errorf("recording the start of the import: %w", err)
	}
	// What earlier imports recorded is what was stored before this one
	// started: the same on every run of this import, however far an
	// interrupted run got.
	startedAt := started.Events[0].Position

	// Participants: everyone who wrote or voted, registered at their first
	// activity.
	firstSeen := map[int]time.Time{}
	see := func(pid int, t time.Time) {
		if f, ok := firstSeen[pid]; !ok || t.Before(f) {
			firstSeen[pid] = t
		}
	}
	for _, cm := range c.Comments {
		see(cm.AuthorID, cm.Timestamp)
	}
	for _, v := range c.Votes {
		see(v.VoterID, v.Timestamp)
	}
	pids := make([]int, 0, len(firstSeen))
	for p := range firstSeen {
		pids = append(pids, p)
	}
	slices.Sort(pids)
	var mu sync.Mutex
	err = parallel(ctx, len(pids), func(i int) error {
		pid := pids[i]
		r, err := svc.RegisterParticipant(ctx, asIntake, ledger.Request[domain.RegisterParticipant]{
			IdempotencyKey: procKey("participant", strconv.Itoa(pid)), OccurredAt: firstSeen[pid],
			Command: domain.RegisterParticipant{ParticipantID: ParticipantID(proc, pid),
				Pseudonym: "Polis deltagare " + strconv.Itoa(pid), Language: lang}})
		if err == nil && isNew(r) {
			mu.Lock()
			res.Added.Participants++
			mu.Unlock()
		}
		return err
	})
	if err != nil {
		return res, fmt.Errorf("registering participants: %w", err)
	}
	res.Participants = len(pids)
	progress("participants", len(pids))

	// The statements as the ledger has them now and had them before this
	// import started.
	now, before := make([]domain.Statement, len(c.Comments)), make([]domain.Statement, len(c.Comments))
	err = parallel(ctx, len(c.Comments), func(i int) error {
		var err error
		now[i], before[i], err = statementAt(ctx, store, StatementID(proc, c.Comments[i].ID), startedAt)
		return err
	})
	if err != nil {
		return res, fmt.Errorf("reading statements: %w", err)
	}

	// New statements; those the source accepted are held and approved at
	// once, so that "accepted" survives as an approval. A statement an
	// earlier import hid that the source shows again is restored.
	decided := func(r ledger.Result, err error) error {
		if err == nil && isNew(r) {
			mu.Lock()
			res.Added.Decisions++
			mu.Unlock()
		}
		return err
	}
	err = parallel(ctx, len(c.Comments), func(i int) error {
		cm := c.Comments[i]
		id := StatementID(proc, cm.ID)
		approve := func() error {
			return decided(svc.DecideModeration(ctx, asModerator, domain.ItemStatement, id, ledger.Request[domain.DecideModeration]{
				IdempotencyKey: importKey("accept", strconv.Itoa(cm.ID)), OccurredAt: cm.Timestamp,
				Command: domain.DecideModeration{ContentVersion: 1, Visibility: domain.VisibilityApproved, Explanation: AcceptedReason,
					AutomatedDecision: domain.AutomatedNot, Source: domain.SourceOwnInitiative, At: cm.Timestamp}}))
		}
		st := now[i]
		switch {
		case !st.Exists:
			r, err := svc.PostStatement(ctx, asIntake, proc, ledger.Request[domain.PostStatement]{
				IdempotencyKey: procKey("statement", strconv.Itoa(cm.ID)), OccurredAt: cm.Timestamp,
				Command: domain.PostStatement{StatementID: id, Author: ParticipantID(proc, cm.AuthorID), Channel: domain.ChannelWeb,
					Language: lang, Body: withheld(cm.Body), SourceID: strconv.Itoa(cm.ID), HoldForReview: cm.Moderated == Accepted}})
			if err == nil && isNew(r) {
				mu.Lock()
				res.Added.Statements++
				mu.Unlock()
			}
			if err != nil || cm.Moderated != Accepted {
				return err
			}
			return approve()
		case st.Status == domain.StatusPending && cm.Moderated == Accepted:
			return approve()
		case st.Status == domain.StatusHidden && cm.Moderated != ModeratedOut:
			return decided(svc.DecideModeration(ctx, asModerator, domain.ItemStatement, id, ledger.Request[domain.DecideModeration]{
				IdempotencyKey: importKey("restore", strconv.Itoa(cm.ID)), OccurredAt: last,
				Command: domain.DecideModeration{ContentVersion: st.Version, Visibility: domain.VisibilityRestored, Explanation: RestoredReason,
					AutomatedDecision: domain.AutomatedNot, Source: domain.SourceOwnInitiative, At: last}}))
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("posting statements: %w", err)
	}
	res.Statements = len(c.Comments)
	for _, cm := range c.Comments {
		if cm.Moderated == Accepted {
			res.Approved++
		}
	}
	progress("statements", res.Statements)

	// Votes, in time order (file order on ties), so each participant's
	// latest vote is also the last on their stream; only those not
	// recorded by an earlier import.
	votes := slices.Clone(c.Votes)
	slices.SortStableFunc(votes, func(a, b Vote) int { return a.Timestamp.Compare(b.Timestamp) })
	votes, err = unrecorded(ctx, store, proc, startedAt, votes)
	if err != nil {
		return res, fmt.Errorf("reading recorded votes: %w", err)
	}
	closed := map[int]bool{} // hidden before this import and still moderated out
	for i, cm := range c.Comments {
		closed[cm.ID] = before[i].Status == domain.StatusHidden && cm.Moderated == ModeratedOut
	}
	imported := make([]ledger.ImportedVote, 0, len(votes))
	for _, v := range votes {
		if closed[v.CommentID] {
			res.SkippedVotes++
			continue
		}
		imported = append(imported, ledger.ImportedVote{StatementID: StatementID(proc, v.CommentID), ParticipantID: ParticipantID(proc, v.VoterID),
			Vote: voteOf(v.Vote), At: v.Timestamp})
	}
	if res.SkippedVotes > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%d new votes on statements moderated out by an earlier import were not recorded", res.SkippedVotes))
	}
	if len(imported) > 0 {
		r, err := svc.ImportVotes(ctx, asIntake, proc, importKey("votes"), imported)
		if err != nil {
			return res, fmt.Errorf("importing votes: %w", err)
		}
		res.Added.Votes = r.Appended
	}
	res.Votes = len(c.Votes)
	progress("votes", res.Votes)

	// The source's removals, after the votes cast before them.
	var hide []int
	for i, cm := range c.Comments {
		if cm.Moderated == ModeratedOut {
			res.Hidden++
			if now[i].Status != domain.StatusHidden {
				hide = append(hide, i)
			}
		}
	}
	err = parallel(ctx, len(hide), func(i int) error {
		cm, st := c.Comments[hide[i]], now[hide[i]]
		return decided(svc.DecideModeration(ctx, asModerator, domain.ItemStatement, StatementID(proc, cm.ID), ledger.Request[domain.DecideModeration]{
			IdempotencyKey: importKey("hide", strconv.Itoa(cm.ID)), OccurredAt: last,
			Command: domain.DecideModeration{ContentVersion: max(st.Version, 1), Visibility: domain.VisibilityDisabled, Ground: domain.GroundIncompatible,
				PolicyClause: "moderation in the source system (Polis)", Category: domain.CategoryOtherViolationTC,
				Explanation: HiddenReason, GroundExplanation: HiddenReason, AutomatedDecision: domain.AutomatedNot, Source: domain.SourceOwnInitiative, At: last}}))
	})
	if err != nil {
		return res, fmt.Errorf("recording moderation: %w", err)
	}
	progress("hidden", res.Hidden)

	_, err = svc.CompleteImport(ctx, asOfficial, proc, ledger.Request[domain.CompleteImport]{IdempotencyKey: importKey("complete"), OccurredAt: last,
		Command: domain.CompleteImport{ImportID: importID, Participants: res.Participants, Statements: res.Statements,
			Votes: res.Votes, Decisions: res.Approved + res.Hidden}})
	if err != nil {
		return res, fmt.Errorf("recording the completion of the import: %w", err)
	}
	headAfter, err := store.Head(ctx)
	if err != nil {
		return res, err
	}
	res.Appended = int(headAfter - headBefore)
	res.Duration = time.Since(began)
	return res, nil
}

// statementAt folds a statement's stream as it is now and as it was
// before position at.
func statementAt(ctx context.Context, store eventstore.Store, id string, at eventstore.Position) (now, before domain.Statement, err error) {
	evs, err := readStream(ctx, store, domain.StreamForStatement(id))
	for _, ev := range evs {
		de, err := domain.Decode(ev.Type, ev.Version, ev.Data)
		if err != nil {
			return now, before, err
		}
		now.Apply(de)
		if ev.Position < at {
			before.Apply(de)
		}
	}
	return now, before, err
}

// unrecorded returns the votes (in their order) that are not among the
// votes recorded before position at: per voter, a multiset of statement,
// vote and occurred-at. Before a process's first import nothing is
// recorded and no stream is read.
func unrecorded(ctx context.Context, store eventstore.Store, proc string, at eventstore.Position, votes []Vote) ([]Vote, error) {
	earlier, err := earlierImports(ctx, store, proc, at)
	if err != nil || !earlier {
		return votes, err
	}
	type key struct {
		statement string
		vote      domain.Vote
		at        int64
	}
	byVoter := map[int][]int{}
	var voters []int
	for i, v := range votes {
		if _, ok := byVoter[v.VoterID]; !ok {
			voters = append(voters, v.VoterID)
		}
		byVoter[v.VoterID] = append(byVoter[v.VoterID], i)
	}
	keep := make([]bool, len(votes))
	err = parallel(ctx, len(voters), func(i int) error {
		voter := voters[i]
		evs, err := readStream(ctx, store, domain.StreamForVotes(proc, ParticipantID(proc, voter)))
		if err != nil {
			return err
		}
		recorded := map[key]int{}
		for _, ev := range evs {
			if ev.Position >= at {
				continue
			}
			de, err := domain.Decode(ev.Type, ev.Version, ev.Data)
			if err != nil {
				return err
			}
			if vc, ok := de.(*domain.VoteCast); ok {
				recorded[key{vc.StatementID, vc.Vote, ev.Metadata.OccurredAt.UnixMilli()}]++
			}
		}
		for _, j := range byVoter[voter] {
			v := votes[j]
			k := key{StatementID(proc, v.CommentID), voteOf(v.Vote), v.Timestamp.UnixMilli()}
			if recorded[k] > 0 {
				recorded[k]--
				continue
			}
			keep[j] = true // different voters, different indexes: no race
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]Vote, 0, len(votes))
	for i, v := range votes {
		if keep[i] {
			out = append(out, v)
		}
	}
	return out, nil
}

// earlierImports reports whether an import into proc started before
// position at.
func earlierImports(ctx context.Context, store eventstore.Store, proc string, at eventstore.Position) (bool, error) {
	evs, err := readStream(ctx, store, domain.StreamForProcess(proc))
	for _, ev := range evs {
		if ev.Type == "ImportStarted" && ev.Position < at {
			return true, nil
		}
	}
	return false, err
}

// readStream reads a whole stream; a missing stream is empty.
func readStream(ctx context.Context, store eventstore.Store, stream string) ([]eventstore.Event, error) {
	var out []eventstore.Event
	for from := uint64(0); ; {
		evs, err := store.ReadStream(ctx, stream, eventstore.ReadStreamOptions{Direction: eventstore.Forwards, From: from, Limit: 4096})
		if errors.Is(err, eventstore.ErrStreamNotFound) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, evs...)
		if len(evs) < 4096 {
			return out, nil
		}
		from = evs[len(evs)-1].Revision + 1
	}
}

func exists(ctx context.Context, store eventstore.Store, stream string) (bool, error) {
	_, err := store.ReadStream(ctx, stream, eventstore.ReadStreamOptions{Limit: 1})
	if errors.Is(err, eventstore.ErrStreamNotFound) {
		return false, nil
	}
	return err == nil, err
}

// completed reports whether the process's stream records the import as
// complete.
func completed(ctx context.Context, store eventstore.Store, proc, importID string) (bool, error) {
	evs, err := store.ReadStream(ctx, domain.StreamForProcess(proc), eventstore.ReadStreamOptions{Direction: eventstore.Backwards, From: eventstore.End, Limit: 100})
	if errors.Is(err, eventstore.ErrStreamNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, ev := range evs {
		if ev.Type != "ImportCompleted" {
			continue
		}
		de, err := domain.Decode(ev.Type, ev.Version, ev.Data)
		if err == nil && de.(*domain.ImportCompleted).ImportID == importID {
			return true, nil
		}
	}
	return false, nil
}

// span returns the first and last activity of the conversation.
func span(c *Conversation) (first, last time.Time) {
	for _, cm := range c.Comments {
		first, last = earlier(first, cm.Timestamp), later(last, cm.Timestamp)
	}
	for _, v := range c.Votes {
		first, last = earlier(first, v.Timestamp), later(last, v.Timestamp)
	}
	if first.IsZero() {
		first = time.UnixMilli(0).UTC()
		last = first
	}
	return first, last
}

func earlier(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func voteOf(v int) domain.Vote {
	switch v {
	case Agree:
		return domain.VoteAgree
	case Disagree:
		return domain.VoteDisagree
	}
	return domain.VotePass
}

// withheld gives a comment without text the placeholder text.
func withheld(body string) string {
	if strings.TrimSpace(body) == "" {
		return WithheldBody
	}
	return body
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// parallel runs f(0..n-1) on a few goroutines, stopping at the first error.
func parallel(ctx context.Context, n int, f func(i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
	)
	for range min(workers, n) {
		wg.Go(func() {
			for i := range next {
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
						cancel()
					}
					mu.Unlock()
				}
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}
