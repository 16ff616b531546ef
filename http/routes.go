package ledgerhttp

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/malmo/participation-ledger/domain"
)

// route is one line of the API: method, path, who may call it, handler.
// body (a zero value of the request type), summary and query feed the
// OpenAPI document, so the table is also the documentation.
type route struct {
	method  string
	pattern string
	roles   []domain.Role // none: public
	handler http.HandlerFunc
	body    any // request body type for writes; nil for none
	summary string
	// query lists every query parameter the handler reads (nil: none);
	// TestQueryParamsDocumented fails when a handler reads one not listed.
	query []param
}

// param is one query parameter: its JSON Schema type ("string",
// "integer"), format ("int64", "uuid", "date-time"; "" for none) and, for
// a closed set of values, enum.
type param struct {
	name     string
	typ      string
	format   string
	enum     []string
	required bool
	doc      string
}

func str(name, doc string) param { return param{name: name, typ: "string", doc: doc} }
func integer(name, doc string) param {
	return param{name: name, typ: "integer", format: "int64", doc: doc}
}
func oneOf(name, doc string, values ...string) param {
	return param{name: name, typ: "string", enum: values, doc: doc}
}
func required(p param) param    { p.required = true; return p }
func query(ps ...param) []param { return ps }

// The parameters several routes share.
var (
	asOf         = str("as_of", "A log position or an RFC 3339 time (recorded-at): the answer as the ledger stood then")
	viewParam    = oneOf("view", "internal: the named, unredacted view (staff roles; recorded)", "public", "internal")
	purposeParam = str("purpose", "Why staff read personal data; recorded with the read")
	processParam = str("process", "Only this process")
)

const (
	participant = domain.RoleParticipant
	intake      = domain.RoleIntake
	moderator   = domain.RoleModerator
	official    = domain.RoleOfficial
	auditor     = domain.RoleAuditor
	researcher  = domain.RoleResearcher
	admin       = domain.RoleAdmin
	elected     = domain.RoleElected
)

