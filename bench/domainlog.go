package bench

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
)

// LogGen generates a plausible participation history as domain events, so
// that the read-side metrics fold what the read models really fold: 20
// processes and 2000 participants, then a mix of supports (40%), comments
// (25%), submissions (15%), notices (10%), moderation decisions (7%) and
// appeals with their decisions (3%). Sealed fields hold random bytes of the
// length real ciphertext has. Equal seeds give equal histories.
//
// Items created since the last Publish are not referred to, so a caller
// that appends a chunk of events concurrently (out of order across
// streams) never writes a comment before the submission it is about.
type LogGen struct {
	r    *rand.Rand
	n    int
	base time.Time
	pend []eventstore.EventData // queued events of the current step
	strm []string

	subs, newSubs       []item // submissions that may be referred to, and new ones
	decisions, newDecis []item // decisions (item = decided item)
	supported           map[[2]int32]bool
}

type item struct {
	id, process, decision string
}

const (
	genProcesses   = 20
	genParticipant = 2000
)

// NewLogGen returns a generator; equal seeds give equal events.
func NewLogGen(seed uint64) *LogGen {
	g := &LogGen{
		r:         rand.New(rand.NewPCG(seed, 0x2545f4914f6cdd1d)),
		base:      time.Date(2024, 9, 2, 8, 0, 0, 0, time.UTC),
		supported: map[[2]int32]bool{},
	}
	for p := range genProcesses {
		id := "p" + strconv.Itoa(p)
		g.queue("official-anna", domain.RoleOfficial, &domain.ProcessOpened{ProcessID: id,
			Title: domain.Text{Sv: "Trygghet i område " + id, En: "Safety in area " + id}, Kind: domain.KindProposal,
			OwnerBody: []string{"Kommunstyrelsen", "Tekniska nämnden"}[p%2], CaseNumber: fmt.Sprintf("STK-2024-%03d", p),
			Administrations: []string{"Stadskontoret", "Fastighets- och gatukontoret"},
			Phases: []domain.Phase{{Name: "förslag", StartsAt: g.base,
				Accepts: []domain.ContributionKind{domain.AcceptsSubmissions, domain.AcceptsComments, domain.AcceptsSupport}}},
			SupportThreshold: 50, ModerationMode: domain.ModerationPost, PolicyReference: "Riktlinjer för Öppna Malmö 2024",
			OpenedBy: "official-anna"})
	}
	for u := range genParticipant {
		id := "u" + strconv.Itoa(u)
		g.queue("intake-bo", domain.RoleIntake, &domain.ParticipantRegistered{ParticipantID: id, Pseudonym: "invånare-" + id,
			Name: g.sealed(id, 16), Email: g.sealed(id, 24), District: g.sealed(id, 10), AgeBand: g.sealed(id, 5), Language: "sv"})
	}
	return g
}

// Next returns the next event and its stream.
func (g *LogGen) Next() (string, eventstore.EventData) {
	for len(g.pend) == 0 {
		g.step()
	}
	s, e := g.strm[0], g.pend[0]
	g.strm, g.pend = g.strm[1:], g.pend[1:]
	return s, e
}

// Publish lets later events refer to every item generated so far.
func (g *LogGen) Publish() {
	g.subs, g.newSubs = append(g.subs, g.newSubs...), g.newSubs[:0]
	g.decisions, g.newDecis = append(g.decisions, g.newDecis...), g.newDecis[:0]
}

func (g *LogGen) user() string { return "u" + strconv.Itoa(g.r.IntN(genParticipant)) }

