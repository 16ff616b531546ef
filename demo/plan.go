package demo

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/ledger"
)

// sizes are the knobs of a Size.
type sizes struct {
	people          int
	subs            int     // submissions over all processes
	commentsPerSub  float64 // mean
	surveyShare     float64 // share of people answering the survey
	thresholdFactor float64 // scales the processes' support thresholds
	supportScale    float64 // scales supports per submission
}

func sizeOf(s Size) sizes {
	if s == Small {
		return sizes{people: 40, subs: 28, commentsPerSub: 1.5, surveyShare: 0.5, thresholdFactor: 0.16, supportScale: 0.2}
	}
	return sizes{people: 420, subs: 320, commentsPerSub: 2.2, surveyShare: 0.45, thresholdFactor: 1, supportScale: 1}
}

// end is the last moment of the history: recent enough that the open
// processes look alive, and before any machine's today that runs this.
var end = time.Date(2026, 11, 20, 17, 0, 0, 0, time.UTC)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 8, 0, 0, 0, time.UTC) }

// policy is the terms moderators apply in every process.
const policy = "Riktlinjer för Malmö stads digitala dialoger (KS 2023/845)"

var (
	submissionsCommentsSupport = []domain.ContributionKind{domain.AcceptsSubmissions, domain.AcceptsComments, domain.AcceptsSupport}
	submissionsComments        = []domain.ContributionKind{domain.AcceptsSubmissions, domain.AcceptsComments}
	commentsOnly               = []domain.ContributionKind{domain.AcceptsComments}
	nothing                    = []domain.ContributionKind{}
)

// procSpec is one process of the demo.
type procSpec struct {
	label      string
	title      domain.Text
	desc       domain.Text
	kind       domain.ProcessKind
	body       string // owner nämnd
	caseNumber string
	admins     []string
	mode       domain.ModerationMode
	threshold  int
	phases     []domain.Phase
	closeAt    time.Time // zero: still open
	closeWhy   string
	opener     string
	theme      []string // template themes
	share      float64  // of all submissions
}

