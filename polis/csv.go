// Package polis reads and writes Polis conversation exports (summary.csv, comments.csv, votes.csv, participants-votes.csv) and moves them into and out of the ledger as dialogue processes.
package polis

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/malmo/participation-ledger/opinion"
)

// File names of a Polis export.
const (
	SummaryFile           = "summary.csv"
	CommentsFile          = "comments.csv"
	VotesFile             = "votes.csv"
	ParticipantsVotesFile = "participants-votes.csv"
)

// Polis's vote and moderation codes.
const (
	Agree    = 1
	Disagree = -1
	Pass     = 0

	ModeratedOut = -1
	Unmoderated  = 0
	Accepted     = 1
)

// Conversation is a Polis export as read from (or written to) disk.
type Conversation struct {
	// Summary is summary.csv's key,value rows in file order.
	Summary  [][2]string
	Comments []Comment
	Votes    []Vote
	// Files describes the files read: name, SHA-256 and data rows.
	Files []File
	// Warnings are what Read noticed but accepted: summary.csv's counts
	// that differ from the files (some Polis versions count only accepted
	// comments there).
	Warnings []string
}

// Comment is one row of comments.csv. Ids are Polis's small integers.
type Comment struct {
	Timestamp time.Time // millisecond precision, UTC
	ID        int
	AuthorID  int
	Agrees    int
	Disagrees int
	Moderated int // ModeratedOut, Unmoderated or Accepted
	Body      string
}

// Vote is one row of votes.csv.
type Vote struct {
	Timestamp time.Time
	CommentID int
	VoterID   int
	Vote      int // Agree, Disagree or Pass
}

// File is a source file's identity.
type File struct {
	Name   string
	SHA256 string
	Rows   int
}

// Get returns a summary value ("" if absent).
func (c *Conversation) Get(key string) string {
	for _, kv := range c.Summary {
		if kv[0] == key {
			return kv[1]
		}
	}
	return ""
}

