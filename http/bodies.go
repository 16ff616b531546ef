package ledgerhttp

// Request bodies of the write routes. Field names are part of the public
// API. Free text that may identify a person (titles, bodies, names,
// appeal grounds) is sealed by the service before it reaches the log.

// OpenProcessBody opens a participation process.
type OpenProcessBody struct {
	Title            TextBody    `json:"title" required:"true"`
	Description      TextBody    `json:"description"`
	Kind             string      `json:"kind" required:"true" doc:"proposal|survey|dialogue|consultation"`
	OwnerBody        string      `json:"owner_body" required:"true" doc:"the responsible nämnd"`
	CaseNumber       string      `json:"case_number" required:"true" doc:"diarienummer, e.g. STK-2024-622"`
	Administrations  []string    `json:"administrations"`
	Phases           []PhaseBody `json:"phases" required:"true"`
	SupportThreshold int         `json:"support_threshold"`
	ModerationMode   string      `json:"moderation_mode" required:"true" doc:"pre|post"`
	PolicyReference  string      `json:"policy_reference"`
}

// TextBody is an official text in Swedish and optionally English.
type TextBody struct {
	Sv string `json:"sv" required:"true"`
	En string `json:"en"`
}

// PhaseBody is one phase of a process.
type PhaseBody struct {
	Name     string   `json:"name" required:"true"`
	StartsAt string   `json:"starts_at" doc:"RFC 3339"`
	Accepts  []string `json:"accepts" doc:"submissions|comments|support|survey_answers"`
}

// ChangePhaseBody moves a process to a phase.
type ChangePhaseBody struct {
	To string `json:"to" required:"true" doc:"phase name"`
}

// CloseProcessBody closes a process.
type CloseProcessBody struct {
	Reason string `json:"reason"`
}

// FeedbackBody records the elected body's feedback on a process.
type FeedbackBody struct {
	Summary   string   `json:"summary" required:"true" doc:"what was decided"`
	Body      string   `json:"body" required:"true" doc:"the deciding body (nämnd, fullmäktige)"`
	Paragraph string   `json:"paragraph" required:"true" doc:"the minutes' paragraph, e.g. § 112"`
	DecidedOn string   `json:"decided_on" required:"true" doc:"YYYY-MM-DD"`
	Outcome   string   `json:"outcome" required:"true" doc:"accepted, partly_accepted, rejected or implemented"`
	Progress  int      `json:"progress" doc:"how far carried out, 0-100"`
	Answers   []string `json:"answers" doc:"submission and statement ids answered (none: the whole process)"`
}

// PublishSurveyBody publishes a process's survey.
type PublishSurveyBody struct {
	Title     TextBody       `json:"title" required:"true"`
	Questions []QuestionBody `json:"questions" required:"true"`
}

// QuestionBody is one survey question.
type QuestionBody struct {
	ID       string       `json:"id" required:"true"`
	Kind     string       `json:"kind" required:"true" doc:"single_choice|multiple_choice|scale|free_text"`
	Text     TextBody     `json:"text" required:"true"`
	Options  []OptionBody `json:"options"`
	ScaleMin int          `json:"scale_min"`
	ScaleMax int          `json:"scale_max"`
	Required bool         `json:"required"`
}

// OptionBody is a choice of a choice question.
type OptionBody struct {
	ID   string   `json:"id" required:"true"`
	Text TextBody `json:"text" required:"true"`
}

// SubmissionBody submits a proposal. Intake staff name the author and the
// channel; a participant submits as themself on the web.
type SubmissionBody struct {
	Author     string `json:"author" doc:"participant id (intake only)"`
	Channel    string `json:"channel" doc:"web|paper|email|meeting (default web)"`
	Language   string `json:"language" required:"true" doc:"sv, en, …"`
	Title      string `json:"title" required:"true"`
	Body       string `json:"body" required:"true"`
	OccurredAt string `json:"occurred_at" doc:"RFC 3339: when it arrived, e.g. the letter's date (intake)"`
}

