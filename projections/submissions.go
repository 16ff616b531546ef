package projections

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
)

// Submissions is the submission view: each submission with its comments,
// supports, moderation state, forwarding and official response. Public
// answers hide what moderation hid (showing the reason) and leave out
// pre-moderated content until it is approved; internal answers show
// everything. Content stays sealed (domain.Personal): the HTTP layer opens
// it with the key store when it responds, so shredding a key takes effect
// at once.
type Submissions struct {
	st submissionsState
}

type submissionsState struct {
	Submissions  map[string]*submission `json:"submissions"`
	Comments     map[string]*comment    `json:"comments"`
	Participants map[string]*author     `json:"participants"`
}

type submission struct {
	item
	Author       string          `json:"author"`
	Channel      domain.Channel  `json:"channel"`
	Language     string          `json:"language"`
	RegisteredBy string          `json:"registered_by"`
	ReceivedAt   time.Time       `json:"received_at"`
	Supporters   map[string]bool `json:"supporters"`
	Threshold    *thresholdReach `json:"threshold,omitempty"`
	Forwards     []Forward       `json:"forwards"`
	Response     *Response       `json:"response,omitempty"`
	Comments     []string        `json:"comments"` // comment ids in posting order
	Shredded     bool            `json:"shredded"`
}

type comment struct {
	item
	Submission   string         `json:"submission"`
	Parent       string         `json:"parent"`
	Author       string         `json:"author"`
	Channel      domain.Channel `json:"channel"`
	Language     string         `json:"language"`
	RegisteredBy string         `json:"registered_by"`
	PostedAt     time.Time      `json:"posted_at"`
	Shredded     bool           `json:"shredded"`
}

type author struct {
	Pseudonym   string          `json:"pseudonym"`
	Name        domain.Personal `json:"name"`
	PublishName bool            `json:"publish_name"`
	// Removed is set when an erasure of theirs was granted: the public
	// views then name no one ("removed participant").
	Removed *Removal `json:"removed,omitempty"`
}

type thresholdReach struct {
	Threshold        int       `json:"threshold"`
	Count            int       `json:"count"`
	SupporterSetHash string    `json:"supporter_set_hash"`
	At               time.Time `json:"at"`
}

// Forward is a remiss to another administration.
type Forward struct {
	To          string    `json:"to"`
	Note        string    `json:"note"`
	CaseNumber  string    `json:"case_number,omitempty"`
	RespondBy   string    `json:"respond_by,omitempty"`
	ForwardedAt time.Time `json:"forwarded_at"`
}

// Response is the municipality's official answer.
type Response struct {
	ResponseID        string    `json:"response_id"`
	Body              string    `json:"body"`
	ResponsibleBody   string    `json:"responsible_body"`
	DecisionReference string    `json:"decision_reference"`
	Outcome           string    `json:"outcome"`
	PublishedAt       time.Time `json:"published_at"`
}

// NewSubmissions returns an empty submission view.
func NewSubmissions() *Submissions { s := &Submissions{}; s.Reset(); return s }

// Name implements Model.
func (*Submissions) Name() string { return NameSubmissions }

// Reset implements Model.
func (s *Submissions) Reset() {
	s.st = submissionsState{Submissions: map[string]*submission{}, Comments: map[string]*comment{},
		Participants: map[string]*author{}}
}

// MarshalJSON implements Model.
func (s *Submissions) MarshalJSON() ([]byte, error) { return json.Marshal(s.st) }

// UnmarshalJSON implements Model.
func (s *Submissions) UnmarshalJSON(b []byte) error {
	s.Reset()
	return json.Unmarshal(b, &s.st)
}

