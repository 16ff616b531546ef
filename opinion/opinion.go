// Package opinion finds the opinion groups of a dialogue from its latest votes by Polis's method (PCA to two components, base clusters, groups chosen by silhouette), with each group's representative statements and the group-informed consensus per statement.
package opinion

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/mat"
)

// Polis's vote codes.
const (
	Agree    = 1
	Disagree = -1
	Pass     = 0
)

const noVote = math.MinInt8

// Polis's constants.
const (
	minVotes       = 7   // votes that put a participant in the conversation (or every statement, if fewer)
	minInConv      = 15  // the heaviest voters are added while fewer are in
	baseClusters   = 100 // k of the first clustering
	maxGroups      = 5
	maxRepresented = 5 // representative statements per group
	z90            = 1.2816

	maxPowerIterations = 1000
)

// Matrix is a participant × statement matrix of latest votes. Participants
// and statements are numbers 0…n-1; the caller keeps what they stand for.
type Matrix struct {
	participants, statements int
	votes                    []int8
	moderatedOut             []bool
	wasIn                    []bool
}

// NewMatrix returns a matrix without votes.
func NewMatrix(participants, statements int) *Matrix {
	v := make([]int8, participants*statements)
	for i := range v {
		v[i] = noVote
	}
	return &Matrix{participants: participants, statements: statements, votes: v,
		moderatedOut: make([]bool, statements), wasIn: make([]bool, participants)}
}

// Set records participant p's latest vote on statement s: Agree, Disagree
// or Pass (anything else counts as Pass).
func (m *Matrix) Set(p, s, vote int) {
	if vote != Agree && vote != Disagree {
		vote = Pass
	}
	m.votes[p*m.statements+s] = int8(vote)
}

// ModerateOut marks statement s as moderated out: its column counts as 0
// for everyone (it stays in the matrix, as in Polis), and it is never
// representative or consensus.
func (m *Matrix) ModerateOut(s int) { m.moderatedOut[s] = true }

// KeepIn marks participant p as having been in the conversation at an
// earlier update: once in, always in.
func (m *Matrix) KeepIn(p int) { m.wasIn[p] = true }

func (m *Matrix) at(p, s int) (int, bool) {
	v := m.votes[p*m.statements+s]
	return int(v), v != noVote
}

// Result is the opinion groups of a matrix.
type Result struct {
	// Participants is indexed like the matrix's participants.
	Participants []Placement
	// Groups are ordered by size, largest first; a participant's Group
	// indexes them.
	Groups []Group
	// Statements is indexed like the matrix's statements.
	Statements []StatementStats
	// Consensus are the statements most groups agree (or disagree) on,
	// best first: group-informed consensus, where every group's majority
	// voted that way.
	Consensus      []Consensus
	InConversation int
	// Silhouette is the mean silhouette of the chosen grouping over the
	// base clusters' centres (0 with fewer than two groups).
	Silhouette float64
}

// Placement is one participant on the opinion map.
type Placement struct {
	X, Y  float64
	Votes int  // statements voted on
	In    bool // in the conversation (only they are grouped)
	Group int  // index in Result.Groups; -1 when not grouped
}

// Group is one opinion group.
type Group struct {
	Members        int
	X, Y           float64 // centre of its members
	Representative []Repness
}

// Repness says how a statement represents a group: the share of the
// group that agreed (or disagreed) and how much more than the others.
type Repness struct {
	Statement   int
	Agree       bool    // representative by agreement; else by disagreement
	Count, Of   int     // group members who voted that way, of those who voted
	P           float64 // smoothed probability, (Count+1)/(Of+2)
	PTest       float64 // z of P against one half
	Repness     float64 // P over the same probability outside the group
	RepnessTest float64 // z of the two proportions
}

// StatementStats are one statement's votes per group and its
// group-informed consensus: the product over groups of each group's
// smoothed probability of agreeing (disagreeing).
type StatementStats struct {
	Groups            []Tally
	AgreeConsensus    float64
	DisagreeConsensus float64
}

// Tally is a group's latest votes on one statement.
type Tally struct{ Agree, Disagree, Pass int }

// Voted is the number of group members who voted on the statement.
func (t Tally) Voted() int { return t.Agree + t.Disagree + t.Pass }

// Consensus is a statement the groups share a view of.
type Consensus struct {
	Statement int
	Agree     bool
	Score     float64 // the group-informed consensus
}

// Options tune Compute. The zero value is Polis's method with a fixed seed.
type Options struct {
	Seed uint64
	// Restarts of k-means++ for the groups (the lowest inertia wins);
	// the base clusters get a tenth of them. Default 50.
	Restarts int
}

