package domain

// One EventType, stream and (where there is personal data) personal method
// per event type, and the decoder's constructor switch. TestRegistry checks
// that every type is listed everywhere.

// EventType returns "ProcessOpened".
func (*ProcessOpened) EventType() string { return "ProcessOpened" }
func (e *ProcessOpened) stream() string  { return StreamForProcess(e.ProcessID) }

// EventType returns "ProcessPhaseChanged".
func (*ProcessPhaseChanged) EventType() string { return "ProcessPhaseChanged" }
func (e *ProcessPhaseChanged) stream() string  { return StreamForProcess(e.ProcessID) }

// EventType returns "ProcessClosed".
func (*ProcessClosed) EventType() string { return "ProcessClosed" }
func (e *ProcessClosed) stream() string  { return StreamForProcess(e.ProcessID) }

// EventType returns "SurveyPublished".
func (*SurveyPublished) EventType() string { return "SurveyPublished" }
func (e *SurveyPublished) stream() string  { return StreamForProcess(e.ProcessID) }

// EventType returns "ParticipantRegistered".
func (*ParticipantRegistered) EventType() string { return "ParticipantRegistered" }
func (e *ParticipantRegistered) stream() string  { return StreamForParticipant(e.ParticipantID) }
func (e *ParticipantRegistered) personal() []*Personal {
	return []*Personal{&e.Name, &e.Email, &e.District, &e.AgeBand}
}

// EventType returns "ConsentChanged".
func (*ConsentChanged) EventType() string { return "ConsentChanged" }
func (e *ConsentChanged) stream() string  { return StreamForParticipant(e.ParticipantID) }

// EventType returns "ErasureRequested".
func (*ErasureRequested) EventType() string       { return "ErasureRequested" }
func (e *ErasureRequested) stream() string        { return StreamForParticipant(e.ParticipantID) }
func (e *ErasureRequested) personal() []*Personal { return []*Personal{&e.Reason} }

// EventType returns "ErasureDecided".
func (*ErasureDecided) EventType() string { return "ErasureDecided" }
func (e *ErasureDecided) stream() string  { return StreamForParticipant(e.ParticipantID) }

// EventType returns "SubmissionReceived".
func (*SubmissionReceived) EventType() string       { return "SubmissionReceived" }
func (e *SubmissionReceived) stream() string        { return StreamForSubmission(e.SubmissionID) }
func (e *SubmissionReceived) personal() []*Personal { return []*Personal{&e.Title, &e.Body} }

// EventType returns "SubmissionRevised".
func (*SubmissionRevised) EventType() string       { return "SubmissionRevised" }
func (e *SubmissionRevised) stream() string        { return StreamForSubmission(e.SubmissionID) }
func (e *SubmissionRevised) personal() []*Personal { return []*Personal{&e.Title, &e.Body} }

// EventType returns "CommentPosted".
func (*CommentPosted) EventType() string       { return "CommentPosted" }
func (e *CommentPosted) stream() string        { return StreamForComment(e.CommentID) }
func (e *CommentPosted) personal() []*Personal { return []*Personal{&e.Body} }

// EventType returns "SupportGiven".
func (*SupportGiven) EventType() string { return "SupportGiven" }
func (e *SupportGiven) stream() string  { return StreamForSubmission(e.SubmissionID) }

// EventType returns "SupportWithdrawn".
func (*SupportWithdrawn) EventType() string { return "SupportWithdrawn" }
func (e *SupportWithdrawn) stream() string  { return StreamForSubmission(e.SubmissionID) }

// EventType returns "SupportThresholdReached".
func (*SupportThresholdReached) EventType() string { return "SupportThresholdReached" }
func (e *SupportThresholdReached) stream() string  { return StreamForSubmission(e.SubmissionID) }

// EventType returns "SurveyAnswered".
func (*SurveyAnswered) EventType() string { return "SurveyAnswered" }
func (e *SurveyAnswered) stream() string  { return StreamForSurveyAnswer(e.ProcessID, e.ParticipantID) }
func (e *SurveyAnswered) personal() []*Personal {
	ps := make([]*Personal, 0, len(e.Answers))
	for i := range e.Answers {
		ps = append(ps, &e.Answers[i].Text)
	}
	return ps
}