// Apply implements Model.
func (s *Submissions) Apply(ev eventstore.Event, de domain.Event) {
	switch e := de.(type) {
	case *domain.ParticipantRegistered:
		s.st.Participants[e.ParticipantID] = &author{Pseudonym: e.Pseudonym, Name: e.Name, PublishName: e.PublishName}
	case *domain.ConsentChanged:
		if a := s.st.Participants[e.ParticipantID]; a != nil {
			a.PublishName = e.PublishName
		}
	case *domain.ErasureDecided:
		if a := s.st.Participants[e.ParticipantID]; a != nil && e.Outcome == domain.ErasureGranted {
			a.Removed = &Removal{LegalBasis: e.Basis, At: ev.Metadata.OccurredAt}
		}
	case *domain.SubmissionReceived:
		sub := &submission{item: item{ID: e.SubmissionID, Kind: domain.ItemSubmission, Process: e.ProcessID},
			Author: e.Author, Channel: e.Channel, Language: e.Language, RegisteredBy: e.RegisteredBy,
			ReceivedAt: ev.Metadata.OccurredAt, Supporters: map[string]bool{}}
		sub.addVersion(ev, 1, &e.Title, &e.Body, e.Premoderated)
		s.st.Submissions[e.SubmissionID] = sub
	case *domain.CommentPosted:
		c := &comment{item: item{ID: e.CommentID, Kind: domain.ItemComment, Process: e.ProcessID},
			Submission: e.SubmissionID, Parent: e.ParentID, Author: e.Author, Channel: e.Channel,
			Language: e.Language, RegisteredBy: e.RegisteredBy, PostedAt: ev.Metadata.OccurredAt}
		c.addVersion(ev, 1, nil, &e.Body, e.Premoderated)
		s.st.Comments[e.CommentID] = c
		if sub := s.st.Submissions[e.SubmissionID]; sub != nil {
			sub.Comments = append(sub.Comments, e.CommentID)
		}
	case *domain.SupportGiven:
		if sub := s.st.Submissions[e.SubmissionID]; sub != nil {
			sub.Supporters[e.ParticipantID] = true
		}
	case *domain.SupportWithdrawn:
		if sub := s.st.Submissions[e.SubmissionID]; sub != nil {
			delete(sub.Supporters, e.ParticipantID)
		}
	case *domain.SupportThresholdReached:
		if sub := s.st.Submissions[e.SubmissionID]; sub != nil {
			sub.Threshold = &thresholdReach{Threshold: e.Threshold, Count: e.Count,
				SupporterSetHash: e.SupporterSetHash, At: ev.Metadata.OccurredAt}
		}
	case *domain.SubmissionForwarded:
		if sub := s.st.Submissions[e.SubmissionID]; sub != nil {
			sub.Forwards = append(sub.Forwards, Forward{To: e.To, Note: e.Note, CaseNumber: e.CaseNumber,
				RespondBy: e.RespondBy, ForwardedAt: ev.Metadata.OccurredAt})
		}
	case *domain.OfficialResponsePublished:
		if sub := s.st.Submissions[e.SubmissionID]; sub != nil {
			sub.Response = &Response{ResponseID: e.ResponseID, Body: e.Body, ResponsibleBody: e.ResponsibleBody,
				DecisionReference: e.DecisionReference, Outcome: e.Outcome, PublishedAt: ev.Metadata.OccurredAt}
		}
	case *domain.KeysShredded:
		// Content sealed with a shredded key is gone for good; the views
		// say so instead of offering ciphertext nobody can open.
		for _, subj := range append([]string{e.SubjectID}, e.Subjects...) {
			if sub := s.st.Submissions[subj]; sub != nil {
				sub.Shredded = true
			}
			if c := s.st.Comments[subj]; c != nil {
				c.Shredded = true
			}
		}
	default:
		id, kind := itemOf(de)
		if kind == domain.ItemComment {
			if c := s.st.Comments[id]; c != nil {
				c.apply(ev, de)
			}
		} else if sub := s.st.Submissions[id]; sub != nil {
			sub.apply(ev, de)
		}
	}
}

// PublicSubmission is a submission as the public sees it.
type PublicSubmission struct {
	ID         string           `json:"id"`
	ProcessID  string           `json:"process_id"`
	Status     string           `json:"status"`
	Author     string           `json:"author"`                // the participant's public pseudonym
	AuthorName *domain.Personal `json:"author_name,omitempty"` // sealed; only with consent to publish the name
	Channel    domain.Channel   `json:"channel"`
	Language   string           `json:"language"`
	ReceivedAt time.Time        `json:"received_at"`
	Content    *Content         `json:"content,omitempty"` // nil when hidden or disposed
	Hidden     *Reason          `json:"hidden,omitempty"`  // why the content is not shown
	Restricted *Reason          `json:"restricted,omitempty"`
	Disposed   *Disposal        `json:"disposed,omitempty"`
	// AuthorRemoved: the author's erasure was granted; Author is empty.
	AuthorRemoved bool `json:"author_removed,omitempty"`
	// Removed: the content was removed at the participant's request (a
	// granted erasure), which is not a disposal.
	Removed   *Removal        `json:"removed,omitempty"`
	Supports  int             `json:"supports"`
	Threshold *Threshold      `json:"threshold_reached,omitempty"`
	Forwards  []Forward       `json:"forwards"`
	Response  *Response       `json:"response,omitempty"`
	Comments  []PublicComment `json:"comments"`
}

