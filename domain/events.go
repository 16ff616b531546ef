// Package domain is the participation model: events, commands, aggregate state and named errors, pure (no I/O, no clock, no randomness).
package domain

import "time"

// Event is a past-tense fact. Every event type is a pointer to a struct
// named exactly as its permanent type name (*SubmissionReceived is
// "SubmissionReceived"); its JSON field names are a permanent contract
// pinned by testdata/golden.
type Event interface {
	EventType() string
}

// Enumerations used in events. Values are permanent.
type (
	// ProcessKind is the form of participation.
	ProcessKind string
	// ModerationMode says whether contributions are published before
	// (post) or only after (pre) a moderator approves them.
	ModerationMode string
	// ContributionKind is what a phase accepts.
	ContributionKind string
	// Channel is how a contribution reached the municipality.
	Channel string
	// ItemKind is the kind of moderated item.
	ItemKind string
)

// Process kinds.
const (
	KindProposal     ProcessKind = "proposal"
	KindSurvey       ProcessKind = "survey"
	KindDialogue     ProcessKind = "dialogue"
	KindConsultation ProcessKind = "consultation"
)

// Moderation modes.
const (
	ModerationPre  ModerationMode = "pre"
	ModerationPost ModerationMode = "post"
)

// Contribution kinds a phase may accept.
const (
	AcceptsSubmissions   ContributionKind = "submissions"
	AcceptsComments      ContributionKind = "comments"
	AcceptsSupport       ContributionKind = "support"
	AcceptsSurveyAnswers ContributionKind = "survey_answers"
)

// Channels.
const (
	ChannelWeb     Channel = "web"
	ChannelPaper   Channel = "paper"
	ChannelEmail   Channel = "email"
	ChannelMeeting Channel = "meeting"
)

// Item kinds.
const (
	ItemSubmission ItemKind = "submission"
	ItemComment    ItemKind = "comment"
)

// Text is an official text in Swedish and (optionally) English. It is the
// municipality's own text, not personal data.
type Text struct {
	Sv string `json:"sv"`
	En string `json:"en"`
}

// Phase is a stage of a process and what it accepts.
type Phase struct {
	Name     string             `json:"name"`
	StartsAt time.Time          `json:"starts_at"`
	Accepts  []ContributionKind `json:"accepts"`
}

// ---- Processes (stream process-<id>) ----

// ProcessOpened records a new participation process. The first phase is
// current from the start.
type ProcessOpened struct {
	ProcessID        string         `json:"process_id"`
	Title            Text           `json:"title"`
	Description      Text           `json:"description"`
	Kind             ProcessKind    `json:"kind"`
	OwnerBody        string         `json:"owner_body"`  // the nämnd that owns it, e.g. "Kommunstyrelsen"
	CaseNumber       string         `json:"case_number"` // diarienummer, e.g. "STK-2024-622"
	Administrations  []string       `json:"administrations"`
	Phases           []Phase        `json:"phases"`
	SupportThreshold int            `json:"support_threshold"` // 0: no threshold
	ModerationMode   ModerationMode `json:"moderation_mode"`
	PolicyReference  string         `json:"policy_reference"` // the terms moderators apply
	OpenedBy         string         `json:"opened_by"`
}

// ProcessPhaseChanged records that a process moved to another phase.
type ProcessPhaseChanged struct {
	ProcessID string `json:"process_id"`
	From      string `json:"from"`
	To        string `json:"to"`
	ChangedBy string `json:"changed_by"`
}

// ProcessClosed records that a process accepts no more contributions.
type ProcessClosed struct {
	ProcessID string `json:"process_id"`
	Reason    string `json:"reason"`
	ClosedBy  string `json:"closed_by"`
}

// SurveyPublished records a survey's questions (on the process stream).
type SurveyPublished struct {
	ProcessID   string     `json:"process_id"`
	SurveyID    string     `json:"survey_id"`
	Title       Text       `json:"title"`
	Questions   []Question `json:"questions"`
	PublishedBy string     `json:"published_by"`
}

