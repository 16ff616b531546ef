package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/malmo/participation-ledger/auth"
	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/ledger"
	"github.com/malmo/participation-ledger/projections"
)

// ---- login and logout ----

func (h *Handler) loginForm(w http.ResponseWriter, r *http.Request) {
	h.renderLogin(w, r, http.StatusOK, "")
}

// renderLogin shows the login form with a fresh login CSRF token, kept in
// a cookie and echoed by the form (double submit: there is no session yet
// to bind it to).
func (h *Handler) renderLogin(w http.ResponseWriter, r *http.Request, status int, errKey string) {
	p := h.newPage(w, r, "")
	c := h.cats[p.Lang]
	p.Title = c.t("login.title")
	var b [16]byte
	rand.Read(b[:])
	tok := hex.EncodeToString(b[:])
	h.setCookie(w, loginCSRF, tok, 3600)
	p.CSRF = tok
	if errKey != "" {
		p.Error = c.t(errKey)
	}
	p.At = view{Latest: true}
	h.render(w, r, status, "login", p)
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	ck, err := r.Cookie(loginCSRF)
	if err != nil || ck.Value == "" || r.PostFormValue("csrf") != ck.Value {
		h.renderLogin(w, r, http.StatusForbidden, "error.csrf")
		return
	}
	addr := clientAddr(r)
	if _, blocked := h.failures.Blocked(addr); blocked {
		w.Header().Set("Retry-After", "60")
		h.renderLogin(w, r, http.StatusTooManyRequests, "signin.err.toomany")
		return
	}
	tok := strings.TrimSpace(r.PostFormValue("token"))
	p, err := h.svc.Authenticate(r.Context(), tok)
	if err != nil {
		h.failures.Fail(addr)
		h.renderLogin(w, r, http.StatusUnauthorized, "login.bad")
		return
	}
	if !slices.Contains(staffRoles, p.Role) && p.Role != domain.RoleElected {
		h.renderLogin(w, r, http.StatusForbidden, "login.role")
		return
	}
	h.sessions.Start(w, r, auth.Session{Principal: p}, "")
	h.setCookie(w, loginCSRF, "", -1)
	next := "/dashboard"
	if p.Role == domain.RoleAuditor {
		next = "/audit"
	}
	if p.Role == domain.RoleElected {
		next = "/" // elected members read results and record feedback from each process
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// staff returns the logged-in principal, or redirects to the login page
// (pages) and answers 401 (fragments, the live feed).
func (h *Handler) staff(w http.ResponseWriter, r *http.Request, redirect bool) (ledger.Principal, string, bool) {
	p, tok, ok := h.session(r)
	if !ok {
		if redirect {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
		} else {
			http.Error(w, "log in", http.StatusUnauthorized)
		}
	}
	return p, tok, ok
}

// ---- the officials' live dashboard ----

type dashData struct {
	Processes []dashProcess
	Queue     []queueRow
	Pos       eventstore.Position
	Head      eventstore.Position
	Lag       uint64
	Decisions int
	QueueLen  int
	Recent    []recentEvent
	Updated   string
}

type dashProcess struct {
	processRow
	Queue     int
	Flagged   int
	Premod    int
	Appeals   int
	Decisions int
	Reached   int
	// Statements and Votes count a dialogue's contributions (every
	// status; votes cast, changes included), beside the survey answers.
	Statements int
	Votes      int
}

type queueRow struct {
	projections.QueueEntry
	Process text
	Since   string
	// Mine is an appeal against the viewer's own decision: it is not
	// offered to them (another moderator decides it).
	Mine bool
}

type recentEvent struct {
	Position eventstore.Position
	Type     string
	Role     string
	At       string
}

func (h *Handler) dashboard(w http.ResponseWriter, r *http.Request) {
	pr, _, ok := h.staff(w, r, true)
	if !ok {
		return
	}
	p := h.newPage(w, r, "")
	p.Title = h.cats[p.Lang].t("dash.title")
	d, err := h.dashData(r.Context(), pr, p.Lang)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p.At, p.Data = view{Latest: true, Pos: d.Pos}, d
	h.render(w, r, http.StatusOK, "dashboard", p)
}

// panel is the live part of the dashboard alone: the page's script fetches
// it when the live feed reports a change and swaps it in.
func (h *Handler) panel(w http.ResponseWriter, r *http.Request) {
	pr, _, ok := h.staff(w, r, false)
	if !ok {
		return
	}
	p := h.newPage(w, r, "")
	d, err := h.dashData(r.Context(), pr, p.Lang)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p.At, p.Data = view{Latest: true, Pos: d.Pos}, d
	var b bytes.Buffer
	if err := h.pages[p.Lang]["dashboard"].ExecuteTemplate(&b, "panel", p); err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(b.Bytes())
}

// live streams the read models' changes to the dashboard. They carry no
// content (see Config.Live), but the feed is for logged-in staff: it is
// what the dashboard is built on.
func (h *Handler) live(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := h.staff(w, r, false); !ok {
		return
	}
	h.cfg.Live.ServeHTTP(w, r)
}

const recentEvents = 8

func (h *Handler) dashData(ctx context.Context, viewer ledger.Principal, lang string) (dashData, error) {
	var d dashData
	head, err := h.cfg.Store.Head(ctx)
	if err != nil {
		return d, err
	}
	_, err = h.cfg.Runner.Read(ctx, projections.Live(), func(m *projections.View) error {
		d.Pos = m.Position()
		trails := projections.Get[*projections.Trails](m)
		entries := projections.Get[*projections.Queue](m).Entries("")
		byProcess := map[string]*dashProcess{}
		for _, o := range projections.Get[*projections.Processes](m).List() {
			dp := &dashProcess{processRow: processRow{Overview: o, T: pick(o.Title, lang)}}
			if o.ThresholdProgress != nil {
				dp.Reached = o.ThresholdProgress.Reached
			}
			dp.Decisions = projections.Get[*projections.Transparency](m).Report(projections.ReportQuery{ProcessID: o.ID}).Decisions
			if dc, ok := projections.Get[*projections.Dialogue](m).Counts(o.ID, false); ok {
				dp.Statements = len(dc.Statements)
				for _, s := range dc.Statements {
					dp.Votes += s.VotesCast
				}
			}
			d.Decisions += dp.Decisions
			byProcess[o.ID] = dp
			d.Processes = append(d.Processes, *dp)
		}
		for _, e := range entries {
			if dp := byProcess[e.ProcessID]; dp != nil {
				dp.Queue++
				switch e.Reason {
				case projections.ReasonFlagged:
					dp.Flagged++
				case projections.ReasonPremoderation:
					dp.Premod++
				case projections.ReasonAppeal:
					dp.Appeals++
				}
			}
			row := queueRow{QueueEntry: e, Since: h.timeFmt(e.Since)}
			if dp := byProcess[e.ProcessID]; dp != nil {
				row.Process = dp.T
			}
			if e.Reason == projections.ReasonAppeal {
				es, _ := trails.Internal(e.ItemID, m.Position())
				row.Mine = decidedBy(es, e.DecisionID) == viewer.Actor().ID
			}
			d.Queue = append(d.Queue, row)
		}
		for i := range d.Processes {
			d.Processes[i] = *byProcess[d.Processes[i].ID]
		}
		return nil
	})
	if err != nil {
		return d, err
	}
	d.QueueLen = len(d.Queue)
	d.Head = max(head, d.Pos)
	d.Lag = uint64(d.Head - d.Pos)
	from := eventstore.Position(0)
	if head > recentEvents {
		from = head - recentEvents
	}
	evs, err := h.cfg.Store.ReadAll(ctx, from, recentEvents)
	if err != nil {
		return d, err
	}
	for i := len(evs) - 1; i >= 0; i-- {
		ev := evs[i]
		d.Recent = append(d.Recent, recentEvent{Position: ev.Position, Type: ev.Type, Role: ev.Metadata.Role, At: h.timeFmt(ev.RecordedAt)})
	}
	d.Updated = time.Now().In(h.loc).Format("15:04:05")
	return d, nil
}

// decidedBy returns the moderator of a decision, from the item's named
// trail.
func decidedBy(es []projections.TrailEntry, decision string) string {
	for _, e := range es {
		if e.Type == "ModerationDecided" && e.DecisionID == decision {
			return e.Actor
		}
	}
	return ""
}

// ---- the moderation form ----

type itemData struct {
	Kind        string
	ID          string
	ProcessID   string
	Submission  string // a comment's submission
	Status      string
	Version     int
	VersionAt   string
	Title       opened
	Body        opened
	Revision    uint64
	Flags       []openFlag
	Source      domain.DecisionSource
	AutoDetect  bool
	Appeals     []appealRow
	Restriction *projections.Reason
	Key         string // the Idempotency-Key this form submits with
	Form        url.Values
	Done        string
	Visibility  []string
	Categories  []string
	ContentType []choice // the content type checkboxes, checked as last posted (text by default)
}

// choice is a checkbox of a form.
type choice struct {
	Value   string
	Checked bool
}

// contentTypeChoices marks the content types checked in form f, or text
// when f has none (a fresh form: the ledger stores text).
func contentTypeChoices(f url.Values) []choice {
	picked := f["content_type"]
	if len(picked) == 0 {
		picked = []string{string(domain.ContentText)}
	}
	var out []choice
	for _, t := range domain.ContentTypes() {
		out = append(out, choice{Value: string(t), Checked: slices.Contains(picked, string(t))})
	}
	return out
}

// scopes are the territorial scopes the form offers: a hidden post on the
// municipality's site is hidden everywhere (the EU/EEA), unless the
// decision rests on Swedish law alone.
var scopes = map[string][]string{"eea": domain.EEA(), "SE": {"SE"}}

type openFlag struct {
	ID       string
	Source   string
	Category string
}

type appealRow struct {
	ID         string
	DecisionID string
	Visibility string
	Moderator  string
	Mine       bool
	Key        string
}

// visibilities are the decisions the form offers.
var visibilities = []domain.Visibility{domain.VisibilityApproved, domain.VisibilityNoAction, domain.VisibilityDisabled,
	domain.VisibilityDemoted, domain.VisibilityInteractionRestricted, domain.VisibilityLabelled, domain.VisibilityRestored}

func (h *Handler) itemForm(w http.ResponseWriter, r *http.Request) {
	pr, tok, ok := h.staff(w, r, true)
	if !ok {
		return
	}
	p := h.newPage(w, r, "")
	d, found, err := h.itemData(r.Context(), pr, chi.URLParam(r, "kind"), chi.URLParam(r, "id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !found {
		h.notFound(w, r)
		return
	}
	if done := r.URL.Query().Get("done"); done != "" {
		if _, err := strconv.ParseUint(done, 10, 64); err == nil {
			p.Flash = h.cats[p.Lang].t("mod.done", done)
		}
	}
	p.CSRF = h.csrf(tok)
	h.renderItem(w, r, http.StatusOK, p, d)
}

func (h *Handler) renderItem(w http.ResponseWriter, r *http.Request, status int, p *page, d itemData) {
	p.Title = h.cats[p.Lang].t("mod.title")
	p.At, p.Data = view{Latest: true}, d
	h.render(w, r, status, "item", p)
}

// itemData gathers what a moderator needs to decide on an item: the
// current version's content, the stream revision they saw, the open
// notices and appeals.
func (h *Handler) itemData(ctx context.Context, viewer ledger.Principal, kind, id string) (itemData, bool, error) {
	d := itemData{Kind: kind, ID: id, Key: uuid.NewString(), Form: url.Values{}}
	for _, v := range visibilities {
		d.Visibility = append(d.Visibility, string(v))
	}
	for _, c := range domain.Categories() {
		d.Categories = append(d.Categories, string(c))
	}
	d.ContentType = contentTypeChoices(d.Form)
	ik := domain.ItemKind(kind)
	if ik != domain.ItemSubmission && ik != domain.ItemComment {
		return d, false, nil
	}
	stream := domain.StreamForItem(ik, id)
	last, err := h.cfg.Store.ReadStream(ctx, stream, eventstore.ReadStreamOptions{Direction: eventstore.Backwards, From: eventstore.End, Limit: 1})
	if errors.Is(err, eventstore.ErrStreamNotFound) || err == nil && len(last) == 0 {
		return d, false, nil
	}
	if err != nil {
		return d, false, err
	}
	d.Revision = last[0].Revision
	subID := id
	if ik == domain.ItemComment {
		first, err := h.cfg.Store.ReadStream(ctx, stream, eventstore.ReadStreamOptions{Direction: eventstore.Forwards, Limit: 1})
		if err != nil || len(first) == 0 {
			return d, false, err
		}
		de, err := domain.Decode(first[0].Type, first[0].Version, first[0].Data)
		cp, ok := de.(*domain.CommentPosted)
		if err != nil || !ok {
			return d, false, err
		}
		subID, d.Submission = cp.SubmissionID, cp.SubmissionID
	}
	var (
		sub     projections.InternalSubmission
		found   bool
		entries []projections.TrailEntry
	)
	_, err = h.cfg.Runner.Read(ctx, projections.Live(), func(m *projections.View) error {
		sub, found = projections.Get[*projections.Submissions](m).Internal(subID)
		entries, _ = projections.Get[*projections.Trails](m).Internal(id, m.Position())
		return nil
	})
	if err != nil {
		return d, false, err
	}
	if !found {
		return d, false, nil
	}
	d.ProcessID = sub.ProcessID
	var decisions []projections.InternalDecision
	if ik == domain.ItemSubmission {
		d.Status, d.Restriction, decisions = sub.Status, sub.Restriction, sub.Decisions
		if n := len(sub.Versions); n > 0 {
			v := sub.Versions[n-1]
			d.Version, d.VersionAt, d.Title, d.Body = v.Version, h.timeFmt(v.At), h.open(v.Title), h.open(&v.Body)
		}
	} else {
		i := slices.IndexFunc(sub.Comments, func(c projections.InternalComment) bool { return c.ID == id })
		if i < 0 {
			return d, false, nil
		}
		c := sub.Comments[i]
		d.Status, d.Restriction, decisions = c.Status, c.Restriction, c.Decisions
		d.Version, d.VersionAt, d.Body = c.Content.Version, h.timeFmt(c.Content.At), h.open(&c.Content.Body)
	}
	d.Flags = openFlags(entries)
	d.Source, d.AutoDetect = sourceOf(d.Flags)
	// Open appeals: filed and not decided; the appeal against the viewer's
	// own decision is listed but not offered.
	decided := map[string]bool{}
	for _, e := range entries {
		if e.Type == "AppealDecided" {
			decided[e.AppealID] = true
		}
	}
	for _, e := range entries {
		if e.Type != "AppealFiled" || decided[e.AppealID] {
			continue
		}
		a := appealRow{ID: e.AppealID, DecisionID: e.DecisionID, Moderator: decidedBy(entries, e.DecisionID),
			Key: uuid.NewString()}
		for _, dc := range decisions {
			if dc.ID == e.DecisionID {
				a.Visibility = string(dc.Visibility)
			}
		}
		a.Mine = a.Moderator == viewer.Actor().ID
		d.Appeals = append(d.Appeals, a)
	}
	return d, true, nil
}

// openFlags replays the item's trail the way the read models do: a
// decision answers the notices about its content version or older ones,
// and the notices it names.
func openFlags(entries []projections.TrailEntry) []openFlag {
	type fl struct {
		openFlag
		version int
	}
	var open []fl
	for _, e := range entries {
		switch e.Type {
		case "ContentFlagged":
			open = append(open, fl{openFlag{ID: e.FlagID, Source: e.Source, Category: string(e.Category)}, e.ContentVersion})
		case "ModerationDecided":
			open = slices.DeleteFunc(open, func(f fl) bool {
				return f.version <= e.ContentVersion || slices.Contains(e.FlagIDs, f.ID)
			})
		}
	}
	out := make([]openFlag, len(open))
	for i, f := range open {
		out[i] = f.openFlag
	}
	return out
}

// sourceOf derives the DSA source of a decision on these notices: none is
// the moderator's own initiative, only residents' notices are art. 16
// notices, anything else is another notification; an automated notice
// among them means automated detection.
func sourceOf(flags []openFlag) (domain.DecisionSource, bool) {
	if len(flags) == 0 {
		return domain.SourceOwnInitiative, false
	}
	src, auto := domain.SourceParticipantNotice, false
	for _, f := range flags {
		if f.Source != string(domain.FlagByParticipant) {
			src = domain.SourceStaffNotice
		}
		auto = auto || f.Source == string(domain.FlagByAutomated)
	}
	return src, auto
}

// moderatorPost checks what every moderation POST needs: a moderator's
// session and the CSRF token. It answers and returns false otherwise.
func (h *Handler) moderatorPost(w http.ResponseWriter, r *http.Request) (ledger.Principal, *page, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	pr, tok, ok := h.staff(w, r, true)
	if !ok {
		return pr, nil, false
	}
	p := h.newPage(w, r, "")
	if !h.checkCSRF(r, tok) {
		p.Title, p.Error, p.At = h.cats[p.Lang].t("error.title"), h.cats[p.Lang].t("error.csrf"), view{Latest: true}
		h.render(w, r, http.StatusForbidden, "error", p)
		return pr, nil, false
	}
	if pr.Role != domain.RoleModerator {
		p.Title, p.Error, p.At = h.cats[p.Lang].t("error.title"), h.cats[p.Lang].t("mod.onlymoderators"), view{Latest: true}
		h.render(w, r, http.StatusForbidden, "error", p)
		return pr, nil, false
	}
	return pr, p, true
}

func (h *Handler) decide(w http.ResponseWriter, r *http.Request) {
	pr, p, ok := h.moderatorPost(w, r)
	if !ok {
		return
	}
	c := h.cats[p.Lang]
	kind, id := chi.URLParam(r, "kind"), chi.URLParam(r, "id")
	d, found, err := h.itemData(r.Context(), pr, kind, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !found {
		h.notFound(w, r)
		return
	}
	f := r.PostForm
	d.Form, d.Key = f, f.Get("idempotency_key")
	d.ContentType = contentTypeChoices(f)
	vis := domain.Visibility(f.Get("visibility"))
	ground := domain.Ground(f.Get("ground"))
	clause := strings.TrimSpace(f.Get("clause"))
	category := domain.Category(f.Get("category"))
	explanation := strings.TrimSpace(f.Get("explanation"))
	groundExplanation := strings.TrimSpace(f.Get("ground_explanation"))
	contentTypeOther := strings.TrimSpace(f.Get("content_type_other"))
	contentDate := strings.TrimSpace(f.Get("content_date"))
	scope, scopeOK := scopes[f.Get("scope")]
	var contentTypes []domain.ContentType
	for _, t := range f["content_type"] {
		contentTypes = append(contentTypes, domain.ContentType(t))
	}
	version, verr := strconv.Atoi(f.Get("content_version"))
	rev, rerr := strconv.ParseUint(f.Get("revision"), 10, 64)

	// The statement of reasons is checked here first, so the moderator gets
	// every missing field at once, in their language, before the domain
	// (which checks the same rules) sees the command.
	var missing []string
	if !slices.Contains(visibilities, vis) {
		missing = append(missing, "visibility")
	}
	if vis.Restricts() {
		if ground != domain.GroundIllegal && ground != domain.GroundIncompatible {
			missing = append(missing, "ground")
		}
		if clause == "" {
			missing = append(missing, "clause")
		}
		if !slices.Contains(domain.Categories(), category) {
			missing = append(missing, "category")
		}
		if groundExplanation == "" || utf8.RuneCountInString(groundExplanation) > 2000 {
			missing = append(missing, "ground_explanation")
		}
		if len(contentTypes) == 0 {
			missing = append(missing, "content_type")
		}
		if !scopeOK {
			missing = append(missing, "scope")
		}
	}
	if slices.Contains(contentTypes, domain.ContentOther) != (contentTypeOther != "") {
		missing = append(missing, "content_type_other")
	}
	if _, err := time.Parse(time.DateOnly, contentDate); contentDate != "" && err != nil {
		missing = append(missing, "content_date")
	}
	if explanation == "" || vis.Restricts() && utf8.RuneCountInString(explanation) > 5000 {
		missing = append(missing, "explanation")
	}
	if d.Key == "" || verr != nil || rerr != nil {
		missing = append(missing, "form")
	}
	if len(missing) > 0 {
		p.Error, p.ErrorItems = c.t("mod.missing"), fieldErrors(c, missing)
		p.CSRF = r.PostFormValue("csrf")
		h.renderItem(w, r, http.StatusUnprocessableEntity, p, d)
		return
	}
	cmd := domain.DecideModeration{ContentVersion: version, Visibility: vis, Explanation: explanation,
		ContentType: contentTypes, ContentTypeOther: contentTypeOther, ContentDate: contentDate,
		AutomatedDecision: domain.AutomatedNot}
	if vis.Restricts() {
		cmd.Ground, cmd.Category, cmd.GroundExplanation, cmd.TerritorialScope = ground, category, groundExplanation, scope
		if ground == domain.GroundIllegal {
			cmd.LegalGround = clause
		} else {
			cmd.PolicyClause = clause
		}
	}
	// The notices decided are the ones the moderator saw on the form.
	seen := f["flag_ids"]
	var flags []openFlag
	for _, fl := range d.Flags {
		if slices.Contains(seen, fl.ID) {
			flags = append(flags, fl)
			cmd.FlagIDs = append(cmd.FlagIDs, fl.ID)
		}
	}
	cmd.Source, cmd.AutomatedDetection = sourceOf(flags)
	res, err := h.svc.DecideModeration(r.Context(), pr.Actor(), domain.ItemKind(kind), id, ledger.Request[domain.DecideModeration]{
		Command: cmd, IdempotencyKey: d.Key, IfMatch: &rev})
	if err != nil {
		h.commandFailed(w, r, p, d, err)
		return
	}
	h.notifyAuthor(r, pr, kind, id, res.ID, "") // inbox.go
	h.afterWrite(w, r, res, "/dashboard/items/"+url.PathEscape(kind)+"/"+url.PathEscape(id))
}

func (h *Handler) decideAppeal(w http.ResponseWriter, r *http.Request) {
	pr, p, ok := h.moderatorPost(w, r)
	if !ok {
		return
	}
	c := h.cats[p.Lang]
	kind, id, appeal := chi.URLParam(r, "kind"), chi.URLParam(r, "id"), chi.URLParam(r, "appeal")
	d, found, err := h.itemData(r.Context(), pr, kind, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !found {
		h.notFound(w, r)
		return
	}
	f := r.PostForm
	d.Form = f
	outcome := f.Get("outcome")
	explanation := strings.TrimSpace(f.Get("explanation"))
	key := f.Get("idempotency_key")
	rev, rerr := strconv.ParseUint(f.Get("revision"), 10, 64)
	var missing []string
	if outcome != domain.AppealUpheld && outcome != domain.AppealOverturned {
		missing = append(missing, "outcome")
	}
	if explanation == "" {
		missing = append(missing, "appeal-explanation")
	}
	if key == "" || rerr != nil {
		missing = append(missing, "form")
	}
	if len(missing) > 0 {
		p.Error, p.ErrorItems, p.CSRF = c.t("mod.missing"), fieldErrors(c, missing), r.PostFormValue("csrf")
		h.renderItem(w, r, http.StatusUnprocessableEntity, p, d)
		return
	}
	res, err := h.svc.DecideAppeal(r.Context(), pr.Actor(), domain.ItemKind(kind), id, ledger.Request[domain.DecideAppeal]{
		Command:        domain.DecideAppeal{AppealID: appeal, Outcome: outcome, Explanation: explanation},
		IdempotencyKey: key, IfMatch: &rev})
	if err != nil {
		h.commandFailed(w, r, p, d, err)
		return
	}
	h.notifyAuthor(r, pr, kind, id, "", appeal) // inbox.go
	h.afterWrite(w, r, res, "/dashboard/items/"+url.PathEscape(kind)+"/"+url.PathEscape(id))
}

// commandFailed re-renders the form with what went wrong. The domain's
// messages are validation texts written for people; anything else is a
// 500 without details.
func (h *Handler) commandFailed(w http.ResponseWriter, r *http.Request, p *page, d itemData, err error) {
	c := h.cats[p.Lang]
	status := http.StatusUnprocessableEntity
	switch {
	case errors.Is(err, eventstore.ErrWrongExpectedVersion):
		status, p.Error = http.StatusConflict, c.t("mod.stale")
	case errors.Is(err, domain.ErrForbidden):
		status, p.Error = http.StatusForbidden, c.t("mod.refused")
		p.ErrorItems = []errItem{{Text: err.Error()}}
	case errors.Is(err, domain.ErrConflict), errors.Is(err, domain.ErrInvalid), errors.Is(err, domain.ErrNotFound),
		errors.Is(err, ledger.ErrInvalid):
		p.Error = c.t("mod.refused")
		p.ErrorItems = []errItem{{Text: err.Error()}}
	default:
		h.fail(w, r, err)
		return
	}
	// A stale form is answered with the current state and a fresh key: the
	// moderator must look again before deciding.
	if status == http.StatusConflict {
		d.Key = uuid.NewString()
	}
	p.CSRF = r.PostFormValue("csrf")
	h.renderItem(w, r, status, p, d)
}

// afterWrite waits (briefly) until the read models include the write, so
// the page the moderator lands on shows it, then redirects there.
func (h *Handler) afterWrite(w http.ResponseWriter, r *http.Request, res ledger.Result, to string) {
	pos := res.Last().Position
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := h.cfg.Runner.Wait(ctx, pos); err != nil {
		h.log.WarnContext(r.Context(), "read models behind the write", "position", pos, "err", err)
	}
	http.Redirect(w, r, to+"?done="+strconv.FormatUint(uint64(pos), 10), http.StatusSeeOther)
}

// fieldErrors names the missing fields in the visitor's language, each
// linked to its control (WCAG 3.3.1).
func fieldErrors(c catalogue, fields []string) []errItem {
	out := make([]errItem, len(fields))
	for i, f := range fields {
		out[i] = errItem{Field: f, Text: c.t("field." + f)}
		if f == "form" || f == "outcome" || f == "appeal-explanation" { // no single control to jump to
			out[i].Field = ""
		}
	}
	return out
}