// Content is one version of an item's content, still sealed.
type Content struct {
	Version int              `json:"version"`
	Title   *domain.Personal `json:"title,omitempty"`
	Body    domain.Personal  `json:"body"`
	At      time.Time        `json:"at"`
}

// Disposal says that content was disposed of under a gallringsbeslut.
type Disposal struct {
	CaseNumber string    `json:"case_number,omitempty"`
	LegalBasis string    `json:"legal_basis,omitempty"`
	At         time.Time `json:"at,omitzero"`
}

// Removal says that a participant's data was removed at their request: an
// erasure granted under LegalBasis (e.g. GDPR art. 17(1)(a)).
type Removal struct {
	LegalBasis string    `json:"legal_basis"`
	At         time.Time `json:"at,omitzero"`
}

// Threshold says when support crossed the process's threshold.
type Threshold struct {
	Threshold        int       `json:"threshold"`
	Count            int       `json:"count"`
	SupporterSetHash string    `json:"supporter_set_hash"`
	At               time.Time `json:"at"`
}

// PublicComment is a comment as the public sees it.
type PublicComment struct {
	ID         string    `json:"id"`
	ParentID   string    `json:"parent_id,omitempty"`
	Status     string    `json:"status"`
	Author     string    `json:"author"`
	PostedAt   time.Time `json:"posted_at"`
	Content    *Content  `json:"content,omitempty"`
	Hidden     *Reason   `json:"hidden,omitempty"`
	Restricted *Reason   `json:"restricted,omitempty"`
	Disposed   *Disposal `json:"disposed,omitempty"`
	// AuthorRemoved and Removed: as in PublicSubmission.
	AuthorRemoved bool     `json:"author_removed,omitempty"`
	Removed       *Removal `json:"removed,omitempty"`
}

func (s *Submissions) pseudonym(participant string) string {
	if a := s.st.Participants[participant]; a != nil && a.Removed == nil {
		return a.Pseudonym
	}
	return ""
}

// removal tells whether an item's author was erased, and turns a disposal
// that is only the erasure's shredding into a removal at their request (a
// disposal decision of its own stays a disposal).
func (s *Submissions) removal(participant string, it *item, disp **Disposal) (bool, *Removal) {
	a := s.st.Participants[participant]
	if a == nil || a.Removed == nil {
		return false, nil
	}
	if *disp != nil && it.Disposal == nil {
		*disp = nil
		r := *a.Removed
		return true, &r
	}
	return true, nil
}

// publicContent returns the content the public may see, and the reason if
// it may not.
func publicContent(it *item, shredded bool, withTitle bool) (c *Content, hidden, restricted *Reason, disp *Disposal) {
	if it.Disposal != nil || shredded {
		disp = &Disposal{}
		if it.Disposal != nil {
			disp = &Disposal{CaseNumber: it.Disposal.CaseNumber, LegalBasis: it.Disposal.LegalBasis, At: it.Disposal.At}
		}
		return nil, nil, nil, disp
	}
	if it.Status() == StatusHidden {
		return nil, it.Restriction.reason(), nil, nil
	}
	if it.Restriction != nil {
		restricted = it.Restriction.reason()
	}
	v := it.version(it.PublicVersion)
	if v == nil {
		return nil, nil, restricted, nil
	}
	c = &Content{Version: v.Version, Body: deref(v.Body), At: v.At}
	if withTitle {
		c.Title = clonePersonal(v.Title)
	}
	return c, nil, restricted, nil
}

