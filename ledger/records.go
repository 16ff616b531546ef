package ledger

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/privacy"
)

// AnswerSurvey records a participant's answers to process processID's
// survey (the current survey when SurveyID is empty).
func (s *Service) AnswerSurvey(ctx context.Context, actor domain.Actor, processID string, r Request[domain.AnswerSurvey]) (Result, error) {
	m := metaOf(actor, r)
	c := r.Command
	c.By = actor
	c.ParticipantID = selfIfParticipant(c.ParticipantID, actor)
	c.Channel = orDefault(c.Channel, domain.ChannelWeb)
	p, err := s.process(ctx, processID)
	if err != nil {
		return Result{}, err
	}
	if c.SurveyID == "" && p.Survey != nil {
		c.SurveyID = p.Survey.SurveyID
	}
	if c.ParticipantID == "" {
		return Result{}, fmt.Errorf("%w: participant id required", domain.ErrInvalid)
	}
	return s.execute(ctx, m, processID, domain.StreamForSurveyAnswer(processID, c.ParticipantID),
		privacy.Labels{"participant": c.ParticipantID},
		func(cur []domain.Event) ([]domain.Event, error) {
			return domain.Fold[domain.SurveyAnswer](cur).Answer(p, c)
		})
}

// DecideErasure decides participant id's erasure request. A granted one
// closes the account in the same request — every token of the participant
// is revoked (TokenRevoked on the tokens stream) and the erasure hooks run
// (web sessions end) — and then shreds the participant's keys like a
// participant-scoped disposal. Each step is idempotent, so a request
// retried after a crash finishes what the first attempt began.
func (s *Service) DecideErasure(ctx context.Context, actor domain.Actor, id string, r Request[domain.DecideErasure]) (Result, error) {
	m := metaOf(actor, r)
	c := r.Command
	c.By = actor
	res, err := s.onParticipant(ctx, m, id, c.RequestID, func(p domain.Participant) ([]domain.Event, error) {
		return p.DecideErasure(c)
	})
	if err != nil || c.Outcome != domain.ErasureGranted {
		return res, err
	}
	if res, err = s.closeAccount(ctx, m, res, id, "erasure granted (request "+c.RequestID+")"); err != nil {
		return res, err
	}
	return s.shred(ctx, m, res, c.RequestID, domain.ScopeParticipant, id)
}

// closeAccount revokes every token of participant id and runs the erasure
// hooks (web sessions end), adding the revocations to res.
func (s *Service) closeAccount(ctx context.Context, m meta, res Result, id, reason string) (Result, error) {
	revoked, err := s.revokeParticipantTokens(ctx, m, id, reason)
	if err != nil {
		return res, err
	}
	res.Events = append(res.Events, revoked.Events...)
	for _, hook := range s.onErasure {
		if err := hook(ctx, id); err != nil {
			return res, fmt.Errorf("ledger: ending the participant's sessions: %w", err)
		}
	}
	return res, nil
}

// revokeParticipantTokens revokes every live token bound to participant id
// and reloads the token index, so the tokens stop working at once in this
// process (other processes reload within a second, see Authenticate).
func (s *Service) revokeParticipantTokens(ctx context.Context, m meta, id, reason string) (Result, error) {
	m.salt = "revoke-tokens"
	m.ifMatch = nil // the caller's revision was for the decision
	res, err := s.execute(ctx, m, id, domain.TokensStream, nil, func(cur []domain.Event) ([]domain.Event, error) {
		evs, err := domain.Fold[domain.Tokens](cur).RevokeParticipant(id, reason, m.actor)
		if err == nil && len(evs) == 0 {
			return nil, errNoTokens
		}
		return evs, err
	})
	if errors.Is(err, errNoTokens) {
		return Result{ID: id}, nil
	}
	if err != nil {
		return Result{}, err
	}
	return res, s.LoadTokens(ctx)
}

var errNoTokens = errors.New("ledger: no live token")

