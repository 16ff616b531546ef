package domain

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRecordFeedback(t *testing.T) {
	elected := Actor{ID: "elected-sara", Role: RoleElected}
	p := Fold[Process](openProcess(t, ModerationPost, 0))
	cmd := RecordFeedback{FeedbackID: "f1", Summary: "Parken belyses.", Body: "Kommunfullmäktige", Paragraph: "§ 112",
		DecidedOn: "2025-03-27", Outcome: FeedbackPartly, Progress: 40, Answers: []string{"s1", "stmt-2"}, By: elected}

	evs := ok(t)(p.RecordFeedback(cmd))
	require.Len(t, evs, 1)
	assert.Equal(t, &FeedbackRecorded{ProcessID: "p1", FeedbackID: "f1", Summary: "Parken belyses.", Body: "Kommunfullmäktige",
		Paragraph: "§ 112", DecidedOn: "2025-03-27", Outcome: FeedbackPartly, Progress: 40, Answers: []string{"s1", "stmt-2"},
		RecordedBy: "elected-sara"}, evs[0])

	// An implemented decision is complete; no answered ids is the process as a whole.
	impl := cmd
	impl.Outcome, impl.Progress, impl.Answers = FeedbackImplemented, 0, nil
	fr := ok(t)(p.RecordFeedback(impl))[0].(*FeedbackRecorded)
	assert.Equal(t, 100, fr.Progress)
	assert.Equal(t, []string{}, fr.Answers)

	// Feedback comes when the body has decided, often after closing.
	closed := Fold[Process](append(openProcess(t, ModerationPost, 0), &ProcessClosed{ProcessID: "p1"}))
	ok(t)(closed.RecordFeedback(cmd))

	for _, by := range []Actor{official, modKim, admin, alice} {
		c := cmd
		c.By = by
		_, err := p.RecordFeedback(c)
		is(t, err, ErrForbidden)
	}
	bad := map[string]func(c *RecordFeedback){
		"summary":         func(c *RecordFeedback) { c.Summary = " " },
		"body":            func(c *RecordFeedback) { c.Body = "" },
		"paragraph":       func(c *RecordFeedback) { c.Paragraph = "" },
		"decided_on":      func(c *RecordFeedback) { c.DecidedOn = "27/3/2025" },
		"outcome":         func(c *RecordFeedback) { c.Outcome = "approved" },
		"between 0":       func(c *RecordFeedback) { c.Progress = 101 },
		"no progress":     func(c *RecordFeedback) { c.Outcome, c.Progress = FeedbackRejected, 10 },
		"listed twice":    func(c *RecordFeedback) { c.Answers = []string{"s1", "s1"} },
		"not a valid id":  func(c *RecordFeedback) { c.Answers = []string{"s 1"} },
		"has progress 10": func(c *RecordFeedback) { c.Outcome, c.Progress = FeedbackImplemented, 50 },
	}
	for word, mut := range bad {
		c := cmd
		mut(&c)
		_, err := p.RecordFeedback(c)
		is(t, err, ErrInvalid, word)
	}
	_, err := Process{ID: "nope"}.RecordFeedback(cmd)
	is(t, err, ErrNotFound)
	disposed := Fold[Process](append(openProcess(t, ModerationPost, 0), &DisposalDecided{Scope: ScopeProcess, SubjectID: "p1"}))
	_, err = disposed.RecordFeedback(cmd)
	is(t, err, ErrConflict)
}