func specs() []procSpec {
	return []procSpec{{
		label: "stk",
		title: domain.Text{Sv: "Malmöinitiativet 2024: tryggare och grönare stadsdelar", En: "Malmö Initiative 2024: safer and greener neighbourhoods"},
		desc: domain.Text{Sv: "Lämna förslag på hur din stadsdel kan bli tryggare och grönare. Förslag med minst 50 stöd bereds av stadskontoret och behandlas av kommunstyrelsen.",
			En: "Propose how your neighbourhood can become safer and greener. Proposals with at least 50 supporters are prepared by the City Office and decided by the City Executive Board."},
		kind: domain.KindProposal, body: "Kommunstyrelsen", caseNumber: "STK-2024-622",
		admins: []string{"Stadskontoret", "Fastighets- och gatukontoret"}, mode: domain.ModerationPost, threshold: 50,
		phases: []domain.Phase{
			{Name: "Förslag", StartsAt: day(2024, 3, 4), Accepts: submissionsCommentsSupport},
			{Name: "Beredning", StartsAt: day(2024, 6, 17), Accepts: commentsOnly},
			{Name: "Beslut", StartsAt: day(2024, 9, 9), Accepts: nothing},
		},
		closeAt: day(2024, 10, 1), closeWhy: "Kommunstyrelsen har beslutat om förslagen (KS 2024-09-09 §418).",
		opener: Official, theme: []string{"trygghet", "grönt"}, share: 0.3,
	}, {
		label: "ks",
		title: domain.Text{Sv: "Medborgarundersökning 2024: att leva och bo i Malmö", En: "Residents' survey 2024: living in Malmö"},
		desc: domain.Text{Sv: "Berätta hur du trivs i Malmö och vad kommunen ska prioritera. Svaren redovisas per stadsdel.",
			En: "Tell us how you like living in Malmö and what the city should prioritise. Results are reported by district."},
		kind: domain.KindSurvey, body: "Kommunstyrelsen", caseNumber: "KS 2024/418",
		admins: []string{"Stadskontoret", "Kommunikationsavdelningen"}, mode: domain.ModerationPost,
		phases:  []domain.Phase{{Name: "Enkät", StartsAt: day(2024, 10, 7), Accepts: []domain.ContributionKind{domain.AcceptsSurveyAnswers}}},
		closeAt: day(2024, 12, 2), closeWhy: "Enkäten är avslutad; resultaten redovisas i rapporten KS 2024/418.",
		opener: Official,
	}, {
		label: "mfn",
		title: domain.Text{Sv: "Dialog om skyfall och klimatanpassning i Södra Innerstaden", En: "Dialogue on cloudbursts and climate adaptation in Södra Innerstaden"},
		desc: domain.Text{Sv: "Miljönämnden vill höra dina erfarenheter av skyfall och dina idéer om grönare gator och gårdar.",
			En: "The Environment Committee wants to hear about your experience of cloudbursts and your ideas for greener streets and courtyards."},
		kind: domain.KindDialogue, body: "Miljönämnden", caseNumber: "MFN 2025-00213",
		admins: []string{"Miljöförvaltningen", "Fastighets- och gatukontoret"}, mode: domain.ModerationPost,
		phases: []domain.Phase{
			{Name: "Dialog", StartsAt: day(2025, 3, 10), Accepts: submissionsCommentsSupport},
			{Name: "Sammanställning", StartsAt: day(2025, 6, 16), Accepts: nothing},
		},
		closeAt: day(2025, 9, 30), closeWhy: "Dialogen är sammanställd och redovisad för miljönämnden (MN 2025-09-23 §87).",
		opener: "leila.haddad", theme: []string{"klimat", "grönt"}, share: 0.2,
	}, {
		label: "sbn",
		title: domain.Text{Sv: "Samråd: fördjupning av översiktsplanen för Hyllie och Holma", En: "Consultation: detailed comprehensive plan for Hyllie and Holma"},
		desc: domain.Text{Sv: "Stadsbyggnadsnämnden har skickat ut förslaget på samråd. Lämna synpunkter på bostäder, grönområden, skolor och kopplingar mellan stadsdelarna.",
			En: "The City Planning Committee has put the proposal out for consultation. Comment on housing, green space, schools and links between the districts."},
		kind: domain.KindConsultation, body: "Stadsbyggnadsnämnden", caseNumber: "SBN-2025-1130",
		admins: []string{"Stadsbyggnadskontoret", "Fastighets- och gatukontoret", "Miljöförvaltningen"}, mode: domain.ModerationPre,
		phases: []domain.Phase{
			{Name: "Samråd", StartsAt: day(2025, 9, 1), Accepts: submissionsComments},
			{Name: "Samrådsredogörelse", StartsAt: day(2025, 12, 15), Accepts: nothing},
			{Name: "Granskning", StartsAt: day(2026, 9, 14), Accepts: submissionsComments},
		},
		opener: "johan.berg", theme: []string{"plan"}, share: 0.2,
	}, {
		label: "tn",
		title: domain.Text{Sv: "Cykelstråk och trafiksäkra skolvägar", En: "Cycle routes and safe routes to school"},
		desc: domain.Text{Sv: "Föreslå var Malmö behöver nya cykelstråk och säkrare skolvägar. Förslag med minst 40 stöd besvaras av tekniska nämnden.",
			En: "Suggest where Malmö needs new cycle routes and safer routes to school. Proposals with at least 40 supporters are answered by the Technical Committee."},
		kind: domain.KindProposal, body: "Tekniska nämnden", caseNumber: "TN-2026-0142",
		admins: []string{"Fastighets- och gatukontoret", "Grundskoleförvaltningen"}, mode: domain.ModerationPost, threshold: 40,
		phases: []domain.Phase{{Name: "Förslag", StartsAt: day(2026, 2, 2), Accepts: submissionsCommentsSupport}},
		opener: "oskar.bengtsson", theme: []string{"cykel"}, share: 0.2,
	}, {
		label: "kn",
		title: domain.Text{Sv: "Framtidens bibliotek och mötesplatser i Rosengård", En: "The future library and meeting places in Rosengård"},
		desc: domain.Text{Sv: "Kulturnämnden bjuder in till dialog om biblioteket och mötesplatser i Rosengård.",
			En: "The Culture Committee invites you to a dialogue on the library and meeting places in Rosengård."},
		kind: domain.KindDialogue, body: "Kulturnämnden", caseNumber: "KN-2026-0087",
		admins: []string{"Kulturförvaltningen", "Fritidsförvaltningen"}, mode: domain.ModerationPre,
		phases: []domain.Phase{{Name: "Dialog", StartsAt: day(2026, 8, 17), Accepts: submissionsComments}},
		opener: "hanna.ek", theme: []string{"kultur"}, share: 0.1,
	}}
}

