package domain

import "slices"

// SurveyAnswer is the state of one participant's answer stream for a
// process's survey.
type SurveyAnswer struct {
	Answered bool
}

// Apply folds one event into the state.
func (a *SurveyAnswer) Apply(ev Event) {
	if _, ok := ev.(*SurveyAnswered); ok {
		a.Answered = true
	}
}

// AnswerSurvey answers a process's survey; one answer set per participant.
type AnswerSurvey struct {
	SurveyID      string
	ParticipantID string
	Channel       Channel
	Answers       []SurveyResponse
	By            Actor
}

// SurveyResponse answers one question (plaintext form of Answer).
type SurveyResponse struct {
	QuestionID string
	Choices    []string
	Scale      *int
	Text       string
}

// Answer decides AnswerSurvey against the participant's (empty) answer
// stream and the process's state.
func (a SurveyAnswer) Answer(p Process, cmd AnswerSurvey) ([]Event, error) {
	if err := checkID("participant id", cmd.ParticipantID); err != nil {
		return nil, err
	}
	if err := selfOrIntake("answer a survey", cmd.By, cmd.ParticipantID); err != nil {
		return nil, err
	}
	if err := checkChannel(cmd.Channel, cmd.By); err != nil {
		return nil, err
	}
	if err := p.Accepting(AcceptsSurveyAnswers); err != nil {
		return nil, err
	}
	if p.Survey == nil {
		return nil, notFoundf("process %s has no survey", p.ID)
	}
	if cmd.SurveyID != p.Survey.SurveyID {
		return nil, notFoundf("process %s has no survey %q", p.ID, cmd.SurveyID)
	}
	if a.Answered {
		return nil, conflictf("%s has already answered the survey of process %s", cmd.ParticipantID, p.ID)
	}
	answers, err := checkAnswers(p.Survey.Questions, cmd.ParticipantID, cmd.Answers)
	if err != nil {
		return nil, err
	}
	return []Event{&SurveyAnswered{ProcessID: p.ID, SurveyID: cmd.SurveyID, ParticipantID: cmd.ParticipantID,
		Channel: cmd.Channel, RegisteredBy: registeredBy(cmd.By), Answers: answers}}, nil
}

func checkAnswers(qs []Question, participant string, in []SurveyResponse) ([]Answer, error) {
	byID := map[string]Question{}
	for _, q := range qs {
		byID[q.ID] = q
	}
	seen := map[string]bool{}
	out := make([]Answer, 0, len(in))
	for _, r := range in {
		q, ok := byID[r.QuestionID]
		if !ok {
			return nil, invalidf("the survey has no question %q", r.QuestionID)
		}
		if seen[r.QuestionID] {
			return nil, invalidf("question %q answered twice", r.QuestionID)
		}
		seen[r.QuestionID] = true
		ans := Answer{QuestionID: q.ID, Choices: []string{}, Text: Personal{Subject: participant}}
		switch q.Kind {
		case QuestionSingleChoice, QuestionMultiChoice:
			if r.Scale != nil || r.Text != "" {
				return nil, invalidf("question %q takes choices only", q.ID)
			}
			if len(r.Choices) == 0 || (q.Kind == QuestionSingleChoice && len(r.Choices) != 1) {
				return nil, invalidf("question %q: %d choices given", q.ID, len(r.Choices))
			}
			for i, c := range r.Choices {
				if !slices.ContainsFunc(q.Options, func(o Option) bool { return o.ID == c }) {
					return nil, invalidf("question %q has no option %q", q.ID, c)
				}
				if slices.Contains(r.Choices[:i], c) {
					return nil, invalidf("question %q: option %q chosen twice", q.ID, c)
				}
			}
			ans.Choices = slices.Clone(r.Choices)
		case QuestionScale:
			if len(r.Choices) > 0 || r.Text != "" || r.Scale == nil {
				return nil, invalidf("question %q takes a scale value only", q.ID)
			}
			if *r.Scale < q.ScaleMin || *r.Scale > q.ScaleMax {
				return nil, invalidf("question %q: %d is outside %d..%d", q.ID, *r.Scale, q.ScaleMin, q.ScaleMax)
			}
			v := *r.Scale
			ans.Scale = &v
		case QuestionFreeText:
			if len(r.Choices) > 0 || r.Scale != nil {
				return nil, invalidf("question %q takes text only", q.ID)
			}
			if err := checkText("answer to "+q.ID, r.Text, maxLong); err != nil {
				return nil, err
			}
			ans.Text = NewPersonal(participant, r.Text)
		}
		out = append(out, ans)
	}
	for _, q := range qs {
		if q.Required && !seen[q.ID] {
			return nil, invalidf("required question %q is not answered", q.ID)
		}
	}
	if len(out) == 0 {
		return nil, invalidf("no answers")
	}
	return out, nil
}