// Error is a problem with one line of one file of an export.
type Error struct {
	File string
	Line int // 1-based line in the file; 0 when about the whole file
	Err  error
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %v", e.File, e.Err)
	}
	return fmt.Sprintf("%s line %d: %v", e.File, e.Line, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// ErrFormat is wrapped by every format error of Read.
var ErrFormat = errors.New("not a valid Polis export")

func formatErr(file string, line int, format string, args ...any) error {
	return &Error{File: file, Line: line, Err: fmt.Errorf("%w: "+format, append([]any{ErrFormat}, args...)...)}
}

// Read reads and checks summary.csv, comments.csv and votes.csv in dir
// (participants-votes.csv is derived data and is not needed). It checks
// everything before returning, so a caller that imports only after Read
// succeeded never imports half a file: a missing column, a malformed
// number, a vote on an unknown comment or a truncated file is an *Error
// naming the file and line.
func Read(dir string) (*Conversation, error) {
	c := &Conversation{}
	rows, f, err := readCSV(dir, SummaryFile, 2, nil)
	if err != nil {
		return nil, err
	}
	c.Files = append(c.Files, f)
	for _, r := range rows {
		c.Summary = append(c.Summary, [2]string{r.fields[0], r.fields[1]})
	}

	rows, f, err = readCSV(dir, CommentsFile, 0, []string{"timestamp", "datetime", "comment-id", "author-id", "agrees", "disagrees", "moderated", "comment-body"})
	if err != nil {
		return nil, err
	}
	c.Files = append(c.Files, f)
	seen := map[int]bool{}
	for _, r := range rows {
		var cm Comment
		var err error
		if cm.Timestamp, err = millis(r.fields[0]); err == nil {
			cm.ID, err = nonNegative("comment-id", r.fields[2])
		}
		if err == nil {
			cm.AuthorID, err = nonNegative("author-id", r.fields[3])
		}
		if err == nil {
			cm.Agrees, err = nonNegative("agrees", r.fields[4])
		}
		if err == nil {
			cm.Disagrees, err = nonNegative("disagrees", r.fields[5])
		}
		if err == nil {
			cm.Moderated, err = code("moderated", r.fields[6], ModeratedOut, Accepted)
		}
		if err != nil {
			return nil, formatErr(CommentsFile, r.line, "%v", err)
		}
		cm.Body = r.fields[7]
		// A moderated-out comment may come without its text: an export
		// that publishes only public text (the ledger's research export)
		// leaves it out. Any other empty body is a damaged file.
		if strings.TrimSpace(cm.Body) == "" && cm.Moderated != ModeratedOut {
			return nil, formatErr(CommentsFile, r.line, "comment %d has an empty comment-body", cm.ID)
		}
		if seen[cm.ID] {
			return nil, formatErr(CommentsFile, r.line, "comment-id %d appears twice", cm.ID)
		}
		seen[cm.ID] = true
		c.Comments = append(c.Comments, cm)
	}
	rows, f, err = readCSV(dir, VotesFile, 0, []string{"timestamp", "datetime", "comment-id", "voter-id", "vote"})
	if err != nil {
		return nil, err
	}
	c.Files = append(c.Files, f)
	c.Votes = make([]Vote, 0, len(rows))
	for _, r := range rows {
		var v Vote
		var err error
		if v.Timestamp, err = millis(r.fields[0]); err == nil {
			v.CommentID, err = nonNegative("comment-id", r.fields[2])
		}
		if err == nil {
			v.VoterID, err = nonNegative("voter-id", r.fields[3])
		}
		if err == nil {
			v.Vote, err = code("vote", r.fields[4], Disagree, Agree)
		}
		if err != nil {
			return nil, formatErr(VotesFile, r.line, "%v", err)
		}
		if !seen[v.CommentID] {
			return nil, formatErr(VotesFile, r.line, "vote on comment-id %d, which is not in %s", v.CommentID, CommentsFile)
		}
		c.Votes = append(c.Votes, v)
	}
	c.Warnings = c.summaryDifferences()
	return c, nil
}

// summaryDifferences compares summary.csv's counts with the files. They
// are information, not a contract: Polis versions differ in what they
// count (only accepted comments, say), so a difference is a warning. A
// file that lost rows mid-way is still caught: a cut row has no line end.
func (c *Conversation) summaryDifferences() []string {
	commenters, voters := map[int]bool{}, map[int]bool{}
	shown := 0
	for _, cm := range c.Comments {
		commenters[cm.AuthorID] = true
		if cm.Moderated != ModeratedOut {
			shown++
		}
	}
	for _, v := range c.Votes {
		voters[v.VoterID] = true
	}
	var out []string
	check := func(key, file string, have int, detail string) {
		want := c.Get(key)
		if want == "" || want == strconv.Itoa(have) {
			return
		}
		out = append(out, fmt.Sprintf("%s says %s %s, %s has %d%s", SummaryFile, key, want, file, have, detail))
	}
	check("comments", CommentsFile, len(c.Comments), fmt.Sprintf(" (%d not moderated out)", shown))
	check("commenters", CommentsFile, len(commenters), "")
	check("voters", VotesFile, len(voters), "")
	return out
}

type row struct {
	line   int
	fields []string
}

// readCSV reads one file whole: header (checked against want unless nil;
// width fixes the number of fields when there is no header), rows with
// their line numbers, and the file's hash.
func readCSV(dir, name string, width int, want []string) ([]row, File, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return nil, File{}, &Error{File: name, Err: err}
	}
	sum := sha256.Sum256(b)
	f := File{Name: name, SHA256: hex.EncodeToString(sum[:])}
	if len(b) == 0 {
		return nil, f, formatErr(name, 0, "the file is empty")
	}
	if b[len(b)-1] != '\n' {
		// Polis ends every file with a line end; a file cut off mid-row
		// could still parse (a shorter comment-body), so refuse it.
		return nil, f, formatErr(name, bytes.Count(b, []byte("\n"))+1, "the last line has no line end: the file is truncated")
	}
	r := csv.NewReader(bytes.NewReader(b))
	if want != nil {
		r.FieldsPerRecord = len(want)
		hdr, err := r.Read()
		if err != nil {
			return nil, f, csvErr(name, err)
		}
		if !slices.Equal(hdr, want) {
			return nil, f, formatErr(name, 1, "header %q, want %q", strings.Join(hdr, ","), strings.Join(want, ","))
		}
	} else {
		r.FieldsPerRecord = width
	}
	var rows []row
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, f, csvErr(name, err)
		}
		line, _ := r.FieldPos(0)
		rows = append(rows, row{line: line, fields: rec})
	}
	f.Rows = len(rows)
	return rows, f, nil
}