// Compute finds the opinion groups of m. The same matrix and options
// always give the same result.
func Compute(m *Matrix, opt Options) Result {
	if opt.Restarts <= 0 {
		opt.Restarts = 50
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 0x706f6c6973))
	res := Result{Participants: make([]Placement, m.participants), Statements: make([]StatementStats, m.statements)}
	for p := range res.Participants {
		res.Participants[p].Group = -1
	}

	// The columns: statements with any vote.
	var cols []int
	for s := range m.statements {
		for p := range m.participants {
			if _, ok := m.at(p, s); ok {
				cols = append(cols, s)
				break
			}
		}
	}
	var rows []int // participants with any vote
	for p := range m.participants {
		n := 0
		for _, s := range cols {
			if _, ok := m.at(p, s); ok {
				n++
			}
		}
		res.Participants[p].Votes = n
		if n > 0 {
			rows = append(rows, p)
		}
	}
	if len(cols) == 0 || len(rows) == 0 {
		return res
	}

	res.InConversation = inConversation(m, res.Participants, rows, len(cols))
	project(m, res.Participants, rows, cols, rng)

	var in []int
	for _, p := range rows {
		if res.Participants[p].In {
			in = append(in, p)
		}
	}
	groups, silhouette := cluster(res.Participants, in, opt.Restarts, rng)
	res.Silhouette = silhouette
	for g, members := range groups {
		grp := Group{Members: len(members)}
		for _, p := range members {
			res.Participants[p].Group = g
			grp.X += res.Participants[p].X / float64(len(members))
			grp.Y += res.Participants[p].Y / float64(len(members))
		}
		res.Groups = append(res.Groups, grp)
	}
	represent(m, &res, cols)
	return res
}

// inConversation marks who is in: at least min(7, statements) votes, or
// in before; then the heaviest voters while fewer than 15 are in.
func inConversation(m *Matrix, pl []Placement, rows []int, statements int) int {
	need := min(minVotes, statements)
	n := 0
	for _, p := range rows {
		if pl[p].Votes >= need || m.wasIn[p] {
			pl[p].In = true
			n++
		}
	}
	if n < minInConv {
		rest := slices.DeleteFunc(slices.Clone(rows), func(p int) bool { return pl[p].In })
		slices.SortStableFunc(rest, func(a, b int) int { return cmp.Compare(pl[b].Votes, pl[a].Votes) })
		for _, p := range rest[:min(len(rest), minInConv-n)] {
			pl[p].In = true
			n++
		}
	}
	return n
}

// project places every voter on the first two principal components of the
// centred matrix (moderated-out columns 0, missing votes the statement's
// mean), scaled by sqrt(statements / the participant's votes) so that
// someone who voted little is not pulled to the centre.
func project(m *Matrix, pl []Placement, rows, cols []int, rng *rand.Rand) {
	nc := len(cols)
	mean := make([]float64, nc)
	moderated := 0
	for j, s := range cols {
		if m.moderatedOut[s] {
			moderated++
			continue
		}
		sum, n := 0.0, 0
		for _, p := range rows {
			if v, ok := m.at(p, s); ok {
				sum += float64(v)
				n++
			}
		}
		mean[j] = sum / float64(n)
	}
	x := mat.NewDense(len(rows), nc, nil)
	scale := make([]float64, len(rows))
	for i, p := range rows {
		votes := moderated // a moderated-out column is a 0 for everyone
		for j, s := range cols {
			if m.moderatedOut[s] {
				continue
			}
			if v, ok := m.at(p, s); ok {
				x.Set(i, j, float64(v)-mean[j])
				votes++
			}
		}
		scale[i] = math.Sqrt(float64(nc) / float64(max(votes, 1)))
	}
	var cov mat.SymDense
	cov.SymOuterK(1, x.T())
	pc1 := powerIteration(&cov, nil, rng)
	pc2 := powerIteration(&cov, pc1, rng)
	var px, py mat.VecDense
	px.MulVec(x, pc1)
	py.MulVec(x, pc2)
	for i, p := range rows {
		pl[p].X, pl[p].Y = px.AtVec(i)*scale[i], py.AtVec(i)*scale[i]
	}
}

