package ledger

import (
	"context"
	"fmt"
	"time"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/privacy"
)

// One method per domain command. Each fills in what the request context
// decides (the actor, derived ids, defaults a participant need not send),
// loads whatever other aggregate the domain needs, and executes on the
// target stream. Ids left empty are derived from the idempotency key so a
// retried request addresses the same new aggregate.

func fold[S any, P interface {
	*S
	Apply(domain.Event)
}](ctx context.Context, s *Service, stream string) (S, error) {
	l, err := s.load(ctx, stream)
	if err != nil {
		var zero S
		return zero, err
	}
	return domain.Fold[S, P](l.events), nil
}

func (s *Service) process(ctx context.Context, id string) (domain.Process, error) {
	p, err := fold[domain.Process](ctx, s, domain.StreamForProcess(id))
	p.ID = id // so "does not exist" errors name it
	return p, err
}

func (s *Service) submission(ctx context.Context, id string) (domain.Submission, error) {
	return fold[domain.Submission](ctx, s, domain.StreamForSubmission(id))
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// selfIfParticipant defaults a participant id to the acting participant.
func selfIfParticipant(id string, actor domain.Actor) string {
	if id == "" && actor.Role == domain.RoleParticipant {
		return actor.ID
	}
	return id
}

func contentLabels(author, process string) privacy.Labels {
	return privacy.Labels{"participant": author, "process": process}
}

// OpenProcess opens a process.
func (s *Service) OpenProcess(ctx context.Context, actor domain.Actor, r Request[domain.OpenProcess]) (Result, error) {
	m := metaOf(actor, r)
	c := r.Command
	c.By = actor
	c.ProcessID = orDefault(c.ProcessID, m.newID("process"))
	return s.execute(ctx, m, c.ProcessID, domain.StreamForProcess(c.ProcessID), nil, func(cur []domain.Event) ([]domain.Event, error) {
		return domain.Fold[domain.Process](cur).Open(c)
	})
}

// ChangePhase moves process id to another phase.
func (s *Service) ChangePhase(ctx context.Context, actor domain.Actor, id string, r Request[domain.ChangePhase]) (Result, error) {
	m := metaOf(actor, r)
	c := r.Command
	c.By = actor
	return s.execute(ctx, m, id, domain.StreamForProcess(id), nil, func(cur []domain.Event) ([]domain.Event, error) {
		return withID(domain.Fold[domain.Process](cur), id).ChangePhase(c)
	})
}

// CloseProcess closes process id.
func (s *Service) CloseProcess(ctx context.Context, actor domain.Actor, id string, r Request[domain.CloseProcess]) (Result, error) {
	m := metaOf(actor, r)
	c := r.Command
	c.By = actor
	return s.execute(ctx, m, id, domain.StreamForProcess(id), nil, func(cur []domain.Event) ([]domain.Event, error) {
		return withID(domain.Fold[domain.Process](cur), id).Close(c)
	})
}

// RecordFeedback records the elected body's feedback on process id.
func (s *Service) RecordFeedback(ctx context.Context, actor domain.Actor, id string, r Request[domain.RecordFeedback]) (Result, error) {
	m := metaOf(actor, r)
	c := r.Command
	c.By = actor
	c.FeedbackID = orDefault(c.FeedbackID, m.newID("feedback"))
	res, err := s.execute(ctx, m, id, domain.StreamForProcess(id), nil, func(cur []domain.Event) ([]domain.Event, error) {
		return withID(domain.Fold[domain.Process](cur), id).RecordFeedback(c)
	})
	res.ID = c.FeedbackID
	return res, err
}

// PublishSurvey publishes process id's survey.
func (s *Service) PublishSurvey(ctx context.Context, actor domain.Actor, id string, r Request[domain.PublishSurvey]) (Result, error) {
	m := metaOf(actor, r)
	c := r.Command
	c.By = actor
	c.SurveyID = orDefault(c.SurveyID, m.newID("survey"))
	res, err := s.execute(ctx, m, id, domain.StreamForProcess(id), nil, func(cur []domain.Event) ([]domain.Event, error) {
		return withID(domain.Fold[domain.Process](cur), id).PublishSurvey(c)
	})
	res.ID = c.SurveyID
	return res, err
}

func withID(p domain.Process, id string) domain.Process {
	if !p.Exists {
		p.ID = id
	}
	return p
}

// ReceiveSubmission records a submission to process processID.
func (s *Service) ReceiveSubmission(ctx context.Context, actor domain.Actor, processID string, r Request[domain.ReceiveSubmission]) (Result, error) {
	m := metaOf(actor, r)
	c := r.Command
	c.By = actor
	c.Author = selfIfParticipant(c.Author, actor)
	c.Channel = orDefault(c.Channel, domain.ChannelWeb)
	c.SubmissionID = orDefault(c.SubmissionID, m.newID("submission"))
	p, err := s.process(ctx, processID)
	if err != nil {
		return Result{}, err
	}
	return s.execute(ctx, m, c.SubmissionID, domain.StreamForSubmission(c.SubmissionID), contentLabels(c.Author, processID),
		func(cur []domain.Event) ([]domain.Event, error) {
			return domain.Fold[domain.Submission](cur).Receive(p, c)
		})
}

// ReviseSubmission publishes a new version of submission id.
func (s *Service) ReviseSubmission(ctx context.Context, actor domain.Actor, id string, r Request[domain.ReviseSubmission]) (Result, error) {
	m := metaOf(actor, r)
	c := r.Command
	c.By = actor
	return s.onSubmission(ctx, m, id, func(sub domain.Submission, p domain.Process) ([]domain.Event, error) {
		return sub.Revise(p, c)
	})
}

// onSubmission executes on a submission's stream with its process's state.
func (s *Service) onSubmission(ctx context.Context, m meta, id string, decide func(domain.Submission, domain.Process) ([]domain.Event, error)) (Result, error) {
	sub, err := s.submission(ctx, id)
	if err != nil {
		return Result{}, err
	}
	if !sub.Exists {
		return Result{}, fmt.Errorf("submission %q: %w", id, domain.ErrNotFound)
	}
	p, err := s.process(ctx, sub.ProcessID)
	if err != nil {
		return Result{}, err
	}
	return s.execute(ctx, m, id, domain.StreamForSubmission(id), contentLabels(sub.Author, sub.ProcessID),
		func(cur []domain.Event) ([]domain.Event, error) {
			return decide(domain.Fold[domain.Submission](cur), p)
		})
}

// GiveSupport records support for submission id.
func (s *Service) GiveSupport(ctx context.Context, actor domain.Actor, id string, r Request[domain.GiveSupport]) (Result, error) {
	m := metaOf(actor, r)
	c := r.Command
	c.By = actor
	c.ParticipantID = selfIfParticipant(c.ParticipantID, actor)
	return s.onSubmission(ctx, m, id, func(sub domain.Submission, p domain.Process) ([]domain.Event, error) {
		return sub.GiveSupport(p, c)
	})
}

// WithdrawSupport withdraws support for submission id.
func (s *Service) WithdrawSupport(ctx context.Context, actor domain.Actor, id string, r Request[domain.WithdrawSupport]) (Result, error) {
	m := metaOf(actor, r)
	c := r.Command
	c.By = actor
	c.ParticipantID = selfIfParticipant(c.ParticipantID, actor)
	return s.onSubmission(ctx, m, id, func(sub domain.Submission, p domain.Process) ([]domain.Event, error) {
		return sub.WithdrawSupport(p, c)
	})
}

// ForwardSubmission forwards submission id to another administration.
func (s *Service) ForwardSubmission(ctx context.Context, actor domain.Actor, id string, r Request[domain.ForwardSubmission]) (Result, error) {
	m := metaOf(actor, r)
	c := r.Command
	c.By = actor
	return s.onSubmission(ctx, m, id, func(sub domain.Submission, _ domain.Process) ([]domain.Event, error) {
		return sub.Forward(c)
	})
}

// PublishResponse publishes the official response to submission id.
func (s *Service) PublishResponse(ctx context.Context, actor domain.Actor, id string, r Request[domain.PublishResponse]) (Result, error) {
	m := metaOf(actor, r)
	c := r.Command
	c.By = actor
	c.ResponseID = orDefault(c.ResponseID, m.newID("response"))
	return s.onSubmission(ctx, m, id, func(sub domain.Submission, _ domain.Process) ([]domain.Event, error) {
		return sub.PublishResponse(c)
	})
}

// PostComment posts a comment on submission id.
func (s *Service) PostComment(ctx context.Context, actor domain.Actor, submissionID string, r Request[domain.PostComment]) (Result, error) {
	m := metaOf(actor, r)
	c := r.Command
	c.By = actor
	c.Author = selfIfParticipant(c.Author, actor)
	c.Channel = orDefault(c.Channel, domain.ChannelWeb)
	c.CommentID = orDefault(c.CommentID, m.newID("comment"))
	sub, err := s.submission(ctx, submissionID)
	if err != nil {
		return Result{}, err
	}
	if !sub.Exists {
		return Result{}, fmt.Errorf("submission %q: %w", submissionID, domain.ErrNotFound)
	}
	p, err := s.process(ctx, sub.ProcessID)
	if err != nil {
		return Result{}, err
	}
	var parent domain.Comment
	if c.ParentID != "" {
		if parent, err = fold[domain.Comment](ctx, s, domain.StreamForComment(c.ParentID)); err != nil {
			return Result{}, err
		}
	}
	return s.execute(ctx, m, c.CommentID, domain.StreamForComment(c.CommentID), contentLabels(c.Author, sub.ProcessID),
		func(cur []domain.Event) ([]domain.Event, error) {
			return domain.Fold[domain.Comment](cur).Post(p, sub, parent, c)
		})
}

// item folds a moderated item's stream.
func itemOf(kind domain.ItemKind, cur []domain.Event) domain.Item {
	switch kind {
	case domain.ItemComment:
		return domain.Fold[domain.Comment](cur).Item
	case domain.ItemStatement:
		return domain.Fold[domain.Statement](cur).Item
	}
	return domain.Fold[domain.Submission](cur).Item
}

// onItem executes on a moderated item's stream.
func (s *Service) onItem(ctx context.Context, m meta, kind domain.ItemKind, id, resultID string, decide func(domain.Item) ([]domain.Event, error)) (Result, error) {
	if kind != domain.ItemSubmission && kind != domain.ItemComment && kind != domain.ItemStatement {
		return Result{}, fmt.Errorf("%w: item kind %q is not submission, comment or statement", domain.ErrInvalid, kind)
	}
	res, err := s.execute(ctx, m, id, domain.StreamForItem(kind, id), nil, func(cur []domain.Event) ([]domain.Event, error) {
		it := itemOf(kind, cur)
		if !it.Exists {
			return nil, fmt.Errorf("%s %q: %w", kind, id, domain.ErrNotFound)
		}
		return decide(it)
	})
	if resultID != "" {
		res.ID = resultID
	}
	return res, err
}

// FlagContent records a notice about item id of kind.
func (s *Service) FlagContent(ctx context.Context, actor domain.Actor, kind domain.ItemKind, id string, r Request[domain.FlagContent]) (Result, error) {
	m := metaOf(actor, r)
	c := r.Command
	c.By = actor
	c.FlagID = orDefault(c.FlagID, m.newID("flag"))
	return s.onItem(ctx, m, kind, id, c.FlagID, func(it domain.Item) ([]domain.Event, error) { return it.Flag(c) })
}

// DecideModeration records a moderation decision on item id of kind.
func (s *Service) DecideModeration(ctx context.Context, actor domain.Actor, kind domain.ItemKind, id string, r Request[domain.DecideModeration]) (Result, error) {
	m := metaOf(actor, r)
	c := r.Command
	c.By = actor
	c.At = orDefault(c.At, orDefault(r.OccurredAt, s.now())) // imported history decides "then", not now
	c.DecisionID = orDefault(c.DecisionID, m.newID("decision"))
	if len(c.ContentType) == 0 {
		c.ContentType = []domain.ContentType{domain.ContentText} // what the ledger stores: it has no attachments
	}
	if c.ContentDate == "" {
		posted, err := s.contentPosted(ctx, kind, id, c.ContentVersion)
		if err != nil {
			return Result{}, err
		}
		if !posted.IsZero() {
			c.ContentDate = posted.UTC().Format(time.DateOnly)
		}
	}
	return s.onItem(ctx, m, kind, id, c.DecisionID, func(it domain.Item) ([]domain.Event, error) { return it.Decide(c) })
}

// contentPosted returns when version v of an item was posted (the
// occurred-at of the event that posted it), or zero if it has no version v.
func (s *Service) contentPosted(ctx context.Context, kind domain.ItemKind, id string, v int) (time.Time, error) {
	l, err := s.load(ctx, domain.StreamForItem(kind, id))
	if err != nil {
		return time.Time{}, err
	}
	for i, ev := range l.events {
		if item, ver, ok := domain.PostsContent(ev); ok && item == id && ver == v {
			return l.stored[i].Metadata.OccurredAt, nil
		}
	}
	return time.Time{}, nil
}

// NotifyAuthor records that the author of item id was told of a decision.
func (s *Service) NotifyAuthor(ctx context.Context, actor domain.Actor, kind domain.ItemKind, id string, r Request[domain.NotifyAuthor]) (Result, error) {
	m := metaOf(actor, r)
	c := r.Command
	c.By = actor
	return s.onItem(ctx, m, kind, id, "", func(it domain.Item) ([]domain.Event, error) { return it.NotifyAuthor(c) })
}

// FileAppeal appeals a decision on item id of kind.
func (s *Service) FileAppeal(ctx context.Context, actor domain.Actor, kind domain.ItemKind, id string, r Request[domain.FileAppeal]) (Result, error) {
	m := metaOf(actor, r)
	c := r.Command
	c.By = actor
	c.At = orDefault(c.At, orDefault(r.OccurredAt, s.now()))
	c.AppealID = orDefault(c.AppealID, m.newID("appeal"))
	return s.onItem(ctx, m, kind, id, c.AppealID, func(it domain.Item) ([]domain.Event, error) { return it.FileAppeal(c) })
}

// DecideAppeal decides an appeal on item id of kind.
func (s *Service) DecideAppeal(ctx context.Context, actor domain.Actor, kind domain.ItemKind, id string, r Request[domain.DecideAppeal]) (Result, error) {
	m := metaOf(actor, r)
	c := r.Command
	c.By = actor
	return s.onItem(ctx, m, kind, id, c.AppealID, func(it domain.Item) ([]domain.Event, error) { return it.DecideAppeal(c) })
}

// RegisterParticipant registers a participant.
func (s *Service) RegisterParticipant(ctx context.Context, actor domain.Actor, r Request[domain.RegisterParticipant]) (Result, error) {
	m := metaOf(actor, r)
	c := r.Command
	c.By = actor
	c.ParticipantID = orDefault(c.ParticipantID, m.newID("participant"))
	return s.execute(ctx, m, c.ParticipantID, domain.StreamForParticipant(c.ParticipantID), privacy.Labels{"participant": c.ParticipantID},
		func(cur []domain.Event) ([]domain.Event, error) {
			return domain.Fold[domain.Participant](cur).Register(c)
		})
}

// onParticipant executes on participant id's stream.
func (s *Service) onParticipant(ctx context.Context, m meta, id, resultID string, decide func(domain.Participant) ([]domain.Event, error)) (Result, error) {
	res, err := s.execute(ctx, m, id, domain.StreamForParticipant(id), privacy.Labels{"participant": id},
		func(cur []domain.Event) ([]domain.Event, error) {
			p := domain.Fold[domain.Participant](cur)
			if !p.Exists {
				return nil, fmt.Errorf("participant %q: %w", id, domain.ErrNotFound)
			}
			return decide(p)
		})
	if resultID != "" {
		res.ID = resultID
	}
	return res, err
}

// ChangeConsent sets participant id's consents.
func (s *Service) ChangeConsent(ctx context.Context, actor domain.Actor, id string, r Request[domain.ChangeConsent]) (Result, error) {
	m := metaOf(actor, r)
	c := r.Command
	c.By = actor
	return s.onParticipant(ctx, m, id, "", func(p domain.Participant) ([]domain.Event, error) { return p.ChangeConsent(c) })
}

// RequestErasure records participant id's erasure request.
func (s *Service) RequestErasure(ctx context.Context, actor domain.Actor, id string, r Request[domain.RequestErasure]) (Result, error) {
	m := metaOf(actor, r)
	c := r.Command
	c.By = actor
	c.Channel = orDefault(c.Channel, domain.ChannelWeb)
	c.RequestID = orDefault(c.RequestID, m.newID("erasure"))
	return s.onParticipant(ctx, m, id, c.RequestID, func(p domain.Participant) ([]domain.Event, error) { return p.RequestErasure(c) })
}