type person struct {
	id, pseudonym, name, email, district, age, lang string
	publish, research                               bool
	offline                                         bool // contributes on paper, by e-mail or at meetings, through intake
	first                                           time.Time
	reserved                                        bool // used by a scripted scene only
}

type proc struct {
	procSpec
	id   string
	subs []*sub
}

// windows returns the intervals in which the process accepts kind,
// clipped to its closing and the end of the history.
func (p *proc) windows(kind domain.ContributionKind) [][2]time.Time {
	var out [][2]time.Time
	for i, ph := range p.phases {
		if !slices.Contains(ph.Accepts, kind) {
			continue
		}
		to := end
		if i+1 < len(p.phases) {
			to = p.phases[i+1].StartsAt
		}
		if !p.closeAt.IsZero() && p.closeAt.Before(to) {
			to = p.closeAt
		}
		// An hour's margin keeps contributions clear of the phase change.
		if to = earlier(to, end).Add(-time.Hour); to.After(ph.StartsAt) {
			out = append(out, [2]time.Time{ph.StartsAt, to})
		}
	}
	return out
}

// accepts reports whether the process accepts kind at t.
func (p *proc) accepts(kind domain.ContributionKind, t time.Time) bool {
	for _, w := range p.windows(kind) {
		if !t.Before(w[0]) && t.Before(w[1]) {
			return true
		}
	}
	return false
}

// timeIn returns a random time in [lo, hi) at which p accepts kind (zero
// bounds are open), or the zero time when there is none.
func (g *gen) timeIn(p *proc, kind domain.ContributionKind, lo, hi time.Time) time.Time {
	var spans [][2]time.Time
	var total time.Duration
	for _, w := range p.windows(kind) {
		a, b := w[0], w[1]
		if !lo.IsZero() {
			a = later(a, lo)
		}
		if !hi.IsZero() {
			b = earlier(b, hi)
		}
		if b.After(a) {
			spans = append(spans, [2]time.Time{a, b})
			total += b.Sub(a)
		}
	}
	if total <= 0 {
		return time.Time{}
	}
	x := time.Duration(g.r.Int64N(int64(total)))
	for _, sp := range spans {
		if d := sp[1].Sub(sp[0]); x < d {
			return sp[0].Add(x).Truncate(time.Second)
		} else {
			x -= d
		}
	}
	return time.Time{}
}

// item is a submission or comment as planned.
type item struct {
	id      string
	kind    domain.ItemKind
	author  *person
	at      time.Time
	lang    string
	bad     *badContent
	version int
	// public is when the item became public (its time, or its approval
	// under pre-moderation); zero if never. hidden is when a restriction
	// took it out of public views; zero if never.
	public, hidden time.Time
	scripted       bool // part of a scripted scene: no random comments or supports
}

// visible reports the interval in which the item is public.
func (it *item) visible() (from, to time.Time) {
	if it.public.IsZero() {
		return time.Time{}, time.Time{}
	}
	to = end
	if !it.hidden.IsZero() {
		to = it.hidden
	}
	return it.public, to
}

type sub struct {
	item
	p        *proc
	comments []*item
	backers  map[*person]bool
	// title and body are the plaintext, in memory while planning only (the
	// service seals them).
	title, body string
}

// use marks that p acts at t (so they are registered before).
func (p *person) use(t time.Time) {
	if p.first.IsZero() || t.Before(p.first) {
		p.first = t
	}
}

// as returns the actor and channel of a contribution by p: themself on the
// web, or intake registering a letter, an e-mail or what was said at a
// meeting.
func (g *gen) as(p *person) (domain.Actor, domain.Channel) {
	if !p.offline {
		return domain.Actor{ID: p.id, Role: domain.RoleParticipant}, domain.ChannelWeb
	}
	return intake, pick(g.r, []domain.Channel{domain.ChannelPaper, domain.ChannelEmail, domain.ChannelMeeting})
}