// Public returns the public view of a submission and its public comments;
// false when it does not exist or is not public (pre-moderation pending
// or refused).
func (s *Submissions) Public(id string) (PublicSubmission, bool) {
	sub := s.st.Submissions[id]
	if sub == nil || !sub.Public() {
		return PublicSubmission{}, false
	}
	p := PublicSubmission{ID: sub.ID, ProcessID: sub.Process, Status: sub.Status(),
		Author: s.pseudonym(sub.Author), Channel: sub.Channel, Language: sub.Language,
		ReceivedAt: sub.ReceivedAt, Supports: len(sub.Supporters), Forwards: slices.Clone(sub.Forwards),
		Response: sub.Response, Comments: []PublicComment{}}
	if p.Forwards == nil {
		p.Forwards = []Forward{}
	}
	if a := s.st.Participants[sub.Author]; a != nil && a.PublishName {
		n := a.Name
		p.AuthorName = &n
	}
	p.Content, p.Hidden, p.Restricted, p.Disposed = publicContent(&sub.item, sub.Shredded, true)
	if p.AuthorRemoved, p.Removed = s.removal(sub.Author, &sub.item, &p.Disposed); p.AuthorRemoved {
		p.AuthorName = nil
	}
	if t := sub.Threshold; t != nil {
		p.Threshold = &Threshold{Threshold: t.Threshold, Count: t.Count, SupporterSetHash: t.SupporterSetHash, At: t.At}
	}
	for _, cid := range sub.Comments {
		c := s.st.Comments[cid]
		if c == nil || !c.Public() {
			continue
		}
		pc := PublicComment{ID: c.ID, ParentID: c.Parent, Status: c.Status(), Author: s.pseudonym(c.Author), PostedAt: c.PostedAt}
		pc.Content, pc.Hidden, pc.Restricted, pc.Disposed = publicContent(&c.item, c.Shredded, false)
		pc.AuthorRemoved, pc.Removed = s.removal(c.Author, &c.item, &pc.Disposed)
		p.Comments = append(p.Comments, pc)
	}
	return p, true
}

// PublicList returns the public views (without comments) of a process's
// submissions, oldest first.
func (s *Submissions) PublicList(processID string) []PublicSubmission {
	out := []PublicSubmission{}
	for _, id := range s.ids(processID) {
		if p, ok := s.Public(id); ok {
			p.Comments = nil
			out = append(out, p)
		}
	}
	return out
}

func (s *Submissions) ids(processID string) []string {
	var subs []*submission
	for _, sub := range s.st.Submissions {
		if processID == "" || sub.Process == processID {
			subs = append(subs, sub)
		}
	}
	slices.SortFunc(subs, func(a, b *submission) int { return int(a.Versions[0].Position) - int(b.Versions[0].Position) })
	ids := make([]string, len(subs))
	for i, sub := range subs {
		ids[i] = sub.ID
	}
	return ids
}

// InternalSubmission is everything the ledger knows about a submission, for
// moderators, officials and auditors. Personal fields stay sealed.
type InternalSubmission struct {
	ID            string             `json:"id"`
	ProcessID     string             `json:"process_id"`
	Status        string             `json:"status"`
	Author        string             `json:"author"` // participant id
	Channel       domain.Channel     `json:"channel"`
	Language      string             `json:"language"`
	RegisteredBy  string             `json:"registered_by,omitempty"`
	ReceivedAt    time.Time          `json:"received_at"`
	PublicVersion int                `json:"public_version"`
	Versions      []Content          `json:"versions"`
	Pending       bool               `json:"pending"`
	Restriction   *Reason            `json:"restriction,omitempty"`
	Decisions     []InternalDecision `json:"decisions"`
	OpenFlags     int                `json:"open_flags"`
	OpenAppeals   int                `json:"open_appeals"`
	Disposed      *Disposal          `json:"disposed,omitempty"`
	Shredded      bool               `json:"shredded"`
	Supporters    []string           `json:"supporters"`
	Threshold     *Threshold         `json:"threshold_reached,omitempty"`
	Forwards      []Forward          `json:"forwards"`
	Response      *Response          `json:"response,omitempty"`
	Comments      []InternalComment  `json:"comments"`
}

// InternalDecision is one moderation decision on an item.
type InternalDecision struct {
	ID             string            `json:"id"`
	Visibility     domain.Visibility `json:"visibility"`
	ContentVersion int               `json:"content_version"`
	Overturned     bool              `json:"overturned"`
}