// Dispose records a disposal decision (gallringsbeslut) on the subject's
// stream, destroys the data keys in its scope and records which.
func (s *Service) Dispose(ctx context.Context, actor domain.Actor, r Request[domain.DecideDisposal]) (Result, error) {
	m := metaOf(actor, r)
	c := r.Command
	c.By = actor
	c.DisposalID = orDefault(c.DisposalID, m.newID("disposal"))
	switch c.Scope {
	case domain.ScopeParticipant, domain.ScopeSubmission, domain.ScopeComment, domain.ScopeProcess:
	default:
		return Result{}, fmt.Errorf("%w: scope %q is not participant, submission, comment or process", domain.ErrInvalid, c.Scope)
	}
	stream := domain.StreamForDisposal(c.Scope, c.SubjectID)
	res, err := s.execute(ctx, m, c.DisposalID, stream, nil, func(cur []domain.Event) ([]domain.Event, error) {
		return domain.Fold[domain.Subject](cur).DecideDisposal(c)
	})
	if err != nil {
		return res, err
	}
	if c.Scope == domain.ScopeParticipant {
		// A disposed participant's account closes as an erased one's does.
		if res, err = s.closeAccount(ctx, m, res, c.SubjectID, "disposal decided ("+c.CaseNumber+")"); err != nil {
			return res, err
		}
	}
	return s.shred(ctx, m, res, c.DisposalID, c.Scope, c.SubjectID)
}

// shred destroys the keys in scope and appends KeysShredded after the
// decision res recorded. The order is the point: the decision is in the
// log before any key is destroyed, and KeysShredded is appended only after
// every key is gone. After a crash in between, the retried request
// (same idempotency key) finds the decision, shreds again — a no-op for
// keys already destroyed — and appends KeysShredded. The subjects are
// derived from the log, not only from the key store, so the retry lists
// the same keys although they are no longer live.
func (s *Service) shred(ctx context.Context, m meta, res Result, decisionID string, scope domain.DisposalScope, subjectID string) (Result, error) {
	subjects, err := s.keysInScope(ctx, scope, subjectID)
	if err != nil {
		return res, err
	}
	if err := s.keys.Shred(subjects...); err != nil {
		return res, fmt.Errorf("ledger: shredding: %w", err)
	}
	m.salt = "shred"
	m.ifMatch = nil // the caller's revision was for the decision
	rec := domain.RecordShredding{DecisionID: decisionID, Scope: scope, SubjectID: subjectID, Subjects: subjects, By: m.actor}
	more, err := s.execute(ctx, m, res.ID, domain.StreamForDisposal(scope, subjectID), nil, func(cur []domain.Event) ([]domain.Event, error) {
		return domain.Fold[domain.Subject](cur).RecordShredding(rec)
	})
	if err != nil {
		return res, err
	}
	res.Events = append(res.Events, more.Events...)
	return res, nil
}

// keysInScope lists the key subjects a disposal destroys: for a
// participant their own key and the keys of content they authored; for an
// item its key; for a process the keys of its submissions and comments.
// Content ids come from a scan of the log (disposal is rare); live keys
// labelled with the scope are added so nothing sealed outside this service
// escapes.
func (s *Service) keysInScope(ctx context.Context, scope domain.DisposalScope, id string) ([]string, error) {
	set := map[string]bool{}
	label := ""
	switch scope {
	case domain.ScopeSubmission, domain.ScopeComment:
		return []string{id}, nil
	case domain.ScopeParticipant:
		set[id] = true
		label = "participant"
	case domain.ScopeProcess:
		label = "process"
	}
	labelled, err := s.keys.Subjects(label, id)
	if err != nil {
		return nil, fmt.Errorf("ledger: listing keys: %w", err)
	}
	for _, k := range labelled {
		set[k] = true
	}
	var after eventstore.Position
	for {
		evs, err := s.store.ReadAll(ctx, after, 4096)
		if err != nil {
			return nil, fmt.Errorf("ledger: reading the log: %w", err)
		}
		for _, e := range evs {
			if e.Type != "SubmissionReceived" && e.Type != "CommentPosted" {
				continue
			}
			de, err := domain.Decode(e.Type, e.Version, e.Data)
			if err != nil {
				return nil, fmt.Errorf("ledger: decoding position %d: %w", e.Position, err)
			}
			switch v := de.(type) {
			case *domain.SubmissionReceived:
				if (scope == domain.ScopeParticipant && v.Author == id) || (scope == domain.ScopeProcess && v.ProcessID == id) {
					set[v.SubmissionID] = true
				}
			case *domain.CommentPosted:
				if (scope == domain.ScopeParticipant && v.Author == id) || (scope == domain.ScopeProcess && v.ProcessID == id) {
					set[v.CommentID] = true
				}
			}
		}
		if len(evs) < 4096 {
			break
		}
		after = evs[len(evs)-1].Position
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	slices.Sort(out)
	if len(out) == 0 {
		// A process with no content still gets its shredding recorded:
		// the decision's own subject stands for "nothing to destroy".
		out = []string{id}
	}
	return out, nil
}