// plan lays out the whole history.
func (g *gen) plan() {
	g.planPeople()
	for _, s := range specs() {
		g.planProcess(s)
	}
	g.scenes()
	for _, p := range g.procs {
		g.planContent(p)
	}
	g.planSurvey()
	g.planRecords()
	g.planRegistrations()
}

func (g *gen) planPeople() {
	for i := range g.size.people {
		first, last := pick(g.r, firstNames), pick(g.r, lastNames)
		p := &person{
			id:        g.id("participant"),
			pseudonym: fmt.Sprintf("%s%d", pick(g.r, pseudonymWords), 10+i),
			name:      first + " " + last,
			district:  pick(g.r, districts),
			age:       pick(g.r, ageBands),
			lang:      "sv",
			publish:   g.chance(0.25),
			research:  g.chance(0.7),
			offline:   g.chance(0.1),
		}
		if g.chance(0.8) {
			p.email = fmt.Sprintf("%s.%s%d@example.org", asciiFold(first), asciiFold(last), g.r.IntN(100))
		}
		switch x := g.r.Float64(); {
		case x < 0.12:
			p.lang = "en"
		case x < 0.16:
			p.lang = pick(g.r, []string{"ar", "so", "fa", "bs", "pl"})
		}
		g.people = append(g.people, p)
	}
	g.sum.Participants = len(g.people)
}

// someone picks a random person not reserved for a scene and not in not.
func (g *gen) someone(not ...*person) *person {
	for {
		p := pick(g.r, g.people)
		if !p.reserved && !slices.Contains(not, p) {
			return p
		}
	}
}

func (g *gen) planProcess(s procSpec) {
	p := &proc{procSpec: s, id: g.id("process")}
	if s.threshold > 0 {
		p.threshold = max(3, int(float64(s.threshold)*g.size.thresholdFactor))
	}
	g.procs = append(g.procs, p)
	g.sum.Processes = append(g.sum.Processes, Process{ID: p.id, CaseNumber: s.caseNumber, OwnerBody: s.body, Kind: string(s.kind), Title: s.title.Sv})
	opened := s.phases[0].StartsAt.Add(-72 * time.Hour)
	desc := p.desc
	if p.threshold != s.threshold && s.threshold > 0 {
		// The small size scales thresholds down: say the real number.
		desc.Sv = strings.ReplaceAll(desc.Sv, fmt.Sprint(s.threshold), fmt.Sprint(p.threshold))
		desc.En = strings.ReplaceAll(desc.En, fmt.Sprint(s.threshold), fmt.Sprint(p.threshold))
	}
	g.do(opened, "open-process", func(ctx context.Context, svc *ledger.Service, key string, at time.Time) (ledger.Result, error) {
		return svc.OpenProcess(ctx, official(s.opener), req(domain.OpenProcess{
			ProcessID: p.id, Title: s.title, Description: desc, Kind: s.kind, OwnerBody: s.body, CaseNumber: s.caseNumber,
			Administrations: s.admins, Phases: s.phases, SupportThreshold: p.threshold, ModerationMode: s.mode, PolicyReference: policy,
		}, key, at))
	})
	for _, ph := range s.phases[1:] {
		if ph.StartsAt.After(end) {
			break
		}
		to := ph.Name
		g.do(ph.StartsAt, "change-phase", func(ctx context.Context, svc *ledger.Service, key string, at time.Time) (ledger.Result, error) {
			return svc.ChangePhase(ctx, official(s.opener), p.id, req(domain.ChangePhase{To: to}, key, at))
		})
	}
	if !s.closeAt.IsZero() {
		g.do(s.closeAt, "close-process", func(ctx context.Context, svc *ledger.Service, key string, at time.Time) (ledger.Result, error) {
			return svc.CloseProcess(ctx, official(s.opener), p.id, req(domain.CloseProcess{Reason: s.closeWhy}, key, at))
		})
	}
	if s.label == "kn" {
		g.sum.Pending = p.id
	}
}

func (g *gen) proc(label string) *proc {
	for _, p := range g.procs {
		if p.label == label {
			return p
		}
	}
	panic("demo: no process " + label)
}