// InternalComment is everything about a comment.
type InternalComment struct {
	ID           string             `json:"id"`
	ParentID     string             `json:"parent_id,omitempty"`
	Status       string             `json:"status"`
	Author       string             `json:"author"`
	Channel      domain.Channel     `json:"channel"`
	RegisteredBy string             `json:"registered_by,omitempty"`
	PostedAt     time.Time          `json:"posted_at"`
	Content      Content            `json:"content"`
	Pending      bool               `json:"pending"`
	Restriction  *Reason            `json:"restriction,omitempty"`
	Decisions    []InternalDecision `json:"decisions"`
	OpenFlags    int                `json:"open_flags"`
	Disposed     *Disposal          `json:"disposed,omitempty"`
	Shredded     bool               `json:"shredded"`
}

func internalDecisions(it *item) []InternalDecision {
	out := make([]InternalDecision, len(it.Decisions))
	for i, d := range it.Decisions {
		out[i] = InternalDecision(d)
	}
	return out
}

func internalDisposal(it *item) *Disposal {
	if it.Disposal == nil {
		return nil
	}
	return &Disposal{CaseNumber: it.Disposal.CaseNumber, LegalBasis: it.Disposal.LegalBasis, At: it.Disposal.At}
}

// Internal returns everything about a submission, hidden and pending
// content included.
func (s *Submissions) Internal(id string) (InternalSubmission, bool) {
	sub := s.st.Submissions[id]
	if sub == nil {
		return InternalSubmission{}, false
	}
	_, pending := sub.pending()
	p := InternalSubmission{ID: sub.ID, ProcessID: sub.Process, Status: sub.Status(), Author: sub.Author,
		Channel: sub.Channel, Language: sub.Language, RegisteredBy: sub.RegisteredBy, ReceivedAt: sub.ReceivedAt,
		PublicVersion: sub.PublicVersion, Pending: pending, Restriction: sub.Restriction.reason(),
		Decisions: internalDecisions(&sub.item), OpenFlags: len(sub.OpenFlags), OpenAppeals: len(sub.OpenAppeals),
		Disposed: internalDisposal(&sub.item), Shredded: sub.Shredded, Response: sub.Response,
		Forwards: append([]Forward{}, sub.Forwards...), Comments: []InternalComment{}}
	for _, v := range sub.Versions {
		p.Versions = append(p.Versions, Content{Version: v.Version, Title: clonePersonal(v.Title), Body: deref(v.Body), At: v.At})
	}
	p.Supporters = make([]string, 0, len(sub.Supporters))
	for id := range sub.Supporters {
		p.Supporters = append(p.Supporters, id)
	}
	slices.Sort(p.Supporters)
	if t := sub.Threshold; t != nil {
		p.Threshold = &Threshold{Threshold: t.Threshold, Count: t.Count, SupporterSetHash: t.SupporterSetHash, At: t.At}
	}
	for _, cid := range sub.Comments {
		c := s.st.Comments[cid]
		if c == nil {
			continue
		}
		_, cp := c.pending()
		cur := c.current()
		p.Comments = append(p.Comments, InternalComment{ID: c.ID, ParentID: c.Parent, Status: c.Status(),
			Author: c.Author, Channel: c.Channel, RegisteredBy: c.RegisteredBy, PostedAt: c.PostedAt,
			Content: Content{Version: cur.Version, Body: deref(cur.Body), At: cur.At}, Pending: cp,
			Restriction: c.Restriction.reason(), Decisions: internalDecisions(&c.item),
			OpenFlags: len(c.OpenFlags), Disposed: internalDisposal(&c.item), Shredded: c.Shredded})
	}
	return p, true
}

// deref and clonePersonal copy sealed fields out of model state, so that
// answers share no memory with it.
func deref(p *domain.Personal) domain.Personal {
	if p == nil {
		return domain.Personal{}
	}
	return domain.Personal{Subject: p.Subject, Sealed: slices.Clone(p.Sealed)}
}

func clonePersonal(p *domain.Personal) *domain.Personal {
	if p == nil {
		return nil
	}
	c := deref(p)
	return &c
}
