package demo

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/ledger"
)

// The scenes are the scripted part of the history: whatever the seed, a
// newcomer finds an appeal overturned by a second moderator, one upheld, an
// automated decision reversed, a submission disposed by a gallringsbeslut,
// a popular proposal forwarded and answered, a survey, consent withdrawn
// and erasure requests granted and refused.

func when(y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, time.UTC)
}

// online picks a resident who acts on the web themself.
func (g *gen) online(not ...*person) *person {
	for {
		if p := g.someone(not...); !p.offline {
			return p
		}
	}
}

// granted is the resident whose erasure request is granted: they only
// answered the survey, so nothing they wrote is a public record.
func (g *gen) granted() *person {
	for _, p := range g.people {
		if p.reserved {
			return p
		}
	}
	panic("demo: no reserved person")
}

func (g *gen) scenes() {
	r := g.online()
	r.reserved = true

	g.overturned()
	g.upheld()
	g.automatedOverturned()
	g.disposed()
	g.meeting()
	g.letters()
	g.queued()
}

// queued: the library dialogue got new contributions in its last days,
// so the moderators' queue is not empty.
func (g *gen) queued() {
	kn := g.proc("kn")
	for _, t := range []time.Time{when(2026, 11, 18, 21, 10), when(2026, 11, 19, 16, 45)} {
		s := g.submit(kn, g.online(), t, nil)
		g.moderate(kn, &s.item)
	}
}

// letters: intake registers a letter and an e-mail; the record carries the
// date they were written. One web submission is revised the next day.
func (g *gen) letters() {
	stk := g.proc("stk")
	g.submitText(stk, g.someone(), when(2024, 3, 18, 12, 0), domain.ChannelPaper, nil, "sv", "Belysningen på Lorensborgsgatan",
		"Hej! Jag är 81 år och har inte dator, så jag skriver ett brev. Gatlyktorna på Lorensborgsgatan mellan busshållplatsen och mitt hus "+
			"har varit trasiga sedan i höstas. Jag vågar inte gå till affären när det är mörkt. Med vänlig hälsning.")
	tn := g.proc("tn")
	g.submitText(tn, g.someone(), when(2026, 4, 2, 7, 15), domain.ChannelEmail, nil, "sv", "Farlig korsning vid Ängslättskolan",
		"Hej, jag mejlar eftersom jag inte hittade var man lämnar förslag. Korsningen Trelleborgsvägen/Ängslättsvägen är livsfarlig "+
			"på morgonen när barnen går till skolan. Bilarna svänger utan att se sig för. Snälla sätt upp ett trafikljus eller en skolpatrull.")
	mfn := g.proc("mfn")
	s := g.submit(mfn, g.online(), when(2025, 3, 18, 20, 45), nil)
	g.revise(s, when(2025, 3, 19, 7, 30))
}

// meeting: at the consultation's public meeting in Hyllie, intake writes
// down what residents say and registers it as their submissions.
func (g *gen) meeting() {
	p := g.proc("sbn")
	t := when(2025, 10, 8, 18, 30)
	said := []struct{ title, body string }{
		{"Synpunkter från samrådsmötet: parken vid Hyllievångsskolan", "Vid samrådsmötet i Hyllie den 8 oktober framförde jag att parken vid skolan måste finnas kvar. Barnen har ingen annan plats att spela boll på. Antecknat av kontaktcenter på mötet."},
		{"Synpunkter från samrådsmötet: buller från motorvägen", "Jag bor i Holma och framförde på mötet att bullret från Inre ringvägen redan i dag är för högt. Nya hus närmare vägen måste ha bullerskydd och tysta sidor. Antecknat av kontaktcenter på mötet."},
	}
	for _, s := range said {
		sub := g.submitText(p, g.online(), t, domain.ChannelMeeting, nil, "sv", s.title, s.body)
		g.moderate(p, &sub.item)
	}
}