// submit plans a submission; bad content is used when bad != nil.
func (g *gen) submit(p *proc, author *person, at time.Time, bad *badContent) *sub {
	var lang, title, body string
	f := slots(g.r, author.district)
	if bad != nil {
		lang, title, body = bad.lang, f(bad.title), f(bad.body)
	} else {
		t := g.template(p, author)
		lang, title, body = t.lang, f(t.title), f(t.body)
		extras := extrasSv
		if t.lang == "en" {
			extras = extrasEn
		}
		for range g.r.IntN(3) {
			body += " " + pick(g.r, extras)
		}
	}
	return g.submitText(p, author, at, "", bad, lang, title, body)
}

// submitText plans a submission with the given text, through channel via
// (by intake unless it is the web), or the author's usual channel if via
// is "".
func (g *gen) submitText(p *proc, author *person, at time.Time, via domain.Channel, bad *badContent, lang, title, body string) *sub {
	s := &sub{item: item{id: g.id("submission"), kind: domain.ItemSubmission, author: author, at: at, bad: bad, version: 1, lang: lang},
		p: p, title: title, body: body}
	if p.mode == domain.ModerationPost {
		s.public = at
	}
	actor, ch := g.as(author)
	if via != "" {
		actor, ch = intake, via
	}
	occurred := at
	if ch != domain.ChannelWeb && via == "" {
		// The date on the letter: intake registers it a few days later,
		// but the record says when it was written.
		occurred = at.Add(-time.Duration(1+g.r.IntN(4)) * 24 * time.Hour)
		if !p.accepts(domain.AcceptsSubmissions, occurred) {
			occurred = at
		}
	}
	author.use(occurred)
	p.subs = append(p.subs, s)
	g.sum.Submissions++
	g.do(occurred, "submission", func(ctx context.Context, svc *ledger.Service, key string, at time.Time) (ledger.Result, error) {
		return svc.ReceiveSubmission(ctx, actor, p.id, req(domain.ReceiveSubmission{
			SubmissionID: s.id, Author: author.id, Channel: ch, Language: s.lang, Title: title, Body: body,
		}, key, at))
	})
	return s
}

// template picks a submission template for p, preferring the author's
// language when they write English.
func (g *gen) template(p *proc, author *person) template {
	var all []template
	for _, th := range p.theme {
		all = append(all, themes[th]...)
	}
	for range 4 {
		t := pick(g.r, all)
		if (author.lang == "en") == (t.lang == "en") {
			return t
		}
	}
	return pick(g.r, all)
}

// comment plans a comment on s (a reply to parent when not nil).
func (g *gen) comment(s *sub, parent *item, author *person, at time.Time, bad *badContent, text string) *item {
	c := &item{id: g.id("comment"), kind: domain.ItemComment, author: author, at: at, bad: bad, version: 1, lang: "sv"}
	body := text
	if bad != nil {
		c.lang, body = bad.lang, fill(g.r, bad.body, author.district)
	} else if body == "" {
		switch {
		case parent != nil && g.chance(0.6):
			body = pick(g.r, repliesSv)
		case author.lang == "en" && g.chance(0.7):
			c.lang, body = "en", fill(g.r, pick(g.r, commentsEn), author.district)
		default:
			body = fill(g.r, pick(g.r, commentsSv), author.district)
		}
	}
	if s.p.mode == domain.ModerationPost {
		c.public = at
	}
	author.use(at)
	actor, ch := g.as(author)
	parentID := ""
	if parent != nil {
		parentID = parent.id
	}
	s.comments = append(s.comments, c)
	g.sum.Comments++
	g.do(at, "comment", func(ctx context.Context, svc *ledger.Service, key string, at time.Time) (ledger.Result, error) {
		return svc.PostComment(ctx, actor, s.id, req(domain.PostComment{
			CommentID: c.id, ParentID: parentID, Author: author.id, Channel: ch, Language: c.lang, Body: body,
		}, key, at))
	})
	return c
}

// support plans support for s by p at t.
func (g *gen) support(s *sub, p *person, at time.Time) {
	p.use(at)
	actor := domain.Actor{ID: p.id, Role: domain.RoleParticipant}
	if p.offline {
		actor = intake // a signature on a paper list
	}
	if s.backers == nil {
		s.backers = map[*person]bool{}
	}
	s.backers[p] = true
	g.sum.Supports++
	g.do(at, "support", func(ctx context.Context, svc *ledger.Service, key string, at time.Time) (ledger.Result, error) {
		return svc.GiveSupport(ctx, actor, s.id, req(domain.GiveSupport{ParticipantID: p.id}, key, at))
	})
}

