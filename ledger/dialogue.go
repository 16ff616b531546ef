package ledger

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
)

// PostStatement posts a statement (or, with Seed, an official's seed
// statement) in dialogue process processID.
func (s *Service) PostStatement(ctx context.Context, actor domain.Actor, processID string, r Request[domain.PostStatement]) (Result, error) {
	m := metaOf(actor, r)
	c := r.Command
	c.By = actor
	author := actor.ID
	if !c.Seed {
		c.Author = selfIfParticipant(c.Author, actor)
		author = c.Author
	}
	c.Channel = orDefault(c.Channel, domain.ChannelWeb)
	c.StatementID = orDefault(c.StatementID, m.newID("statement"))
	p, err := s.process(ctx, processID)
	if err != nil {
		return Result{}, err
	}
	return s.execute(ctx, m, c.StatementID, domain.StreamForStatement(c.StatementID), contentLabels(author, processID),
		func(cur []domain.Event) ([]domain.Event, error) {
			return domain.Fold[domain.Statement](cur).Post(p, c)
		})
}

// CastVote records a vote on statement statementID, on the voter's own
// vote stream in the statement's process. With an idempotency key a retry
// finds the vote it already cast instead of casting another.
func (s *Service) CastVote(ctx context.Context, actor domain.Actor, statementID string, r Request[domain.CastVote]) (Result, error) {
	m := metaOf(actor, r)
	c := r.Command
	c.By = actor
	c.StatementID = statementID
	c.ParticipantID = selfIfParticipant(c.ParticipantID, actor)
	if c.ParticipantID == "" {
		return Result{}, fmt.Errorf("%w: participant id required", domain.ErrInvalid)
	}
	st, err := fold[domain.Statement](ctx, s, domain.StreamForStatement(statementID))
	if err != nil {
		return Result{}, err
	}
	if !st.Exists {
		return Result{}, fmt.Errorf("statement %q: %w", statementID, domain.ErrNotFound)
	}
	p, err := s.process(ctx, st.ProcessID)
	if err != nil {
		return Result{}, err
	}
	return s.execute(ctx, m, statementID, domain.StreamForVotes(p.ID, c.ParticipantID), nil,
		func(cur []domain.Event) ([]domain.Event, error) {
			return domain.Fold[domain.Votes](cur).Cast(p, st, c)
		})
}

// StartImport records on process processID's stream that an import began.
func (s *Service) StartImport(ctx context.Context, actor domain.Actor, processID string, r Request[domain.StartImport]) (Result, error) {
	m := metaOf(actor, r)
	c := r.Command
	c.By = actor
	res, err := s.execute(ctx, m, processID, domain.StreamForProcess(processID), nil, func(cur []domain.Event) ([]domain.Event, error) {
		return domain.Fold[domain.Imports](cur).Start(withID(domain.Fold[domain.Process](cur), processID), c)
	})
	res.ID = c.ImportID
	return res, err
}

// CompleteImport records that the import finished.
func (s *Service) CompleteImport(ctx context.Context, actor domain.Actor, processID string, r Request[domain.CompleteImport]) (Result, error) {
	m := metaOf(actor, r)
	c := r.Command
	c.By = actor
	res, err := s.execute(ctx, m, processID, domain.StreamForProcess(processID), nil, func(cur []domain.Event) ([]domain.Event, error) {
		return domain.Fold[domain.Imports](cur).Complete(withID(domain.Fold[domain.Process](cur), processID), c)
	})
	res.ID = c.ImportID
	return res, err
}

// ImportedVote is one vote of an imported history.
type ImportedVote struct {
	StatementID   string
	ParticipantID string
	Vote          domain.Vote
	At            time.Time // when it was cast in the source system (occurred-at)
}

// VotesImported says what ImportVotes did.
type VotesImported struct {
	Appended int // votes appended now
	Existing int // votes an earlier run with the same key had appended
	Appends  int // store appends made
}

// Vote batches: at most this many votes per append. One participant's
// votes are cut into chunks of this size from their first vote, so the
// same export always gives the same chunks (and the same event ids).
const maxVotesPerAppend = 1000

// importWorkers is how many participants' vote streams are appended
// concurrently; concurrent appends share one fsync in the embedded store's
// group commit, which is where an import's speed comes from.
const importWorkers = 16

