package export

import (
	"context"
	"errors"
	"strings"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/polis"
)

// Why a research export leaves a participant's rows out. The reasons are
// written into manifest.json (left_out) and described in datapackage.json.
const (
	// NoResearchConsent: the participant's consent to research use, as it
	// stood at the export's last position, is no (never given, or
	// withdrawn).
	NoResearchConsent = "no_research_consent"
	// ErasureGranted: an erasure request of theirs was granted.
	ErasureGranted = "erasure_granted"
	// ParticipantDisposed: a disposal decision (gallringsbeslut) covers
	// the participant.
	ParticipantDisposed = "participant_disposed"
	// StatementLeftOut: a vote in the Polis files on a statement that is
	// itself left out (Polis's tools need every vote's comment-id in
	// comments.csv); the votes table keeps such votes.
	StatementLeftOut = "statement_left_out"
)

// consentRule is the rule as datapackage.json states it.
const consentRule = "Research use follows each participant's consent as it stood at the export's last position (manifest.json last_position): " +
	"every row a participant owns (as author, supporter, respondent, voter or appellant) and every event they own is left out of every table, of events.ndjson and of the Polis files " +
	"when that consent is no (" + NoResearchConsent + "), when an erasure of theirs was granted (" + ErasureGranted + ") or when a disposal decision covers them (" + ParticipantDisposed + "). " +
	"manifest.json left_out counts, per file or table and reason, the rows left out. " +
	"The municipality's own acts about left-out content (moderation decisions, appeal decisions, forwards, official responses) stay: they are public records and name no participant; " +
	"rows of other participants that refer to left-out content (a comment on a left-out submission, a vote on a left-out statement) stay in the tables. " +
	"Participants registered by a Polis import (registered_by " + polis.ImporterID + ") are open data: the conversation's owners published them as pseudonymous numbers under the source's licence (Polis open data: CC BY 4.0), " +
	"no consent was asked of them here and none can be withdrawn, so the licence governs and they are included, with the source named in the process's ImportStarted event (source_ref) for attribution."

// consent tells, per participant, why a research export leaves them out
// ("" keeps them). It reads a participant's stream up to the export's last
// position the first time they are met and remembers the answer: one
// string per participant met.
type consent struct {
	r      *research
	reason map[string]string
}

func (c *consent) of(ctx context.Context, id string) (string, error) {
	if id == "" {
		return "", nil
	}
	if why, ok := c.reason[id]; ok {
		return why, nil
	}
	_, evs, err := c.r.history(ctx, domain.StreamForParticipant(id))
	if errors.Is(err, eventstore.ErrStreamNotFound) || (err == nil && len(evs) == 0) {
		// Not a participant (a staff member, a seeding official), or not
		// registered by the export's end: nothing of a participant's to
		// leave out.
		c.reason[id] = ""
		return "", nil
	}
	if err != nil {
		return "", err
	}
	p := domain.Fold[domain.Participant](evs)
	openData := false
	if reg, ok := evs[0].(*domain.ParticipantRegistered); ok {
		openData = reg.RegisteredBy == polis.ImporterID
	}
	why := ""
	switch {
	case p.Disposed:
		why = ParticipantDisposed
	case p.Erased:
		why = ErasureGranted
	case !p.ResearchUse && !openData:
		why = NoResearchConsent
	}
	c.reason[id] = why
	return why, nil
}

// owner returns the participant an event belongs to for the consent rule
// ("" for none): the author, supporter, voter, respondent, appellant or
// notified author the event names, the participant whose stream it is, or
// for a revision the item's author.
func (r *research) owner(ctx context.Context, e eventstore.Event, data map[string]any) (string, error) {
	if id, ok := strings.CutPrefix(e.Stream, "participant-"); ok {
		return id, nil
	}
	str := func(k string) string { s, _ := data[k].(string); return s }
	switch e.Type {
	case "SubmissionReceived", "CommentPosted", "StatementPosted", "AuthorNotified":
		return str("author"), nil
	case "SupportGiven", "SupportWithdrawn", "SurveyAnswered", "VoteCast":
		return str("participant_id"), nil
	case "AppealFiled":
		return str("by"), nil
	case "ContentFlagged":
		if str("source") == string(domain.FlagByParticipant) {
			return str("flagged_by"), nil
		}
	case "SubmissionRevised":
		_, author, err := r.item(ctx, e.Stream)
		return author, err
	case "DisposalDecided", "KeysShredded":
		if str("scope") == string(domain.ScopeParticipant) {
			return str("subject_id"), nil
		}
	}
	return "", nil
}

// leftOut counts rows left out, per file or table and reason.
type leftOut map[string]map[string]int64

func (l leftOut) add(name, why string) {
	if l[name] == nil {
		l[name] = map[string]int64{}
	}
	l[name][why]++
}