// appeal plans an appeal by the author and its decision by another
// moderator, with both notifications.
func (g *gen) appeal(it *item, decision string, filed time.Time, grounds string, by string, outcome, explanation string, decided time.Time) {
	id := g.id("appeal")
	author := domain.Actor{ID: it.author.id, Role: domain.RoleParticipant}
	g.sum.Appeals++
	g.do(filed, "appeal", func(ctx context.Context, svc *ledger.Service, key string, at time.Time) (ledger.Result, error) {
		return svc.FileAppeal(ctx, author, it.kind, it.id, req(domain.FileAppeal{AppealID: id, DecisionID: decision, Grounds: grounds, At: at}, key, at))
	})
	g.do(decided, "appeal-decision", func(ctx context.Context, svc *ledger.Service, key string, at time.Time) (ledger.Result, error) {
		return svc.DecideAppeal(ctx, moderator(by), it.kind, it.id, req(domain.DecideAppeal{AppealID: id, Outcome: outcome, Explanation: explanation}, key, at))
	})
	g.notify(it, moderator(by), decided.Add(10*time.Minute), decision, id)
}

// overturned: a sharp but fair criticism of a decision is hidden as a
// personal attack, and a second moderator restores it on appeal.
func (g *gen) overturned() {
	p := g.proc("stk")
	author := g.online()
	s := g.submitText(p, author, when(2024, 4, 11, 19, 32), "", nil, "sv", "Stoppa nedskärningarna på fritidsgårdarna",
		"Beslutet att korta öppettiderna på fritidsgårdarna i Rosengård och Fosie är skandalöst. Ansvariga chefer på förvaltningen borde skämmas "+
			"över att de sparar på barn och unga samtidigt som de klagar på otryggheten. Återställ öppettiderna och fråga ungdomarna innan ni beslutar något mer.")
	s.scripted = true
	f, src := g.flag(&s.item, domain.FlagByParticipant, g.participantActor(author, when(2024, 4, 12, 15, 2)), when(2024, 4, 12, 15, 2),
		domain.CategoryOtherViolationTC, "Personangrepp på förvaltningens chefer.", 0)
	d := g.decide(&s.item, moderator(Moderator), when(2024, 4, 13, 9, 41), domain.DecideModeration{
		Visibility: domain.VisibilityDisabled, Ground: domain.GroundIncompatible, PolicyClause: "4.1 Personangrepp",
		Category: domain.CategoryOtherViolationTC, Source: src, FlagIDs: []string{f},
		Explanation:       "Inlägget innehåller nedsättande omdömen om förvaltningens chefer i stället för synpunkter i sakfrågan (riktlinjerna avsnitt 4.1). Det har dolts; innehållet finns kvar i diariet.",
		GroundExplanation: "Avsnitt 4.1 tillåter kritik av beslut men inte att anställda som personer pekas ut som skamliga; inlägget bedömdes gå över den gränsen.",
	})
	g.appeal(&s.item, d, when(2024, 4, 15, 21, 7),
		"Jag kritiserar ett beslut om nedskärningar, inte någon person. Jag nämner ingen vid namn och allt jag skriver går att belägga.",
		Moderator2, domain.AppealOverturned,
		"Inlägget riktar skarp men saklig kritik mot ett beslut och pekar inte ut någon enskild person. Det omfattas inte av avsnitt 4.1. Beslutet upphävs och inlägget visas igen.",
		when(2024, 4, 18, 10, 15))
	g.sum.Overturned = s.id
}

