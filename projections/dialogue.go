package projections

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
)

// NameDialogue is the dialogue model's name.
const NameDialogue = "dialogue"

// Dialogue is the read model of dialogue processes: each statement's
// agree / disagree / pass counts from every participant's latest vote,
// participation over time, the participant × statement matrix of latest
// votes for researchers, and the state of imports. Participants appear in
// the matrix only as numbers (their order of first activity in the
// process), never by id.
type Dialogue struct {
	st dialogueState
}

type dialogueState struct {
	Processes map[string]*dialogueProcess `json:"processes"`
	Owner     map[string]string           `json:"owner"` // statement id → process id
	// LeftOut is why a participant's votes and statements are left out
	// of research use (the matrix), as research exports do: no research
	// consent, erasure granted, or disposed. Absent: included.
	LeftOut map[string]string `json:"left_out,omitempty"`
}

type dialogueProcess struct {
	Statements []*dialogueStatement `json:"statements"` // in posting order
	// Latest is statement index → participant number → the latest vote.
	Latest       []map[int]domain.Vote `json:"latest"`
	Participants []string              `json:"participants"` // by number, in order of first activity
	Days         map[string]*dayStats  `json:"days"`         // by UTC date of occurred-at
	Imports      []*importStatus       `json:"imports"`
	// InConversation are the participants (numbers, in the order they
	// came in) who have been in the conversation as Polis counts it: at
	// some vote at least min(7, statements with votes) votes. Once in,
	// always in: the opinion groups keep them.
	InConversation []int `json:"in_conversation,omitempty"`

	index     map[string]int // statement id → index (derived)
	number    map[string]int // participant id → number (derived)
	voted     []int          // participant number → statements voted on (derived)
	withVotes int            // statements with a vote (derived)
	in        map[int]bool   // InConversation as a set (derived)
}

// inConversationVotes is Polis's threshold: a participant with this many
// votes (or a vote on every statement with votes, if fewer) is in.
const inConversationVotes = 7

type dialogueStatement struct {
	ID       string          `json:"id"`
	SourceID string          `json:"source_id,omitempty"`
	Seed     bool            `json:"seed,omitempty"`
	Status   domain.Status   `json:"status"`
	PostedAt time.Time       `json:"posted_at"`
	Votes    int             `json:"votes"` // votes cast, changes included
	Body     domain.Personal `json:"body"`  // sealed, as in the log
	Author   string          `json:"author,omitempty"`
}

type dayStats struct {
	Statements      int `json:"statements"`
	Votes           int `json:"votes"`
	NewParticipants int `json:"new_participants"`
}

type importStatus struct {
	ImportID  string `json:"import_id"`
	Source    string `json:"source"`
	SourceRef string `json:"source_ref"`
	Completed bool   `json:"completed"`
}

// NewDialogue returns an empty dialogue model.
func NewDialogue() *Dialogue { d := &Dialogue{}; d.Reset(); return d }

// Name implements Model.
func (*Dialogue) Name() string { return NameDialogue }

// Reset implements Model.
func (d *Dialogue) Reset() {
	d.st = dialogueState{Processes: map[string]*dialogueProcess{}, Owner: map[string]string{}, LeftOut: map[string]string{}}
}

// MarshalJSON implements Model.
func (d *Dialogue) MarshalJSON() ([]byte, error) { return json.Marshal(d.st) }

// UnmarshalJSON implements Model.
func (d *Dialogue) UnmarshalJSON(b []byte) error {
	d.Reset()
	if err := json.Unmarshal(b, &d.st); err != nil {
		return err
	}
	if d.st.LeftOut == nil {
		d.st.LeftOut = map[string]string{}
	}
	for _, p := range d.st.Processes {
		p.derive()
	}
	return nil
}

