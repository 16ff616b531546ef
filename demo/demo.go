// Package demo seeds a ledger with a realistic, Malmö-like participation history, deterministic from a seed, through the command service so every event passes the domain's rules and is sealed.
package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/google/uuid"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/ledger"
)

// Size is how much history to generate.
type Size string

// Sizes: small is for tests (a few hundred events, well under a second on
// a memory store); normal is what `make run` shows (thousands of events).
const (
	Small  Size = "small"
	Normal Size = "normal"
)

// Staff names the demo's staff act under. The command line issues bearer
// tokens with these names, so a token's holder is the same person the
// history shows deciding, forwarding and answering.
const (
	Admin      = "maria.holm"     // registrator: disposals and erasure decisions
	Official   = "anna.lindqvist" // stadskontoret: the Malmöinitiativet process
	Moderator  = "karin.sjoberg"
	Moderator2 = "lars.ekdahl"
	Moderator3 = "nadia.karimi"
	Intake     = "sara.nilsson" // Malmö stads kontaktcenter
	Auditor    = "per.wallin"   // stadsrevisionen
	Researcher = "eva.strand"   // Malmö universitet
	// Classifier is the system actor of the automated text filter: the
	// domain accepts automated notices (and fully automated decisions)
	// only from the system role.
	Classifier = "textfilter"
)

// Config chooses what to generate.
type Config struct {
	Seed int64
	Size Size
	// Progress, if set, is called now and then with the commands executed
	// so far and the total.
	Progress func(done, total int)
}

// Process is one generated process.
type Process struct {
	ID         string `json:"id"`
	CaseNumber string `json:"case_number"`
	OwnerBody  string `json:"owner_body"`
	Kind       string `json:"kind"`
	Title      string `json:"title"`
}

// Summary is what Seed wrote: counts and the ids worth opening first.
type Summary struct {
	Processes     []Process `json:"processes"`
	Commands      int       `json:"commands"`
	Events        int       `json:"events"`
	Participants  int       `json:"participants"`
	Submissions   int       `json:"submissions"`
	Comments      int       `json:"comments"`
	Supports      int       `json:"supports"`
	SurveyAnswers int       `json:"survey_answers"`
	Flags         int       `json:"flags"`
	Decisions     int       `json:"decisions"`
	Appeals       int       `json:"appeals"`

	// Answered is a submission that crossed the support threshold, was
	// forwarded (remiss) and got the official answer.
	Answered string `json:"answered_submission"`
	// Overturned is a submission hidden by one moderator and restored on
	// appeal by another.
	Overturned string `json:"overturned_submission"`
	// Upheld is a comment whose hiding was upheld on appeal.
	Upheld string `json:"upheld_comment"`
	// Disposed is a submission disposed by a gallringsbeslut (keys
	// shredded).
	Disposed string `json:"disposed_submission"`
	// Pending is a process with contributions awaiting pre-moderation.
	Pending string `json:"premoderated_process"`
}

// Seed generates the history for cfg and executes it on svc, in
// occurred-at order. It stops at the first command the domain refuses,
// which is a bug in the generator. Aggregate and event ids are derived
// from the seed, so the same seed yields the same ids and content (only the
// ciphertexts and recorded-at times differ between runs); running it again
// on the same ledger appends nothing new.
func Seed(ctx context.Context, svc *ledger.Service, cfg Config) (Summary, error) {
	switch cfg.Size {
	case "":
		cfg.Size = Normal
	case Small, Normal:
	default:
		return Summary{}, fmt.Errorf("demo: size %q is not small or normal", cfg.Size)
	}
	g := newGen(cfg)
	g.plan()
	sort.SliceStable(g.acts, func(i, j int) bool { return g.acts[i].at.Before(g.acts[j].at) })
	for i, a := range g.acts {
		if err := ctx.Err(); err != nil {
			return g.sum, err
		}
		key := fmt.Sprintf("demo-%d-%s", cfg.Seed, a.label)
		res, err := a.run(ctx, svc, key, a.at)
		if err != nil {
			return g.sum, fmt.Errorf("demo: %s (occurred %s): %w", a.label, a.at.Format(time.DateTime), err)
		}
		g.sum.Commands++
		g.sum.Events += len(res.Events)
		if cfg.Progress != nil && (i%250 == 0 || i == len(g.acts)-1) {
			cfg.Progress(i+1, len(g.acts))
		}
	}
	return g.sum, nil
}

// runFunc executes one command at its occurred-at time.
type runFunc func(ctx context.Context, svc *ledger.Service, key string, at time.Time) (ledger.Result, error)

type action struct {
	at    time.Time
	label string
	run   runFunc
}

// req wraps a command with the demo's request context. The idempotency key
// derives the event ids; OccurredAt is the historic time.
func req[C any](c C, key string, at time.Time) ledger.Request[C] {
	return ledger.Request[C]{Command: c, IdempotencyKey: key, RequestID: "demo", OccurredAt: at}
}

// Actors.
func staff(id string, role domain.Role) domain.Actor { return domain.Actor{ID: id, Role: role} }

var (
	intake     = staff(Intake, domain.RoleIntake)
	admin      = staff(Admin, domain.RoleAdmin)
	classifier = staff(Classifier, domain.RoleSystem)
)

func moderator(id string) domain.Actor { return staff(id, domain.RoleModerator) }
func official(id string) domain.Actor  { return staff(id, domain.RoleOfficial) }

// gen plans the history: every action with its time, then Seed sorts and
// runs them. Ids are fixed at planning time so later actions can refer to
// earlier ones without waiting for results.
type gen struct {
	r    *rand.Rand
	seed int64
	size sizes
	n    map[string]int // per-kind counters for labels and ids
	acts []action
	sum  Summary

	people []*person
	procs  []*proc
}

func newGen(cfg Config) *gen {
	return &gen{
		r:    rand.New(rand.NewPCG(uint64(cfg.Seed), 0x6d616c6d6f)), // "malmo"
		seed: cfg.Seed,
		size: sizeOf(cfg.Size),
		n:    map[string]int{},
	}
}

var idNamespace = uuid.MustParse("0b6f3c1e-58a4-4c4e-9d0e-6a1f2d3c4b5a")

// next returns the next label of kind: "submission-17".
func (g *gen) next(kind string) string {
	g.n[kind]++
	return fmt.Sprintf("%s-%d", kind, g.n[kind])
}

// id returns a new id for an aggregate of kind, determined by the seed and
// the planning order.
func (g *gen) id(kind string) string {
	return uuid.NewSHA1(idNamespace, fmt.Appendf(nil, "%d/%s", g.seed, g.next("id-"+kind))).String()
}

func (g *gen) do(at time.Time, kind string, run runFunc) {
	g.acts = append(g.acts, action{at: at, label: g.next(kind), run: run})
}

// between returns a random time in [a, b), or the zero time when the
// interval is empty.
func (g *gen) between(a, b time.Time) time.Time {
	if !b.After(a) {
		return time.Time{}
	}
	d := b.Sub(a)
	return a.Add(time.Duration(g.r.Int64N(int64(d)))).Truncate(time.Second)
}

// within returns a time d1..d2 after t.
func (g *gen) within(t time.Time, d1, d2 time.Duration) time.Time {
	return t.Add(d1 + time.Duration(g.r.Int64N(int64(d2-d1)+1))).Truncate(time.Second)
}

func (g *gen) chance(p float64) bool { return g.r.Float64() < p }