// upheld: a comment that names a neighbour with address and phone number
// stays hidden after the appeal.
func (g *gen) upheld() {
	p := g.proc("mfn")
	s := g.submit(p, g.online(), when(2025, 4, 2, 18, 20), nil)
	author := g.online(s.author)
	c := g.comment(s, nil, author, when(2025, 4, 5, 20, 15), &badContents[1], "")
	c.scripted = true
	f, src := g.flag(c, domain.FlagByParticipant, g.participantActor(author, when(2025, 4, 5, 22, 48)), when(2025, 4, 5, 22, 48),
		domain.CategoryDataProtection, "Kommentaren lämnar ut en privatpersons adress och telefonnummer.", 0)
	d := g.decide(c, moderator(Moderator2), when(2025, 4, 6, 8, 55), domain.DecideModeration{
		Visibility: domain.VisibilityDisabled, Ground: domain.GroundIncompatible, PolicyClause: "4.2 Personuppgifter om andra",
		Category: domain.CategoryDataProtection, Source: src, FlagIDs: []string{f},
		Explanation: badContents[1].reasons, GroundExplanation: badContents[1].why,
	})
	g.appeal(c, d, when(2025, 4, 7, 17, 30), "Alla i huset vet redan vem det är, jag har inte avslöjat något nytt.",
		Moderator3, domain.AppealUpheld,
		"Kommentaren lämnar ut namn, adress och telefonnummer till en privatperson och anklagar honom för brott. Avsnitt 4.2 gäller även om uppgifterna är kända i området. Beslutet står fast.",
		when(2025, 4, 9, 11, 0))
	g.sum.Upheld = c.id
}

// automatedOverturned: the text filter hides a comment with a link to the
// city's own site; a moderator reverses the fully automated decision.
func (g *gen) automatedOverturned() {
	p := g.proc("tn")
	s := g.submit(p, g.online(), when(2026, 3, 9, 7, 50), nil)
	author := g.online(s.author)
	c := g.comment(s, nil, author, when(2026, 3, 12, 12, 4), nil,
		"Läs mer om trafikmätningarna på malmo.se/trafik, där finns siffrorna per timme. Det är 4 000 bilar per dygn förbi skolan!")
	c.scripted = true
	f, _ := g.flag(c, domain.FlagByAutomated, classifier, when(2026, 3, 12, 12, 5), domain.CategoryScams, "", 0.98)
	d := g.decide(c, classifier, when(2026, 3, 12, 12, 5), domain.DecideModeration{
		Visibility: domain.VisibilityDisabled, Ground: domain.GroundIncompatible, PolicyClause: "4.3 Reklam och spam",
		Category: domain.CategoryScams, FlagIDs: []string{f}, AutomatedDetection: true, AutomatedDecision: domain.AutomatedFully,
		Explanation:       "Automatiskt dold av textfiltret: kommentaren innehåller en länk och liknar kända spammönster (poäng 0,98).",
		GroundExplanation: "Avsnitt 4.3 förbjuder reklam och massutskick; filtret bedömde länken som reklam.",
	})
	g.appeal(c, d, when(2026, 3, 12, 18, 40), "Länken går till kommunens egen webbplats, det är inte reklam.",
		Moderator, domain.AppealOverturned,
		"Länken går till malmo.se och kommentaren är ett sakligt bidrag om trafiksäkerhet. Textfiltret gjorde fel; beslutet upphävs och kommentaren visas igen.",
		when(2026, 3, 13, 9, 20))
}

// disposed: a submission naming a third party is hidden and, a year on,
// disposed under the committee's records plan; its key is destroyed.
func (g *gen) disposed() {
	p := g.proc("stk")
	s := g.submit(p, g.online(), when(2024, 5, 6, 21, 13), &badContents[1])
	s.scripted = true
	f, src := g.flag(&s.item, domain.FlagByStaff, official(Official), when(2024, 5, 7, 8, 30), domain.CategoryDataProtection,
		"Inlägget innehåller namn, adress och telefonnummer till en privatperson.", 0)
	d := restrict(s.bad)
	d.Source, d.FlagIDs = src, []string{f}
	g.decide(&s.item, moderator(Moderator3), when(2024, 5, 7, 9, 12), d)
	id := g.id("disposal")
	g.do(when(2025, 6, 10, 13, 0), "disposal", func(ctx context.Context, svc *ledger.Service, key string, at time.Time) (ledger.Result, error) {
		return svc.Dispose(ctx, admin, req(domain.DecideDisposal{DisposalID: id, CaseNumber: "KS 2025/1021", Scope: domain.ScopeSubmission,
			SubjectID: s.id, LegalBasis: "Dokumenthanteringsplan för kommunstyrelsen (KS 2023/845) avsnitt 4.7: dolda inlägg med personuppgifter om tredje man gallras efter ett år"}, key, at))
	})
	g.sum.Disposed = s.id
}

