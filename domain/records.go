package domain

import (
	"encoding/hex"
	"slices"
)

// Subject is the records-management state of any stream that can be
// disposed (a participant, submission, comment or process): whether it
// exists, and which disposal or erasure decisions it carries.
type Subject struct {
	Exists   bool
	Disposal string // id of the disposal decision, "" if none
	// Shreddable lists decisions that justify shredding keys: the disposal
	// and granted erasure requests.
	Shreddable []string
	Shredded   []string // decisions whose shredding was recorded
}

// Apply folds one event into the state.
func (s *Subject) Apply(ev Event) {
	s.Exists = true
	switch e := ev.(type) {
	case *DisposalDecided:
		s.Disposal = e.DisposalID
		s.Shreddable = append(s.Shreddable, e.DisposalID)
	case *ErasureDecided:
		if e.Outcome == ErasureGranted {
			s.Shreddable = append(s.Shreddable, e.RequestID)
		}
	case *KeysShredded:
		s.Shredded = append(s.Shredded, e.DecisionID)
	}
}

// DecideDisposal records a disposal decision (gallringsbeslut).
type DecideDisposal struct {
	DisposalID string
	CaseNumber string
	Scope      DisposalScope
	SubjectID  string
	LegalBasis string
	By         Actor
}

// DecideDisposal decides DecideDisposal against the subject's stream.
func (s Subject) DecideDisposal(cmd DecideDisposal) ([]Event, error) {
	if err := cmd.By.require("record a disposal decision", RoleAdmin); err != nil {
		return nil, err
	}
	if err := checkID("disposal id", cmd.DisposalID); err != nil {
		return nil, err
	}
	if err := checkID("subject id", cmd.SubjectID); err != nil {
		return nil, err
	}
	switch cmd.Scope {
	case ScopeParticipant, ScopeSubmission, ScopeComment, ScopeProcess:
	default:
		return nil, invalidf("scope %q is not participant, submission, comment or process", cmd.Scope)
	}
	if err := checkText("case number", cmd.CaseNumber, maxShort); err != nil {
		return nil, err
	}
	if err := checkText("legal basis", cmd.LegalBasis, maxShort); err != nil {
		return nil, err
	}
	if !s.Exists {
		return nil, notFoundf("%s %q does not exist", cmd.Scope, cmd.SubjectID)
	}
	if s.Disposal != "" {
		return nil, conflictf("%s %s was already disposed by %s", cmd.Scope, cmd.SubjectID, s.Disposal)
	}
	return []Event{&DisposalDecided{DisposalID: cmd.DisposalID, CaseNumber: cmd.CaseNumber, Scope: cmd.Scope,
		SubjectID: cmd.SubjectID, LegalBasis: cmd.LegalBasis, DecidedBy: cmd.By.ID}}, nil
}

// RecordShredding records the keys destroyed on a disposal or granted
// erasure decision on this stream.
type RecordShredding struct {
	DecisionID string
	Scope      DisposalScope
	SubjectID  string
	Subjects   []string // the key subjects shredded
	By         Actor
}

// RecordShredding decides RecordShredding.
func (s Subject) RecordShredding(cmd RecordShredding) ([]Event, error) {
	if err := cmd.By.require("record shredding", RoleAdmin, RoleSystem); err != nil {
		return nil, err
	}
	if len(cmd.Subjects) == 0 {
		return nil, invalidf("no key subjects listed")
	}
	for _, k := range cmd.Subjects {
		if err := checkID("key subject", k); err != nil {
			return nil, err
		}
	}
	if !s.Exists {
		return nil, notFoundf("%s %q does not exist", cmd.Scope, cmd.SubjectID)
	}
	if !slices.Contains(s.Shreddable, cmd.DecisionID) {
		return nil, conflictf("%q is not a disposal or granted erasure decision on this stream", cmd.DecisionID)
	}
	if slices.Contains(s.Shredded, cmd.DecisionID) {
		return nil, conflictf("shredding for %s was already recorded", cmd.DecisionID)
	}
	subjects := slices.Clone(cmd.Subjects)
	slices.Sort(subjects)
	return []Event{&KeysShredded{DecisionID: cmd.DecisionID, Scope: string(cmd.Scope), SubjectID: cmd.SubjectID,
		Subjects: slices.Compact(subjects)}}, nil
}

// IssueExport records an export.
type IssueExport struct {
	ExportID     string
	Kind         string // "auditor" or "research"
	Scope        string
	FromPosition uint64
	ToPosition   uint64
	Checkpoint   string
	ManifestHash string
	By           Actor
}