// table is the whole API on one screen. Participants' "own resource" rules
// (only their own submission, data, consent; appeals only on their own
// content) are checked in the handlers and the domain.
func (s *Server) table() []route {
	return []route{
		// Operations.
		{"GET", "/healthz", nil, s.healthz, nil, "Liveness", nil},
		{"GET", "/readyz", nil, s.readyz, nil, "Readiness", nil},
		{"GET", "/metrics", nil, s.MetricsHandler().ServeHTTP, nil, "Prometheus metrics", nil},
		{"GET", "/v1/openapi.json", nil, s.openapi, nil, "This document", nil},

		// Processes.
		{"POST", "/v1/processes", roles(official, admin), s.openProcess, OpenProcessBody{}, "Open a participation process", nil},
		{"POST", "/v1/processes/{id}/phase", roles(official, admin), s.changePhase, ChangePhaseBody{}, "Move a process to another phase", nil},
		{"POST", "/v1/processes/{id}/close", roles(official, admin), s.closeProcess, CloseProcessBody{}, "Close a process", nil},
		{"POST", "/v1/processes/{id}/survey", roles(official, admin), s.publishSurvey, PublishSurveyBody{}, "Publish the process's survey", nil},
		{"POST", "/v1/processes/{id}/feedback", roles(elected), s.recordFeedback, FeedbackBody{}, "Record the elected body's feedback: what was decided, where (body, §, date), which contributions it answers", nil},

		// Contributions.
		{"POST", "/v1/processes/{id}/submissions", roles(participant, intake), s.receiveSubmission, SubmissionBody{}, "Submit a proposal (intake: on a participant's behalf)", nil},
		{"POST", "/v1/submissions/{id}/revisions", roles(participant, intake), s.reviseSubmission, RevisionBody{}, "Revise one's own submission", nil},
		{"POST", "/v1/submissions/{id}/comments", roles(participant, intake), s.postComment, CommentBody{}, "Comment on a submission", nil},
		{"POST", "/v1/submissions/{id}/support", roles(participant, intake), s.giveSupport, SupportBody{}, "Support a submission", nil},
		{"DELETE", "/v1/submissions/{id}/support", roles(participant, intake), s.withdrawSupport, SupportBody{}, "Withdraw one's support", nil},
		{"POST", "/v1/processes/{id}/statements", roles(participant, intake, official, admin), s.postStatement, StatementBody{}, "Post a statement in a dialogue (official, admin: a seed statement)", nil},
		{"POST", "/v1/statements/{id}/votes", roles(participant, intake), s.castVote, VoteBody{}, "Vote agree, disagree or pass on a statement; voting again changes the vote", nil},
		{"POST", "/v1/processes/{id}/survey/answers", roles(participant, intake), s.answerSurvey, SurveyAnswerBody{}, "Answer the process's survey", nil},

		// Moderation.
		{"POST", "/v1/flags", roles(participant, intake, moderator, official, admin), s.flag, FlagBody{}, "Flag content (a notice)", nil},
		{"POST", "/v1/moderation/decisions", roles(moderator), s.decide, DecisionBody{}, "Decide on content with a statement of reasons", nil},
		{"POST", "/v1/appeals", roles(participant, intake), s.fileAppeal, AppealBody{}, "Appeal a decision on one's own content", nil},
		{"POST", "/v1/appeals/{id}/decision", roles(moderator), s.decideAppeal, AppealDecisionBody{}, "Decide an appeal (another moderator)", nil},

		// Case handling.
		{"POST", "/v1/submissions/{id}/forward", roles(official), s.forward, ForwardBody{}, "Forward a submission to another administration (remiss)", nil},
		{"POST", "/v1/submissions/{id}/response", roles(official), s.respond, ResponseBody{}, "Publish the official response", nil},

		// Participants and records.
		{"POST", "/v1/participants", roles(intake, admin), s.registerParticipant, ParticipantBody{}, "Register a participant", nil},
		{"POST", "/v1/participants/{id}/consent", roles(participant, intake), s.changeConsent, ConsentBody{}, "Change consent (own)", nil},
		{"POST", "/v1/participants/{id}/erasure", roles(participant, intake), s.requestErasure, ErasureBody{}, "Request erasure (own)", nil},
		{"POST", "/v1/participants/{id}/erasure/decision", roles(admin), s.decideErasure, ErasureDecisionBody{}, "Decide an erasure request", nil},
		{"GET", "/v1/participants/{id}/data", roles(participant, intake, admin), s.participantData, nil, "Everything recorded about a participant (own, or staff)", query(purposeParam)},
		{"POST", "/v1/disposals", roles(admin), s.dispose, DisposalBody{}, "Record a disposal decision (gallringsbeslut) and shred keys", nil},

		// Who is calling: a bearer token, or (this route only) a browser session.
		{"GET", "/v1/me", roles(participant, intake, moderator, official, auditor, researcher, admin, elected), s.me, nil, "Who the caller is: role, actor id, participant id and pseudonym (token or web session)", nil},

		// Tokens.
		{"POST", "/v1/tokens", roles(admin), s.issueToken, TokenBody{}, "Issue a bearer token", nil},
		{"POST", "/v1/admin/backup", roles(admin), s.backup, nil, "A consistent backup of the running ledger as a tar stream (store, integrity log, keys; keep it like the signing key): ledger restore reads it", nil},
		{"DELETE", "/v1/tokens/{id}", roles(admin), s.revokeToken, RevokeBody{}, "Revoke a bearer token", nil},

		// Reads of the read models: every one takes ?as_of=<position|RFC 3339
		// time> and answers {"position":N,…} with X-Ledger-Position.
		{"GET", "/v1/processes", nil, s.listProcesses, nil, "Process overviews (as_of)", query(asOf)},
		{"GET", "/v1/processes/{id}", nil, s.getProcess, nil, "A process overview: phases, counts by status, threshold progress (as_of)", query(asOf)},
		{"GET", "/v1/processes/{id}/results", nil, s.processResults, nil, "What became of a process's input: each proposal's path (received, supported, forwarded, answered, decided) with decision and outcome, the elected bodies' feedback, participation and moderation figures; CSV with Accept: text/csv (as_of)", query(asOf)},
		{"GET", "/v1/processes/{id}/submissions", nil, s.processSubmissions, nil, "A process's public submissions (as_of)", query(asOf)},
		{"GET", "/v1/submissions/{id}", nil, s.getSubmission, nil, "Public submission view; view=internal for moderator, official, admin, auditor — recorded (as_of)", query(asOf, viewParam, purposeParam)},
		{"GET", "/v1/items/{id}/trail", nil, s.itemTrail, nil, "Decision trail of a submission or comment; view=internal (named) for auditor, admin (as_of)", query(asOf, viewParam)},
		{"GET", "/v1/moderation/queue", roles(moderator, admin), s.moderationQueue, nil, "Moderation queue, oldest first; process= filters (as_of)", query(asOf, processParam)},
		{"GET", "/v1/reports/transparency", nil, s.transparencyReport, nil, "DSA transparency report; period=, from=, to=, process=, body=; CSV with Accept: text/csv (as_of)", query(asOf,
			str("period", "A year, month or quarter of occurred-at: YYYY, YYYY-MM or YYYY-Qn"),
			str("from", "Start of occurred-at, inclusive: an RFC 3339 time or YYYY-MM-DD"),
			str("to", "End of occurred-at, exclusive: an RFC 3339 time or YYYY-MM-DD"),
			processParam, str("body", "Only processes owned by this body (nämnd)"))},
		{"GET", "/v1/processes/{id}/statements", nil, s.dialogueStatements, nil, "A dialogue's statements with agree/disagree/pass counts from latest votes (as_of)", query(asOf)},
		{"GET", "/v1/processes/{id}/dialogue/timeline", nil, s.dialogueTimeline, nil, "A dialogue's participation per day of occurred-at (as_of)", query(asOf)},
		{"GET", "/v1/processes/{id}/dialogue/groups", nil, s.dialogueGroups, nil, "A dialogue's opinion groups (Polis's method), representative statements and group-informed consensus; participants only as counts and unnamed map points (as_of)", query(asOf)},
		{"GET", "/v1/processes/{id}/dialogue/matrix", roles(researcher, auditor, admin), s.dialogueMatrix, nil, "Participant × statement latest-vote matrix, participants as numbers; those without research consent left out and counted (as_of)", query(asOf)},
		{"GET", "/v1/stats/participation", nil, s.participationStats, nil, "Participation statistics of process=, small cells suppressed (as_of)", query(asOf, required(str("process", "The process")))},
		{"GET", "/v1/actors/{id}/trail", roles(moderator, official, auditor, admin), s.actorTrail, nil, "What an actor did (moderators and officials: their own); after=, limit= (as_of)", query(asOf, integer("after", "Only entries after this position"), integer("limit", "At most this many entries (default 1000, at most 10000)"))},

		// The raw log, the access log and the live feed. Streams are not
		// public: their metadata names staff and participants, which the
		// public views replace by roles and pseudonyms.
		{"GET", "/v1/events", roles(auditor, admin), s.events, nil, "The global log: from= (exclusive position), limit=; NDJSON of canonical bytes with Accept: application/x-ndjson", query(integer("from", "Only events after this position"), integer("limit", "At most this many events (default 100, at most 1000)"))},
		{"GET", "/v1/streams/{stream}", roles(auditor, admin), s.stream, nil, "One stream: from= (revision), limit=, direction=", query(integer("from", "First revision to read (backwards: from the end)"),
			integer("limit", "At most this many events (default 100, at most 1000)"),
			oneOf("direction", "Reading order (default forwards)", "forwards", "backwards"))},
		{"GET", "/v1/access", roles(auditor), s.accessLog, nil, "Recorded reads of personal data: actor=, subject=, from=, limit=", query(str("actor", "Only reads by this actor"), str("subject", "Only reads of this participant"),
			integer("from", "Only records after this position"), integer("limit", "At most this many records (default 1000, at most 10000)"))},
		{"GET", "/v1/live", nil, s.live, nil, "Read-model changes as Server-Sent Events; Last-Event-ID resumes; process= filters", query(str("process", "Only changes of these processes (comma-separated ids)"), integer("last_event_id", "Resume after this position (as the Last-Event-ID header)"))},

		// The integrity log.
		{"GET", "/v1/ledger/checkpoint", nil, s.checkpoint, nil, "Latest signed checkpoint (note text; JSON with Accept: application/json)", nil},
		{"GET", "/v1/ledger/key", nil, s.verifierKey, nil, "Checkpoint verifier key", nil},
		{"GET", "/v1/ledger/proof/inclusion", nil, s.inclusionProof, nil, "RFC 6962 inclusion proof: index= or event_id= (stream=), size=", query(integer("index", "The leaf index (an event's position minus one)"),
			param{name: "event_id", typ: "string", format: "uuid", doc: "The event's id, instead of index"},
			str("stream", "The event's stream (with event_id: avoids scanning the log)"),
			integer("size", "Tree size (default: the latest checkpoint's)"))},
		{"GET", "/v1/ledger/proof/consistency", nil, s.consistencyProof, nil, "RFC 6962 consistency proof: from=, to=", query(required(integer("from", "The older tree size")), integer("to", "The newer tree size (default: the latest checkpoint's)"))},
		{"GET", "/v1/ledger/receipt", nil, s.receiptCompletion, nil, "Completes a write's inclusion promise: the latest checkpoint and the inclusion proof of leaf index=", query(required(integer("index", "The receipt's leaf_index")))},

		// Exports: the role decides the kind (auditor: audit, researcher:
		// research pseudonymised for the caller); checked in the handler.
		{"POST", "/v1/exports", roles(auditor, researcher), s.createExport, ExportBody{}, "Write an export and record ExportIssued; answers the export id", nil},
		{"GET", "/v1/exports/dsa", roles(moderator, auditor, admin), s.dsaSummary, nil, "Restricting decisions as DSA Transparency Database statements of reasons: counts, bulk bodies, and those held back with the database's objections", nil},
		{"GET", "/v1/exports/dsa/{batch}", roles(moderator, auditor, admin), s.dsaBatch, nil, "The batch-th (from 1) bulk body of at most 100 statements of reasons (puid = decision id), ready for the database's POST /api/v1/statements", nil},
		{"GET", "/v1/exports/{id}/{file}", roles(auditor, researcher), s.exportFile, nil, "Download a file of an export (manifest.json lists them)", nil},
		{"GET", "/v1/exports/{id}/polis/{process}/{file}", roles(auditor, researcher), s.exportFile, nil, "Download a Polis-format file of a dialogue process in a research export", nil},
	}
}

// routeParam returns a path parameter of the matched route.
func routeParam(r *http.Request, name string) string { return chi.URLParam(r, name) }