// answer is how a popular proposal was handled.
type answer struct {
	forwardTo, forwardCase, respondBy, note string
	forwardAt, responseAt                   time.Time
	ref, outcome, body                      string
}

func answers(label string) answer {
	switch label {
	case "stk":
		return answer{forwardTo: "Fastighets- och gatukontoret", forwardCase: "FGK-2024-1893", respondBy: "2024-08-15",
			note:      "Remiss för yttrande om kostnad, tidplan och genomförbarhet.",
			forwardAt: when(2024, 6, 20, 10, 30), responseAt: when(2024, 9, 12, 14, 0), ref: "KS 2024-09-09 §418", outcome: domain.OutcomeApproved,
			body: "Kommunstyrelsen beslutade den 9 september 2024 (§418) att bifalla förslaget och ger fastighets- och gatukontoret i uppdrag att genomföra åtgärden under 2025 inom befintlig ram. " +
				"Fastighets- och gatukontorets remissvar visade att åtgärden är genomförbar. Tack till dig och till alla %d som stödde förslaget."}
	case "tn":
		return answer{forwardTo: "Grundskoleförvaltningen", forwardCase: "GSF-2026-0619", respondBy: "2026-10-09",
			note:      "Remiss: hur påverkar förslaget skolvägarna och skolans verksamhet?",
			forwardAt: when(2026, 9, 21, 9, 0), responseAt: when(2026, 10, 22, 15, 30), ref: "TN 2026-10-20 §212", outcome: domain.OutcomeApproved,
			body: "Tekniska nämnden beslutade den 20 oktober 2026 (§212) att bifalla förslaget. Åtgärden genomförs i samband med gatuarbetena sommaren 2027 efter samråd med skolan. " +
				"Grundskoleförvaltningen har i sitt remissvar tillstyrkt förslaget. Tack till alla %d som stödde det."}
	}
	panic("demo: no answer for " + label)
}

// answered: the most popular proposal of a process crosses the threshold,
// is forwarded for comment (remiss) and gets the official answer.
func (g *gen) answered(p *proc, s *sub, k int) {
	a := answers(p.label)
	vfrom, vto := s.visible()
	hi := earlier(vto, a.forwardAt)
	for _, sp := range g.supporters(s, k) {
		t := g.timeIn(p, domain.AcceptsSupport, vfrom, hi)
		if t.IsZero() {
			t = g.timeIn(p, domain.AcceptsSupport, vfrom, vto)
		}
		g.support(s, sp, t)
	}
	by := official(p.opener)
	g.do(a.forwardAt, "forward", func(ctx context.Context, svc *ledger.Service, key string, at time.Time) (ledger.Result, error) {
		return svc.ForwardSubmission(ctx, by, s.id, req(domain.ForwardSubmission{To: a.forwardTo, Note: a.note, CaseNumber: a.forwardCase, RespondBy: a.respondBy}, key, at))
	})
	g.respond(p, s, a.responseAt, a.ref, a.outcome, fmt.Sprintf(a.body, k))
	s.scripted = true
	if g.sum.Answered == "" {
		g.sum.Answered = s.id
	}
}

func (g *gen) respond(p *proc, s *sub, t time.Time, ref, outcome, body string) {
	by := official(p.opener)
	id := g.id("response")
	g.do(t, "response", func(ctx context.Context, svc *ledger.Service, key string, at time.Time) (ledger.Result, error) {
		return svc.PublishResponse(ctx, by, s.id, req(domain.PublishResponse{ResponseID: id, Body: body, ResponsibleBody: p.body,
			DecisionReference: ref, Outcome: outcome}, key, at))
	})
}

