package domain

// Dialogue processes: participants post short statements, officials seed
// them, and everyone votes agree, disagree or pass on them (the Polis
// model). Statements are moderated items like submissions and comments, on
// their own stream; votes go on one stream per participant and process, so
// a burst of votes on one statement contends on nothing shared, and a
// participant's own votes are serialised, which makes "latest vote counts"
// well defined.

// Contribution kinds a dialogue phase may accept.
const (
	AcceptsStatements ContributionKind = "statements"
	AcceptsVotes      ContributionKind = "votes"
)

// ItemStatement is the item kind of a dialogue statement.
const ItemStatement ItemKind = "statement"

// Vote is a participant's position on a statement. Values are permanent.
type Vote string

// Votes.
const (
	VoteAgree    Vote = "agree"
	VoteDisagree Vote = "disagree"
	VotePass     Vote = "pass"
)

func (v Vote) valid() bool { return v == VoteAgree || v == VoteDisagree || v == VotePass }

// maxStatement bounds a statement: short by design (Polis allows 140 to a
// few hundred characters; the sample conversations reach 400 bytes).
const maxStatement = 2000

// StreamForStatement is a statement's stream: content and moderation.
func StreamForStatement(id string) string { return "statement-" + id }

// StreamForVotes holds one participant's votes in one dialogue process.
func StreamForVotes(processID, participantID string) string {
	return "votes-" + processID + "-" + participantID
}

// ---- Events ----

// StatementPosted records a statement in a dialogue process, by a
// participant (or intake on their behalf) or seeded by an official.
// SourceID is its id in the system it was imported from ("" when posted
// here), so an export can give it back under the same id.
type StatementPosted struct {
	StatementID  string   `json:"statement_id"`
	ProcessID    string   `json:"process_id"`
	Author       string   `json:"author"` // participant id; the official's id for a seed
	Seed         bool     `json:"seed"`
	Channel      Channel  `json:"channel"`
	Language     string   `json:"language"`
	Body         Personal `json:"body"` // sealed with the statement's key, like a comment
	SourceID     string   `json:"source_id"`
	RegisteredBy string   `json:"registered_by"`
	Premoderated bool     `json:"premoderated"`
}

// VoteCast records one vote. A participant may vote again on the same
// statement; the latest vote counts and the earlier ones stay in the log.
type VoteCast struct {
	ProcessID     string `json:"process_id"`
	StatementID   string `json:"statement_id"`
	ParticipantID string `json:"participant_id"`
	Vote          Vote   `json:"vote"`
	RegisteredBy  string `json:"registered_by"` // intake (or an import) registering it; "" for the participant's own
}

// ImportedFile is one source file of an import, pinned by its hash.
type ImportedFile struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Rows   int    `json:"rows"`
}

// ImportStarted records, on the process stream, that an import of history
// from another system began; ImportCompleted with the same ImportID says
// it finished. An import without its completion is visibly partial (a
// crash mid-way) and is finished by running the same import again.
type ImportStarted struct {
	ImportID  string         `json:"import_id"`
	ProcessID string         `json:"process_id"`
	Source    string         `json:"source"`     // e.g. "polis"
	SourceRef string         `json:"source_ref"` // e.g. the conversation's URL
	Files     []ImportedFile `json:"files"`
	StartedBy string         `json:"started_by"`
}

// ImportCompleted records that every record of an import is in the log.
type ImportCompleted struct {
	ImportID     string `json:"import_id"`
	ProcessID    string `json:"process_id"`
	Participants int    `json:"participants"`
	Statements   int    `json:"statements"`
	Votes        int    `json:"votes"`
	Decisions    int    `json:"decisions"`
	CompletedBy  string `json:"completed_by"`
}

// ---- Statement ----

// Statement is the state of a statement, folded from its stream.
type Statement struct {
	Item
	Seed     bool
	SourceID string
	Body     Personal // sealed; hiding never touches it
}

// Apply folds one event into the state.
func (s *Statement) Apply(ev Event) {
	switch e := ev.(type) {
	case *StatementPosted:
		*s = Statement{Seed: e.Seed, SourceID: e.SourceID, Body: e.Body}
		s.init(ItemStatement, e.StatementID, e.ProcessID, e.Author, e.Premoderated)
	default:
		if s.Exists {
			s.applyModeration(ev)
		}
	}
}

