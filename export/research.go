package export

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
)

// Pseudonymizer maps ids to pseudonyms keyed for one recipient: the same
// recipient always gets the same pseudonym for an id (exports can be
// combined over time), two recipients get unrelated ones (they cannot join
// their data on ids).
type Pseudonymizer struct{ key []byte }

// NewPseudonymizer derives the recipient's key from the ledger's secret.
func NewPseudonymizer(secret []byte, recipient string) *Pseudonymizer {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("participation-ledger research export v1\x00"))
	m.Write([]byte(recipient))
	return &Pseudonymizer{key: m.Sum(nil)}
}

// Of returns id's pseudonym: 128 bits of HMAC-SHA-256, hex; "" stays "".
func (p *Pseudonymizer) Of(id string) string {
	if id == "" {
		return ""
	}
	m := hmac.New(sha256.New, p.key)
	m.Write([]byte(id))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// research turns stored events into research rows and events.
type research struct {
	src    Source
	opt    Options
	to     eventstore.Position
	pseud  *Pseudonymizer
	owners map[string]itemInfo // item stream → process and author; bounded cache
	buf    bytes.Buffer
	// consent says whose rows are left out; left counts them (the
	// export's state, so a resumed export keeps counting).
	consent consent
	left    leftOut
	// skip is why the rows of the event being written are left out.
	skip string
}

type itemInfo struct{ process, author string }

const ownersCache = 1 << 14

func newResearch(src Source, opt Options, to eventstore.Position, left leftOut) *research {
	r := &research{src: src, opt: opt, to: to, pseud: NewPseudonymizer(src.Secret, opt.Recipient), owners: map[string]itemInfo{}, left: left}
	r.consent = consent{r: r, reason: map[string]string{}}
	return r
}

// idFields lists, per event type, the top-level data fields that hold a
// participant's or staff member's id. Anything personal that is not an id
// is sealed (and removed generically) or listed in dropFields. An event
// type missing here has its whole body removed: new types fail closed.
var idFields = map[string][]string{
	"ProcessOpened":             {"opened_by"},
	"ProcessPhaseChanged":       {"changed_by"},
	"ProcessClosed":             {"closed_by"},
	"SurveyPublished":           {"published_by"},
	"ParticipantRegistered":     {"participant_id", "registered_by"},
	"ConsentChanged":            {"participant_id", "changed_by"},
	"ErasureRequested":          {"participant_id", "registered_by"},
	"ErasureDecided":            {"participant_id", "decided_by"},
	"SubmissionReceived":        {"author", "registered_by"},
	"SubmissionRevised":         {"revised_by"},
	"CommentPosted":             {"author", "registered_by"},
	"SupportGiven":              {"participant_id"},
	"SupportWithdrawn":          {"participant_id"},
	"SupportThresholdReached":   {},
	"SurveyAnswered":            {"participant_id", "registered_by"},
	"ContentFlagged":            {"flagged_by"},
	"ModerationDecided":         {"moderator"},
	"AuthorNotified":            {"author", "notified_by"},
	"AppealFiled":               {"by", "registered_by"},
	"AppealDecided":             {"moderator"},
	"SubmissionForwarded":       {"forwarded_by"},
	"OfficialResponsePublished": {"published_by"},
	"DisposalDecided":           {"decided_by"},
	"KeysShredded":              {},
	"ExportIssued":              {"requester"},
	"DSAStatementsSubmitted":    {"submitted_by"},
	"StatementPosted":           {"author", "registered_by"},
	"VoteCast":                  {"participant_id", "registered_by"},
	"ImportStarted":             {"started_by"},
	"ImportCompleted":           {"completed_by"},
}

// dropFields are plain-text fields that may name people and are not part
// of the public record: the display pseudonym (the same for every
// recipient, so it would let two recipients join) and the explanation of
// an erasure decision.
var dropFields = map[string][]string{
	"ParticipantRegistered": {"pseudonym"},
	"ErasureDecided":        {"explanation"},
}

// excludedStream reports streams that are not participation data: bearer
// tokens and staff's records of reading personal data.
func excludedStream(s string) bool {
	return s == domain.TokensStream || strings.HasPrefix(s, "access-")
}

// event writes e's research form to events and its rows to the tables. It
// reports whether the event was exported (filters may skip it).
func (r *research) event(ctx context.Context, e eventstore.Event, events io.Writer, ts *tables) (bool, error) {
	if excludedStream(e.Stream) {
		return false, nil
	}
	var data map[string]any
	dec := json.NewDecoder(bytes.NewReader(e.Data))
	dec.UseNumber()
	if err := dec.Decode(&data); err != nil {
		return false, fmt.Errorf("export: event at position %d: %w", e.Position, err)
	}
	process, err := r.processOf(ctx, e, data)
	if err != nil {
		return false, err
	}
	if r.opt.Process != "" && process != r.opt.Process {
		return false, nil
	}
	who, err := r.owner(ctx, e, data)
	if err != nil {
		return false, err
	}
	if r.skip, err = r.consent.of(ctx, who); err != nil {
		return false, err
	}
	if err := r.rows(ctx, e, process, ts); err != nil {
		return false, err
	}
	if r.skip != "" {
		r.left.add(EventsFile, r.skip)
		return false, nil
	}
	stream := r.stream(e, data)
	r.transform(e, data)
	actor := e.Metadata.Actor
	if e.Metadata.Role == string(domain.RoleParticipant) {
		// An event a left-out participant caused but does not own (the
		// threshold their support reached) keeps no trace of them.
		why, err := r.consent.of(ctx, actor)
		if err != nil {
			return false, err
		}
		if why != "" {
			actor = ""
		}
	}
	if e.Metadata.Role != string(domain.RoleSystem) {
		actor = r.pseud.Of(actor)
	}
	out := researchEvent{
		Position: e.Position, ID: e.ID.String(), Stream: stream, Revision: e.Revision, Type: e.Type, Version: e.Version,
		RecordedAt: eventstore.FormatTime(e.RecordedAt), OccurredAt: eventstore.FormatTime(e.Metadata.OccurredAt),
		Actor: actor, Role: e.Metadata.Role, ProcessID: process,
		CorrelationID: e.Metadata.CorrelationID, CausationID: e.Metadata.CausationID, Data: data,
	}
	r.buf.Reset()
	enc := json.NewEncoder(&r.buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return false, err
	}
	_, err = events.Write(r.buf.Bytes())
	return err == nil, err
}

// researchEvent is one line of a research events.ndjson: the envelope
// flattened (so read_json_auto and pandas see columns), ids pseudonymised.
type researchEvent struct {
	Position      eventstore.Position `json:"position"`
	ID            string              `json:"id"`
	Stream        string              `json:"stream"`
	Revision      uint64              `json:"revision"`
	Type          string              `json:"type"`
	Version       int                 `json:"version"`
	RecordedAt    string              `json:"recorded_at"`
	OccurredAt    string              `json:"occurred_at"`
	Actor         string              `json:"actor"`
	Role          string              `json:"role"`
	ProcessID     string              `json:"process_id"`
	CorrelationID string              `json:"correlation_id"`
	CausationID   string              `json:"causation_id"`
	Data          map[string]any      `json:"data"`
}

// stream pseudonymises the participant id in a stream name.
func (r *research) stream(e eventstore.Event, data map[string]any) string {
	if id, ok := strings.CutPrefix(e.Stream, "participant-"); ok {
		return "participant-" + r.pseud.Of(id)
	}
	// Streams named after a process and a participant.
	for _, prefix := range []string{"surveyanswer-", "votes-"} {
		if !strings.HasPrefix(e.Stream, prefix) {
			continue
		}
		proc, _ := data["process_id"].(string)
		pid, _ := data["participant_id"].(string)
		if e.Stream == prefix+proc+"-"+pid {
			return prefix + proc + "-" + r.pseud.Of(pid)
		}
		return prefix + r.pseud.Of(e.Stream)
	}
	return e.Stream
}

// transform removes personal data from data in place.
func (r *research) transform(e eventstore.Event, data map[string]any) {
	fields, known := idFields[e.Type]
	if !known {
		clear(data)
		data["removed"] = true
		return
	}
	for _, f := range fields {
		s, ok := data[f].(string)
		if !ok {
			continue
		}
		if e.Type == "ContentFlagged" && data["source"] == string(domain.FlagByAutomated) {
			continue // a classifier's name, not a person
		}
		data[f] = r.pseud.Of(s)
	}
	for _, f := range dropFields[e.Type] {
		delete(data, f)
	}
	switch e.Type {
	case "DisposalDecided", "KeysShredded":
		if data["scope"] == string(domain.ScopeParticipant) {
			subject, _ := data["subject_id"].(string)
			data["subject_id"] = r.pseud.Of(subject)
			if subs, ok := data["subjects"].([]any); ok {
				for i, s := range subs {
					if s == subject {
						subs[i] = r.pseud.Of(subject)
					}
				}
			}
		}
	}
	for k, v := range data {
		data[k] = r.seal(v)
	}
}

// seal replaces every sealed personal field ({"subject","sealed"}) by
// {"disposed":true} when its key was destroyed, else {"removed":true}.
func (r *research) seal(v any) any {
	switch x := v.(type) {
	case map[string]any:
		subject, ok1 := x["subject"].(string)
		_, ok2 := x["sealed"].(string)
		if len(x) == 2 && ok1 && ok2 {
			if r.src.Keys.Shredded(subject) {
				return map[string]any{"disposed": true}
			}
			return map[string]any{"removed": true}
		}
		for k, e := range x {
			x[k] = r.seal(e)
		}
	case []any:
		for i, e := range x {
			x[i] = r.seal(e)
		}
	}
	return v
}

// processOf finds the process an event belongs to ("" for none: a
// participant's records, exports).
func (r *research) processOf(ctx context.Context, e eventstore.Event, data map[string]any) (string, error) {
	if id, ok := strings.CutPrefix(e.Stream, "process-"); ok {
		return id, nil
	}
	if p, ok := data["process_id"].(string); ok && p != "" {
		return p, nil
	}
	p, _, err := r.item(ctx, e.Stream)
	return p, err
}

func isItem(stream string) bool {
	return strings.HasPrefix(stream, "submission-") || strings.HasPrefix(stream, "comment-") || strings.HasPrefix(stream, "statement-")
}

// item returns the process and author of an item stream, which its first
// event (SubmissionReceived, CommentPosted, StatementPosted) names; "" for
// other streams.
func (r *research) item(ctx context.Context, stream string) (process, author string, err error) {
	if !isItem(stream) {
		return "", "", nil
	}
	if it, ok := r.owners[stream]; ok {
		return it.process, it.author, nil
	}
	evs, err := r.src.Store.ReadStream(ctx, stream, eventstore.ReadStreamOptions{Limit: 1})
	if err != nil {
		return "", "", fmt.Errorf("export: reading %s: %w", stream, err)
	}
	var first struct {
		ProcessID string `json:"process_id"`
		Author    string `json:"author"`
	}
	if len(evs) > 0 {
		_ = json.Unmarshal(evs[0].Data, &first)
	}
	if len(r.owners) >= ownersCache {
		clear(r.owners) // bounded memory; a miss costs one short read
	}
	r.owners[stream] = itemInfo{first.ProcessID, first.Author}
	return first.ProcessID, first.Author, nil
}

// put writes a row, or counts it as left out when the event's owner is.
func (r *research) put(ts *tables, name string, row any) error {
	if r.skip != "" {
		r.left.add(name, r.skip)
		return nil
	}
	return ts.write(name, row)
}

// history reads a stream up to the export's last position.
func (r *research) history(ctx context.Context, stream string) ([]eventstore.Event, []domain.Event, error) {
	var raw []eventstore.Event
	var evs []domain.Event
	from := uint64(0)
	for {
		page, err := r.src.Store.ReadStream(ctx, stream, eventstore.ReadStreamOptions{From: from, Limit: 1024})
		if err != nil {
			return nil, nil, fmt.Errorf("export: reading %s: %w", stream, err)
		}
		for _, e := range page {
			if e.Position > r.to {
				return raw, evs, nil
			}
			de, err := domain.Decode(e.Type, e.Version, e.Data)
			if err != nil {
				return nil, nil, fmt.Errorf("export: %s@%d: %w", stream, e.Revision, err)
			}
			raw, evs = append(raw, e), append(evs, de)
		}
		if len(page) < 1024 {
			return raw, evs, nil
		}
		from = page[len(page)-1].Revision + 1
	}
}

// open returns a personal field's text if it can be opened.
func (r *research) open(p domain.Personal) (string, bool) {
	if len(p.Sealed) == 0 {
		return "", false
	}
	text, err := r.src.Keys.Open(p.Subject, p.Sealed)
	return text, err == nil
}

func (r *research) disposed(p domain.Personal) bool {
	return len(p.Sealed) > 0 && r.src.Keys.Shredded(p.Subject)
}

// rows writes the table rows e yields. Rows that describe an aggregate's
// state (processes, submissions, comments, appeals) are written at the
// aggregate's first event, folded over its stream up to the export's end:
// position order, no sort, and memory bounded by one stream.
func (r *research) rows(ctx context.Context, e eventstore.Event, process string, ts *tables) error {
	if _, known := idFields[e.Type]; !known {
		return nil // a type this export does not know yields no rows
	}
	de, err := domain.Decode(e.Type, e.Version, e.Data)
	if err != nil {
		return fmt.Errorf("export: position %d: %w", e.Position, err)
	}
	at, occurred := e.RecordedAt.UTC(), e.Metadata.OccurredAt.UTC()
	switch v := de.(type) {
	case *domain.ProcessOpened:
		raw, evs, err := r.history(ctx, e.Stream)
		if err != nil {
			return err
		}
		p := domain.Fold[domain.Process](evs)
		row := &processRow{ID: v.ProcessID, TitleSv: v.Title.Sv, TitleEn: v.Title.En, DescriptionSv: v.Description.Sv,
			DescriptionEn: v.Description.En, Kind: string(v.Kind), OwnerBody: v.OwnerBody, CaseNumber: v.CaseNumber,
			Administrations: strings.Join(v.Administrations, ";"), SupportThreshold: int64(v.SupportThreshold),
			ModerationMode: string(v.ModerationMode), PolicyReference: v.PolicyReference, CurrentPhase: p.CurrentPhase,
			OccurredAt: occurred, RecordedAt: at, Disposed: p.Disposed}
		for i, x := range evs {
			if _, ok := x.(*domain.ProcessClosed); ok {
				row.ClosedOccurredAt, row.ClosedRecordedAt = clocks(raw[i])
			}
		}
		return r.put(ts, "processes", row)

	case *domain.SubmissionReceived:
		_, evs, err := r.history(ctx, e.Stream)
		if err != nil {
			return err
		}
		s := domain.Fold[domain.Submission](evs)
		row := &submissionRow{ID: v.SubmissionID, ProcessID: v.ProcessID, AuthorID: r.pseud.Of(v.Author),
			Channel: string(v.Channel), Locale: v.Language, OccurredAt: occurred, RecordedAt: at,
			Premoderated: v.Premoderated, Versions: int64(max(s.Version, 1)), Status: string(s.Status),
			Published: s.Status.Public() && !s.Disposed, Forwarded: len(s.ForwardedTo) > 0, Answered: s.Responded}
		row.Disposed = s.Disposed || r.disposed(s.Body) || r.disposed(s.Title)
		row.Published = row.Published && !row.Disposed
		if row.Published {
			row.Title, _ = r.open(s.Title)
			row.Body, _ = r.open(s.Body)
		}
		return r.put(ts, "submissions", row)

	case *domain.CommentPosted:
		_, evs, err := r.history(ctx, e.Stream)
		if err != nil {
			return err
		}
		c := domain.Fold[domain.Comment](evs)
		row := &commentRow{ID: v.CommentID, SubmissionID: v.SubmissionID, ProcessID: v.ProcessID, ParentID: v.ParentID,
			AuthorID: r.pseud.Of(v.Author), Channel: string(v.Channel), Locale: v.Language, OccurredAt: occurred, RecordedAt: at,
			Premoderated: v.Premoderated, Status: string(c.Status)}
		row.Disposed = c.Disposed || r.disposed(c.Body)
		row.Published = c.Status.Public() && !row.Disposed
		if row.Published {
			row.Body, _ = r.open(c.Body)
		}
		return r.put(ts, "comments", row)

	case *domain.StatementPosted:
		_, evs, err := r.history(ctx, e.Stream)
		if err != nil {
			return err
		}
		st := domain.Fold[domain.Statement](evs)
		row := &statementRow{ID: v.StatementID, ProcessID: v.ProcessID, AuthorID: r.pseud.Of(v.Author), Seed: v.Seed,
			Channel: string(v.Channel), Locale: v.Language, SourceID: v.SourceID, OccurredAt: occurred,
			RecordedAt: at, Premoderated: v.Premoderated, Status: string(st.Status)}
		row.Disposed = st.Disposed || r.disposed(st.Body)
		row.Published = st.Status.Public() && !row.Disposed
		if row.Published {
			row.Body, _ = r.open(st.Body)
		}
		return r.put(ts, "statements", row)

	case *domain.VoteCast:
		return r.put(ts, "votes", &voteRow{ID: e.ID.String(), ProcessID: v.ProcessID, StatementID: v.StatementID,
			ParticipantID: r.pseud.Of(v.ParticipantID), Vote: string(v.Vote), Registered: v.RegisteredBy != "",
			OccurredAt: occurred, RecordedAt: at})

	case *domain.SupportGiven:
		return r.put(ts, "supports", &supportRow{ID: e.ID.String(), SubmissionID: v.SubmissionID, ProcessID: v.ProcessID,
			ParticipantID: r.pseud.Of(v.ParticipantID), Action: "given", OccurredAt: occurred, RecordedAt: at})
	case *domain.SupportWithdrawn:
		return r.put(ts, "supports", &supportRow{ID: e.ID.String(), SubmissionID: v.SubmissionID, ProcessID: v.ProcessID,
			ParticipantID: r.pseud.Of(v.ParticipantID), Action: "withdrawn", OccurredAt: occurred, RecordedAt: at})

	case *domain.SurveyAnswered:
		for _, a := range v.Answers {
			row := &surveyAnswerRow{ResponseID: e.ID.String(), ProcessID: v.ProcessID, SurveyID: v.SurveyID,
				ParticipantID: r.pseud.Of(v.ParticipantID), Channel: string(v.Channel), QuestionID: a.QuestionID,
				Choices: strings.Join(a.Choices, ";"), HasText: !a.Text.IsZero(), OccurredAt: occurred, RecordedAt: at}
			if a.Scale != nil {
				n := int64(*a.Scale)
				row.Scale = &n
			}
			if err := r.put(ts, "survey_answers", row); err != nil {
				return err
			}
		}
		return nil

	case *domain.ModerationDecided:
		return r.put(ts, "moderation_decisions", &moderationRow{ID: v.DecisionID, ItemID: v.ItemID, ItemKind: string(v.ItemKind),
			ProcessID: process, ContentVersion: int64(v.ContentVersion), Visibility: string(v.Visibility), Ground: string(v.Ground),
			LegalGround: v.LegalGround, PolicyClause: v.PolicyClause, Category: string(v.Category), Explanation: v.Explanation,
			AutomatedDetection: v.AutomatedDetection, AutomatedDecision: string(v.AutomatedDecision), Source: string(v.Source),
			Notices: int64(len(v.FlagIDs)), ModeratorID: r.pseud.Of(v.Moderator), OccurredAt: v.DecidedAt.UTC(), RecordedAt: at})

	case *domain.AppealFiled:
		row := &appealRow{ID: v.AppealID, DecisionID: v.DecisionID, ItemID: v.ItemID, ItemKind: string(v.ItemKind),
			ProcessID: process, AppellantID: r.pseud.Of(v.By), OccurredAt: occurred, RecordedAt: at}
		raw, evs, err := r.history(ctx, e.Stream)
		if err != nil {
			return err
		}
		for i, x := range evs {
			if d, ok := x.(*domain.AppealDecided); ok && d.AppealID == v.AppealID {
				row.DecidedOccurredAt, row.DecidedRecordedAt = clocks(raw[i])
				row.Outcome, row.ModeratorID, row.Explanation = d.Outcome, r.pseud.Of(d.Moderator), d.Explanation
			}
		}
		return r.put(ts, "appeals", row)

	case *domain.OfficialResponsePublished:
		return r.put(ts, "responses", &responseRow{ID: v.ResponseID, SubmissionID: v.SubmissionID, ProcessID: process,
			Body: v.Body, ResponsibleBody: v.ResponsibleBody, DecisionReference: v.DecisionReference, Outcome: v.Outcome,
			PublishedBy: r.pseud.Of(v.PublishedBy), OccurredAt: occurred, RecordedAt: at})
	}
	return nil
}

// clocks returns an event's occurred-at and recorded-at, for a row's
// optional pair of a later event.
func clocks(e eventstore.Event) (occurred, recorded *time.Time) {
	o, r := e.Metadata.OccurredAt.UTC(), e.RecordedAt.UTC()
	return &o, &r
}
