package domain

import (
	"slices"
	"time"
)

// Process is the state of a participation process, folded from its stream.
type Process struct {
	ID               string
	Exists           bool
	Kind             ProcessKind
	OwnerBody        string
	CaseNumber       string
	Administrations  []string
	Phases           []Phase
	CurrentPhase     string
	SupportThreshold int
	ModerationMode   ModerationMode
	PolicyReference  string
	Closed           bool
	Survey           *SurveyPublished // nil until published
	Disposed         bool
}

// Apply folds one event into the state; events of other kinds are ignored.
func (p *Process) Apply(ev Event) {
	switch e := ev.(type) {
	case *ProcessOpened:
		*p = Process{
			ID: e.ProcessID, Exists: true, Kind: e.Kind, OwnerBody: e.OwnerBody, CaseNumber: e.CaseNumber,
			Administrations: e.Administrations, Phases: e.Phases, SupportThreshold: e.SupportThreshold,
			ModerationMode: e.ModerationMode, PolicyReference: e.PolicyReference,
		}
		if len(e.Phases) > 0 {
			p.CurrentPhase = e.Phases[0].Name
		}
	case *ProcessPhaseChanged:
		p.CurrentPhase = e.To
	case *ProcessClosed:
		p.Closed = true
	case *SurveyPublished:
		p.Survey = e
	case *DisposalDecided:
		p.Disposed = true
	}
}

// Phase returns the current phase.
func (p Process) Phase() (Phase, bool) {
	for _, ph := range p.Phases {
		if ph.Name == p.CurrentPhase {
			return ph, true
		}
	}
	return Phase{}, false
}

// Accepting returns nil if the process takes a contribution of kind now,
// else an error saying why not: ErrNotFound for no process, ErrConflict for
// a closed process or a phase that does not accept the kind.
func (p Process) Accepting(kind ContributionKind) error {
	if !p.Exists {
		return notFoundf("process %q does not exist", p.ID)
	}
	if p.Closed || p.Disposed {
		return conflictf("process %s is closed and accepts no %s", p.ID, kind)
	}
	ph, _ := p.Phase()
	if !slices.Contains(ph.Accepts, kind) {
		return conflictf("phase %q of process %s does not accept %s (it accepts: %v)", ph.Name, p.ID, kind, ph.Accepts)
	}
	return nil
}

// OpenProcess opens a process. The first phase is current at once.
type OpenProcess struct {
	ProcessID        string
	Title            Text
	Description      Text
	Kind             ProcessKind
	OwnerBody        string
	CaseNumber       string
	Administrations  []string
	Phases           []Phase
	SupportThreshold int
	ModerationMode   ModerationMode
	PolicyReference  string
	By               Actor
}

// Open decides OpenProcess against the (empty) process stream.
func (p Process) Open(cmd OpenProcess) ([]Event, error) {
	if err := cmd.By.require("open a process", RoleOfficial, RoleAdmin); err != nil {
		return nil, err
	}
	if err := checkID("process id", cmd.ProcessID); err != nil {
		return nil, err
	}
	if p.Exists {
		return nil, conflictf("process %s already exists", cmd.ProcessID)
	}
	if err := checkText("title (sv)", cmd.Title.Sv, maxShort); err != nil {
		return nil, err
	}
	if err := checkOptionalText("title (en)", cmd.Title.En, maxShort); err != nil {
		return nil, err
	}
	if len(cmd.Description.Sv) > maxLong || len(cmd.Description.En) > maxLong {
		return nil, invalidf("description longer than %d bytes", maxLong)
	}
	switch cmd.Kind {
	case KindProposal, KindSurvey, KindDialogue, KindConsultation:
	default:
		return nil, invalidf("kind %q is not proposal, survey, dialogue or consultation", cmd.Kind)
	}
	if err := checkText("owner body", cmd.OwnerBody, maxShort); err != nil {
		return nil, err
	}
	if err := checkText("case number", cmd.CaseNumber, maxShort); err != nil {
		return nil, err
	}
	if err := checkText("policy reference", cmd.PolicyReference, maxShort); err != nil {
		return nil, err
	}
	if err := checkNames("administration", cmd.Administrations); err != nil {
		return nil, err
	}
	if cmd.ModerationMode != ModerationPre && cmd.ModerationMode != ModerationPost {
		return nil, invalidf("moderation mode %q is not pre or post", cmd.ModerationMode)
	}
	if cmd.SupportThreshold < 0 {
		return nil, invalidf("support threshold %d is negative", cmd.SupportThreshold)
	}
	phases, err := checkPhases(cmd.Phases)
	if err != nil {
		return nil, err
	}
	return []Event{&ProcessOpened{
		ProcessID: cmd.ProcessID, Title: cmd.Title, Description: cmd.Description, Kind: cmd.Kind,
		OwnerBody: cmd.OwnerBody, CaseNumber: cmd.CaseNumber, Administrations: nonNil(cmd.Administrations),
		Phases: phases, SupportThreshold: cmd.SupportThreshold, ModerationMode: cmd.ModerationMode,
		PolicyReference: cmd.PolicyReference, OpenedBy: cmd.By.ID,
	}}, nil
}

