package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
)

// Submission is the state of a submission: its moderation state (Item),
// supporters and case handling, folded from its stream.
type Submission struct {
	Item
	// Title and Body are the current content version, sealed. Hiding never
	// touches them: visibility is Status, a flag beside the content.
	Title            Personal
	Body             Personal
	Supporters       map[string]bool
	ThresholdReached bool
	ForwardedTo      []string
	Responded        bool
}

// Apply folds one event into the state.
func (s *Submission) Apply(ev Event) {
	if e, ok := ev.(*SubmissionReceived); ok {
		*s = Submission{Supporters: map[string]bool{}, Title: e.Title, Body: e.Body}
		s.init(ItemSubmission, e.SubmissionID, e.ProcessID, e.Author, e.Premoderated)
		return
	}
	if !s.Exists {
		return // not this stream's history: ignore
	}
	switch e := ev.(type) {
	case *SubmissionRevised:
		s.Version, s.Title, s.Body = e.Version, e.Title, e.Body
		if e.Premoderated {
			s.Status = StatusPending
		}
	case *SupportGiven:
		s.Supporters[e.ParticipantID] = true
	case *SupportWithdrawn:
		delete(s.Supporters, e.ParticipantID)
	case *SupportThresholdReached:
		s.ThresholdReached = true
	case *SubmissionForwarded:
		s.ForwardedTo = append(s.ForwardedTo, e.To)
	case *OfficialResponsePublished:
		s.Responded = true
	default:
		s.applyModeration(ev)
	}
}

// ReceiveSubmission receives a submission: from its author on the web, or
// registered by intake from paper, e-mail or a meeting.
type ReceiveSubmission struct {
	SubmissionID string
	Author       string // participant id
	Channel      Channel
	Language     string
	Title        string
	Body         string
	By           Actor
}

// Receive decides ReceiveSubmission against the (empty) submission stream
// and the process's state.
func (s Submission) Receive(p Process, cmd ReceiveSubmission) ([]Event, error) {
	if err := checkID("submission id", cmd.SubmissionID); err != nil {
		return nil, err
	}
	if err := checkContributor(cmd.By, cmd.Author, cmd.Channel); err != nil {
		return nil, err
	}
	if err := checkLanguage(cmd.Language); err != nil {
		return nil, err
	}
	if err := checkText("title", cmd.Title, maxShort); err != nil {
		return nil, err
	}
	if err := checkText("body", cmd.Body, maxLong); err != nil {
		return nil, err
	}
	if err := p.Accepting(AcceptsSubmissions); err != nil {
		return nil, err
	}
	if s.Exists {
		return nil, conflictf("submission %s already exists", cmd.SubmissionID)
	}
	id := cmd.SubmissionID
	return []Event{&SubmissionReceived{
		SubmissionID: id, ProcessID: p.ID, Author: cmd.Author, Channel: cmd.Channel, Language: cmd.Language,
		Title: NewPersonal(id, cmd.Title), Body: NewPersonal(id, cmd.Body), RegisteredBy: registeredBy(cmd.By),
		Premoderated: p.ModerationMode == ModerationPre,
	}}, nil
}

// checkContributor: a participant contributes as themself on the web;
// intake registers contributions that arrived by other channels.
func checkContributor(by Actor, author string, ch Channel) error {
	if err := by.valid(); err != nil {
		return err
	}
	if err := checkID("author", author); err != nil {
		return err
	}
	switch by.Role {
	case RoleParticipant:
		if by.ID != author {
			return forbiddenf("a participant contributes only as themself")
		}
	case RoleIntake:
	default:
		return forbiddenf("role %s does not contribute on behalf of participants", by.Role)
	}
	return checkChannel(ch, by)
}

// ReviseSubmission publishes a new content version.
type ReviseSubmission struct {
	Title string
	Body  string
	By    Actor // the author, or intake on their behalf
}