// IssueExportEvent decides IssueExport. The exports stream needs no state:
// duplicates are caught by the store's idempotency on event ids.
func IssueExportEvent(cmd IssueExport) ([]Event, error) {
	switch cmd.Kind {
	case "auditor":
		if err := cmd.By.require("issue an auditor export", RoleAuditor, RoleAdmin); err != nil {
			return nil, err
		}
	case "research":
		if err := cmd.By.require("issue a research export", RoleResearcher, RoleAdmin); err != nil {
			return nil, err
		}
	default:
		return nil, invalidf("export kind %q is not auditor or research", cmd.Kind)
	}
	if err := checkID("export id", cmd.ExportID); err != nil {
		return nil, err
	}
	if err := checkText("scope", cmd.Scope, maxShort); err != nil {
		return nil, err
	}
	if cmd.ToPosition < cmd.FromPosition {
		return nil, invalidf("position range %d..%d is empty", cmd.FromPosition, cmd.ToPosition)
	}
	if err := checkText("checkpoint", cmd.Checkpoint, maxLong); err != nil {
		return nil, err
	}
	if !isSHA256Hex(cmd.ManifestHash) {
		return nil, invalidf("manifest hash is not hex SHA-256")
	}
	return []Event{&ExportIssued{ExportID: cmd.ExportID, Kind: cmd.Kind, Requester: cmd.By.ID, Scope: cmd.Scope,
		FromPosition: cmd.FromPosition, ToPosition: cmd.ToPosition, Checkpoint: cmd.Checkpoint, ManifestHash: cmd.ManifestHash}}, nil
}

// Outcomes of a submission to the DSA Transparency Database.
const (
	DSAAccepted = "accepted"
	DSARefused  = "refused"
	DSAFailed   = "failed"
)

// RecordDSASubmission records a call to the DSA Transparency Database.
type RecordDSASubmission struct {
	SubmissionID string
	Endpoint     string
	PUIDs        []string
	Outcome      string
	Status       int
	Attempts     int
	Detail       string
	By           Actor
}

// RecordDSASubmissionEvent decides RecordDSASubmission (stream
// "dsa-submissions", no state).
func RecordDSASubmissionEvent(cmd RecordDSASubmission) ([]Event, error) {
	if err := cmd.By.require("record a DSA submission", RoleModerator, RoleAdmin, RoleSystem); err != nil {
		return nil, err
	}
	if err := checkID("submission id", cmd.SubmissionID); err != nil {
		return nil, err
	}
	if err := checkText("endpoint", cmd.Endpoint, maxShort); err != nil {
		return nil, err
	}
	if len(cmd.PUIDs) == 0 || len(cmd.PUIDs) > 100 {
		return nil, invalidf("a submission has 1 to 100 statements, not %d", len(cmd.PUIDs))
	}
	for _, p := range cmd.PUIDs {
		if err := checkID("puid", p); err != nil {
			return nil, err
		}
	}
	switch cmd.Outcome {
	case DSAAccepted, DSARefused, DSAFailed:
	default:
		return nil, invalidf("outcome %q is not accepted, refused or failed", cmd.Outcome)
	}
	if cmd.Attempts < 1 || cmd.Status < 0 || cmd.Status > 599 {
		return nil, invalidf("attempts %d or status %d out of range", cmd.Attempts, cmd.Status)
	}
	if err := checkOptionalText("detail", cmd.Detail, maxLong); err != nil {
		return nil, err
	}
	return []Event{&DSAStatementsSubmitted{SubmissionID: cmd.SubmissionID, Endpoint: cmd.Endpoint, PUIDs: slices.Clone(cmd.PUIDs),
		Outcome: cmd.Outcome, Status: cmd.Status, Attempts: cmd.Attempts, Detail: cmd.Detail, SubmittedBy: cmd.By.ID}}, nil
}

// RecordAccess records that staff read a subject's personal data.
type RecordAccess struct {
	SubjectID string
	Purpose   string
	Resource  string
	By        Actor
}

// RecordAccessEvent decides RecordAccess (stream access-<actor>, no state).
func RecordAccessEvent(cmd RecordAccess) ([]Event, error) {
	if err := cmd.By.valid(); err != nil {
		return nil, err
	}
	if err := checkID("subject id", cmd.SubjectID); err != nil {
		return nil, err
	}
	if err := checkText("purpose", cmd.Purpose, maxShort); err != nil {
		return nil, err
	}
	if err := checkText("resource", cmd.Resource, maxShort); err != nil {
		return nil, err
	}
	return []Event{&PersonalDataAccessed{Actor: cmd.By.ID, Role: cmd.By.Role, SubjectID: cmd.SubjectID,
		Purpose: cmd.Purpose, Resource: cmd.Resource}}, nil
}

func isSHA256Hex(s string) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == 32 && s == hex.EncodeToString(b)
}
