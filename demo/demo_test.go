package demo_test

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/demo"
	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/eventstore/memory"
	"github.com/malmo/participation-ledger/ledger"
	"github.com/malmo/participation-ledger/privacy"
)

// seed runs the demo on a fresh memory store and returns the log.
func seed(t *testing.T, cfg demo.Config) (demo.Summary, []eventstore.Event, *ledger.Service) {
	t.Helper()
	store := memory.New()
	t.Cleanup(func() { _ = store.Close() })
	keys, err := privacy.Open(t.TempDir())
	require.NoError(t, err)
	svc := ledger.New(store, keys)
	sum, err := demo.Seed(context.Background(), svc, cfg)
	require.NoError(t, err)
	evs, err := store.ReadAll(context.Background(), 0, eventstore.MaxReadLimit)
	require.NoError(t, err)
	return sum, evs, svc
}

func decode(t *testing.T, e eventstore.Event) domain.Event {
	t.Helper()
	de, err := domain.Decode(e.Type, e.Version, e.Data)
	require.NoError(t, err)
	return de
}

func TestSmallCoversTheStory(t *testing.T) {
	sum, evs, svc := seed(t, demo.Config{Seed: 1, Size: demo.Small})
	assert.Equal(t, sum.Events, len(evs))
	t.Logf("small: %d commands, %d events, %d participants, %d submissions, %d comments, %d supports, %d survey answers",
		sum.Commands, sum.Events, sum.Participants, sum.Submissions, sum.Comments, sum.Supports, sum.SurveyAnswers)

	types := map[string]int{}
	channels := map[domain.Channel]bool{}
	flagSources := map[domain.FlagSource]bool{}
	appealOutcomes := map[string]string{} // appeal id → outcome
	years := map[int]bool{}
	decidedBy := map[string]string{} // decision id → moderator
	var threshold, automatedDecisions int
	var refs []string
	for _, e := range evs {
		types[e.Type]++
		years[e.Metadata.OccurredAt.Year()] = true
		assert.False(t, e.Metadata.OccurredAt.After(time.Now()), "%s occurred in the future", e.Type)
		switch v := decode(t, e).(type) {
		case *domain.SubmissionReceived:
			channels[v.Channel] = true
			if v.Channel != domain.ChannelWeb {
				assert.Equal(t, demo.Intake, v.RegisteredBy)
				assert.Equal(t, string(domain.RoleIntake), e.Metadata.Role)
			}
		case *domain.ContentFlagged:
			flagSources[v.Source] = true
			if v.Source == domain.FlagByAutomated {
				require.NotNil(t, v.Classifier)
				assert.Equal(t, string(domain.RoleSystem), e.Metadata.Role)
			}
		case *domain.ModerationDecided:
			decidedBy[v.DecisionID] = v.Moderator
			if v.AutomatedDecision == domain.AutomatedFully {
				automatedDecisions++
			}
			if v.Visibility.Restricts() {
				assert.NotEmpty(t, v.Explanation)
				assert.NotEmpty(t, v.Category)
			}
		case *domain.AppealDecided:
			appealOutcomes[v.AppealID] = v.Outcome
			assert.NotEqual(t, decidedBy[v.DecisionID], v.Moderator, "an appeal is decided by another moderator")
		case *domain.SupportThresholdReached:
			threshold++
		case *domain.OfficialResponsePublished:
			refs = append(refs, v.DecisionReference)
		}
	}
	for _, typ := range []string{"ProcessOpened", "ProcessPhaseChanged", "ProcessClosed", "SurveyPublished", "SurveyAnswered",
		"ParticipantRegistered", "ConsentChanged", "ErasureRequested", "ErasureDecided", "SubmissionReceived", "SubmissionRevised",
		"CommentPosted", "SupportGiven", "SupportWithdrawn", "SupportThresholdReached", "ContentFlagged", "ModerationDecided",
		"AuthorNotified", "AppealFiled", "AppealDecided", "SubmissionForwarded", "OfficialResponsePublished", "DisposalDecided", "KeysShredded"} {
		assert.Positive(t, types[typ], "no %s event", typ)
	}
	assert.Len(t, channels, 4, "every channel")
	assert.Len(t, flagSources, 3, "participant, staff and automated notices")
	assert.Positive(t, automatedDecisions)
	assert.Equal(t, []bool{true, true, true}, []bool{years[2024], years[2025], years[2026]}, "history spread over 2024–2026")
	outcomes := slices.Collect(func(yield func(string) bool) {
		for _, o := range appealOutcomes {
			yield(o)
		}
	})
	assert.Contains(t, outcomes, domain.AppealOverturned)
	assert.Contains(t, outcomes, domain.AppealUpheld)
	assert.GreaterOrEqual(t, threshold, 2, "a proposal in each threshold process crosses it")
	assert.Contains(t, refs, "KS 2024-09-09 §418")
	assert.Len(t, sum.Processes, 6)

	// The disposed submission's content can no longer be opened; the
	// overturned one's can.
	open := func(id string) (string, bool) {
		sub := domain.Fold[domain.Submission](streamEvents(t, evs, domain.StreamForSubmission(id)))
		return svc.Open(sub.Title)
	}
	_, disposed := open(sum.Disposed)
	assert.True(t, disposed, "the disposed submission's key is shredded")
	title, disposed := open(sum.Overturned)
	assert.False(t, disposed)
	assert.Equal(t, "Stoppa nedskärningarna på fritidsgårdarna", title)
}