func csvErr(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return formatErr(name, pe.StartLine, "%v", pe.Err)
	}
	return formatErr(name, 0, "%v", err)
}

func millis(s string) (time.Time, error) {
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil || ms < 0 {
		return time.Time{}, fmt.Errorf("timestamp %q is not milliseconds since 1970", s)
	}
	return time.UnixMilli(ms).UTC(), nil
}

func nonNegative(what, s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s %q is not a non-negative integer", what, s)
	}
	return n, nil
}

func code(what, s string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s %q is not one of %d..%d", what, s, lo, hi)
	}
	return n, nil
}

// Write writes c as a Polis export into dir: summary.csv, comments.csv,
// votes.csv and participants-votes.csv, with the layout Polis uses
// (comments newest first; participants-votes with each participant's
// latest vote on every comment). The agrees and disagrees columns and
// participants-votes.csv are computed from c.Votes (latest vote per voter
// and comment); c's own Agrees and Disagrees are ignored. It returns the
// files written.
func Write(dir string, c *Conversation) ([]File, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	latest := Latest(c.Votes)
	agrees, disagrees := map[int]int{}, map[int]int{}
	for k, v := range latest {
		switch v {
		case Agree:
			agrees[k.Comment]++
		case Disagree:
			disagrees[k.Comment]++
		}
	}
	var files []File
	put := func(name string, rows [][]string) error {
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		if err := w.WriteAll(rows); err != nil {
			return err
		}
		sum := sha256.Sum256(buf.Bytes())
		files = append(files, File{Name: name, SHA256: hex.EncodeToString(sum[:]), Rows: len(rows) - 1})
		return writeFile(filepath.Join(dir, name), buf.Bytes())
	}

	summary := make([][]string, 0, len(c.Summary))
	for _, kv := range c.Summary {
		summary = append(summary, []string{kv[0], kv[1]})
	}
	if err := put(SummaryFile, summary); err != nil {
		return nil, err
	}
	files[len(files)-1].Rows++ // summary.csv has no header

	comments := slices.Clone(c.Comments)
	slices.SortStableFunc(comments, func(a, b Comment) int { return b.Timestamp.Compare(a.Timestamp) })
	rows := [][]string{{"timestamp", "datetime", "comment-id", "author-id", "agrees", "disagrees", "moderated", "comment-body"}}
	for _, cm := range comments {
		rows = append(rows, []string{ms(cm.Timestamp), datetime(cm.Timestamp), strconv.Itoa(cm.ID), strconv.Itoa(cm.AuthorID),
			strconv.Itoa(agrees[cm.ID]), strconv.Itoa(disagrees[cm.ID]), strconv.Itoa(cm.Moderated), cm.Body})
	}
	if err := put(CommentsFile, rows); err != nil {
		return nil, err
	}

	rows = [][]string{{"timestamp", "datetime", "comment-id", "voter-id", "vote"}}
	for _, v := range c.Votes {
		rows = append(rows, []string{ms(v.Timestamp), datetime(v.Timestamp), strconv.Itoa(v.CommentID), strconv.Itoa(v.VoterID), strconv.Itoa(v.Vote)})
	}
	if err := put(VotesFile, rows); err != nil {
		return nil, err
	}

	if err := put(ParticipantsVotesFile, participantsVotes(c, latest)); err != nil {
		return nil, err
	}
	return files, nil
}