// QuestionKind is the kind of a survey question.
type QuestionKind string

// Question kinds.
const (
	QuestionSingleChoice QuestionKind = "single_choice"
	QuestionMultiChoice  QuestionKind = "multiple_choice"
	QuestionScale        QuestionKind = "scale"
	QuestionFreeText     QuestionKind = "free_text"
)

// Question is one survey question.
type Question struct {
	ID       string       `json:"id"`
	Kind     QuestionKind `json:"kind"`
	Text     Text         `json:"text"`
	Options  []Option     `json:"options"`   // choice questions
	ScaleMin int          `json:"scale_min"` // scale questions
	ScaleMax int          `json:"scale_max"`
	Required bool         `json:"required"`
}

// Option is a choice of a choice question.
type Option struct {
	ID   string `json:"id"`
	Text Text   `json:"text"`
}

// ---- Participants (stream participant-<id>) ----

// ParticipantRegistered records a participant. The pseudonym is public;
// everything else identifying is sealed with the participant's key.
type ParticipantRegistered struct {
	ParticipantID string   `json:"participant_id"`
	Pseudonym     string   `json:"pseudonym"`
	Name          Personal `json:"name"`
	Email         Personal `json:"email"`
	District      Personal `json:"district"`
	AgeBand       Personal `json:"age_band"`
	Language      string   `json:"language"`
	PublishName   bool     `json:"publish_name"`
	ResearchUse   bool     `json:"research_use"`
	RegisteredBy  string   `json:"registered_by"` // intake staff id; "" when self-registered
}

// ConsentChanged records the participant's current consents (both, not a
// delta, so one event says the whole state).
type ConsentChanged struct {
	ParticipantID string `json:"participant_id"`
	PublishName   bool   `json:"publish_name"`
	ResearchUse   bool   `json:"research_use"`
	ChangedBy     string `json:"changed_by"`
}

// ErasureRequested records a GDPR art. 17 request.
type ErasureRequested struct {
	ParticipantID string   `json:"participant_id"`
	RequestID     string   `json:"request_id"`
	Reason        Personal `json:"reason"` // the participant's own words
	Channel       Channel  `json:"channel"`
	RegisteredBy  string   `json:"registered_by"`
}

// Erasure outcomes.
const (
	ErasureGranted = "granted"
	ErasureRefused = "refused"
)

// ErasureDecided records the decision on an erasure request and its legal
// basis (e.g. "GDPR art. 17(3)(b); OSL; arkivlagen" when refused because
// the data are public records).
type ErasureDecided struct {
	ParticipantID string `json:"participant_id"`
	RequestID     string `json:"request_id"`
	Outcome       string `json:"outcome"`
	Basis         string `json:"basis"`
	Explanation   string `json:"explanation"`
	DecidedBy     string `json:"decided_by"`
}

// ---- Contributions (streams submission-<id>, comment-<id>) ----

// SubmissionReceived records a proposal or opinion. Content is version 1.
// Premoderated says the process held it back until a moderator approves.
type SubmissionReceived struct {
	SubmissionID string   `json:"submission_id"`
	ProcessID    string   `json:"process_id"`
	Author       string   `json:"author"` // participant id
	Channel      Channel  `json:"channel"`
	Language     string   `json:"language"`
	Title        Personal `json:"title"`
	Body         Personal `json:"body"`
	RegisteredBy string   `json:"registered_by"` // intake staff id for paper/e-mail/meeting; "" for the author's own
	Premoderated bool     `json:"premoderated"`
}

// SubmissionRevised records a new content version by the author.
type SubmissionRevised struct {
	SubmissionID string   `json:"submission_id"`
	Version      int      `json:"version"`
	Title        Personal `json:"title"`
	Body         Personal `json:"body"`
	RevisedBy    string   `json:"revised_by"`
	Premoderated bool     `json:"premoderated"`
}

