package domain

// Stream names. Every decision about an item is on the item's stream, so
// an item's history (and its optimistic-concurrency revision) is one read.
const (
	TokensStream  = "tokens"
	ExportsStream = "exports"
	// DSASubmissionsStream records every submission of statements of
	// reasons to the DSA Transparency Database.
	DSASubmissionsStream = "dsa-submissions"
)

// StreamForProcess is a process's stream (also its survey).
func StreamForProcess(id string) string { return "process-" + id }

// StreamForParticipant is a participant's stream.
func StreamForParticipant(id string) string { return "participant-" + id }

// StreamForSubmission is a submission's stream: content, supports,
// moderation, appeals, forwarding and the official response.
func StreamForSubmission(id string) string { return "submission-" + id }

// StreamForComment is a comment's stream: content and moderation.
func StreamForComment(id string) string { return "comment-" + id }

// StreamForItem is the stream of a moderated item.
func StreamForItem(kind ItemKind, id string) string {
	switch kind {
	case ItemComment:
		return StreamForComment(id)
	case ItemStatement:
		return StreamForStatement(id)
	}
	return StreamForSubmission(id)
}

// StreamForSurveyAnswer holds one participant's answer set to a process's
// survey; it is appended with NoStream, so a second answer set conflicts.
func StreamForSurveyAnswer(processID, participantID string) string {
	return "surveyanswer-" + processID + "-" + participantID
}

// StreamForAccess records the personal-data reads of one actor.
func StreamForAccess(actorID string) string { return "access-" + actorID }

// StreamForDisposal is the stream of the disposed subject, where the
// disposal decision and the shredding are recorded.
func StreamForDisposal(scope DisposalScope, subjectID string) string {
	switch scope {
	case ScopeParticipant:
		return StreamForParticipant(subjectID)
	case ScopeComment:
		return StreamForComment(subjectID)
	case ScopeProcess:
		return StreamForProcess(subjectID)
	}
	return StreamForSubmission(subjectID)
}

// streamer is implemented by every event type.
type streamer interface{ stream() string }

// StreamOf returns the stream an event belongs on.
func StreamOf(ev Event) string {
	if s, ok := ev.(streamer); ok {
		return s.stream()
	}
	return ""
}