// revise plans a new version of s by its author at t: the author adds to
// the text within a day or two, before anyone flags it, so notices are
// about the current version.
func (g *gen) revise(s *sub, t time.Time) {
	s.version++
	actor, _ := g.as(s.author)
	title, body := s.title, s.body+" "+pick(g.r, revisionNotes)
	g.do(t, "revision", func(ctx context.Context, svc *ledger.Service, key string, at time.Time) (ledger.Result, error) {
		return svc.ReviseSubmission(ctx, actor, s.id, req(domain.ReviseSubmission{Title: title, Body: body}, key, at))
	})
}

// flag plans a notice about it; it returns the flag id and the decision
// source it leads to.
func (g *gen) flag(it *item, source domain.FlagSource, by domain.Actor, at time.Time, category domain.Category, explanation string, score float64) (string, domain.DecisionSource) {
	id := g.id("flag")
	cmd := domain.FlagContent{FlagID: id, ContentVersion: it.version, Source: source, Category: category, Explanation: explanation}
	ds := domain.SourceParticipantNotice
	switch source {
	case domain.FlagByAutomated:
		cmd.Classifier = &domain.Classifier{Name: "malmo-textfilter", Version: "2.3.1", Score: score}
		ds = domain.SourceOwnInitiative
	case domain.FlagByStaff:
		ds = domain.SourceStaffNotice
	}
	g.sum.Flags++
	g.do(at, "flag", func(ctx context.Context, svc *ledger.Service, key string, at time.Time) (ledger.Result, error) {
		return svc.FlagContent(ctx, by, it.kind, it.id, req(cmd, key, at))
	})
	return id, ds
}

// decide plans a moderation decision on it and the author's notification.
func (g *gen) decide(it *item, by domain.Actor, at time.Time, cmd domain.DecideModeration) string {
	cmd.DecisionID = g.id("decision")
	cmd.ContentVersion = it.version
	cmd.At = at
	if cmd.AutomatedDecision == "" {
		cmd.AutomatedDecision = domain.AutomatedNot
	}
	if cmd.Source == "" {
		cmd.Source = domain.SourceOwnInitiative
	}
	if cmd.Visibility.Restricts() {
		// Every post is text, and a post hidden on the city's site is
		// hidden wherever it is read. The date the version was posted the
		// ledger takes from the log.
		cmd.ContentType, cmd.TerritorialScope = []domain.ContentType{domain.ContentText}, domain.EEA()
	}
	switch {
	case cmd.Visibility == domain.VisibilityApproved || cmd.Visibility == domain.VisibilityRestored:
		it.public = at
	case cmd.Visibility == domain.VisibilityDisabled:
		it.hidden = at
	}
	g.sum.Decisions++
	g.do(at, "decision", func(ctx context.Context, svc *ledger.Service, key string, at time.Time) (ledger.Result, error) {
		return svc.DecideModeration(ctx, by, it.kind, it.id, req(cmd, key, at))
	})
	if cmd.Visibility.Restricts() {
		g.notify(it, by, at.Add(5*time.Minute), cmd.DecisionID, "")
	}
	return cmd.DecisionID
}

func (g *gen) notify(it *item, by domain.Actor, at time.Time, decision, appeal string) {
	method := "in_app"
	if it.author.offline {
		method = "letter"
	}
	if by.Role != domain.RoleModerator && by.Role != domain.RoleSystem {
		by = classifier
	}
	g.do(at, "notify", func(ctx context.Context, svc *ledger.Service, key string, at time.Time) (ledger.Result, error) {
		return svc.NotifyAuthor(ctx, by, it.kind, it.id, req(domain.NotifyAuthor{DecisionID: decision, AppealID: appeal, Method: method}, key, at))
	})
}

// restrict is the decision a bad item gets.
func restrict(b *badContent) domain.DecideModeration {
	d := domain.DecideModeration{Visibility: domain.Visibility(b.visibility), Ground: domain.Ground(b.ground),
		Category: domain.Category(b.category), Explanation: b.reasons, GroundExplanation: b.why}
	if d.Ground == domain.GroundIllegal {
		d.LegalGround = b.clause
	} else {
		d.PolicyClause = b.clause
	}
	return d
}