// participantsVotes is Polis's participant × comment matrix of latest
// votes, with each participant's opinion group (group-id, computed by
// package opinion from these latest votes and the comments' moderation;
// empty for participants not in the conversation, as in Polis).
func participantsVotes(c *Conversation, latest map[Key]int) [][]string {
	ids := make([]int, 0, len(c.Comments))
	for _, cm := range c.Comments {
		ids = append(ids, cm.ID)
	}
	slices.Sort(ids)
	authored := map[int]int{}
	for _, cm := range c.Comments {
		authored[cm.AuthorID]++
	}
	people := map[int]bool{}
	for _, v := range c.Votes {
		people[v.VoterID] = true
	}
	for p := range authored {
		people[p] = true
	}
	pids := make([]int, 0, len(people))
	for p := range people {
		pids = append(pids, p)
	}
	slices.Sort(pids)
	groups := opinionGroups(c, latest, pids, ids)
	hdr := []string{"participant", "group-id", "n-comments", "n-votes", "n-agree", "n-disagree"}
	for _, id := range ids {
		hdr = append(hdr, strconv.Itoa(id))
	}
	rows := [][]string{hdr}
	for _, p := range pids {
		cells := make([]string, len(ids))
		nv, na, nd := 0, 0, 0
		for i, id := range ids {
			v, ok := latest[Key{Comment: id, Voter: p}]
			if !ok {
				continue
			}
			cells[i] = strconv.Itoa(v)
			nv++
			switch v {
			case Agree:
				na++
			case Disagree:
				nd++
			}
		}
		group := ""
		if g, ok := groups[p]; ok {
			group = strconv.Itoa(g)
		}
		rows = append(rows, append([]string{strconv.Itoa(p), group, strconv.Itoa(authored[p]), strconv.Itoa(nv), strconv.Itoa(na), strconv.Itoa(nd)}, cells...))
	}
	return rows
}

// opinionGroups returns the opinion group of each participant grouped.
func opinionGroups(c *Conversation, latest map[Key]int, pids, cids []int) map[int]int {
	m := opinion.NewMatrix(len(pids), len(cids))
	for k, v := range latest {
		p, _ := slices.BinarySearch(pids, k.Voter)
		s, _ := slices.BinarySearch(cids, k.Comment)
		m.Set(p, s, v)
	}
	for _, cm := range c.Comments {
		if cm.Moderated == ModeratedOut {
			s, _ := slices.BinarySearch(cids, cm.ID)
			m.ModerateOut(s)
		}
	}
	// Once in, always in: replay the votes in time order for who reached
	// Polis's threshold, min(7, comments with votes), at some vote.
	votes := slices.Clone(c.Votes)
	slices.SortStableFunc(votes, func(a, b Vote) int { return a.Timestamp.Compare(b.Timestamp) })
	seen, voted, withVotes := map[Key]bool{}, map[int]int{}, map[int]bool{}
	for _, v := range votes {
		if k := (Key{v.CommentID, v.VoterID}); !seen[k] {
			seen[k] = true
			voted[v.VoterID]++
			withVotes[v.CommentID] = true
		}
		if voted[v.VoterID] >= min(7, len(withVotes)) {
			p, _ := slices.BinarySearch(pids, v.VoterID)
			m.KeepIn(p)
		}
	}
	out := map[int]int{}
	for i, pl := range opinion.Compute(m, opinion.Options{}).Participants {
		if pl.Group >= 0 {
			out[pids[i]] = pl.Group
		}
	}
	return out
}

// Key is a (comment, voter) pair.
type Key struct{ Comment, Voter int }

// Latest returns each voter's latest vote on each comment: the vote with
// the latest timestamp, the later row on a tie (file order).
func Latest(votes []Vote) map[Key]int {
	at := map[Key]time.Time{}
	out := map[Key]int{}
	for _, v := range votes {
		k := Key{v.CommentID, v.VoterID}
		if t, ok := at[k]; ok && v.Timestamp.Before(t) {
			continue
		}
		at[k], out[k] = v.Timestamp, v.Vote
	}
	return out
}

func ms(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// datetime is Polis's human-readable column (Java's Date.toString), in UTC.
func datetime(t time.Time) string { return t.UTC().Format("Mon Jan 02 15:04:05 MST 2006") }

func writeFile(path string, b []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