// ImportVotes records votes that happened in another system, many per
// append: each participant's votes, in the given order, go to their vote
// stream in chunks of up to maxVotesPerAppend, with the votes' own times as
// occurred-at. Every vote is decided by the domain against the statement's
// state now (so statements must be posted, and approved where held, and
// must not be hidden yet). Event ids derive from key, the participant and
// the chunk, so running the same import again — after a crash, say —
// appends only the chunks that are missing.
func (s *Service) ImportVotes(ctx context.Context, actor domain.Actor, processID, key string, votes []ImportedVote) (VotesImported, error) {
	if key == "" {
		return VotesImported{}, fmt.Errorf("%w: an import needs a key", ErrInvalid)
	}
	p, err := s.process(ctx, processID)
	if err != nil {
		return VotesImported{}, err
	}
	statements := map[string]domain.Statement{}
	var order []string
	byVoter := map[string][]ImportedVote{}
	for _, v := range votes {
		if _, ok := statements[v.StatementID]; !ok {
			st, err := fold[domain.Statement](ctx, s, domain.StreamForStatement(v.StatementID))
			if err != nil {
				return VotesImported{}, err
			}
			statements[v.StatementID] = st
		}
		if _, ok := byVoter[v.ParticipantID]; !ok {
			order = append(order, v.ParticipantID)
		}
		byVoter[v.ParticipantID] = append(byVoter[v.ParticipantID], v)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan string)
	var (
		mu    sync.Mutex
		total VotesImported
		first error
		wg    sync.WaitGroup
	)
	for range min(importWorkers, len(order)) {
		wg.Go(func() {
			for voter := range jobs {
				r, err := s.importVoter(ctx, actor, p, statements, key, voter, byVoter[voter])
				mu.Lock()
				total.Appended += r.Appended
				total.Existing += r.Existing
				total.Appends += r.Appends
				if err != nil && first == nil {
					first = err
					cancel()
				}
				mu.Unlock()
			}
		})
	}
	for _, voter := range order {
		select {
		case jobs <- voter:
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return total, first
}

// importVoter appends one participant's votes chunk by chunk.
func (s *Service) importVoter(ctx context.Context, actor domain.Actor, p domain.Process, statements map[string]domain.Statement,
	key, voter string, votes []ImportedVote) (VotesImported, error) {
	var r VotesImported
	stream := domain.StreamForVotes(p.ID, voter)
	mu := s.lock(stream)
	mu.Lock()
	defer mu.Unlock()
	for c := 0; c*maxVotesPerAppend < len(votes); c++ {
		chunk := votes[c*maxVotesPerAppend : min((c+1)*maxVotesPerAppend, len(votes))]
		m := meta{actor: actor, key: key + "/" + voter + "/" + strconv.Itoa(c)}
		n, appended, err := s.importChunk(ctx, m, p, statements, stream, chunk)
		if err != nil {
			return r, fmt.Errorf("ledger: importing votes of %s: %w", voter, err)
		}
		if appended {
			r.Appended += n
			r.Appends++
		} else {
			r.Existing += n
		}
	}
	return r, nil
}

// importChunk appends one chunk unless an earlier run did; the caller
// holds the stream's lock.
func (s *Service) importChunk(ctx context.Context, m meta, p domain.Process, statements map[string]domain.Statement,
	stream string, chunk []ImportedVote) (n int, appended bool, err error) {
	for attempt := 0; ; attempt++ {
		l, err := s.load(ctx, stream)
		if err != nil {
			return 0, false, err
		}
		if prev, ok := s.replay(m, "", l); ok {
			if len(prev.Events) != len(chunk) {
				return 0, false, fmt.Errorf("%w: %d of %d votes of this chunk are stored: the export changed since the first run",
					domain.ErrConflict, len(prev.Events), len(chunk))
			}
			return len(chunk), false, nil
		}
		state := domain.Fold[domain.Votes](l.events)
		data := make([]eventstore.EventData, 0, len(chunk))
		for i, v := range chunk {
			evs, err := state.Cast(p, statements[v.StatementID], domain.CastVote{StatementID: v.StatementID,
				ParticipantID: v.ParticipantID, Vote: v.Vote, By: m.actor})
			if err != nil {
				return 0, false, err
			}
			enc, err := s.encode(m, nil, evs)
			if err != nil {
				return 0, false, err
			}
			enc[0].ID = m.eventID(i)
			enc[0].Metadata.OccurredAt = v.At
			data = append(data, enc[0])
			state.Apply(evs[0])
		}
		expected := eventstore.NoStream()
		if l.exists {
			expected = eventstore.Exact(l.revision)
		}
		start := time.Now()
		_, err = s.store.Append(ctx, stream, expected, data...)
		if s.observe != nil {
			s.observe(time.Since(start), len(data), err)
		}
		if errors.Is(err, eventstore.ErrWrongExpectedVersion) && attempt < 5 {
			continue // someone voted in between: decide again
		}
		if err != nil {
			return 0, false, fmt.Errorf("appending to %s: %w", stream, err)
		}
		return len(chunk), true, nil
	}
}