// planResponses answers more proposals: the rest of Malmöinitiativet's
// shortlist, the climate dialogue's summary and a remiss in the
// consultation.
func (g *gen) planResponses() {
	firstGood := func(p *proc, n int) []*sub {
		var out []*sub
		for _, s := range p.subs {
			if len(out) < n && s.bad == nil && !s.scripted && !s.public.IsZero() {
				out = append(out, s)
			}
		}
		return out
	}
	stk := g.proc("stk")
	for i, s := range firstGood(stk, 2) {
		outcome, body := domain.OutcomePartiallyApproved,
			"Kommunstyrelsen beslutade den 9 september 2024 (§418) att delvis bifalla förslaget. En del av åtgärderna ingår redan i fastighets- och gatukontorets underhållsplan för 2025; övriga delar prövas i budgetarbetet för 2026."
		if i == 1 {
			outcome, body = domain.OutcomeRejected,
				"Kommunstyrelsen beslutade den 9 september 2024 (§418) att avslå förslaget. Marken ägs inte av kommunen och åtgärden kan därför inte genomföras av staden. Förvaltningen har informerat fastighetsägaren om förslaget."
		}
		g.respond(stk, s, when(2024, 9, 12, 14, 30+i*10), "KS 2024-09-09 §418", outcome, body)
		s.scripted = true
	}
	mfn := g.proc("mfn")
	for i, s := range firstGood(mfn, 2) {
		g.respond(mfn, s, when(2025, 9, 26, 10, 0+i*5), "MN 2025-09-23 §87", domain.OutcomeAnswered,
			"Tack för din synpunkt. Miljönämnden tog del av dialogens sammanställning den 23 september 2025 (§87). Ditt förslag ingår i underlaget till skyfallsplanen för Södra Innerstaden som tas fram under 2026.")
	}
	sbn := g.proc("sbn")
	if ss := firstGood(sbn, 1); len(ss) == 1 {
		s := ss[0]
		t := later(s.public, when(2025, 10, 20, 9, 0)).Add(24 * time.Hour)
		g.do(t, "forward", func(ctx context.Context, svc *ledger.Service, key string, at time.Time) (ledger.Result, error) {
			return svc.ForwardSubmission(ctx, official(sbn.opener), s.id, req(domain.ForwardSubmission{To: "Miljöförvaltningen",
				Note: "Synpunkten rör dagvatten och grönytor; miljöförvaltningen ombeds yttra sig inför samrådsredogörelsen.", CaseNumber: "MF-2025-4411", RespondBy: "2025-12-01"}, key, at))
		})
	}
}

func intp(v int) *int { return &v }