// PostStatement posts a statement in a dialogue process.
type PostStatement struct {
	StatementID string
	Author      string // participant id; ignored for a seed (the official is the author)
	Seed        bool   // an official's seed statement
	Channel     Channel
	Language    string
	Body        string
	SourceID    string // id in the source system, for imports
	// HoldForReview holds the statement for a moderator's approval even in
	// a post-moderated process. Staff only: an import uses it for
	// statements the source system's moderator explicitly accepted.
	HoldForReview bool
	By            Actor
}

// Post decides PostStatement against the (empty) statement stream and the
// process's state.
func (s Statement) Post(p Process, cmd PostStatement) ([]Event, error) {
	if err := checkID("statement id", cmd.StatementID); err != nil {
		return nil, err
	}
	author, registered := cmd.Author, ""
	if cmd.Seed {
		if err := cmd.By.require("seed a statement", RoleOfficial, RoleAdmin); err != nil {
			return nil, err
		}
		author, registered = cmd.By.ID, cmd.By.ID
		if cmd.Channel != ChannelWeb {
			return nil, invalidf("a seed statement is posted on the web channel")
		}
	} else {
		if err := checkContributor(cmd.By, cmd.Author, cmd.Channel); err != nil {
			return nil, err
		}
		registered = registeredBy(cmd.By)
	}
	if cmd.HoldForReview && cmd.By.Role == RoleParticipant {
		return nil, forbiddenf("a participant cannot hold a statement for review")
	}
	if err := checkLanguage(cmd.Language); err != nil {
		return nil, err
	}
	if err := checkText("statement", cmd.Body, maxStatement); err != nil {
		return nil, err
	}
	if err := checkOptionalText("source id", cmd.SourceID, maxShort); err != nil {
		return nil, err
	}
	if err := p.dialogue(AcceptsStatements); err != nil {
		return nil, err
	}
	if s.Exists {
		return nil, conflictf("statement %s already exists", cmd.StatementID)
	}
	held := cmd.HoldForReview || (!cmd.Seed && p.ModerationMode == ModerationPre)
	id := cmd.StatementID
	return []Event{&StatementPosted{StatementID: id, ProcessID: p.ID, Author: author, Seed: cmd.Seed,
		Channel: cmd.Channel, Language: cmd.Language, Body: NewPersonal(id, cmd.Body), SourceID: cmd.SourceID,
		RegisteredBy: registered, Premoderated: held}}, nil
}

// dialogue returns nil if p is a dialogue process accepting kind now.
func (p Process) dialogue(kind ContributionKind) error {
	if err := p.Accepting(kind); err != nil {
		return err
	}
	if p.Kind != KindDialogue {
		return conflictf("process %s is a %s process, not a dialogue", p.ID, p.Kind)
	}
	return nil
}

// ---- Votes ----

// Votes is one participant's votes in one process, folded from their vote
// stream: the latest vote on each statement.
type Votes struct {
	Latest map[string]Vote
	Count  int // votes ever cast, changes included
}

// Apply folds one event into the state.
func (v *Votes) Apply(ev Event) {
	if e, ok := ev.(*VoteCast); ok {
		if v.Latest == nil {
			v.Latest = map[string]Vote{}
		}
		v.Latest[e.StatementID] = e.Vote
		v.Count++
	}
}

// CastVote votes on a statement.
type CastVote struct {
	StatementID   string
	ParticipantID string
	Vote          Vote
	By            Actor // the participant, or intake registering it
}