// powerIteration returns the dominant unit eigenvector of the symmetric
// matrix c orthogonal to prev (if given), signed so that its largest
// entry is positive. It stops after maxPowerIterations: when two
// eigenvalues are nearly equal the direction converges slowly and matters
// little (the spread is about the same along both).
func powerIteration(c *mat.SymDense, prev *mat.VecDense, rng *rand.Rand) *mat.VecDense {
	n, _ := c.Dims()
	v := mat.NewVecDense(n, nil)
	for i := range n {
		v.SetVec(i, rng.Float64()-0.5)
	}
	orthogonal := func(v *mat.VecDense) {
		if prev != nil {
			v.AddScaledVec(v, -mat.Dot(v, prev), prev)
		}
	}
	orthogonal(v)
	w := mat.NewVecDense(n, nil)
	for range maxPowerIterations {
		norm := v.Norm(2)
		if norm == 0 {
			return v // no variance left
		}
		v.ScaleVec(1/norm, v)
		w.MulVec(c, v)
		orthogonal(w)
		norm = w.Norm(2)
		if norm == 0 {
			return w
		}
		w.ScaleVec(1/norm, w)
		w.SubVec(w, v)
		change := w.Norm(2)
		w.AddVec(w, v)
		v, w = w, v
		if change < 1e-10 {
			break
		}
	}
	big := 0
	for i := range n {
		if math.Abs(v.AtVec(i)) > math.Abs(v.AtVec(big)) {
			big = i
		}
	}
	if v.AtVec(big) < 0 {
		v.ScaleVec(-1, v)
	}
	return v
}

// cluster groups the participants in: 100 base clusters of their places,
// then k-means of the base clusters' centres (weighted by size) for k = 2
// … min(5, 2 + bases/12), keeping the k with the best silhouette over the
// centres. Groups are returned largest first.
func cluster(pl []Placement, in []int, restarts int, rng *rand.Rand) ([][]int, float64) {
	if len(in) == 0 {
		return nil, 0
	}
	pts := make([]point, len(in))
	for i, p := range in {
		pts[i] = point{pl[p].X, pl[p].Y}
	}
	ones := make([]float64, len(pts))
	for i := range ones {
		ones[i] = 1
	}
	base := kmeans(pts, ones, min(baseClusters, distinct(pts)), max(restarts/10, 1), rng)
	var centres []point
	var weights []float64
	var members [][]int
	for c, centre := range base.centres {
		var ms []int
		for i, l := range base.labels {
			if l == c {
				ms = append(ms, in[i])
			}
		}
		if len(ms) > 0 {
			centres, weights, members = append(centres, centre), append(weights, float64(len(ms))), append(members, ms)
		}
	}

	var best kmeansResult
	bestS := math.Inf(-1)
	kmax := min(maxGroups, 2+len(centres)/12, len(centres)-1)
	for k := 2; k <= kmax; k++ {
		r := kmeans(centres, weights, k, restarts, rng)
		if s := silhouette(centres, r.labels, k); s > bestS {
			best, bestS = r, s
		}
	}
	if best.labels == nil { // fewer than three base clusters
		k := min(2, len(centres))
		best, bestS = kmeans(centres, weights, k, restarts, rng), 0
	}
	groups := make([][]int, len(best.centres))
	for b, g := range best.labels {
		groups[g] = append(groups[g], members[b]...)
	}
	groups = slices.DeleteFunc(groups, func(g []int) bool { return len(g) == 0 })
	for _, g := range groups {
		slices.Sort(g)
	}
	slices.SortStableFunc(groups, func(a, b []int) int {
		if c := cmp.Compare(len(b), len(a)); c != 0 {
			return c
		}
		return cmp.Compare(a[0], b[0])
	})
	return groups, bestS
}

type point struct{ x, y float64 }

func dist2(a, b point) float64 { dx, dy := a.x-b.x, a.y-b.y; return dx*dx + dy*dy }

func distinct(pts []point) int {
	seen := map[point]bool{}
	for _, p := range pts {
		seen[p] = true
	}
	return len(seen)
}

type kmeansResult struct {
	centres []point
	labels  []int
	inertia float64
}

// kmeans is weighted k-means (Lloyd) from k-means++ starts, restarted
// and keeping the lowest inertia.
func kmeans(pts []point, w []float64, k, restarts int, rng *rand.Rand) kmeansResult {
	best := kmeansResult{inertia: math.Inf(1)}
	if k <= 0 {
		return best
	}
	for range restarts {
		r := lloyd(pts, w, seed(pts, w, k, rng))
		if r.inertia < best.inertia {
			best = r
		}
	}
	return best
}