// CommentPosted records a comment on a submission, threaded under ParentID
// ("" for a top-level comment).
type CommentPosted struct {
	CommentID    string   `json:"comment_id"`
	SubmissionID string   `json:"submission_id"`
	ProcessID    string   `json:"process_id"`
	ParentID     string   `json:"parent_id"`
	Author       string   `json:"author"`
	Channel      Channel  `json:"channel"`
	Language     string   `json:"language"`
	Body         Personal `json:"body"`
	RegisteredBy string   `json:"registered_by"`
	Premoderated bool     `json:"premoderated"`
}

// SupportGiven records a participant's support for a submission.
type SupportGiven struct {
	SubmissionID  string `json:"submission_id"`
	ProcessID     string `json:"process_id"`
	ParticipantID string `json:"participant_id"`
}

// SupportWithdrawn records that a participant withdrew support.
type SupportWithdrawn struct {
	SubmissionID  string `json:"submission_id"`
	ProcessID     string `json:"process_id"`
	ParticipantID string `json:"participant_id"`
}

// SupportThresholdReached records, once per submission, that support
// crossed the process's threshold. SupporterSetHash is hex SHA-256 over the
// sorted supporter ids, each followed by a newline, so anyone holding the
// ids can check the count.
type SupportThresholdReached struct {
	SubmissionID     string `json:"submission_id"`
	ProcessID        string `json:"process_id"`
	Threshold        int    `json:"threshold"`
	Count            int    `json:"count"`
	SupporterSetHash string `json:"supporter_set_hash"`
}

// SurveyAnswered records one participant's answer set (stream
// surveyanswer-<process>-<participant>, appended with NoStream).
type SurveyAnswered struct {
	ProcessID     string   `json:"process_id"`
	SurveyID      string   `json:"survey_id"`
	ParticipantID string   `json:"participant_id"`
	Channel       Channel  `json:"channel"`
	RegisteredBy  string   `json:"registered_by"`
	Answers       []Answer `json:"answers"`
}

// Answer answers one question: Choices for choice questions, Scale for
// scale questions, Text (sealed with the participant's key) for free text.
type Answer struct {
	QuestionID string   `json:"question_id"`
	Choices    []string `json:"choices"`
	Scale      *int     `json:"scale"`
	Text       Personal `json:"text"`
}

// ---- Moderation (on the item's stream) ----

// FlagSource is who raised a notice.
type FlagSource string

// Flag sources.
const (
	FlagByParticipant FlagSource = "participant"
	FlagByStaff       FlagSource = "staff"
	FlagByAutomated   FlagSource = "automated"
)

// Classifier identifies the automated classifier behind a flag.
type Classifier struct {
	Name    string  `json:"name"`
	Version string  `json:"version"`
	Score   float64 `json:"score"`
}

// ContentFlagged records a notice about an item's content version.
type ContentFlagged struct {
	FlagID         string      `json:"flag_id"`
	ItemID         string      `json:"item_id"`
	ItemKind       ItemKind    `json:"item_kind"`
	ContentVersion int         `json:"content_version"`
	Source         FlagSource  `json:"source"`
	FlaggedBy      string      `json:"flagged_by"` // participant or staff id; classifier name for automated
	Classifier     *Classifier `json:"classifier"` // automated flags only
	Category       Category    `json:"category"`   // the reason category the notifier chose
	Explanation    Personal    `json:"explanation"`
}