// RevisionBody revises a submission.
type RevisionBody struct {
	Title string `json:"title" required:"true"`
	Body  string `json:"body" required:"true"`
}

// CommentBody posts a comment, optionally as a reply.
type CommentBody struct {
	Author     string `json:"author" doc:"participant id (intake only)"`
	Channel    string `json:"channel" doc:"web|paper|email|meeting (default web)"`
	ParentID   string `json:"parent_id" doc:"comment replied to"`
	Language   string `json:"language" required:"true"`
	Body       string `json:"body" required:"true"`
	OccurredAt string `json:"occurred_at" doc:"RFC 3339 (intake)"`
}

// SupportBody gives or withdraws support; a participant sends {} (or no
// body), intake names the participant whose paper signature it registers.
type SupportBody struct {
	Participant string `json:"participant" doc:"participant id (intake only)"`
}

// SurveyAnswerBody answers a survey.
type SurveyAnswerBody struct {
	Participant string       `json:"participant" doc:"participant id (intake only)"`
	Channel     string       `json:"channel" doc:"web|paper|email|meeting (default web)"`
	Answers     []AnswerBody `json:"answers" required:"true"`
}

// AnswerBody answers one question.
type AnswerBody struct {
	QuestionID string   `json:"question_id" required:"true"`
	Choices    []string `json:"choices" doc:"option ids (choice questions)"`
	Scale      *int     `json:"scale" doc:"scale questions"`
	Text       string   `json:"text" doc:"free-text questions"`
}

// ItemRef names a piece of content.
type ItemRef struct {
	Kind string `json:"kind" required:"true" doc:"submission|comment"`
	ID   string `json:"id" required:"true"`
}

// FlagBody is a notice about content.
type FlagBody struct {
	Item           ItemRef         `json:"item" required:"true"`
	ContentVersion int             `json:"content_version" required:"true"`
	Source         string          `json:"source" doc:"participant|staff|automated (default from role)"`
	Category       string          `json:"category" required:"true" doc:"DSA statement category"`
	Explanation    string          `json:"explanation"`
	Classifier     *ClassifierBody `json:"classifier" doc:"automated flags"`
}

// ClassifierBody identifies an automated classifier.
type ClassifierBody struct {
	Name    string  `json:"name" required:"true"`
	Version string  `json:"version" required:"true"`
	Score   float64 `json:"score"`
}

// DecisionBody is a moderation decision with its statement of reasons, in
// the DSA Transparency Database's vocabulary (lower case, without prefix).
type DecisionBody struct {
	Item               ItemRef  `json:"item" required:"true"`
	ContentVersion     int      `json:"content_version" required:"true"`
	Visibility         string   `json:"visibility" required:"true" doc:"approved|no_action|restored, or a restriction: content_disabled|content_demoted|content_interaction_restricted|content_labelled"`
	Ground             string   `json:"ground" doc:"illegal_content|incompatible_content (restrictions)"`
	LegalGround        string   `json:"legal_ground" doc:"the law relied on (illegal_content)"`
	PolicyClause       string   `json:"policy_clause" doc:"the terms' clause relied on (incompatible_content)"`
	GroundExplanation  string   `json:"ground_explanation" doc:"why the content is illegal or incompatible on that ground; required for restrictions, at most 2000 characters"`
	Category           string   `json:"category" doc:"current DSA statement category (restrictions): animal_welfare|consumer_information|cyber_violence|cyber_violence_against_women|data_protection_and_privacy_violations|illegal_or_harmful_speech|intellectual_property_infringements|negative_effects_on_civic_discourse_or_elections|not_specified_notice|other_violation_tc|protection_of_minors|risk_for_public_security|scams_and_fraud|self_harm|unsafe_and_prohibited_products|violence"`
	Explanation        string   `json:"explanation" required:"true" doc:"facts and circumstances relied on; at most 5000 characters for restrictions"`
	ContentType        []string `json:"content_type" doc:"text|image|video|audio|synthetic_media|product|app|other (default [text]: the ledger stores text)"`
	ContentTypeOther   string   `json:"content_type_other" doc:"describes content type other"`
	ContentDate        string   `json:"content_date" doc:"YYYY-MM-DD the decided content version was posted (default: from the log)"`
	TerritorialScope   []string `json:"territorial_scope" doc:"EU/EEA country codes where the restriction applies, e.g. [SE]"`
	AutomatedDetection bool     `json:"automated_detection"`
	AutomatedDecision  string   `json:"automated_decision" required:"true" doc:"automated_decision_fully|automated_decision_partially|automated_decision_not_automated"`
	Source             string   `json:"source" required:"true" doc:"source_article_16|source_type_other_notification|source_voluntary"`
	FlagIDs            []string `json:"flag_ids"`
}