// seed picks k starting centres, each with probability proportional to
// weight times squared distance to the nearest centre chosen so far.
func seed(pts []point, w []float64, k int, rng *rand.Rand) []point {
	centres := make([]point, 0, k)
	d := make([]float64, len(pts))
	pick := func(weight func(i int) float64) {
		total := 0.0
		for i := range pts {
			total += weight(i)
		}
		r := rng.Float64() * total
		for i := range pts {
			if r -= weight(i); r < 0 || i == len(pts)-1 {
				centres = append(centres, pts[i])
				return
			}
		}
	}
	pick(func(i int) float64 { return w[i] })
	for i, p := range pts {
		d[i] = dist2(p, centres[0])
	}
	for len(centres) < k {
		pick(func(i int) float64 { return w[i] * d[i] })
		c := centres[len(centres)-1]
		for i, p := range pts {
			d[i] = min(d[i], dist2(p, c))
		}
	}
	return centres
}

func lloyd(pts []point, w []float64, centres []point) kmeansResult {
	k := len(centres)
	labels := make([]int, len(pts))
	for i := range labels {
		labels[i] = -1
	}
	sx, sy, sw := make([]float64, k), make([]float64, k), make([]float64, k)
	for iter := 0; iter < 300; iter++ {
		changed := false
		for i, p := range pts {
			best, bd := 0, math.Inf(1)
			for c, cp := range centres {
				if d := dist2(p, cp); d < bd {
					best, bd = c, d
				}
			}
			if labels[i] != best {
				labels[i], changed = best, true
			}
		}
		if !changed {
			break
		}
		clear(sx)
		clear(sy)
		clear(sw)
		for i, p := range pts {
			l := labels[i]
			sx[l] += w[i] * p.x
			sy[l] += w[i] * p.y
			sw[l] += w[i]
		}
		for c := range centres {
			if sw[c] > 0 {
				centres[c] = point{sx[c] / sw[c], sy[c] / sw[c]}
				continue
			}
			// An empty cluster takes the point farthest from its centre.
			far, fd := 0, -1.0
			for i, p := range pts {
				if d := dist2(p, centres[labels[i]]); d > fd {
					far, fd = i, d
				}
			}
			centres[c] = pts[far]
			labels[far] = c
		}
	}
	inertia := 0.0
	for i, p := range pts {
		inertia += w[i] * dist2(p, centres[labels[i]])
	}
	return kmeansResult{centres: centres, labels: labels, inertia: inertia}
}

// silhouette is the mean silhouette of the points under labels (k
// groups); a point alone in its group scores 0.
func silhouette(pts []point, labels []int, k int) float64 {
	sum := 0.0
	for i, p := range pts {
		total, count := make([]float64, k), make([]int, k)
		for j, q := range pts {
			if i != j {
				total[labels[j]] += math.Sqrt(dist2(p, q))
				count[labels[j]]++
			}
		}
		own := labels[i]
		if count[own] == 0 {
			continue
		}
		a, b := total[own]/float64(count[own]), math.Inf(1)
		for g := range k {
			if g != own && count[g] > 0 {
				b = min(b, total[g]/float64(count[g]))
			}
		}
		if math.IsInf(b, 1) {
			continue
		}
		if d := max(a, b); d > 0 {
			sum += (b - a) / d
		}
	}
	return sum / float64(len(pts))
}