// ModerationDecided is a moderation decision with its statement of reasons
// (EU DSA art. 17 vocabulary, so reports compare with the DSA Transparency
// Database). It is about exactly one content version.
//
// Version 2 added content type, content date, territorial scope, the
// ground explanation apart from the facts, and the current category list
// (with retired_category); upcastModerationDecidedV1 reads version 1.
type ModerationDecided struct {
	DecisionID         string            `json:"decision_id"`
	ItemID             string            `json:"item_id"`
	ItemKind           ItemKind          `json:"item_kind"`
	ContentVersion     int               `json:"content_version"`
	ContentType        []ContentType     `json:"content_type"`
	ContentTypeOther   string            `json:"content_type_other"` // when content_type has "other"
	ContentDate        string            `json:"content_date"`       // YYYY-MM-DD (UTC) the decided version was posted; "" if not recorded (version 1)
	Visibility         Visibility        `json:"visibility"`
	Ground             Ground            `json:"ground"`
	LegalGround        string            `json:"legal_ground"`       // the law, when the ground is illegal content
	PolicyClause       string            `json:"policy_clause"`      // the terms' clause, when incompatible with terms
	GroundExplanation  string            `json:"ground_explanation"` // why the content is illegal / incompatible on that ground
	Category           Category          `json:"category"`
	RetiredCategory    Category          `json:"retired_category"`  // the retired value version 1 recorded, "" otherwise
	TerritorialScope   []string          `json:"territorial_scope"` // EU/EEA country codes where the restriction applies; empty: not stated
	Explanation        string            `json:"explanation"`       // facts and circumstances; published
	AutomatedDetection bool              `json:"automated_detection"`
	AutomatedDecision  AutomatedDecision `json:"automated_decision"`
	Source             DecisionSource    `json:"source"`
	FlagIDs            []string          `json:"flag_ids"` // the notices decided on
	Moderator          string            `json:"moderator"`
	DecidedAt          time.Time         `json:"decided_at"` // DSA application date; starts the appeal window
}

func (*ModerationDecided) schemaVersion() int { return 2 }

// AuthorNotified records that the author was told of a decision (or of the
// decision on their appeal).
type AuthorNotified struct {
	ItemID     string   `json:"item_id"`
	ItemKind   ItemKind `json:"item_kind"`
	DecisionID string   `json:"decision_id"`
	AppealID   string   `json:"appeal_id"` // "" unless this notifies an appeal decision
	Author     string   `json:"author"`
	Method     string   `json:"method"` // "in_app", "email", "letter"
	NotifiedBy string   `json:"notified_by"`
}

// AppealFiled records an appeal against a decision (internal complaint,
// DSA art. 20), by the author or by intake on their behalf.
type AppealFiled struct {
	AppealID     string   `json:"appeal_id"`
	DecisionID   string   `json:"decision_id"`
	ItemID       string   `json:"item_id"`
	ItemKind     ItemKind `json:"item_kind"`
	By           string   `json:"by"` // the author
	RegisteredBy string   `json:"registered_by"`
	Grounds      Personal `json:"grounds"`
}

// Appeal outcomes.
const (
	AppealUpheld     = "upheld"     // the decision stands
	AppealOverturned = "overturned" // the decision is reversed
)

// AppealDecided records the decision on an appeal by a moderator other than
// the one who decided. Overturning reverses the decision's effect on
// visibility.
type AppealDecided struct {
	AppealID    string   `json:"appeal_id"`
	DecisionID  string   `json:"decision_id"`
	ItemID      string   `json:"item_id"`
	ItemKind    ItemKind `json:"item_kind"`
	Outcome     string   `json:"outcome"`
	Moderator   string   `json:"moderator"`
	Explanation string   `json:"explanation"`
}

// ---- Case handling (on the submission stream) ----

// SubmissionForwarded records a remiss to another administration.
type SubmissionForwarded struct {
	SubmissionID string `json:"submission_id"`
	To           string `json:"to"`
	Note         string `json:"note"`
	ForwardedBy  string `json:"forwarded_by"`
	CaseNumber   string `json:"case_number"` // the receiving administration's diarienummer, if any
	RespondBy    string `json:"respond_by"`  // date (YYYY-MM-DD) the remiss answer is due; "" if none
}

// Response outcomes.
const (
	OutcomeApproved          = "approved"
	OutcomePartiallyApproved = "partially_approved"
	OutcomeRejected          = "rejected"
	OutcomeAnswered          = "answered"
)

