package projections

import (
	"slices"

	"github.com/malmo/participation-ledger/eventstore"
)

// Kind describes one read model: the registry (Kinds) is the one list of
// read models that serve, replay, bench, the API and the pages run.
//
// To add a model: write it as a pure fold (see Model), give it a Name
// constant, and add its Kind to Kinds. The runner then keeps it current,
// checkpoints it, answers as-of for it, names it in live notifications,
// replay can rebuild it, and modeltest checks it.
type Kind struct {
	// Name is the model's permanent name (see Model.Name).
	Name string
	// New returns an empty model.
	New func(Options) Model
	// Handles lists the event types that may change the model; live
	// notifications name the model for these. TestChangesTable checks the
	// list against what Apply does.
	Handles []string
	// ByActor says every event with an actor changes the model (the
	// actors' audit trail), whatever its type.
	ByActor bool
	// Audit renders the model as an auditor reads it (`ledger replay`):
	// actors named, sealed fields left sealed, narrowed to one id when
	// item is not empty (what the id names depends on the model). open
	// opens sealed fields where a model aggregates them (nil: cannot).
	Audit func(m Model, item string, open Opener) (any, error)
}

// Options are what constructors need beyond the log.
type Options struct {
	// PseudonymKey keys the public pseudonyms of staff (trails); it must
	// stay secret and stable across restarts.
	PseudonymKey []byte
}

// Kinds returns every read model, in the order the runner applies them.
func Kinds() []Kind {
	return []Kind{
		{Name: NameProcesses, New: func(Options) Model { return NewProcesses() }, Audit: auditProcesses,
			Handles: []string{"ProcessOpened", "ProcessPhaseChanged", "ProcessClosed", "SurveyPublished",
				"SubmissionReceived", "CommentPosted", "SupportGiven", "SupportWithdrawn", "SupportThresholdReached",
				"SurveyAnswered", "ModerationDecided", "AppealDecided", "SubmissionForwarded", "OfficialResponsePublished"}},
		{Name: NameSubmissions, New: func(Options) Model { return NewSubmissions() }, Audit: auditSubmissions,
			Handles: []string{"ParticipantRegistered", "ConsentChanged", "ErasureDecided", "SubmissionReceived", "SubmissionRevised",
				"CommentPosted", "SupportGiven", "SupportWithdrawn", "SupportThresholdReached", "ContentFlagged",
				"ModerationDecided", "AppealFiled", "AppealDecided", "SubmissionForwarded", "OfficialResponsePublished",
				"DisposalDecided", "KeysShredded"}},
		{Name: NameTrails, New: func(o Options) Model { return NewTrails(o.PseudonymKey) }, Audit: auditTrails,
			Handles: []string{"SubmissionReceived", "SubmissionRevised", "CommentPosted", "StatementPosted",
				"SupportThresholdReached", "ContentFlagged", "ModerationDecided", "AuthorNotified", "AppealFiled",
				"AppealDecided", "SubmissionForwarded", "OfficialResponsePublished", "DisposalDecided", "KeysShredded"}},
		{Name: NameQueue, New: func(Options) Model { return NewQueue() }, Audit: auditQueue,
			Handles: []string{"SubmissionReceived", "SubmissionRevised", "CommentPosted", "StatementPosted",
				"ContentFlagged", "ModerationDecided", "AppealFiled", "AppealDecided"}},
		{Name: NameTransparency, New: func(Options) Model { return NewTransparency() }, Audit: auditTransparency,
			Handles: []string{"ProcessOpened", "SubmissionReceived", "CommentPosted", "ContentFlagged",
				"ModerationDecided", "AppealFiled", "AppealDecided"}},
		{Name: NameParticipation, New: func(Options) Model { return NewParticipation() }, Audit: auditParticipation,
			Handles: []string{"ProcessOpened", "ParticipantRegistered", "SubmissionReceived", "CommentPosted",
				"SupportGiven", "SurveyAnswered"}},
		{Name: NameActors, New: func(Options) Model { return NewActors() }, Audit: auditActors, ByActor: true},
		{Name: NameDialogue, New: func(Options) Model { return NewDialogue() }, Audit: auditDialogue,
			Handles: []string{"ProcessOpened", "ModerationDecided", "AppealDecided", "StatementPosted",
				"VoteCast", "ImportStarted", "ImportCompleted",
				"ParticipantRegistered", "ConsentChanged", "ErasureDecided", "DisposalDecided"}},
		{Name: NameResults, New: func(Options) Model { return NewResults() }, Audit: auditResults,
			Handles: []string{"FeedbackRecorded"}},
	}
}

// KindOf returns the registered model called name.
func KindOf(name string) (Kind, bool) {
	ks := Kinds()
	i := slices.IndexFunc(ks, func(k Kind) bool { return k.Name == name })
	if i < 0 {
		return Kind{}, false
	}
	return ks[i], true
}

// Names returns the names of the registered models.
func Names() []string {
	var out []string
	for _, k := range Kinds() {
		out = append(out, k.Name)
	}
	return out
}

// changes reports whether kind k's model changes with ev.
func (k Kind) changes(ev eventstore.Event) bool {
	return k.ByActor && ev.Metadata.Actor != "" || slices.Contains(k.Handles, ev.Type)
}