// planSurvey publishes the residents' survey and plans the answers.
func (g *gen) planSurvey() {
	p := g.proc("ks")
	surveyID := g.id("survey")
	choice := func(id, sv, en string) domain.Option { return domain.Option{ID: id, Text: domain.Text{Sv: sv, En: en}} }
	qs := []domain.Question{
		{ID: "trivsel", Kind: domain.QuestionSingleChoice, Required: true,
			Text: domain.Text{Sv: "Hur nöjd är du med din stadsdel som en plats att bo på?", En: "How satisfied are you with your district as a place to live?"},
			Options: []domain.Option{choice("mycket_nojd", "Mycket nöjd", "Very satisfied"), choice("ganska_nojd", "Ganska nöjd", "Fairly satisfied"),
				choice("varken", "Varken eller", "Neither"), choice("ganska_missnojd", "Ganska missnöjd", "Fairly dissatisfied"),
				choice("mycket_missnojd", "Mycket missnöjd", "Very dissatisfied")}},
		{ID: "trygghet", Kind: domain.QuestionScale, Required: true, ScaleMin: 1, ScaleMax: 5,
			Text: domain.Text{Sv: "Hur trygg känner du dig när du går ensam ute sent på kvällen i ditt bostadsområde? (1 = mycket otrygg, 5 = mycket trygg)",
				En: "How safe do you feel walking alone late in the evening where you live? (1 = very unsafe, 5 = very safe)"}},
		{ID: "prioritera", Kind: domain.QuestionMultiChoice, Required: true,
			Text: domain.Text{Sv: "Vad bör kommunen prioritera de kommande åren? Välj högst tre.", En: "What should the city prioritise in the coming years? Choose up to three."},
			Options: []domain.Option{choice("skola", "Skolan", "Schools"), choice("trygghet", "Trygghet", "Safety"), choice("gronomraden", "Grönområden", "Green spaces"),
				choice("kollektivtrafik", "Kollektivtrafik", "Public transport"), choice("bostader", "Bostäder", "Housing"),
				choice("kultur_fritid", "Kultur och fritid", "Culture and leisure"), choice("aldreomsorg", "Äldreomsorg", "Elderly care"),
				choice("cykel", "Cykelvägar", "Cycle paths")}},
		{ID: "ovrigt", Kind: domain.QuestionFreeText,
			Text: domain.Text{Sv: "Är det något mer du vill säga till kommunen?", En: "Is there anything else you want to tell the city?"}},
	}
	g.do(p.phases[0].StartsAt.Add(-48*time.Hour), "publish-survey", func(ctx context.Context, svc *ledger.Service, key string, at time.Time) (ledger.Result, error) {
		return svc.PublishSurvey(ctx, official(p.opener), p.id, req(domain.PublishSurvey{SurveyID: surveyID,
			Title: domain.Text{Sv: "Att leva och bo i Malmö 2024", En: "Living in Malmö 2024"}, Questions: qs}, key, at))
	})
	options := []string{"skola", "trygghet", "gronomraden", "kollektivtrafik", "bostader", "kultur_fritid", "aldreomsorg", "cykel"}
	satisfaction := []string{"mycket_nojd", "ganska_nojd", "ganska_nojd", "varken", "ganska_missnojd", "mycket_missnojd"}
	for _, person := range g.people {
		if !person.reserved && !g.chance(g.size.surveyShare) {
			continue
		}
		t := g.timeIn(p, domain.AcceptsSurveyAnswers, time.Time{}, end)
		if person.reserved {
			t = when(2024, 10, 14, 20, 5)
		}
		person.use(t)
		ans := []domain.SurveyResponse{
			{QuestionID: "trivsel", Choices: []string{pick(g.r, satisfaction)}},
			{QuestionID: "trygghet", Scale: intp(1 + g.r.IntN(5))},
		}
		prio := slices.Clone(options)
		g.r.Shuffle(len(prio), func(i, j int) { prio[i], prio[j] = prio[j], prio[i] })
		ans = append(ans, domain.SurveyResponse{QuestionID: "prioritera", Choices: prio[:1+g.r.IntN(3)]})
		if g.chance(0.35) {
			ans = append(ans, domain.SurveyResponse{QuestionID: "ovrigt", Text: pick(g.r, surveyTexts)})
		}
		actor, ch := domain.Actor{ID: person.id, Role: domain.RoleParticipant}, domain.ChannelWeb
		if person.offline {
			actor, ch = intake, domain.ChannelPaper
		}
		id := person.id
		g.sum.SurveyAnswers++
		g.do(t, "survey-answer", func(ctx context.Context, svc *ledger.Service, key string, at time.Time) (ledger.Result, error) {
			return svc.AnswerSurvey(ctx, actor, p.id, req(domain.AnswerSurvey{SurveyID: surveyID, ParticipantID: id, Channel: ch, Answers: ans}, key, at))
		})
	}
}