// OfficialResponsePublished records the municipality's answer and the
// decision it rests on.
type OfficialResponsePublished struct {
	SubmissionID      string `json:"submission_id"`
	ResponseID        string `json:"response_id"`
	Body              string `json:"body"`
	ResponsibleBody   string `json:"responsible_body"`
	DecisionReference string `json:"decision_reference"` // e.g. "KS 2024-09-09 §418"
	Outcome           string `json:"outcome"`
	PublishedBy       string `json:"published_by"`
}

// ---- Records management ----

// DisposalScope is what a disposal decision covers.
type DisposalScope string

// Disposal scopes.
const (
	ScopeParticipant DisposalScope = "participant"
	ScopeSubmission  DisposalScope = "submission"
	ScopeComment     DisposalScope = "comment"
	ScopeProcess     DisposalScope = "process"
)

// DisposalDecided records a gallringsbeslut, on the disposed subject's
// stream; the keys are shredded after it.
type DisposalDecided struct {
	DisposalID string        `json:"disposal_id"`
	CaseNumber string        `json:"case_number"`
	Scope      DisposalScope `json:"scope"`
	SubjectID  string        `json:"subject_id"`
	LegalBasis string        `json:"legal_basis"` // e.g. the dokumenthanteringsplan item or the authority's regulation
	DecidedBy  string        `json:"decided_by"`
}

// KeysShredded records which data keys were destroyed and on which decision
// (a disposal id or an erasure request id).
type KeysShredded struct {
	DecisionID string   `json:"decision_id"`
	Scope      string   `json:"scope"`
	SubjectID  string   `json:"subject_id"`
	Subjects   []string `json:"subjects"`
}

// ExportIssued records an export (on stream "exports").
type ExportIssued struct {
	ExportID     string `json:"export_id"`
	Kind         string `json:"kind"` // "auditor" or "research"
	Requester    string `json:"requester"`
	Scope        string `json:"scope"`
	FromPosition uint64 `json:"from_position"`
	ToPosition   uint64 `json:"to_position"`
	Checkpoint   string `json:"checkpoint"`    // the signed checkpoint the export ends at
	ManifestHash string `json:"manifest_hash"` // hex SHA-256 of manifest.json
}

// DSAStatementsSubmitted records one call to the DSA Transparency
// Database's bulk endpoint (on stream "dsa-submissions"): which statements
// (puids, the decision ids), where, and what came of it after all retries.
type DSAStatementsSubmitted struct {
	SubmissionID string   `json:"submission_id"`
	Endpoint     string   `json:"endpoint"` // the API URL posted to
	PUIDs        []string `json:"puids"`
	Outcome      string   `json:"outcome"`  // "accepted", "refused" (the database's 4xx) or "failed" (no answer, or 5xx after retries)
	Status       int      `json:"status"`   // HTTP status of the last attempt, 0 if none
	Attempts     int      `json:"attempts"` // calls made
	Detail       string   `json:"detail"`   // the database's errors when refused, the last error when failed
	SubmittedBy  string   `json:"submitted_by"`
}

// ---- Access (streams "tokens", access-<actor>) ----

// TokenIssued records a bearer token. Only its hash is recorded, never the
// token.
type TokenIssued struct {
	TokenID     string `json:"token_id"`
	Name        string `json:"name"`
	Role        Role   `json:"role"`
	Participant string `json:"participant"` // the participant a participant token acts as
	Hash        string `json:"hash"`        // hex SHA-256 of the token
	IssuedBy    string `json:"issued_by"`
}

// TokenRevoked records that a token stopped working.
type TokenRevoked struct {
	TokenID   string `json:"token_id"`
	Reason    string `json:"reason"`
	RevokedBy string `json:"revoked_by"`
}

// PersonalDataAccessed records that staff read a subject's personal data,
// and why (on stream access-<actor>).
type PersonalDataAccessed struct {
	Actor     string `json:"actor"`
	Role      Role   `json:"role"`
	SubjectID string `json:"subject_id"`
	Purpose   string `json:"purpose"`
	Resource  string `json:"resource"` // what was read, e.g. "/v1/participants/{id}/data"
}