// step queues one or two events.
func (g *LogGen) step() {
	g.n++
	i := strconv.Itoa(g.n)
	x := g.r.IntN(100)
	if len(g.subs) < 10 {
		x = 0
	}
	switch {
	case x < 15:
		id, p, u := "s"+i, "p"+strconv.Itoa(g.r.IntN(genProcesses)), g.user()
		g.queue(u, domain.RoleParticipant, &domain.SubmissionReceived{SubmissionID: id, ProcessID: p, Author: u,
			Channel:  []domain.Channel{domain.ChannelWeb, domain.ChannelWeb, domain.ChannelPaper, domain.ChannelEmail}[g.r.IntN(4)],
			Language: "sv", Title: g.sealed(id, 30+g.r.IntN(40)), Body: g.sealed(id, 200+g.r.IntN(600))})
		g.newSubs = append(g.newSubs, item{id: id, process: p})
	case x < 55:
		si, ui := g.r.IntN(len(g.subs)), g.r.IntN(genParticipant)
		if g.supported[[2]int32{int32(si), int32(ui)}] {
			return
		}
		g.supported[[2]int32{int32(si), int32(ui)}] = true
		s, u := g.subs[si], "u"+strconv.Itoa(ui)
		g.queue(u, domain.RoleParticipant, &domain.SupportGiven{SubmissionID: s.id, ProcessID: s.process, ParticipantID: u})
	case x < 80:
		s, u, id := g.subs[g.r.IntN(len(g.subs))], g.user(), "c"+i
		g.queue(u, domain.RoleParticipant, &domain.CommentPosted{CommentID: id, SubmissionID: s.id, ProcessID: s.process,
			Author: u, Channel: domain.ChannelWeb, Language: "sv", Body: g.sealed(id, 80+g.r.IntN(300))})
	case x < 90:
		s, u := g.subs[g.r.IntN(len(g.subs))], g.user()
		g.queue(u, domain.RoleParticipant, &domain.ContentFlagged{FlagID: "f" + i, ItemID: s.id,
			ItemKind: domain.ItemSubmission, ContentVersion: 1, Source: domain.FlagByParticipant, FlaggedBy: u,
			Category: domain.CategoryScams, Explanation: g.sealed(s.id, 60)})
	case x < 97:
		s := g.subs[g.r.IntN(len(g.subs))]
		id := "d" + i
		g.queue("moderator-karin", domain.RoleModerator, &domain.ModerationDecided{DecisionID: id, ItemID: s.id,
			ItemKind: domain.ItemSubmission, ContentVersion: 1, Visibility: domain.VisibilityDisabled,
			Ground: domain.GroundIncompatible, PolicyClause: "4.2", Category: domain.CategoryIllegalOrHarmfulSpeech,
			Explanation: "Personangrepp mot en namngiven person.", AutomatedDecision: domain.AutomatedNot,
			Source: domain.SourceOwnInitiative, Moderator: "moderator-karin"})
		g.newDecis = append(g.newDecis, item{id: s.id, process: s.process, decision: id})
	default:
		if len(g.decisions) == 0 {
			return
		}
		d := g.decisions[g.r.IntN(len(g.decisions))]
		a := "a" + i
		g.queue("u1", domain.RoleParticipant, &domain.AppealFiled{AppealID: a, DecisionID: d.decision, ItemID: d.id,
			ItemKind: domain.ItemSubmission, By: "u1", Grounds: g.sealed(d.id, 120)})
		g.queue("moderator-lars", domain.RoleModerator, &domain.AppealDecided{AppealID: a, DecisionID: d.decision, ItemID: d.id,
			ItemKind: domain.ItemSubmission, Outcome: domain.AppealOverturned, Moderator: "moderator-lars",
			Explanation: "Kritik av en åtgärd, inte ett personangrepp."})
	}
}

func (g *LogGen) queue(actor string, role domain.Role, ev domain.Event) {
	typ, ver, data, err := domain.Encode(ev)
	if err != nil {
		panic(err) // the generator only builds valid, sealed events
	}
	g.strm = append(g.strm, domain.StreamOf(ev))
	g.pend = append(g.pend, eventstore.EventData{
		ID: uuidFrom(g.r), Type: typ, Version: ver, Data: data,
		Metadata: eventstore.Metadata{
			Actor: actor, Role: string(role), CorrelationID: uuidFrom(g.r).String(),
			RequestID:  "req-" + strconv.FormatUint(g.r.Uint64(), 16),
			OccurredAt: g.base.Add(time.Duration(len(g.pend)+g.n) * 13 * time.Second),
		},
	})
}

// sealed stands in for a field sealed under subject's data key: nonce,
// ciphertext and tag of a plaintext of n bytes.
func (g *LogGen) sealed(subject string, n int) domain.Personal {
	b := make([]byte, 12+n+16)
	for i := range b {
		b[i] = byte(g.r.Uint32())
	}
	return domain.Personal{Subject: subject, Sealed: b}
}

// fillDomain appends n generated domain events to s. Each chunk's events
// are grouped by stream (in order within a stream) and the groups are
// appended by many goroutines at once, so that group commit makes the
// fill fast; the fill is not what is measured.
func fillDomain(ctx context.Context, s eventstore.Store, g *LogGen, n int) error {
	const chunk, workers = 8192, 64
	type batch struct {
		stream string
		events []eventstore.EventData
	}
	for done := 0; done < n; {
		var order []string
		groups := map[string][]eventstore.EventData{}
		for range min(chunk, n-done) {
			st, e := g.Next()
			if _, ok := groups[st]; !ok {
				order = append(order, st)
			}
			groups[st] = append(groups[st], e)
			done++
		}
		work := make(chan batch)
		errc := make(chan error, workers)
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for b := range work {
					if _, err := s.Append(ctx, b.stream, eventstore.Any(), b.events...); err != nil {
						errc <- fmt.Errorf("append to %s: %w", b.stream, err)
						return
					}
				}
			})
		}
		var err error
	feed:
		for _, st := range order {
			select {
			case work <- batch{st, groups[st]}:
			case err = <-errc:
				break feed
			}
		}
		close(work)
		wg.Wait()
		close(errc)
		if err == nil {
			err = <-errc
		}
		if err != nil {
			return err
		}
		g.Publish()
	}
	return nil
}

// uuidFrom returns a random (version 4) UUID drawn from r.
func uuidFrom(r *rand.Rand) uuid.UUID {
	var u uuid.UUID
	binary.LittleEndian.PutUint64(u[:8], r.Uint64())
	binary.LittleEndian.PutUint64(u[8:], r.Uint64())
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return u
}