// planRecords plans consent changes and erasure requests.
func (g *gen) planRecords() {
	g.planResponses()

	// Consent to publish the name withdrawn; a few change research use.
	changed := map[*person]bool{}
	for i := 0; i < 4; i++ {
		p := g.online()
		if changed[p] || (i == 0 && !p.publish) {
			i--
			continue
		}
		changed[p] = true
		publish, research := p.publish, p.research
		if i == 0 {
			publish = false
		} else {
			research = !research
		}
		t := later(p.first, when(2025, 2, 3, 19, 40)).Add(time.Duration(7+i) * 24 * time.Hour)
		p.use(t) // no-op unless unused: then they register before
		id := p.id
		g.do(t, "consent", func(ctx context.Context, svc *ledger.Service, key string, at time.Time) (ledger.Result, error) {
			return svc.ChangeConsent(ctx, domain.Actor{ID: id, Role: domain.RoleParticipant}, id, req(domain.ChangeConsent{PublishName: publish, ResearchUse: research}, key, at))
		})
	}

	// Refused: an author asks by e-mail to have their proposals removed;
	// they are public records.
	stk := g.proc("stk")
	var refused *person
	for _, s := range stk.subs {
		if !s.author.reserved {
			refused = s.author
			break
		}
	}
	reqID := g.id("erasure")
	g.do(when(2025, 3, 10, 10, 12), "erasure-request", func(ctx context.Context, svc *ledger.Service, key string, at time.Time) (ledger.Result, error) {
		return svc.RequestErasure(ctx, intake, refused.id, req(domain.RequestErasure{RequestID: reqID, Channel: domain.ChannelEmail,
			Reason: "Jag vill att allt jag har skrivit på sajten tas bort."}, key, at))
	})
	g.do(when(2025, 3, 24, 13, 45), "erasure-decision", func(ctx context.Context, svc *ledger.Service, key string, at time.Time) (ledger.Result, error) {
		return svc.DecideErasure(ctx, admin, refused.id, req(domain.DecideErasure{RequestID: reqID, Outcome: domain.ErasureRefused,
			Basis: "GDPR art. 17.3 b; tryckfrihetsförordningen 2 kap.; arkivlagen (1990:782)",
			Explanation: "Dina förslag är allmänna handlingar som kommunen ska bevara enligt arkivlagen och omfattas därför inte av rätten till radering. " +
				"Du kan när som helst återkalla samtycket till att ditt namn visas."}, key, at))
	})

	// Granted: the survey-only resident asks on the web.
	gp := g.granted()
	gid := g.id("erasure")
	self := domain.Actor{ID: gp.id, Role: domain.RoleParticipant}
	g.do(when(2025, 1, 20, 21, 3), "erasure-request", func(ctx context.Context, svc *ledger.Service, key string, at time.Time) (ledger.Result, error) {
		return svc.RequestErasure(ctx, self, gp.id, req(domain.RequestErasure{RequestID: gid, Channel: domain.ChannelWeb,
			Reason: "Jag vill inte längre ha ett konto hos er."}, key, at))
	})
	g.do(when(2025, 2, 5, 9, 30), "erasure-decision", func(ctx context.Context, svc *ledger.Service, key string, at time.Time) (ledger.Result, error) {
		return svc.DecideErasure(ctx, admin, gp.id, req(domain.DecideErasure{RequestID: gid, Outcome: domain.ErasureGranted,
			Basis: "GDPR art. 17.1 a",
			Explanation: "Du har bara besvarat medborgarundersökningen och svaren är redan sammanställda utan personuppgifter. " +
				"Dina kontaktuppgifter behövs inte längre; de raderas genom att nyckeln förstörs."}, key, at))
	})
}

// planRegistrations registers everyone shortly before they first act.
func (g *gen) planRegistrations() {
	earliest := when(2024, 1, 8, 8, 0)
	for _, p := range g.people {
		t := p.first
		if t.IsZero() {
			t = g.between(earliest, when(2026, 10, 1, 8, 0))
		} else {
			t = later(earliest, g.within(t, -5*24*time.Hour, -10*time.Minute))
		}
		actor := domain.Actor{ID: p.id, Role: domain.RoleParticipant}
		if p.offline {
			actor = intake
		}
		cmd := domain.RegisterParticipant{ParticipantID: p.id, Pseudonym: p.pseudonym, Name: p.name, Email: p.email,
			District: p.district, AgeBand: p.age, Language: p.lang, PublishName: p.publish, ResearchUse: p.research}
		g.do(t, "register", func(ctx context.Context, svc *ledger.Service, key string, at time.Time) (ledger.Result, error) {
			return svc.RegisterParticipant(ctx, actor, req(cmd, key, at))
		})
	}
}