// Cast decides CastVote against the participant's vote stream, the process
// and the statement. Voting again changes the vote (the latest counts), so
// it is not a conflict; a retried request is recognised by its event id,
// not here. A hidden or not yet approved statement takes no votes.
func (v Votes) Cast(p Process, st Statement, cmd CastVote) ([]Event, error) {
	if err := checkID("participant id", cmd.ParticipantID); err != nil {
		return nil, err
	}
	if err := selfOrIntake("vote", cmd.By, cmd.ParticipantID); err != nil {
		return nil, err
	}
	if !cmd.Vote.valid() {
		return nil, invalidf("vote %q is not agree, disagree or pass", cmd.Vote)
	}
	if err := p.dialogue(AcceptsVotes); err != nil {
		return nil, err
	}
	if !st.Exists || st.ID != cmd.StatementID {
		return nil, notFoundf("statement %q does not exist", cmd.StatementID)
	}
	if err := st.usable(); err != nil {
		return nil, err
	}
	if st.ProcessID != p.ID {
		return nil, invalidf("statement %s belongs to process %s, not %s", st.ID, st.ProcessID, p.ID)
	}
	if !st.Status.Public() {
		return nil, conflictf("statement %s is %s and takes no votes", st.ID, st.Status)
	}
	return []Event{&VoteCast{ProcessID: p.ID, StatementID: st.ID, ParticipantID: cmd.ParticipantID,
		Vote: cmd.Vote, RegisteredBy: registeredBy(cmd.By)}}, nil
}

// ---- Imports ----

// Imports is the import bookkeeping of a process, folded from its stream.
type Imports struct {
	Started   map[string]*ImportStarted
	Completed map[string]bool
}

// Apply folds one event into the state.
func (im *Imports) Apply(ev Event) {
	switch e := ev.(type) {
	case *ImportStarted:
		if im.Started == nil {
			im.Started, im.Completed = map[string]*ImportStarted{}, map[string]bool{}
		}
		im.Started[e.ImportID] = e
	case *ImportCompleted:
		if im.Completed != nil {
			im.Completed[e.ImportID] = true
		}
	}
}

// StartImport begins an import into a process.
type StartImport struct {
	ImportID  string
	Source    string
	SourceRef string
	Files     []ImportedFile
	By        Actor
}

// Start decides StartImport against the process's state.
func (im Imports) Start(p Process, cmd StartImport) ([]Event, error) {
	if err := cmd.By.require("import history", RoleOfficial, RoleAdmin); err != nil {
		return nil, err
	}
	if err := checkID("import id", cmd.ImportID); err != nil {
		return nil, err
	}
	if err := checkText("import source", cmd.Source, maxShort); err != nil {
		return nil, err
	}
	if err := checkOptionalText("source reference", cmd.SourceRef, maxLong); err != nil {
		return nil, err
	}
	for _, f := range cmd.Files {
		if err := checkText("file name", f.Name, maxShort); err != nil {
			return nil, err
		}
		if len(f.SHA256) != 64 || f.Rows < 0 {
			return nil, invalidf("file %s: want a hex SHA-256 and a row count", f.Name)
		}
	}
	if !p.Exists {
		return nil, notFoundf("process %q does not exist", p.ID)
	}
	if im.Started[cmd.ImportID] != nil {
		return nil, conflictf("import %s into process %s was already started", cmd.ImportID, p.ID)
	}
	return []Event{&ImportStarted{ImportID: cmd.ImportID, ProcessID: p.ID, Source: cmd.Source, SourceRef: cmd.SourceRef,
		Files: nonNil(cmd.Files), StartedBy: cmd.By.ID}}, nil
}

// CompleteImport records that an import finished.
type CompleteImport struct {
	ImportID                                   string
	Participants, Statements, Votes, Decisions int
	By                                         Actor
}

// Complete decides CompleteImport.
func (im Imports) Complete(p Process, cmd CompleteImport) ([]Event, error) {
	if err := cmd.By.require("import history", RoleOfficial, RoleAdmin); err != nil {
		return nil, err
	}
	if im.Started[cmd.ImportID] == nil {
		return nil, notFoundf("import %q into process %s was never started", cmd.ImportID, p.ID)
	}
	if im.Completed[cmd.ImportID] {
		return nil, conflictf("import %s into process %s is already complete", cmd.ImportID, p.ID)
	}
	if cmd.Participants < 0 || cmd.Statements < 0 || cmd.Votes < 0 || cmd.Decisions < 0 {
		return nil, invalidf("negative import counts")
	}
	return []Event{&ImportCompleted{ImportID: cmd.ImportID, ProcessID: p.ID, Participants: cmd.Participants,
		Statements: cmd.Statements, Votes: cmd.Votes, Decisions: cmd.Decisions, CompletedBy: cmd.By.ID}}, nil
}