func streamEvents(t *testing.T, evs []eventstore.Event, stream string) []domain.Event {
	var out []domain.Event
	for _, e := range evs {
		if e.Stream == stream {
			out = append(out, decode(t, e))
		}
	}
	return out
}

func TestDeterministic(t *testing.T) {
	shape := func(evs []eventstore.Event) []string {
		var out []string
		for _, e := range evs {
			out = append(out, e.ID.String()+" "+e.Stream+" "+e.Type)
		}
		return out
	}
	_, a, _ := seed(t, demo.Config{Seed: 7, Size: demo.Small})
	_, b, _ := seed(t, demo.Config{Seed: 7, Size: demo.Small})
	_, c, _ := seed(t, demo.Config{Seed: 8, Size: demo.Small})
	assert.Equal(t, shape(a), shape(b), "same seed, same history")
	assert.NotEqual(t, shape(a), shape(c), "another seed, another history")
}

// TestSealed: no text the demo writes reaches the log in plaintext.
func TestSealed(t *testing.T) {
	_, evs, _ := seed(t, demo.Config{Seed: 3, Size: demo.Small})
	for _, e := range evs {
		for _, plain := range []string{"Stoppa nedskärningarna", "070-123 45 67", "@example.org", "Håller helt med", "Jag vill inte längre"} {
			assert.False(t, bytes.Contains(e.Data, []byte(plain)), "%q in plaintext in %s", plain, e.Type)
		}
	}
}

func TestRerunAppendsNothing(t *testing.T) {
	store := memory.New()
	defer store.Close()
	keys, err := privacy.Open(t.TempDir())
	require.NoError(t, err)
	svc := ledger.New(store, keys)
	cfg := demo.Config{Seed: 5, Size: demo.Small}
	_, err = demo.Seed(context.Background(), svc, cfg)
	require.NoError(t, err)
	head, err := store.Head(context.Background())
	require.NoError(t, err)
	_, err = demo.Seed(context.Background(), svc, cfg)
	require.NoError(t, err)
	again, err := store.Head(context.Background())
	require.NoError(t, err)
	assert.Equal(t, head, again)
}

func TestBadSize(t *testing.T) {
	_, err := demo.Seed(context.Background(), nil, demo.Config{Size: "huge"})
	assert.Error(t, err)
}