func (p *dialogueProcess) derive() {
	p.index, p.number = map[string]int{}, map[string]int{}
	for i, s := range p.Statements {
		p.index[s.ID] = i
	}
	for i, id := range p.Participants {
		p.number[id] = i
	}
	p.voted, p.withVotes, p.in = make([]int, len(p.Participants)), 0, map[int]bool{}
	for i := range p.Latest {
		if p.Latest[i] == nil {
			p.Latest[i] = map[int]domain.Vote{}
		}
		if len(p.Latest[i]) > 0 {
			p.withVotes++
		}
		for n := range p.Latest[i] {
			p.voted[n]++
		}
	}
	for _, n := range p.InConversation {
		p.in[n] = true
	}
	if p.InConversation == nil {
		// A snapshot from before the model kept who came in: who is in
		// now is the best that can be said.
		for n := range p.Participants {
			p.enter(n)
		}
	}
}

// enter puts participant n in the conversation if their votes reach
// Polis's threshold now.
func (p *dialogueProcess) enter(n int) {
	if !p.in[n] && p.voted[n] > 0 && p.voted[n] >= min(inConversationVotes, p.withVotes) {
		p.in[n] = true
		p.InConversation = append(p.InConversation, n)
	}
}

// Apply implements Model.
func (d *Dialogue) Apply(ev eventstore.Event, de domain.Event) {
	switch e := de.(type) {
	case *domain.ProcessOpened:
		if e.Kind == domain.KindDialogue {
			p := &dialogueProcess{Statements: []*dialogueStatement{}, Latest: []map[int]domain.Vote{},
				Participants: []string{}, Days: map[string]*dayStats{}, Imports: []*importStatus{}}
			p.derive()
			d.st.Processes[e.ProcessID] = p
		}
	case *domain.StatementPosted:
		p := d.st.Processes[e.ProcessID]
		if p == nil {
			return
		}
		status := domain.StatusVisible
		if e.Premoderated {
			status = domain.StatusPending
		}
		p.index[e.StatementID] = len(p.Statements)
		p.Statements = append(p.Statements, &dialogueStatement{ID: e.StatementID, SourceID: e.SourceID, Seed: e.Seed,
			Status: status, PostedAt: ev.Metadata.OccurredAt, Body: e.Body, Author: e.Author})
		p.Latest = append(p.Latest, map[int]domain.Vote{})
		d.st.Owner[e.StatementID] = e.ProcessID
		p.day(ev).Statements++
		p.participant(e.Author, ev)
	case *domain.VoteCast:
		p := d.st.Processes[e.ProcessID]
		if p == nil {
			return
		}
		i, ok := p.index[e.StatementID]
		if !ok {
			return
		}
		n := p.participant(e.ParticipantID, ev)
		if len(p.Latest[i]) == 0 {
			p.withVotes++
		}
		if _, again := p.Latest[i][n]; !again {
			p.voted[n]++
		}
		p.Latest[i][n] = e.Vote
		p.enter(n)
		p.Statements[i].Votes++
		p.day(ev).Votes++
	case *domain.ModerationDecided:
		if s := d.statement(e.ItemKind, e.ItemID); s != nil {
			s.Status = domain.StatusAfter(s.Status, e.Visibility)
		}
	case *domain.AppealDecided:
		if s := d.statement(e.ItemKind, e.ItemID); s != nil && e.Outcome == domain.AppealOverturned {
			s.Status = domain.StatusVisible // as the domain: only restrictions are appealed
		}
	case *domain.ParticipantRegistered:
		// Participants of an imported Polis conversation are open data
		// under the source's licence (see export's consent rule).
		if !e.ResearchUse && e.RegisteredBy != polisImporter {
			d.st.LeftOut[e.ParticipantID] = "no_research_consent"
		}
	case *domain.ConsentChanged:
		if why := d.st.LeftOut[e.ParticipantID]; why == "" || why == "no_research_consent" {
			if e.ResearchUse {
				delete(d.st.LeftOut, e.ParticipantID)
			} else {
				d.st.LeftOut[e.ParticipantID] = "no_research_consent"
			}
		}
	case *domain.ErasureDecided:
		if e.Outcome == domain.ErasureGranted {
			d.st.LeftOut[e.ParticipantID] = "erasure_granted"
		}
	case *domain.DisposalDecided:
		if e.Scope == domain.ScopeParticipant {
			d.st.LeftOut[e.SubjectID] = "participant_disposed"
		}
	case *domain.ImportStarted:
		if p := d.st.Processes[e.ProcessID]; p != nil {
			p.Imports = append(p.Imports, &importStatus{ImportID: e.ImportID, Source: e.Source, SourceRef: e.SourceRef})
		}
	case *domain.ImportCompleted:
		if p := d.st.Processes[e.ProcessID]; p != nil {
			for _, im := range p.Imports {
				if im.ImportID == e.ImportID {
					im.Completed = true
				}
			}
		}
	}
}

