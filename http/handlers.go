package ledgerhttp

import (
	"fmt"
	"net/http"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/ledger"
)

// Write handlers: each maps its body to a domain command and calls the
// service. Validation is the domain's; the handlers only translate.

func (s *Server) openProcess(w http.ResponseWriter, r *http.Request) {
	write(s, http.StatusCreated, func(c call, b OpenProcessBody, im *uint64) (ledger.Result, error) {
		phases := make([]domain.Phase, len(b.Phases))
		for i, ph := range b.Phases {
			t, err := parseTime("phases.starts_at", ph.StartsAt)
			if err != nil {
				return ledger.Result{}, err
			}
			accepts := make([]domain.ContributionKind, len(ph.Accepts))
			for j, a := range ph.Accepts {
				accepts[j] = domain.ContributionKind(a)
			}
			phases[i] = domain.Phase{Name: ph.Name, StartsAt: t, Accepts: accepts}
		}
		return s.svc.OpenProcess(c.r.Context(), c.p.Actor(), req(c, domain.OpenProcess{
			Title: text(b.Title), Description: text(b.Description), Kind: domain.ProcessKind(b.Kind),
			OwnerBody: b.OwnerBody, CaseNumber: b.CaseNumber, Administrations: b.Administrations, Phases: phases,
			SupportThreshold: b.SupportThreshold, ModerationMode: domain.ModerationMode(b.ModerationMode),
			PolicyReference: b.PolicyReference,
		}, im))
	})(w, r)
}

func text(t TextBody) domain.Text { return domain.Text{Sv: t.Sv, En: t.En} }

func (s *Server) changePhase(w http.ResponseWriter, r *http.Request) {
	write(s, http.StatusCreated, func(c call, b ChangePhaseBody, im *uint64) (ledger.Result, error) {
		return s.svc.ChangePhase(c.r.Context(), c.p.Actor(), c.id, req(c, domain.ChangePhase{To: b.To}, im))
	})(w, r)
}

func (s *Server) closeProcess(w http.ResponseWriter, r *http.Request) {
	write(s, http.StatusCreated, func(c call, b CloseProcessBody, im *uint64) (ledger.Result, error) {
		return s.svc.CloseProcess(c.r.Context(), c.p.Actor(), c.id, req(c, domain.CloseProcess{Reason: b.Reason}, im))
	})(w, r)
}

func (s *Server) publishSurvey(w http.ResponseWriter, r *http.Request) {
	write(s, http.StatusCreated, func(c call, b PublishSurveyBody, im *uint64) (ledger.Result, error) {
		qs := make([]domain.Question, len(b.Questions))
		for i, q := range b.Questions {
			opts := make([]domain.Option, len(q.Options))
			for j, o := range q.Options {
				opts[j] = domain.Option{ID: o.ID, Text: text(o.Text)}
			}
			qs[i] = domain.Question{ID: q.ID, Kind: domain.QuestionKind(q.Kind), Text: text(q.Text), Options: opts,
				ScaleMin: q.ScaleMin, ScaleMax: q.ScaleMax, Required: q.Required}
		}
		return s.svc.PublishSurvey(c.r.Context(), c.p.Actor(), c.id, req(c, domain.PublishSurvey{Title: text(b.Title), Questions: qs}, im))
	})(w, r)
}

func (s *Server) recordFeedback(w http.ResponseWriter, r *http.Request) {
	write(s, http.StatusCreated, func(c call, b FeedbackBody, im *uint64) (ledger.Result, error) {
		return s.svc.RecordFeedback(c.r.Context(), c.p.Actor(), c.id, req(c, domain.RecordFeedback{Summary: b.Summary, Body: b.Body,
			Paragraph: b.Paragraph, DecidedOn: b.DecidedOn, Outcome: b.Outcome, Progress: b.Progress, Answers: b.Answers}, im))
	})(w, r)
}

// occurred applies an intake-supplied occurred_at to the request.
func occurred[C any](rq ledger.Request[C], field, v string) (ledger.Request[C], error) {
	t, err := parseTime(field, v)
	rq.OccurredAt = t
	return rq, err
}

func (s *Server) receiveSubmission(w http.ResponseWriter, r *http.Request) {
	write(s, http.StatusCreated, func(c call, b SubmissionBody, im *uint64) (ledger.Result, error) {
		rq, err := occurred(req(c, domain.ReceiveSubmission{Author: b.Author, Channel: domain.Channel(b.Channel),
			Language: b.Language, Title: b.Title, Body: b.Body}, im), "occurred_at", b.OccurredAt)
		if err != nil {
			return ledger.Result{}, err
		}
		return s.svc.ReceiveSubmission(c.r.Context(), c.p.Actor(), c.id, rq)
	})(w, r)
}