var moderators = []string{Moderator, Moderator2, Moderator3}

// moderate plans what happens to a new item: pre-moderation review, or
// for bad content in a post-moderated process a notice and a decision;
// now and then a notice about good content that leads to no action.
func (g *gen) moderate(p *proc, it *item) {
	mod := moderator(pick(g.r, moderators))
	if p.mode == domain.ModerationPre {
		at := g.within(it.at, 2*time.Hour, 60*time.Hour)
		if at.After(end.Add(-96 * time.Hour)) {
			return // still in the queue
		}
		if it.bad != nil {
			g.decide(it, mod, at, restrict(it.bad))
			return
		}
		g.decide(it, mod, at, domain.DecideModeration{Visibility: domain.VisibilityApproved,
			Explanation: "Granskat före publicering: inlägget följer riktlinjerna för digitala dialoger."})
		return
	}
	if it.bad == nil {
		if g.chance(0.03) {
			at := g.within(it.at, 72*time.Hour, 240*time.Hour)
			if at.After(end) {
				return
			}
			f, src := g.flag(it, domain.FlagByParticipant, g.participantActor(it.author, at), at, domain.CategoryOtherViolationTC, pick(g.r, flagsOnGoodContent), 0)
			g.decide(it, mod, g.within(at, 2*time.Hour, 48*time.Hour), domain.DecideModeration{Visibility: domain.VisibilityNoAction, Source: src,
				FlagIDs: []string{f}, Explanation: "Inlägget håller sig till sakfrågan och bryter inte mot riktlinjerna. Ingen åtgärd."})
		}
		return
	}
	at := g.within(it.at, time.Hour, 36*time.Hour)
	var f string
	var src domain.DecisionSource
	automated := false
	switch x := g.r.Float64(); {
	case x < 0.45:
		f, src = g.flag(it, domain.FlagByParticipant, g.participantActor(it.author, at), at, domain.Category(it.bad.category), it.bad.notice, 0)
	case x < 0.8:
		f, src = g.flag(it, domain.FlagByAutomated, classifier, at, domain.Category(it.bad.category), "", 0.7+0.29*g.r.Float64())
		automated = true
	default:
		f, src = g.flag(it, domain.FlagByStaff, official(p.opener), at, domain.Category(it.bad.category), it.bad.notice, 0)
	}
	d := restrict(it.bad)
	d.Source, d.FlagIDs, d.AutomatedDetection = src, []string{f}, automated
	if automated && it.bad.category == string(domain.CategoryScams) && it.bad.visibility == string(domain.VisibilityDisabled) {
		// The filter hides obvious spam itself, at once; a moderator
		// reviews it only if the author appeals.
		d.AutomatedDecision = domain.AutomatedFully
		d.Explanation = "Automatiskt dold av textfiltret: " + it.bad.reasons
		g.decide(it, classifier, at, d)
		return
	}
	g.decide(it, mod, g.within(at, 2*time.Hour, 72*time.Hour), d)
}

// participantActor is a resident other than not who sends a notice.
func (g *gen) participantActor(not *person, at time.Time) domain.Actor {
	p := g.someone(not)
	p.use(at)
	if p.offline {
		return intake
	}
	return domain.Actor{ID: p.id, Role: domain.RoleParticipant}
}

// planContent plans the random bulk of a process: submissions, their
// moderation, revisions, comments and supports.
func (g *gen) planContent(p *proc) {
	if p.share == 0 {
		return
	}
	n := max(2, int(float64(g.size.subs)*p.share))
	for range n {
		author := g.someone()
		at := g.timeIn(p, domain.AcceptsSubmissions, time.Time{}, end)
		var bad *badContent
		if g.chance(0.05) {
			bad = &badContents[g.r.IntN(len(badContents))]
		}
		s := g.submit(p, author, at, bad)
		if p.mode == domain.ModerationPost && bad == nil && g.chance(0.05) {
			g.revise(s, g.within(at, 6*time.Hour, 40*time.Hour))
		}
		g.moderate(p, &s.item)
	}
	g.planComments(p)
	g.planSupports(p)
}

