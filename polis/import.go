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

// Result summarises an import.
type Result struct {
	ProcessID       string
	ImportID        string
	AlreadyComplete bool // a previous run had completed it; nothing was done
	Participants    int
	Statements      int
	Votes           int
	Approved        int
	Hidden          int
	Appended        int // events appended by this run (0 when repeated)
	Duration        time.Duration
}

// ProcessID is the id of the process an export is imported into: derived
// from the export's content, so importing the same files again finds the
// same process (and adds nothing), while a later, larger export of the
// same conversation becomes a process of its own.
func ProcessID(c *Conversation) string {
	h := sha256.New()
	for _, f := range c.Files {
		h.Write([]byte(f.Name + "\x00" + f.SHA256 + "\n"))
	}
	return "polis-" + hex.EncodeToString(h.Sum(nil))[:16]
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
// decisions for moderated-out comments, and ImportCompleted. Every step is
// idempotent (event ids derive from the import and the record), so a run
// that stopped part-way is finished by running it again, and a complete
// import run again appends nothing. Hide decisions come after the votes
// because Polis counted the votes cast before a comment was moderated out,
// and the ledger takes no vote on a hidden statement; Polis does not
// record when it moderated, so their occurred-at is the conversation's
// last activity.
func Import(ctx context.Context, svc *ledger.Service, c *Conversation, opt Options) (Result, error) {
	began := time.Now()
	if opt.Title == "" {
		return Result{}, fmt.Errorf("%w: a process title is required", domain.ErrInvalid)
	}
	proc := ProcessID(c)
	res := Result{ProcessID: proc, ImportID: proc}
	store := svc.Store()
	headBefore, err := store.Head(ctx)
	if err != nil {
		return res, err
	}
	if done, err := completed(ctx, store, proc, res.ImportID); err != nil || done {
		res.AlreadyComplete = done
		res.Duration = time.Since(began)
		return res, err
	}

	first, last := span(c)
	key := func(parts ...string) string {
		k := "polis/" + res.ImportID
		for _, p := range parts {
			k += "/" + p
		}
		return k
	}
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
		IdempotencyKey: key("process"), OccurredAt: first,
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
	_, err = svc.StartImport(ctx, asOfficial, proc, ledger.Request[domain.StartImport]{IdempotencyKey: key("start"), OccurredAt: first,
		Command: domain.StartImport{ImportID: res.ImportID, Source: "polis", SourceRef: url, Files: files}})
	if err != nil {
		return res, fmt.Errorf("recording the start of the import: %w", err)
	}

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
	err = parallel(ctx, len(pids), func(i int) error {
		pid := pids[i]
		_, err := svc.RegisterParticipant(ctx, asIntake, ledger.Request[domain.RegisterParticipant]{
			IdempotencyKey: key("participant", strconv.Itoa(pid)), OccurredAt: firstSeen[pid],
			Command: domain.RegisterParticipant{ParticipantID: ParticipantID(proc, pid),
				Pseudonym: "Polis deltagare " + strconv.Itoa(pid), Language: lang}})
		return err
	})
	if err != nil {
		return res, fmt.Errorf("registering participants: %w", err)
	}
	res.Participants = len(pids)
	progress("participants", len(pids))

	// Statements; those the source accepted are held and approved at once,
	// so that "accepted" survives as an approval.
	err = parallel(ctx, len(c.Comments), func(i int) error {
		cm := c.Comments[i]
		id := StatementID(proc, cm.ID)
		_, err := svc.PostStatement(ctx, asIntake, proc, ledger.Request[domain.PostStatement]{
			IdempotencyKey: key("statement", strconv.Itoa(cm.ID)), OccurredAt: cm.Timestamp,
			Command: domain.PostStatement{StatementID: id, Author: ParticipantID(proc, cm.AuthorID), Channel: domain.ChannelWeb,
				Language: lang, Body: withheld(cm.Body), SourceID: strconv.Itoa(cm.ID), HoldForReview: cm.Moderated == Accepted}})
		if err != nil || cm.Moderated != Accepted {
			return err
		}
		_, err = svc.DecideModeration(ctx, asModerator, domain.ItemStatement, id, ledger.Request[domain.DecideModeration]{
			IdempotencyKey: key("accept", strconv.Itoa(cm.ID)), OccurredAt: cm.Timestamp,
			Command: domain.DecideModeration{ContentVersion: 1, Visibility: domain.VisibilityApproved, Explanation: AcceptedReason,
				AutomatedDecision: domain.AutomatedNot, Source: domain.SourceOwnInitiative, At: cm.Timestamp}})
		return err
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
	// latest vote is also the last on their stream.
	votes := slices.Clone(c.Votes)
	slices.SortStableFunc(votes, func(a, b Vote) int { return a.Timestamp.Compare(b.Timestamp) })
	imported := make([]ledger.ImportedVote, len(votes))
	for i, v := range votes {
		imported[i] = ledger.ImportedVote{StatementID: StatementID(proc, v.CommentID), ParticipantID: ParticipantID(proc, v.VoterID),
			Vote: voteOf(v.Vote), At: v.Timestamp}
	}
	if _, err := svc.ImportVotes(ctx, asIntake, proc, key("votes"), imported); err != nil {
		return res, fmt.Errorf("importing votes: %w", err)
	}
	res.Votes = len(votes)
	progress("votes", res.Votes)

	// The source's removals, after the votes cast before them.
	var hidden []Comment
	for _, cm := range c.Comments {
		if cm.Moderated == ModeratedOut {
			hidden = append(hidden, cm)
		}
	}
	err = parallel(ctx, len(hidden), func(i int) error {
		cm := hidden[i]
		_, err := svc.DecideModeration(ctx, asModerator, domain.ItemStatement, StatementID(proc, cm.ID), ledger.Request[domain.DecideModeration]{
			IdempotencyKey: key("hide", strconv.Itoa(cm.ID)), OccurredAt: last,
			Command: domain.DecideModeration{ContentVersion: 1, Visibility: domain.VisibilityDisabled, Ground: domain.GroundIncompatible,
				PolicyClause: "moderation in the source system (Polis)", Category: domain.CategoryOtherViolationTC,
				Explanation: HiddenReason, AutomatedDecision: domain.AutomatedNot, Source: domain.SourceOwnInitiative, At: last}})
		return err
	})
	if err != nil {
		return res, fmt.Errorf("recording moderation: %w", err)
	}
	res.Hidden = len(hidden)
	progress("hidden", res.Hidden)

	_, err = svc.CompleteImport(ctx, asOfficial, proc, ledger.Request[domain.CompleteImport]{IdempotencyKey: key("complete"), OccurredAt: last,
		Command: domain.CompleteImport{ImportID: res.ImportID, Participants: res.Participants, Statements: res.Statements,
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