func (s *Server) reviseSubmission(w http.ResponseWriter, r *http.Request) {
	write(s, http.StatusCreated, func(c call, b RevisionBody, im *uint64) (ledger.Result, error) {
		return s.svc.ReviseSubmission(c.r.Context(), c.p.Actor(), c.id, req(c, domain.ReviseSubmission{Title: b.Title, Body: b.Body}, im))
	})(w, r)
}

func (s *Server) postComment(w http.ResponseWriter, r *http.Request) {
	write(s, http.StatusCreated, func(c call, b CommentBody, im *uint64) (ledger.Result, error) {
		rq, err := occurred(req(c, domain.PostComment{ParentID: b.ParentID, Author: b.Author, Channel: domain.Channel(b.Channel),
			Language: b.Language, Body: b.Body}, im), "occurred_at", b.OccurredAt)
		if err != nil {
			return ledger.Result{}, err
		}
		return s.svc.PostComment(c.r.Context(), c.p.Actor(), c.id, rq)
	})(w, r)
}

func (s *Server) giveSupport(w http.ResponseWriter, r *http.Request) {
	write(s, http.StatusCreated, func(c call, b SupportBody, im *uint64) (ledger.Result, error) {
		return s.svc.GiveSupport(c.r.Context(), c.p.Actor(), c.id, req(c, domain.GiveSupport{ParticipantID: b.Participant}, im))
	})(w, r)
}

func (s *Server) withdrawSupport(w http.ResponseWriter, r *http.Request) {
	write(s, http.StatusOK, func(c call, b SupportBody, im *uint64) (ledger.Result, error) {
		return s.svc.WithdrawSupport(c.r.Context(), c.p.Actor(), c.id, req(c, domain.WithdrawSupport{ParticipantID: b.Participant}, im))
	})(w, r)
}

func (s *Server) flag(w http.ResponseWriter, r *http.Request) {
	write(s, http.StatusCreated, func(c call, b FlagBody, im *uint64) (ledger.Result, error) {
		src := domain.FlagSource(b.Source)
		if src == "" {
			src = domain.FlagByStaff
			if c.p.Role == domain.RoleParticipant {
				src = domain.FlagByParticipant
			}
		}
		var cl *domain.Classifier
		if b.Classifier != nil {
			cl = &domain.Classifier{Name: b.Classifier.Name, Version: b.Classifier.Version, Score: b.Classifier.Score}
		}
		return s.svc.FlagContent(c.r.Context(), c.p.Actor(), domain.ItemKind(b.Item.Kind), b.Item.ID, req(c, domain.FlagContent{
			ContentVersion: b.ContentVersion, Source: src, Classifier: cl, Category: domain.Category(b.Category),
			Explanation: b.Explanation}, im))
	})(w, r)
}

func (s *Server) decide(w http.ResponseWriter, r *http.Request) {
	write(s, http.StatusCreated, func(c call, b DecisionBody, im *uint64) (ledger.Result, error) {
		return s.svc.DecideModeration(c.r.Context(), c.p.Actor(), domain.ItemKind(b.Item.Kind), b.Item.ID, req(c, domain.DecideModeration{
			ContentVersion: b.ContentVersion, Visibility: domain.Visibility(b.Visibility), Ground: domain.Ground(b.Ground),
			LegalGround: b.LegalGround, PolicyClause: b.PolicyClause, Category: domain.Category(b.Category),
			Explanation: b.Explanation, GroundExplanation: b.GroundExplanation, ContentType: contentTypes(b.ContentType),
			ContentTypeOther: b.ContentTypeOther, ContentDate: b.ContentDate, TerritorialScope: b.TerritorialScope,
			AutomatedDetection: b.AutomatedDetection,
			AutomatedDecision:  domain.AutomatedDecision(b.AutomatedDecision), Source: domain.DecisionSource(b.Source),
			FlagIDs: b.FlagIDs}, im))
	})(w, r)
}

func contentTypes(ts []string) []domain.ContentType {
	out := make([]domain.ContentType, len(ts))
	for i, t := range ts {
		out[i] = domain.ContentType(t)
	}
	return out
}

func (s *Server) fileAppeal(w http.ResponseWriter, r *http.Request) {
	write(s, http.StatusCreated, func(c call, b AppealBody, im *uint64) (ledger.Result, error) {
		rq, err := occurred(req(c, domain.FileAppeal{DecisionID: b.DecisionID, Grounds: b.Grounds, OnBehalfOf: b.OnBehalfOf}, im),
			"occurred_at", b.OccurredAt)
		if err != nil {
			return ledger.Result{}, err
		}
		return s.svc.FileAppeal(c.r.Context(), c.p.Actor(), domain.ItemKind(b.Item.Kind), b.Item.ID, rq)
	})(w, r)
}