func (d *Dialogue) statement(kind domain.ItemKind, id string) *dialogueStatement {
	if kind != domain.ItemStatement {
		return nil
	}
	p := d.st.Processes[d.st.Owner[id]]
	if p == nil {
		return nil
	}
	return p.Statements[p.index[id]]
}

// participant returns the participant's number, numbering them (and
// counting them as new on the event's day) on first sight.
func (p *dialogueProcess) participant(id string, ev eventstore.Event) int {
	if n, ok := p.number[id]; ok {
		return n
	}
	n := len(p.Participants)
	p.number[id] = n
	p.Participants = append(p.Participants, id)
	p.voted = append(p.voted, 0)
	p.day(ev).NewParticipants++
	return n
}

func (p *dialogueProcess) day(ev eventstore.Event) *dayStats {
	k := ev.Metadata.OccurredAt.UTC().Format(time.DateOnly)
	if p.Days[k] == nil {
		p.Days[k] = &dayStats{}
	}
	return p.Days[k]
}

// StatementCounts is one statement's tally from latest votes.
type StatementCounts struct {
	StatementID string        `json:"statement_id"`
	SourceID    string        `json:"source_id,omitempty"`
	Seed        bool          `json:"seed"`
	Status      domain.Status `json:"status"`
	PostedAt    time.Time     `json:"posted_at"`
	Agree       int           `json:"agree"`
	Disagree    int           `json:"disagree"`
	Pass        int           `json:"pass"`
	Voters      int           `json:"voters"` // participants with a vote on it
	VotesCast   int           `json:"votes_cast"`
	// Body is the statement's text, sealed (the HTTP layer opens it); the
	// public view leaves it out for statements not shown publicly.
	Body *domain.Personal `json:"body,omitempty"`
}

// DialogueSummary is a dialogue process's counts and import state.
type DialogueSummary struct {
	ProcessID    string            `json:"process_id"`
	Statements   []StatementCounts `json:"statements"`
	Participants int               `json:"participants"`
	Imports      []ImportState     `json:"imports"`
}

// ImportState says whether an import into the process finished.
type ImportState struct {
	ImportID  string `json:"import_id"`
	Source    string `json:"source"`
	SourceRef string `json:"source_ref"`
	Completed bool   `json:"completed"`
}

// Counts returns the per-statement counts and texts of a dialogue process.
// With public set, the counts and text of statements not shown publicly
// (hidden, pending) are left out, the statement listed with its status
// only.
func (d *Dialogue) Counts(processID string, public bool) (DialogueSummary, bool) {
	p := d.st.Processes[processID]
	if p == nil {
		return DialogueSummary{}, false
	}
	out := DialogueSummary{ProcessID: processID, Statements: make([]StatementCounts, len(p.Statements)),
		Participants: len(p.Participants), Imports: []ImportState{}}
	for i, s := range p.Statements {
		c := StatementCounts{StatementID: s.ID, SourceID: s.SourceID, Seed: s.Seed, Status: s.Status, PostedAt: s.PostedAt}
		if !public || s.Status.Public() {
			body := s.Body
			c.Body = &body
			c.VotesCast, c.Voters = s.Votes, len(p.Latest[i])
			for _, v := range p.Latest[i] {
				switch v {
				case domain.VoteAgree:
					c.Agree++
				case domain.VoteDisagree:
					c.Disagree++
				case domain.VotePass:
					c.Pass++
				}
			}
		}
		out.Statements[i] = c
	}
	for _, im := range p.Imports {
		out.Imports = append(out.Imports, ImportState(*im))
	}
	return out, true
}