// EventType returns "ContentFlagged".
func (*ContentFlagged) EventType() string       { return "ContentFlagged" }
func (e *ContentFlagged) stream() string        { return StreamForItem(e.ItemKind, e.ItemID) }
func (e *ContentFlagged) personal() []*Personal { return []*Personal{&e.Explanation} }

// EventType returns "ModerationDecided".
func (*ModerationDecided) EventType() string { return "ModerationDecided" }
func (e *ModerationDecided) stream() string  { return StreamForItem(e.ItemKind, e.ItemID) }

// EventType returns "AuthorNotified".
func (*AuthorNotified) EventType() string { return "AuthorNotified" }
func (e *AuthorNotified) stream() string  { return StreamForItem(e.ItemKind, e.ItemID) }

// EventType returns "AppealFiled".
func (*AppealFiled) EventType() string       { return "AppealFiled" }
func (e *AppealFiled) stream() string        { return StreamForItem(e.ItemKind, e.ItemID) }
func (e *AppealFiled) personal() []*Personal { return []*Personal{&e.Grounds} }

// EventType returns "AppealDecided".
func (*AppealDecided) EventType() string { return "AppealDecided" }
func (e *AppealDecided) stream() string  { return StreamForItem(e.ItemKind, e.ItemID) }

// EventType returns "SubmissionForwarded".
func (*SubmissionForwarded) EventType() string { return "SubmissionForwarded" }
func (e *SubmissionForwarded) stream() string  { return StreamForSubmission(e.SubmissionID) }

// EventType returns "OfficialResponsePublished".
func (*OfficialResponsePublished) EventType() string { return "OfficialResponsePublished" }
func (e *OfficialResponsePublished) stream() string  { return StreamForSubmission(e.SubmissionID) }

// EventType returns "DisposalDecided".
func (*DisposalDecided) EventType() string { return "DisposalDecided" }
func (e *DisposalDecided) stream() string  { return StreamForDisposal(e.Scope, e.SubjectID) }

// EventType returns "KeysShredded".
func (*KeysShredded) EventType() string { return "KeysShredded" }
func (e *KeysShredded) stream() string  { return StreamForDisposal(DisposalScope(e.Scope), e.SubjectID) }

// EventType returns "ExportIssued".
func (*ExportIssued) EventType() string { return "ExportIssued" }
func (e *ExportIssued) stream() string  { return ExportsStream }

// EventType returns "DSAStatementsSubmitted".
func (*DSAStatementsSubmitted) EventType() string { return "DSAStatementsSubmitted" }
func (e *DSAStatementsSubmitted) stream() string  { return DSASubmissionsStream }

// EventType returns "TokenIssued".
func (*TokenIssued) EventType() string { return "TokenIssued" }
func (e *TokenIssued) stream() string  { return TokensStream }

// EventType returns "TokenRevoked".
func (*TokenRevoked) EventType() string { return "TokenRevoked" }
func (e *TokenRevoked) stream() string  { return TokensStream }

// EventType returns "PersonalDataAccessed".
func (*PersonalDataAccessed) EventType() string { return "PersonalDataAccessed" }
func (e *PersonalDataAccessed) stream() string  { return StreamForAccess(e.Actor) }

// EventType returns "StatementPosted".
func (*StatementPosted) EventType() string       { return "StatementPosted" }
func (e *StatementPosted) stream() string        { return StreamForStatement(e.StatementID) }
func (e *StatementPosted) personal() []*Personal { return []*Personal{&e.Body} }

// EventType returns "VoteCast".
func (*VoteCast) EventType() string { return "VoteCast" }
func (e *VoteCast) stream() string  { return StreamForVotes(e.ProcessID, e.ParticipantID) }

// EventType returns "ImportStarted".
func (*ImportStarted) EventType() string { return "ImportStarted" }
func (e *ImportStarted) stream() string  { return StreamForProcess(e.ProcessID) }

