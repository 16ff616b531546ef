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

		// Reads (projections, integrity, exports): the read side adds its
		// GET routes here, e.g.
		//   {"GET", "/v1/processes/{id}", nil, s.process, nil, "Process overview"},
		// with roles(auditor, researcher, …) where a read is not public.
	}
}

// routeParam returns a path parameter of the matched route.
func routeParam(r *http.Request, name string) string { return chi.URLParam(r, name) }