func checkNames(what string, names []string) error {
	seen := map[string]bool{}
	for _, n := range names {
		if err := checkText(what, n, maxShort); err != nil {
			return err
		}
		if seen[n] {
			return invalidf("%s %q listed twice", what, n)
		}
		seen[n] = true
	}
	return nil
}

func checkPhases(in []Phase) ([]Phase, error) {
	if len(in) == 0 {
		return nil, invalidf("a process needs at least one phase")
	}
	out := make([]Phase, len(in))
	seen := map[string]bool{}
	for i, ph := range in {
		if err := checkText("phase name", ph.Name, maxShort); err != nil {
			return nil, err
		}
		if seen[ph.Name] {
			return nil, invalidf("phase %q listed twice", ph.Name)
		}
		seen[ph.Name] = true
		if ph.StartsAt.IsZero() {
			return nil, invalidf("phase %q has no start time", ph.Name)
		}
		if i > 0 && ph.StartsAt.Before(in[i-1].StartsAt) {
			return nil, invalidf("phase %q starts before the phase it follows", ph.Name)
		}
		accepts := map[ContributionKind]bool{}
		for _, k := range ph.Accepts {
			switch k {
			case AcceptsSubmissions, AcceptsComments, AcceptsSupport, AcceptsSurveyAnswers, AcceptsStatements, AcceptsVotes:
			default:
				return nil, invalidf("phase %q: unknown contribution kind %q", ph.Name, k)
			}
			if accepts[k] {
				return nil, invalidf("phase %q accepts %s twice", ph.Name, k)
			}
			accepts[k] = true
		}
		out[i] = Phase{Name: ph.Name, StartsAt: ph.StartsAt.UTC(), Accepts: nonNil(ph.Accepts)}
	}
	return out, nil
}

// nonNil makes an absent list encode as [] rather than null: one encoding
// per meaning.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// ChangePhase moves a process to another of its phases.
type ChangePhase struct {
	To string
	By Actor
}

// ChangePhase decides ChangePhase.
func (p Process) ChangePhase(cmd ChangePhase) ([]Event, error) {
	if err := cmd.By.require("change a process's phase", RoleOfficial, RoleAdmin); err != nil {
		return nil, err
	}
	if !p.Exists {
		return nil, notFoundf("process does not exist")
	}
	if p.Closed || p.Disposed {
		return nil, conflictf("process %s is closed", p.ID)
	}
	if !slices.ContainsFunc(p.Phases, func(ph Phase) bool { return ph.Name == cmd.To }) {
		return nil, invalidf("process %s has no phase %q", p.ID, cmd.To)
	}
	if cmd.To == p.CurrentPhase {
		return nil, conflictf("process %s is already in phase %q", p.ID, cmd.To)
	}
	return []Event{&ProcessPhaseChanged{ProcessID: p.ID, From: p.CurrentPhase, To: cmd.To, ChangedBy: cmd.By.ID}}, nil
}

// CloseProcess closes a process to contributions.
type CloseProcess struct {
	Reason string
	By     Actor
}