// EventType returns "ImportCompleted".
func (*ImportCompleted) EventType() string { return "ImportCompleted" }
func (e *ImportCompleted) stream() string  { return StreamForProcess(e.ProcessID) }

// EventType returns "FeedbackRecorded".
func (*FeedbackRecorded) EventType() string { return "FeedbackRecorded" }
func (e *FeedbackRecorded) stream() string  { return StreamForProcess(e.ProcessID) }

// newEvent returns a zero event of type typ, or nil for an unknown type.
func newEvent(typ string) Event {
	switch typ {
	case "ProcessOpened":
		return new(ProcessOpened)
	case "ProcessPhaseChanged":
		return new(ProcessPhaseChanged)
	case "ProcessClosed":
		return new(ProcessClosed)
	case "SurveyPublished":
		return new(SurveyPublished)
	case "ParticipantRegistered":
		return new(ParticipantRegistered)
	case "ConsentChanged":
		return new(ConsentChanged)
	case "ErasureRequested":
		return new(ErasureRequested)
	case "ErasureDecided":
		return new(ErasureDecided)
	case "SubmissionReceived":
		return new(SubmissionReceived)
	case "SubmissionRevised":
		return new(SubmissionRevised)
	case "CommentPosted":
		return new(CommentPosted)
	case "SupportGiven":
		return new(SupportGiven)
	case "SupportWithdrawn":
		return new(SupportWithdrawn)
	case "SupportThresholdReached":
		return new(SupportThresholdReached)
	case "SurveyAnswered":
		return new(SurveyAnswered)
	case "ContentFlagged":
		return new(ContentFlagged)
	case "ModerationDecided":
		return new(ModerationDecided)
	case "AuthorNotified":
		return new(AuthorNotified)
	case "AppealFiled":
		return new(AppealFiled)
	case "AppealDecided":
		return new(AppealDecided)
	case "SubmissionForwarded":
		return new(SubmissionForwarded)
	case "OfficialResponsePublished":
		return new(OfficialResponsePublished)
	case "DisposalDecided":
		return new(DisposalDecided)
	case "KeysShredded":
		return new(KeysShredded)
	case "ExportIssued":
		return new(ExportIssued)
	case "DSAStatementsSubmitted":
		return new(DSAStatementsSubmitted)
	case "TokenIssued":
		return new(TokenIssued)
	case "TokenRevoked":
		return new(TokenRevoked)
	case "PersonalDataAccessed":
		return new(PersonalDataAccessed)
	case "StatementPosted":
		return new(StatementPosted)
	case "VoteCast":
		return new(VoteCast)
	case "ImportStarted":
		return new(ImportStarted)
	case "ImportCompleted":
		return new(ImportCompleted)
	case "FeedbackRecorded":
		return new(FeedbackRecorded)
	}
	return nil
}

// registered returns one zero value of every event type, in a stable order.
func registered() []Event {
	return []Event{
		new(ProcessOpened),
		new(ProcessPhaseChanged),
		new(ProcessClosed),
		new(SurveyPublished),
		new(ParticipantRegistered),
		new(ConsentChanged),
		new(ErasureRequested),
		new(ErasureDecided),
		new(SubmissionReceived),
		new(SubmissionRevised),
		new(CommentPosted),
		new(SupportGiven),
		new(SupportWithdrawn),
		new(SupportThresholdReached),
		new(SurveyAnswered),
		new(ContentFlagged),
		new(ModerationDecided),
		new(AuthorNotified),
		new(AppealFiled),
		new(AppealDecided),
		new(SubmissionForwarded),
		new(OfficialResponsePublished),
		new(DisposalDecided),
		new(KeysShredded),
		new(ExportIssued),
		new(DSAStatementsSubmitted),
		new(TokenIssued),
		new(TokenRevoked),
		new(PersonalDataAccessed),
		new(StatementPosted),
		new(VoteCast),
		new(ImportStarted),
		new(ImportCompleted),
		new(FeedbackRecorded),
	}
}