// Revise decides ReviseSubmission. In a pre-moderated process the new
// version waits for approval again.
func (s Submission) Revise(p Process, cmd ReviseSubmission) ([]Event, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	if err := cmd.By.valid(); err != nil {
		return nil, err
	}
	if !(cmd.By.Role == RoleParticipant && cmd.By.ID == s.Author) && cmd.By.Role != RoleIntake {
		return nil, forbiddenf("only the author revises submission %s", s.ID)
	}
	if err := checkText("title", cmd.Title, maxShort); err != nil {
		return nil, err
	}
	if err := checkText("body", cmd.Body, maxLong); err != nil {
		return nil, err
	}
	if p.ID != s.ProcessID {
		return nil, invalidf("submission %s belongs to process %s, not %s", s.ID, s.ProcessID, p.ID)
	}
	if err := p.Accepting(AcceptsSubmissions); err != nil {
		return nil, err
	}
	return []Event{&SubmissionRevised{SubmissionID: s.ID, Version: s.Version + 1, Title: NewPersonal(s.ID, cmd.Title),
		Body: NewPersonal(s.ID, cmd.Body), RevisedBy: cmd.By.ID, Premoderated: p.ModerationMode == ModerationPre}}, nil
}

// GiveSupport records a participant's support.
type GiveSupport struct {
	ParticipantID string
	By            Actor // the participant, or intake registering a paper signature
}

// GiveSupport decides GiveSupport. The support that brings the count to the
// process's threshold also records SupportThresholdReached, once ever.
func (s Submission) GiveSupport(p Process, cmd GiveSupport) ([]Event, error) {
	if err := checkSupporter(cmd.By, cmd.ParticipantID); err != nil {
		return nil, err
	}
	if err := s.supportable(p); err != nil {
		return nil, err
	}
	if s.Supporters[cmd.ParticipantID] {
		return nil, conflictf("%s already supports submission %s", cmd.ParticipantID, s.ID)
	}
	evs := []Event{&SupportGiven{SubmissionID: s.ID, ProcessID: s.ProcessID, ParticipantID: cmd.ParticipantID}}
	count := len(s.Supporters) + 1
	if p.SupportThreshold > 0 && !s.ThresholdReached && count >= p.SupportThreshold {
		ids := make([]string, 0, count)
		for id := range s.Supporters {
			ids = append(ids, id)
		}
		ids = append(ids, cmd.ParticipantID)
		evs = append(evs, &SupportThresholdReached{SubmissionID: s.ID, ProcessID: s.ProcessID,
			Threshold: p.SupportThreshold, Count: count, SupporterSetHash: SupporterSetHash(ids)})
	}
	return evs, nil
}

// WithdrawSupport withdraws a participant's support.
type WithdrawSupport struct {
	ParticipantID string
	By            Actor
}

// WithdrawSupport decides WithdrawSupport. A threshold once reached stays
// reached: the event recorded a fact about that moment.
func (s Submission) WithdrawSupport(p Process, cmd WithdrawSupport) ([]Event, error) {
	if err := checkSupporter(cmd.By, cmd.ParticipantID); err != nil {
		return nil, err
	}
	if err := s.supportable(p); err != nil {
		return nil, err
	}
	if !s.Supporters[cmd.ParticipantID] {
		return nil, conflictf("%s does not support submission %s", cmd.ParticipantID, s.ID)
	}
	return []Event{&SupportWithdrawn{SubmissionID: s.ID, ProcessID: s.ProcessID, ParticipantID: cmd.ParticipantID}}, nil
}

func checkSupporter(by Actor, participant string) error {
	if err := checkID("participant id", participant); err != nil {
		return err
	}
	return selfOrIntake("support", by, participant)
}

// selfOrIntake allows the participant themself, or intake on their behalf.
func selfOrIntake(what string, by Actor, participant string) error {
	if err := by.valid(); err != nil {
		return err
	}
	if (by.Role == RoleParticipant && by.ID == participant) || by.Role == RoleIntake {
		return nil
	}
	return forbiddenf("%s: only the participant, or intake on their behalf", what)
}