func (g *gen) planComments(p *proc) {
	for _, s := range p.subs {
		if s.bad != nil || s.scripted {
			continue
		}
		vfrom, vto := s.visible()
		if vfrom.IsZero() {
			continue
		}
		n := g.r.IntN(int(2*g.size.commentsPerSub) + 1)
		for range n {
			at := g.timeIn(p, domain.AcceptsComments, vfrom, vto)
			if at.IsZero() {
				break
			}
			var parent *item
			if len(s.comments) > 0 && g.chance(0.3) {
				c := pick(g.r, s.comments)
				if c.bad == nil && !c.public.IsZero() && c.public.Before(at) && (c.hidden.IsZero() || c.hidden.After(at)) {
					parent = c
				}
			}
			var bad *badContent
			if g.chance(0.06) {
				bad = &badContents[g.r.IntN(len(badContents))]
			}
			c := g.comment(s, parent, g.someone(s.author), at, bad, "")
			g.moderate(p, c)
		}
	}
}

// planSupports gives each visible submission a number of supporters that
// falls off with its popularity rank; the most popular one crosses the
// threshold.
func (g *gen) planSupports(p *proc) {
	if len(p.windows(domain.AcceptsSupport)) == 0 {
		return
	}
	var cands []*sub
	for _, s := range p.subs {
		if s.bad == nil && !s.scripted && !s.public.IsZero() {
			cands = append(cands, s)
		}
	}
	g.r.Shuffle(len(cands), func(i, j int) { cands[i], cands[j] = cands[j], cands[i] })
	if p.threshold > 0 && len(cands) > 0 {
		// The proposal that will cross the threshold is an early one, so
		// its supporters have time to gather before the remiss.
		first := 0
		for i, s := range cands {
			if s.at.Before(cands[first].at) {
				first = i
			}
		}
		cands[0], cands[first] = cands[first], cands[0]
	}
	top := 12
	if p.threshold > 0 {
		top = p.threshold + max(2, p.threshold/5)
	}
	top = min(top, len(g.people)-10)
	for rank, s := range cands {
		k := top / (rank + 1)
		if rank > 0 {
			k = int(float64(k)*g.size.supportScale) + g.r.IntN(3)
			if p.threshold > 0 {
				k = min(k, p.threshold-2)
			}
		}
		vfrom, vto := s.visible()
		if g.timeIn(p, domain.AcceptsSupport, vfrom, vto).IsZero() {
			continue
		}
		if rank == 0 && p.threshold > 0 {
			g.answered(p, s, k)
			continue
		}
		for _, sp := range g.supporters(s, k) {
			g.support(s, sp, g.timeIn(p, domain.AcceptsSupport, vfrom, vto))
		}
	}
	// A few residents change their minds.
	for _, s := range cands[:min(3, len(cands))] {
		g.withdraw(s)
	}
}

// supporters picks k distinct people other than the author.
func (g *gen) supporters(s *sub, k int) []*person {
	var out []*person
	for _, i := range g.r.Perm(len(g.people)) {
		if len(out) == k {
			break
		}
		if p := g.people[i]; p != s.author && !p.reserved && !s.backers[p] {
			out = append(out, p)
		}
	}
	return out
}

// withdraw plans one supporter who supports s and later withdraws.
func (g *gen) withdraw(s *sub) {
	vfrom, vto := s.visible()
	t1 := g.timeIn(s.p, domain.AcceptsSupport, vfrom, vto)
	if t1.IsZero() {
		return
	}
	t2 := g.timeIn(s.p, domain.AcceptsSupport, t1.Add(time.Hour), vto)
	if t2.IsZero() {
		return
	}
	p := g.someone(s.author)
	if p.offline || s.backers[p] {
		return
	}
	// Not an existing supporter: support and withdrawal both planned here.
	g.support(s, p, t1)
	actor := domain.Actor{ID: p.id, Role: domain.RoleParticipant}
	g.do(t2, "withdraw-support", func(ctx context.Context, svc *ledger.Service, key string, at time.Time) (ledger.Result, error) {
		return svc.WithdrawSupport(ctx, actor, s.id, req(domain.WithdrawSupport{ParticipantID: p.id}, key, at))
	})
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