// Close decides CloseProcess.
func (p Process) Close(cmd CloseProcess) ([]Event, error) {
	if err := cmd.By.require("close a process", RoleOfficial, RoleAdmin); err != nil {
		return nil, err
	}
	if !p.Exists {
		return nil, notFoundf("process does not exist")
	}
	if p.Closed {
		return nil, conflictf("process %s is already closed", p.ID)
	}
	if err := checkOptionalText("reason", cmd.Reason, maxLong); err != nil {
		return nil, err
	}
	return []Event{&ProcessClosed{ProcessID: p.ID, Reason: cmd.Reason, ClosedBy: cmd.By.ID}}, nil
}

// PublishSurvey publishes a process's survey (one per process).
type PublishSurvey struct {
	SurveyID  string
	Title     Text
	Questions []Question
	By        Actor
}

// PublishSurvey decides PublishSurvey.
func (p Process) PublishSurvey(cmd PublishSurvey) ([]Event, error) {
	if err := cmd.By.require("publish a survey", RoleOfficial, RoleAdmin); err != nil {
		return nil, err
	}
	if err := checkID("survey id", cmd.SurveyID); err != nil {
		return nil, err
	}
	if !p.Exists {
		return nil, notFoundf("process does not exist")
	}
	if p.Closed || p.Disposed {
		return nil, conflictf("process %s is closed", p.ID)
	}
	if p.Survey != nil {
		return nil, conflictf("process %s already has survey %s", p.ID, p.Survey.SurveyID)
	}
	if err := checkText("survey title (sv)", cmd.Title.Sv, maxShort); err != nil {
		return nil, err
	}
	qs, err := checkQuestions(cmd.Questions)
	if err != nil {
		return nil, err
	}
	return []Event{&SurveyPublished{ProcessID: p.ID, SurveyID: cmd.SurveyID, Title: cmd.Title, Questions: qs, PublishedBy: cmd.By.ID}}, nil
}

func checkQuestions(in []Question) ([]Question, error) {
	if len(in) == 0 {
		return nil, invalidf("a survey needs at least one question")
	}
	seen := map[string]bool{}
	out := make([]Question, len(in))
	for i, q := range in {
		if err := checkID("question id", q.ID); err != nil {
			return nil, err
		}
		if seen[q.ID] {
			return nil, invalidf("question %q listed twice", q.ID)
		}
		seen[q.ID] = true
		if err := checkText("question text (sv)", q.Text.Sv, maxLong); err != nil {
			return nil, err
		}
		switch q.Kind {
		case QuestionSingleChoice, QuestionMultiChoice:
			if len(q.Options) < 2 {
				return nil, invalidf("question %q needs at least two options", q.ID)
			}
			opts := map[string]bool{}
			for _, o := range q.Options {
				if err := checkID("option id", o.ID); err != nil {
					return nil, err
				}
				if opts[o.ID] {
					return nil, invalidf("question %q: option %q listed twice", q.ID, o.ID)
				}
				opts[o.ID] = true
				if err := checkText("option text (sv)", o.Text.Sv, maxShort); err != nil {
					return nil, err
				}
			}
			if q.ScaleMin != 0 || q.ScaleMax != 0 {
				return nil, invalidf("question %q: a choice question has no scale", q.ID)
			}
		case QuestionScale:
			if q.ScaleMin >= q.ScaleMax {
				return nil, invalidf("question %q: scale %d..%d is empty", q.ID, q.ScaleMin, q.ScaleMax)
			}
			if len(q.Options) > 0 {
				return nil, invalidf("question %q: a scale question has no options", q.ID)
			}
		case QuestionFreeText:
			if len(q.Options) > 0 || q.ScaleMin != 0 || q.ScaleMax != 0 {
				return nil, invalidf("question %q: a free-text question has no options or scale", q.ID)
			}
		default:
			return nil, invalidf("question %q: unknown kind %q", q.ID, q.Kind)
		}
		q.Options = nonNil(q.Options)
		out[i] = q
	}
	return out, nil
}

// appealWindow is how long after a decision its author may appeal: DSA
// art. 20(1) requires at least six months.
const appealWindow = 183 * 24 * time.Hour