func (s Submission) supportable(p Process) error {
	if err := s.usable(); err != nil {
		return err
	}
	if p.ID != s.ProcessID {
		return invalidf("submission %s belongs to process %s, not %s", s.ID, s.ProcessID, p.ID)
	}
	if err := p.Accepting(AcceptsSupport); err != nil {
		return err
	}
	if !s.Status.Public() {
		return conflictf("submission %s is %s and cannot be supported", s.ID, s.Status)
	}
	return nil
}

// SupporterSetHash is hex SHA-256 over the sorted supporter ids, each
// followed by "\n" (ids contain no newline), so that anyone with the ids
// can recompute it.
func SupporterSetHash(ids []string) string {
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	h := sha256.New()
	for _, id := range sorted {
		h.Write([]byte(id))
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// ForwardSubmission forwards a submission to another administration
// (remiss).
type ForwardSubmission struct {
	To         string
	Note       string
	CaseNumber string
	RespondBy  string // YYYY-MM-DD or ""
	By         Actor
}

// Forward decides ForwardSubmission.
func (s Submission) Forward(cmd ForwardSubmission) ([]Event, error) {
	if err := cmd.By.require("forward a submission", RoleOfficial); err != nil {
		return nil, err
	}
	if err := s.usable(); err != nil {
		return nil, err
	}
	if err := checkText("administration", cmd.To, maxShort); err != nil {
		return nil, err
	}
	if err := checkOptionalText("note", cmd.Note, maxLong); err != nil {
		return nil, err
	}
	if err := checkOptionalText("case number", cmd.CaseNumber, maxShort); err != nil {
		return nil, err
	}
	if cmd.RespondBy != "" && !isDate(cmd.RespondBy) {
		return nil, invalidf("respond_by %q is not a date (YYYY-MM-DD)", cmd.RespondBy)
	}
	if slices.Contains(s.ForwardedTo, cmd.To) {
		return nil, conflictf("submission %s was already forwarded to %s", s.ID, cmd.To)
	}
	return []Event{&SubmissionForwarded{SubmissionID: s.ID, To: cmd.To, Note: cmd.Note, ForwardedBy: cmd.By.ID,
		CaseNumber: cmd.CaseNumber, RespondBy: cmd.RespondBy}}, nil
}

func isDate(s string) bool {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return false
	}
	for i, r := range s {
		if i != 4 && i != 7 && (r < '0' || r > '9') {
			return false
		}
	}
	m, d := (s[5]-'0')*10+(s[6]-'0'), (s[8]-'0')*10+(s[9]-'0')
	return m >= 1 && m <= 12 && d >= 1 && d <= 31
}

// PublishResponse publishes the official answer to a submission.
type PublishResponse struct {
	ResponseID        string
	Body              string
	ResponsibleBody   string
	DecisionReference string
	Outcome           string
	By                Actor
}

// PublishResponse decides PublishResponse; a submission gets one answer.
func (s Submission) PublishResponse(cmd PublishResponse) ([]Event, error) {
	if err := cmd.By.require("publish an official response", RoleOfficial); err != nil {
		return nil, err
	}
	if err := checkID("response id", cmd.ResponseID); err != nil {
		return nil, err
	}
	if err := checkText("body", cmd.Body, maxLong); err != nil {
		return nil, err
	}
	if err := checkText("responsible body", cmd.ResponsibleBody, maxShort); err != nil {
		return nil, err
	}
	if err := checkText("decision reference", cmd.DecisionReference, maxShort); err != nil {
		return nil, err
	}
	switch cmd.Outcome {
	case OutcomeApproved, OutcomePartiallyApproved, OutcomeRejected, OutcomeAnswered:
	default:
		return nil, invalidf("outcome %q is not approved, partially_approved, rejected or answered", cmd.Outcome)
	}
	if err := s.usable(); err != nil {
		return nil, err
	}
	if s.Responded {
		return nil, conflictf("submission %s already has an official response", s.ID)
	}
	return []Event{&OfficialResponsePublished{SubmissionID: s.ID, ResponseID: cmd.ResponseID, Body: cmd.Body,
		ResponsibleBody: cmd.ResponsibleBody, DecisionReference: cmd.DecisionReference, Outcome: cmd.Outcome,
		PublishedBy: cmd.By.ID}}, nil
}