// represent tallies the grouped participants' votes per group and picks
// each group's representative statements and the consensus statements.
func represent(m *Matrix, res *Result, cols []int) {
	k := len(res.Groups)
	if k == 0 {
		return
	}
	type stats struct{ pa, pd, pat, pdt, ra, rd, rat, rdt float64 }
	per := make([][]stats, k) // group → statement
	for g := range per {
		per[g] = make([]stats, m.statements)
	}
	for _, s := range cols {
		st := &res.Statements[s]
		st.Groups = make([]Tally, k)
		for p, pl := range res.Participants {
			if pl.Group < 0 {
				continue
			}
			v, ok := m.at(p, s)
			if !ok {
				continue
			}
			t := &st.Groups[pl.Group]
			switch v {
			case Agree:
				t.Agree++
			case Disagree:
				t.Disagree++
			default:
				t.Pass++
			}
		}
		var all Tally
		for _, t := range st.Groups {
			all.Agree, all.Disagree, all.Pass = all.Agree+t.Agree, all.Disagree+t.Disagree, all.Pass+t.Pass
		}
		st.AgreeConsensus, st.DisagreeConsensus = 1, 1
		for g, t := range st.Groups {
			out := Tally{all.Agree - t.Agree, all.Disagree - t.Disagree, all.Pass - t.Pass}
			x := stats{
				pa: prob(t.Agree, t.Voted()), pd: prob(t.Disagree, t.Voted()),
				pat: propTest(t.Agree, t.Voted()), pdt: propTest(t.Disagree, t.Voted()),
				rat: twoPropTest(t.Agree, out.Agree, t.Voted(), out.Voted()), rdt: twoPropTest(t.Disagree, out.Disagree, t.Voted(), out.Voted()),
			}
			x.ra = x.pa / prob(out.Agree, out.Voted())
			x.rd = x.pd / prob(out.Disagree, out.Voted())
			per[g][s] = x
			st.AgreeConsensus *= x.pa
			st.DisagreeConsensus *= x.pd
		}
	}

	shown := slices.DeleteFunc(slices.Clone(cols), func(s int) bool { return m.moderatedOut[s] })
	for g := range res.Groups {
		rep := func(s int, agree bool) Repness {
			x, t := per[g][s], res.Statements[s].Groups[g]
			if agree {
				return Repness{Statement: s, Agree: true, Count: t.Agree, Of: t.Voted(), P: x.pa, PTest: x.pat, Repness: x.ra, RepnessTest: x.rat}
			}
			return Repness{Statement: s, Count: t.Disagree, Of: t.Voted(), P: x.pd, PTest: x.pdt, Repness: x.rd, RepnessTest: x.rdt}
		}
		metric := func(r Repness) float64 { return r.Repness * r.RepnessTest * r.P * r.PTest }
		var picked []Repness
		var fallback *Repness
		var bestAgree *Repness
		for _, s := range shown {
			x, t := per[g][s], res.Statements[s].Groups[g]
			if t.Voted() == 0 {
				continue
			}
			agreeSig, disagreeSig := x.pat > z90 && x.rat > z90, x.pdt > z90 && x.rdt > z90
			switch {
			case agreeSig && (!disagreeSig || x.rat >= x.rdt):
				picked = append(picked, rep(s, true))
			case disagreeSig:
				picked = append(picked, rep(s, false))
			}
			if r := rep(s, x.rat >= x.rdt); fallback == nil || r.RepnessTest > fallback.RepnessTest {
				fallback = &r
			}
			if t.Agree+t.Disagree > 0 && (x.pat > z90 || (x.ra > 1 && x.pa > 0.5)) {
				if r := rep(s, true); bestAgree == nil || metric(r) > metric(*bestAgree) {
					bestAgree = &r
				}
			}
		}
		slices.SortStableFunc(picked, func(a, b Repness) int { return cmp.Compare(metric(b), metric(a)) })
		picked = picked[:min(len(picked), maxRepresented)]
		if len(picked) == 0 && fallback != nil {
			picked = []Repness{*fallback}
		}
		// As Polis: something the group agrees on, when there is one.
		if bestAgree != nil && !slices.ContainsFunc(picked, func(r Repness) bool { return r.Agree }) {
			picked = append([]Repness{*bestAgree}, picked[:min(len(picked), maxRepresented-1)]...)
		}
		res.Groups[g].Representative = picked
	}

	for _, agree := range []bool{true, false} {
		var cs []Consensus
		for _, s := range shown {
			st := res.Statements[s]
			majority := true
			for _, t := range st.Groups {
				n := t.Disagree
				if agree {
					n = t.Agree
				}
				majority = majority && 2*n > t.Voted()
			}
			if !majority {
				continue
			}
			score := st.DisagreeConsensus
			if agree {
				score = st.AgreeConsensus
			}
			cs = append(cs, Consensus{Statement: s, Agree: agree, Score: score})
		}
		slices.SortStableFunc(cs, func(a, b Consensus) int { return cmp.Compare(b.Score, a.Score) })
		res.Consensus = append(res.Consensus, cs[:min(len(cs), maxRepresented)]...)
	}
}

// prob is the share with Laplace smoothing.
func prob(n, of int) float64 { return float64(n+1) / float64(of+2) }

// propTest is the z of a smoothed proportion against one half.
func propTest(n, of int) float64 {
	s, t := float64(n+1), float64(of+1)
	return 2 * math.Sqrt(t) * (s/t - 0.5)
}

// twoPropTest is the z of two smoothed proportions' difference.
func twoPropTest(n1, n2, of1, of2 int) float64 {
	s1, s2, t1, t2 := float64(n1+1), float64(n2+1), float64(of1+1), float64(of2+1)
	pooled := (s1 + s2) / (t1 + t2)
	d := math.Sqrt(pooled * (1 - pooled) * (1/t1 + 1/t2))
	if d == 0 || math.IsNaN(d) {
		return 0
	}
	return (s1/t1 - s2/t2) / d
}
