package polis

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
)

// Opener opens a sealed personal field, reporting false when it cannot
// (its key was shredded). privacy.Keys and ledger.Service provide one.
type Opener func(domain.Personal) (string, bool)

// ExportOptions tune Export.
type ExportOptions struct {
	// IncludeHidden writes the text of hidden (and not yet approved)
	// statements, as Polis's own export does. Without it their
	// comment-body is empty: a research export publishes only text that is
	// public.
	IncludeHidden bool
	// To, if non-zero, exports the process as it stood at that position.
	To eventstore.Position
	// LeaveOut, if set, says why a participant's statements and votes are
	// left out (a research export's consent rule); "" keeps them. Votes on
	// a left-out statement are left out too (reason LeftOutStatement), so
	// that every vote's comment-id is in comments.csv.
	LeaveOut func(participantID string) (string, error)
}

// LeftOutStatement is the reason for leaving out a vote on a statement
// that ExportOptions.LeaveOut left out.
const LeftOutStatement = "statement_left_out"

// ExportResult summarises an export.
type ExportResult struct {
	ProcessID    string
	Statements   int
	Votes        int
	Participants int
	Files        []File
	// LeftOut counts the rows ExportOptions.LeaveOut left out, per file
	// (CommentsFile, VotesFile) and reason.
	LeftOut map[string]map[string]int
}

// Export writes dialogue process processID in Polis's export format into
// dir (summary.csv, comments.csv, votes.csv, participants-votes.csv), so
// that Polis's analysis tools run on ledger data. Ids are Polis's small
// integers: a statement imported from Polis keeps its comment-id and an
// imported participant their participant id; everything else is numbered
// after them in order of first appearance. Statements hidden in the
// ledger are moderated -1, statements a moderator approved 1, others 0.
// Text that cannot be opened (disposed content) is written empty.
func Export(ctx context.Context, store eventstore.Store, open Opener, processID, dir string, opt ExportOptions) (ExportResult, error) {
	res := ExportResult{ProcessID: processID, LeftOut: map[string]map[string]int{}}
	leaveOut := func(file, id string) (bool, error) {
		if opt.LeaveOut == nil {
			return false, nil
		}
		why, err := opt.LeaveOut(id)
		if why != "" {
			if res.LeftOut[file] == nil {
				res.LeftOut[file] = map[string]int{}
			}
			res.LeftOut[file][why]++
		}
		return why != "", err
	}
	leftOutStatements := map[string]bool{}
	to := opt.To
	if to == 0 {
		head, err := store.Head(ctx)
		if err != nil {
			return res, err
		}
		to = head
	}
	var (
		opened     *domain.ProcessOpened
		sourceRef  string
		statements = map[string]*exported{}
		order      []*exported
		votes      []*domain.VoteCast
		voteTimes  []time.Time
		people     = newNumbering(processID + "-p")
	)
	for after := eventstore.Position(0); after < to; {
		evs, err := store.ReadAll(ctx, after, int(min(uint64(to-after), 1000)))
		if err != nil {
			return res, err
		}
		if len(evs) == 0 {
			break
		}
		for _, ev := range evs {
			de, err := domain.Decode(ev.Type, ev.Version, ev.Data)
			if err != nil {
				continue // a type this build does not know cannot be part of a dialogue it knows
			}
			switch e := de.(type) {
			case *domain.ProcessOpened:
				if e.ProcessID == processID {
					opened = e
				}
			case *domain.ImportStarted:
				if e.ProcessID == processID && sourceRef == "" {
					sourceRef = e.SourceRef
				}
			case *domain.StatementPosted:
				if e.ProcessID == processID {
					out, err := leaveOut(CommentsFile, e.Author)
					if err != nil {
						return res, err
					}
					if out {
						leftOutStatements[e.StatementID] = true
						continue
					}
					x := &exported{at: ev.Metadata.OccurredAt}
					x.st.Apply(e)
					statements[e.StatementID] = x
					order = append(order, x)
					people.see(e.Author)
				}
			case *domain.VoteCast:
				if e.ProcessID == processID {
					if leftOutStatements[e.StatementID] {
						if res.LeftOut[VotesFile] == nil {
							res.LeftOut[VotesFile] = map[string]int{}
						}
						res.LeftOut[VotesFile][LeftOutStatement]++
						continue
					}
					out, err := leaveOut(VotesFile, e.ParticipantID)
					if err != nil {
						return res, err
					}
					if out {
						continue
					}
					votes = append(votes, e)
					voteTimes = append(voteTimes, ev.Metadata.OccurredAt)
					people.see(e.ParticipantID)
				}
			default:
				if x := statements[strings.TrimPrefix(ev.Stream, "statement-")]; x != nil && strings.HasPrefix(ev.Stream, "statement-") {
					x.st.Apply(de)
				}
			}
		}
		after = evs[len(evs)-1].Position
	}
	if opened == nil {
		return res, fmt.Errorf("process %q: %w", processID, domain.ErrNotFound)
	}
	if opened.Kind != domain.KindDialogue {
		return res, fmt.Errorf("process %s is a %s process, not a dialogue: %w", processID, opened.Kind, domain.ErrInvalid)
	}

	ids := newNumbering("")
	for _, x := range order {
		ids.see(x.key())
	}
	pidOf, cidOf := people.assign(), ids.assign()
	c := &Conversation{}
	commenters := map[int]bool{}
	for _, x := range order {
		cm := Comment{Timestamp: x.at, ID: cidOf[x.key()], AuthorID: pidOf[x.st.Author], Moderated: moderated(x.st)}
		if x.st.Status.Public() || opt.IncludeHidden {
			if text, ok := open(x.st.Body); ok {
				cm.Body = text
			}
		}
		c.Comments = append(c.Comments, cm)
		commenters[cm.AuthorID] = true
	}
	voters := map[int]bool{}
	for i, v := range votes {
		x := statements[v.StatementID]
		if x == nil {
			continue // cannot happen: the domain takes votes only on the process's statements
		}
		pv := Vote{Timestamp: voteTimes[i], CommentID: cidOf[x.key()], VoterID: pidOf[v.ParticipantID], Vote: polisVote(v.Vote)}
		c.Votes = append(c.Votes, pv)
		voters[pv.VoterID] = true
	}
	slices.SortStableFunc(c.Votes, func(a, b Vote) int { return a.Timestamp.Compare(b.Timestamp) })
	c.Summary = [][2]string{
		{"topic", opened.Title.Sv},
		{"url", sourceRef},
		{"voters", strconv.Itoa(len(voters))},
		{"voters-in-conv", strconv.Itoa(len(voters))},
		{"commenters", strconv.Itoa(len(commenters))},
		{"comments", strconv.Itoa(len(c.Comments))},
		{"conversation-description", opened.Description.Sv},
	}
	files, err := Write(dir, c)
	if err != nil {
		return res, err
	}
	res.Statements, res.Votes, res.Participants, res.Files = len(c.Comments), len(c.Votes), len(pidOf), files
	return res, nil
}

