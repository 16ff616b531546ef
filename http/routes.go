package ledgerhttp

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/malmo/participation-ledger/domain"
)

// route is one line of the API: method, path, who may call it, handler.
// body (a zero value of the request type) and summary feed the OpenAPI
// document, so the table is also the documentation.
type route struct {
	method  string
	pattern string
	roles   []domain.Role // none: public
	handler http.HandlerFunc
	body    any // request body type for writes; nil for none
	summary string
}

const (
	participant = domain.RoleParticipant
	intake      = domain.RoleIntake
	moderator   = domain.RoleModerator
	official    = domain.RoleOfficial
	auditor     = domain.RoleAuditor
	researcher  = domain.RoleResearcher
	admin       = domain.RoleAdmin
)

// table is the whole API on one screen. Participants' "own resource" rules
// (only their own submission, data, consent; appeals only on their own
// content) are checked in the handlers and the domain.
func (s *Server) table() []route {
	return []route{
		// Operations.
		{"GET", "/healthz", nil, s.healthz, nil, "Liveness"},
		{"GET", "/readyz", nil, s.readyz, nil, "Readiness"},
		{"GET", "/metrics", nil, s.metricsHandler().ServeHTTP, nil, "Prometheus metrics"},
		{"GET", "/v1/openapi.json", nil, s.openapi, nil, "This document"},

		// Processes.
		{"POST", "/v1/processes", roles(official, admin), s.openProcess, OpenProcessBody{}, "Open a participation process"},
		{"POST", "/v1/processes/{id}/phase", roles(official, admin), s.changePhase, ChangePhaseBody{}, "Move a process to another phase"},
		{"POST", "/v1/processes/{id}/close", roles(official, admin), s.closeProcess, CloseProcessBody{}, "Close a process"},
		{"POST", "/v1/processes/{id}/survey", roles(official, admin), s.publishSurvey, PublishSurveyBody{}, "Publish the process's survey"},

		// Contributions.
		{"POST", "/v1/processes/{id}/submissions", roles(participant, intake), s.receiveSubmission, SubmissionBody{}, "Submit a proposal (intake: on a participant's behalf)"},
		{"POST", "/v1/submissions/{id}/revisions", roles(participant, intake), s.reviseSubmission, RevisionBody{}, "Revise one's own submission"},
		{"POST", "/v1/submissions/{id}/comments", roles(participant, intake), s.postComment, CommentBody{}, "Comment on a submission"},
		{"POST", "/v1/submissions/{id}/support", roles(participant, intake), s.giveSupport, SupportBody{}, "Support a submission"},
		{"DELETE", "/v1/submissions/{id}/support", roles(participant, intake), s.withdrawSupport, SupportBody{}, "Withdraw one's support"},
		{"POST", "/v1/processes/{id}/statements", roles(participant, intake, official, admin), s.postStatement, StatementBody{}, "Post a statement in a dialogue (official, admin: a seed statement)"},
		{"POST", "/v1/statements/{id}/votes", roles(participant, intake), s.castVote, VoteBody{}, "Vote agree, disagree or pass on a statement; voting again changes the vote"},
		{"POST", "/v1/processes/{id}/survey/answers", roles(participant, intake), s.answerSurvey, SurveyAnswerBody{}, "Answer the process's survey"},

		// Moderation.
		{"POST", "/v1/flags", roles(participant, intake, moderator, official, admin), s.flag, FlagBody{}, "Flag content (a notice)"},
		{"POST", "/v1/moderation/decisions", roles(moderator), s.decide, DecisionBody{}, "Decide on content with a statement of reasons"},
		{"POST", "/v1/appeals", roles(participant, intake), s.fileAppeal, AppealBody{}, "Appeal a decision on one's own content"},
		{"POST", "/v1/appeals/{id}/decision", roles(moderator), s.decideAppeal, AppealDecisionBody{}, "Decide an appeal (another moderator)"},

		// Case handling.
		{"POST", "/v1/submissions/{id}/forward", roles(official), s.forward, ForwardBody{}, "Forward a submission to another administration (remiss)"},
		{"POST", "/v1/submissions/{id}/response", roles(official), s.respond, ResponseBody{}, "Publish the official response"},

		// Participants and records.
		{"POST", "/v1/participants", roles(intake, admin), s.registerParticipant, ParticipantBody{}, "Register a participant"},
		{"POST", "/v1/participants/{id}/consent", roles(participant, intake), s.changeConsent, ConsentBody{}, "Change consent (own)"},
		{"POST", "/v1/participants/{id}/erasure", roles(participant, intake), s.requestErasure, ErasureBody{}, "Request erasure (own)"},
		{"POST", "/v1/participants/{id}/erasure/decision", roles(admin), s.decideErasure, ErasureDecisionBody{}, "Decide an erasure request"},
		{"GET", "/v1/participants/{id}/data", roles(participant, intake, admin), s.participantData, nil, "Everything recorded about a participant (own, or staff)"},
		{"POST", "/v1/disposals", roles(admin), s.dispose, DisposalBody{}, "Record a disposal decision (gallringsbeslut) and shred keys"},

		// Tokens.
		{"POST", "/v1/tokens", roles(admin), s.issueToken, TokenBody{}, "Issue a bearer token"},
		{"DELETE", "/v1/tokens/{id}", roles(admin), s.revokeToken, RevokeBody{}, "Revoke a bearer token"},

		// Reads of the read models: every one takes ?as_of=<position|RFC 3339
		// time> and answers {"position":N,…} with X-Ledger-Position.
		{"GET", "/v1/processes", nil, s.listProcesses, nil, "Process overviews (as_of)"},
		{"GET", "/v1/processes/{id}", nil, s.getProcess, nil, "A process overview: phases, counts by status, threshold progress (as_of)"},
		{"GET", "/v1/processes/{id}/submissions", nil, s.processSubmissions, nil, "A process's public submissions (as_of)"},
		{"GET", "/v1/submissions/{id}", nil, s.getSubmission, nil, "Public submission view; view=internal for moderator, official, admin, auditor — recorded (as_of)"},
		{"GET", "/v1/items/{id}/trail", nil, s.itemTrail, nil, "Decision trail of a submission or comment; view=internal (named) for auditor, admin (as_of)"},
		{"GET", "/v1/moderation/queue", roles(moderator, admin), s.moderationQueue, nil, "Moderation queue, oldest first; process= filters (as_of)"},
		{"GET", "/v1/reports/transparency", nil, s.transparencyReport, nil, "DSA transparency report; period=, from=, to=, process=, body=; CSV with Accept: text/csv (as_of)"},
		{"GET", "/v1/processes/{id}/statements", nil, s.dialogueStatements, nil, "A dialogue's statements with agree/disagree/pass counts from latest votes (as_of)"},
		{"GET", "/v1/processes/{id}/dialogue/timeline", nil, s.dialogueTimeline, nil, "A dialogue's participation per day of occurred-at (as_of)"},
		{"GET", "/v1/processes/{id}/dialogue/matrix", roles(researcher, auditor, admin), s.dialogueMatrix, nil, "Participant × statement latest-vote matrix, participants as numbers (as_of)"},
		{"GET", "/v1/stats/participation", nil, s.participationStats, nil, "Participation statistics of process=, small cells suppressed (as_of)"},
		{"GET", "/v1/actors/{id}/trail", roles(moderator, official, auditor, admin), s.actorTrail, nil, "What an actor did (moderators and officials: their own); after=, limit= (as_of)"},

		// The raw log, the access log and the live feed. Streams are not
		// public: their metadata names staff and participants, which the
		// public views replace by roles and pseudonyms.
		{"GET", "/v1/events", roles(auditor, admin), s.events, nil, "The global log: from= (exclusive position), limit=; NDJSON of canonical bytes with Accept: application/x-ndjson"},
		{"GET", "/v1/streams/{stream}", roles(auditor, admin), s.stream, nil, "One stream: from= (revision), limit=, direction="},
		{"GET", "/v1/access", roles(auditor), s.accessLog, nil, "Recorded reads of personal data: actor=, subject=, from=, limit="},
		{"GET", "/v1/live", nil, s.live, nil, "Read-model changes as Server-Sent Events; Last-Event-ID resumes; process= filters"},

		// The integrity log.
		{"GET", "/v1/ledger/checkpoint", nil, s.checkpoint, nil, "Latest signed checkpoint (note text; JSON with Accept: application/json)"},
		{"GET", "/v1/ledger/key", nil, s.verifierKey, nil, "Checkpoint verifier key"},
		{"GET", "/v1/ledger/proof/inclusion", nil, s.inclusionProof, nil, "RFC 6962 inclusion proof: index= or event_id= (stream=), size="},
		{"GET", "/v1/ledger/proof/consistency", nil, s.consistencyProof, nil, "RFC 6962 consistency proof: from=, to="},

		// Exports: the role decides the kind (auditor: audit, researcher:
		// research pseudonymised for the caller); checked in the handler.
		{"POST", "/v1/exports", roles(auditor, researcher), s.createExport, ExportBody{}, "Write an export and record ExportIssued; answers the export id"},
		{"GET", "/v1/exports/{id}/{file}", roles(auditor, researcher), s.exportFile, nil, "Download a file of an export (manifest.json lists them)"},
		{"GET", "/v1/exports/{id}/polis/{process}/{file}", roles(auditor, researcher), s.exportFile, nil, "Download a Polis-format file of a dialogue process in a research export"},
	}
}

// routeParam returns a path parameter of the matched route.
func routeParam(r *http.Request, name string) string { return chi.URLParam(r, name) }
