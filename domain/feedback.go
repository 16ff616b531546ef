package domain

// Elected members (förtroendevalda) answer for what the body decided on a
// process's input: FeedbackRecorded is that answer, on the process stream,
// naming the decision (body, §, date) and the proposals or statements it
// answers, with an outcome and how far it has been carried out.

// Outcomes of the elected body's feedback.
const (
	FeedbackAccepted    = "accepted"
	FeedbackPartly      = "partly_accepted"
	FeedbackRejected    = "rejected"
	FeedbackImplemented = "implemented"
)

// FeedbackOutcomes lists the outcomes in a stable order.
func FeedbackOutcomes() []string {
	return []string{FeedbackAccepted, FeedbackPartly, FeedbackRejected, FeedbackImplemented}
}

// FeedbackRecorded records the elected body's feedback on a process.
type FeedbackRecorded struct {
	ProcessID  string `json:"process_id"`
	FeedbackID string `json:"feedback_id"`
	Summary    string `json:"summary"`    // what was decided, in the body's words
	Body       string `json:"body"`       // the deciding body, e.g. "Kommunfullmäktige"
	Paragraph  string `json:"paragraph"`  // the minutes' paragraph, e.g. "§ 112"
	DecidedOn  string `json:"decided_on"` // YYYY-MM-DD
	Outcome    string `json:"outcome"`
	// Progress is how far the decision has been carried out, 0–100.
	Progress int `json:"progress"`
	// Answers lists the submission and statement ids the feedback answers
	// (none: the process as a whole).
	Answers    []string `json:"answers"`
	RecordedBy string   `json:"recorded_by"`
}

// RecordFeedback records the elected body's feedback on a process.
type RecordFeedback struct {
	FeedbackID string
	Summary    string
	Body       string
	Paragraph  string
	DecidedOn  string
	Outcome    string
	Progress   int
	Answers    []string
	By         Actor
}

// RecordFeedback decides RecordFeedback. Feedback may come after the
// process is closed (that is when bodies decide), but not after disposal.
func (p Process) RecordFeedback(cmd RecordFeedback) ([]Event, error) {
	if err := cmd.By.require("record the elected body's feedback", RoleElected); err != nil {
		return nil, err
	}
	if err := checkID("feedback id", cmd.FeedbackID); err != nil {
		return nil, err
	}
	if !p.Exists {
		return nil, notFoundf("process %q does not exist", p.ID)
	}
	if p.Disposed {
		return nil, conflictf("process %s is disposed of", p.ID)
	}
	if err := checkText("summary", cmd.Summary, maxLong); err != nil {
		return nil, err
	}
	if err := checkText("body", cmd.Body, maxShort); err != nil {
		return nil, err
	}
	if err := checkText("paragraph", cmd.Paragraph, maxShort); err != nil {
		return nil, err
	}
	if !isDate(cmd.DecidedOn) {
		return nil, invalidf("decided_on %q is not a date (YYYY-MM-DD)", cmd.DecidedOn)
	}
	switch cmd.Outcome {
	case FeedbackAccepted, FeedbackPartly, FeedbackRejected, FeedbackImplemented:
	default:
		return nil, invalidf("outcome %q is not accepted, partly_accepted, rejected or implemented", cmd.Outcome)
	}
	if cmd.Progress < 0 || cmd.Progress > 100 {
		return nil, invalidf("progress %d is not between 0 and 100", cmd.Progress)
	}
	if cmd.Outcome == FeedbackImplemented && cmd.Progress != 100 && cmd.Progress != 0 {
		return nil, invalidf("an implemented decision has progress 100, not %d", cmd.Progress)
	}
	progress := cmd.Progress
	if cmd.Outcome == FeedbackImplemented {
		progress = 100
	}
	if cmd.Outcome == FeedbackRejected && progress != 0 {
		return nil, invalidf("a rejected proposal has no progress (got %d)", cmd.Progress)
	}
	seen := map[string]bool{}
	for _, id := range cmd.Answers {
		if err := checkID("answered id", id); err != nil {
			return nil, err
		}
		if seen[id] {
			return nil, invalidf("answered id %q listed twice", id)
		}
		seen[id] = true
	}
	if len(cmd.Answers) > 1000 {
		return nil, invalidf("feedback answers at most 1000 contributions")
	}
	return []Event{&FeedbackRecorded{ProcessID: p.ID, FeedbackID: cmd.FeedbackID, Summary: cmd.Summary, Body: cmd.Body,
		Paragraph: cmd.Paragraph, DecidedOn: cmd.DecidedOn, Outcome: cmd.Outcome, Progress: progress,
		Answers: nonNil(cmd.Answers), RecordedBy: cmd.By.ID}}, nil
}