// DayActivity is one day of a dialogue's participation.
type DayActivity struct {
	Date            string `json:"date"` // YYYY-MM-DD, UTC, of occurred-at
	Statements      int    `json:"statements"`
	Votes           int    `json:"votes"`
	NewParticipants int    `json:"new_participants"`
	Participants    int    `json:"participants"` // cumulative
}

// Timeline returns a dialogue's participation per day, by when things
// happened (occurred-at: an imported history keeps its own dates).
func (d *Dialogue) Timeline(processID string) ([]DayActivity, bool) {
	p := d.st.Processes[processID]
	if p == nil {
		return nil, false
	}
	days := make([]string, 0, len(p.Days))
	for k := range p.Days {
		days = append(days, k)
	}
	slices.Sort(days)
	out := make([]DayActivity, len(days))
	total := 0
	for i, k := range days {
		s := p.Days[k]
		total += s.NewParticipants
		out[i] = DayActivity{Date: k, Statements: s.Statements, Votes: s.Votes, NewParticipants: s.NewParticipants, Participants: total}
	}
	return out, true
}

// polisImporter is the actor that registers an imported Polis
// conversation's participants (polis.ImporterID).
const polisImporter = "import-polis"

// VoteMatrix is the participant × statement matrix of latest votes, in
// Polis's coding (1 agree, -1 disagree, 0 pass, null no vote). Rows are
// participants by number only.
type VoteMatrix struct {
	ProcessID  string   `json:"process_id"`
	Statements []string `json:"statements"`
	Rows       []Row    `json:"rows"`
	// LeftOut counts what research use leaves out, as research exports
	// do: rows of participants without research consent (or erased,
	// disposed) and the statements they wrote ("participants" and
	// "statements" per reason).
	LeftOut map[string]map[string]int `json:"left_out"`
}

// Row is one participant's latest votes, aligned with the statements.
type Row struct {
	Participant int    `json:"participant"`
	Votes       []*int `json:"votes"`
}

// Matrix returns the latest-vote matrix of a dialogue process for
// research use: participants are numbers, not ids; participants without
// a vote (authors only) have no row; participants left out of research
// use (no research consent, erased, disposed) have no row and their
// statements no column, counted in LeftOut.
func (d *Dialogue) Matrix(processID string) (VoteMatrix, bool) {
	p := d.st.Processes[processID]
	if p == nil {
		return VoteMatrix{}, false
	}
	m := VoteMatrix{ProcessID: processID, Statements: []string{}, Rows: []Row{},
		LeftOut: map[string]map[string]int{"participants": {}, "statements": {}}}
	var cols []int // statement indexes kept
	for i, s := range p.Statements {
		if why := d.st.LeftOut[s.Author]; why != "" {
			m.LeftOut["statements"][why]++
			continue
		}
		m.Statements = append(m.Statements, s.ID)
		cols = append(cols, i)
	}
	codes := map[domain.Vote]int{domain.VoteAgree: 1, domain.VoteDisagree: -1, domain.VotePass: 0}
	for n, id := range p.Participants {
		if why := d.st.LeftOut[id]; why != "" {
			m.LeftOut["participants"][why]++
			continue
		}
		var row []*int
		for j, i := range cols {
			if v, ok := p.Latest[i][n]; ok {
				if row == nil {
					row = make([]*int, len(cols))
				}
				c := codes[v]
				row[j] = &c
			}
		}
		if row != nil {
			m.Rows = append(m.Rows, Row{Participant: n, Votes: row})
		}
	}
	return m, true
}