// AppealBody appeals a moderation decision.
type AppealBody struct {
	Item       ItemRef `json:"item" required:"true"`
	DecisionID string  `json:"decision_id" required:"true"`
	Grounds    string  `json:"grounds" required:"true"`
	OnBehalfOf string  `json:"on_behalf_of" doc:"the author (intake only)"`
	OccurredAt string  `json:"occurred_at" doc:"RFC 3339 (intake)"`
}

// AppealDecisionBody decides an appeal.
type AppealDecisionBody struct {
	Item        ItemRef `json:"item" required:"true"`
	Outcome     string  `json:"outcome" required:"true" doc:"upheld|overturned"`
	Explanation string  `json:"explanation" required:"true"`
}

// ForwardBody forwards a submission (remiss).
type ForwardBody struct {
	To         string `json:"to" required:"true" doc:"administration"`
	Note       string `json:"note"`
	CaseNumber string `json:"case_number"`
	RespondBy  string `json:"respond_by" doc:"YYYY-MM-DD"`
}

// ResponseBody publishes the official response.
type ResponseBody struct {
	Body              string `json:"body" required:"true"`
	ResponsibleBody   string `json:"responsible_body" required:"true"`
	DecisionReference string `json:"decision_reference" required:"true" doc:"e.g. KS 2024-09-09 §418"`
	Outcome           string `json:"outcome" required:"true" doc:"approved|partially_approved|rejected|answered"`
}

// ParticipantBody registers a participant.
type ParticipantBody struct {
	Pseudonym   string `json:"pseudonym" required:"true"`
	Name        string `json:"name"`
	Email       string `json:"email"`
	District    string `json:"district"`
	AgeBand     string `json:"age_band"`
	Language    string `json:"language" required:"true"`
	PublishName bool   `json:"publish_name"`
	ResearchUse bool   `json:"research_use"`
}

// ConsentBody changes consent; absent fields are unchanged.
type ConsentBody struct {
	PublishName *bool `json:"publish_name"`
	ResearchUse *bool `json:"research_use"`
}

// ErasureBody requests erasure.
type ErasureBody struct {
	Reason  string `json:"reason"`
	Channel string `json:"channel" doc:"web|paper|email|meeting (default web)"`
}

// ErasureDecisionBody decides an erasure request.
type ErasureDecisionBody struct {
	RequestID   string `json:"request_id" required:"true"`
	Outcome     string `json:"outcome" required:"true" doc:"granted|refused"`
	Basis       string `json:"basis" required:"true"`
	Explanation string `json:"explanation"`
}

// DisposalBody records a disposal decision (gallringsbeslut).
type DisposalBody struct {
	CaseNumber string `json:"case_number" required:"true"`
	Scope      string `json:"scope" required:"true" doc:"participant|submission|comment|process"`
	SubjectID  string `json:"subject_id" required:"true"`
	LegalBasis string `json:"legal_basis" required:"true"`
}

// TokenBody issues a token.
type TokenBody struct {
	Name        string `json:"name" required:"true"`
	Role        string `json:"role" required:"true"`
	Participant string `json:"participant" doc:"participant id (participant tokens)"`
}

// RevokeBody revokes a token.
type RevokeBody struct {
	Reason string `json:"reason"`
}