// exported is a statement being exported: its folded state and time.
type exported struct {
	st domain.Statement
	at time.Time
}

// key is the statement's name for numbering: its source id when it has
// one (so imported Polis comment-ids survive), else its ledger id, which
// never reads as a number.
func (x *exported) key() string {
	if x.st.SourceID != "" {
		return x.st.SourceID
	}
	return "ledger:" + x.st.ID
}

// moderated maps a statement's moderation state to Polis's code.
func moderated(st domain.Statement) int {
	if st.Status == domain.StatusHidden {
		return ModeratedOut
	}
	if st.Status.Public() {
		for _, d := range st.Decisions {
			if d.Visibility == domain.VisibilityApproved {
				return Accepted
			}
		}
	}
	return Unmoderated
}

func polisVote(v domain.Vote) int {
	switch v {
	case domain.VoteAgree:
		return Agree
	case domain.VoteDisagree:
		return Disagree
	}
	return Pass
}

// numbering gives ledger ids Polis's integer ids: an id that is prefix
// followed by a decimal number (what the import made of a Polis id) keeps
// that number if no other id claims it; the rest are numbered after the
// largest, in order of first appearance.
type numbering struct {
	prefix string
	order  []string
	seen   map[string]bool
}

func newNumbering(prefix string) *numbering {
	return &numbering{prefix: prefix, seen: map[string]bool{}}
}

func (n *numbering) see(id string) {
	if !n.seen[id] {
		n.seen[id] = true
		n.order = append(n.order, id)
	}
}

func (n *numbering) assign() map[string]int {
	out := make(map[string]int, len(n.order))
	taken := map[int]bool{}
	next := 0
	for _, id := range n.order {
		if id == "" || !strings.HasPrefix(id, n.prefix) {
			continue
		}
		k, err := strconv.Atoi(strings.TrimPrefix(id, n.prefix))
		if err != nil || k < 0 || taken[k] || strconv.Itoa(k) != strings.TrimPrefix(id, n.prefix) {
			continue
		}
		out[id], taken[k] = k, true
		next = max(next, k+1)
	}
	for _, id := range n.order {
		if _, ok := out[id]; !ok {
			out[id] = next
			next++
		}
	}
	return out
}