func (s *Server) decideAppeal(w http.ResponseWriter, r *http.Request) {
	write(s, http.StatusCreated, func(c call, b AppealDecisionBody, im *uint64) (ledger.Result, error) {
		return s.svc.DecideAppeal(c.r.Context(), c.p.Actor(), domain.ItemKind(b.Item.Kind), b.Item.ID, req(c, domain.DecideAppeal{
			AppealID: c.id, Outcome: b.Outcome, Explanation: b.Explanation}, im))
	})(w, r)
}

func (s *Server) forward(w http.ResponseWriter, r *http.Request) {
	write(s, http.StatusCreated, func(c call, b ForwardBody, im *uint64) (ledger.Result, error) {
		return s.svc.ForwardSubmission(c.r.Context(), c.p.Actor(), c.id, req(c, domain.ForwardSubmission{
			To: b.To, Note: b.Note, CaseNumber: b.CaseNumber, RespondBy: b.RespondBy}, im))
	})(w, r)
}

func (s *Server) respond(w http.ResponseWriter, r *http.Request) {
	write(s, http.StatusCreated, func(c call, b ResponseBody, im *uint64) (ledger.Result, error) {
		return s.svc.PublishResponse(c.r.Context(), c.p.Actor(), c.id, req(c, domain.PublishResponse{
			Body: b.Body, ResponsibleBody: b.ResponsibleBody, DecisionReference: b.DecisionReference, Outcome: b.Outcome}, im))
	})(w, r)
}

func (s *Server) registerParticipant(w http.ResponseWriter, r *http.Request) {
	write(s, http.StatusCreated, func(c call, b ParticipantBody, im *uint64) (ledger.Result, error) {
		return s.svc.RegisterParticipant(c.r.Context(), c.p.Actor(), req(c, domain.RegisterParticipant{
			Pseudonym: b.Pseudonym, Name: b.Name, Email: b.Email, District: b.District, AgeBand: b.AgeBand,
			Language: b.Language, PublishName: b.PublishName, ResearchUse: b.ResearchUse}, im))
	})(w, r)
}

func (s *Server) changeConsent(w http.ResponseWriter, r *http.Request) {
	write(s, http.StatusCreated, func(c call, b ConsentBody, im *uint64) (ledger.Result, error) {
		if err := own(c.p, c.id); err != nil {
			return ledger.Result{}, err
		}
		if b.PublishName == nil || b.ResearchUse == nil {
			return ledger.Result{}, fmt.Errorf("%w: publish_name and research_use are both required", domain.ErrInvalid)
		}
		return s.svc.ChangeConsent(c.r.Context(), c.p.Actor(), c.id, req(c, domain.ChangeConsent{
			PublishName: *b.PublishName, ResearchUse: *b.ResearchUse}, im))
	})(w, r)
}

func (s *Server) requestErasure(w http.ResponseWriter, r *http.Request) {
	write(s, http.StatusCreated, func(c call, b ErasureBody, im *uint64) (ledger.Result, error) {
		if err := own(c.p, c.id); err != nil {
			return ledger.Result{}, err
		}
		return s.svc.RequestErasure(c.r.Context(), c.p.Actor(), c.id, req(c, domain.RequestErasure{
			Reason: b.Reason, Channel: domain.Channel(b.Channel)}, im))
	})(w, r)
}

func (s *Server) answerSurvey(w http.ResponseWriter, r *http.Request) {
	write(s, http.StatusCreated, func(c call, b SurveyAnswerBody, im *uint64) (ledger.Result, error) {
		answers := make([]domain.SurveyResponse, len(b.Answers))
		for i, a := range b.Answers {
			answers[i] = domain.SurveyResponse{QuestionID: a.QuestionID, Choices: a.Choices, Scale: a.Scale, Text: a.Text}
		}
		return s.svc.AnswerSurvey(c.r.Context(), c.p.Actor(), c.id, req(c, domain.AnswerSurvey{
			ParticipantID: b.Participant, Channel: domain.Channel(b.Channel), Answers: answers}, im))
	})(w, r)
}

func (s *Server) decideErasure(w http.ResponseWriter, r *http.Request) {
	write(s, http.StatusCreated, func(c call, b ErasureDecisionBody, im *uint64) (ledger.Result, error) {
		return s.svc.DecideErasure(c.r.Context(), c.p.Actor(), c.id, req(c, domain.DecideErasure{
			RequestID: b.RequestID, Outcome: b.Outcome, Basis: b.Basis, Explanation: b.Explanation}, im))
	})(w, r)
}

func (s *Server) dispose(w http.ResponseWriter, r *http.Request) {
	write(s, http.StatusCreated, func(c call, b DisposalBody, im *uint64) (ledger.Result, error) {
		return s.svc.Dispose(c.r.Context(), c.p.Actor(), req(c, domain.DecideDisposal{
			CaseNumber: b.CaseNumber, Scope: domain.DisposalScope(b.Scope), SubjectID: b.SubjectID, LegalBasis: b.LegalBasis}, im))
	})(w, r)
}
