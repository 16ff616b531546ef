package projections

import (
	"cmp"
	"math"
	"slices"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/opinion"
)

// Opinion groups are derived from the dialogue model's latest-vote matrix
// (package opinion, Polis's method), at whatever position the model
// stands: no second fold, and as_of comes with the model. They are public:
// participants appear only as counts and as unnamed points on the map.

// OpinionGroups are a dialogue's opinion groups, representative
// statements and group-informed consensus.
type OpinionGroups struct {
	ProcessID      string `json:"process_id"`
	Voters         int    `json:"voters"`          // participants with a vote
	InConversation int    `json:"in_conversation"` // of them, grouped (Polis's rule)
	// Silhouette says how well separated the groups are (−1…1).
	Silhouette float64        `json:"silhouette"`
	Groups     []OpinionGroup `json:"groups"`
	// Consensus are the statements a majority of every group agreed (or
	// disagreed) with, by group-informed consensus, best first.
	Consensus []ConsensusStatement `json:"consensus"`
	// Statements are the public statements with votes: each group's tally
	// and the group-informed consensus.
	Statements []GroupedStatement `json:"statements"`
	// Points are the grouped participants on the opinion map (the first
	// two principal components), without ids, by group then place.
	Points []MapPoint `json:"points"`
}

// OpinionGroup is one group: its size, centre and representative
// statements.
type OpinionGroup struct {
	Group          int                       `json:"group"`
	Members        int                       `json:"members"`
	X              float64                   `json:"x"`
	Y              float64                   `json:"y"`
	Representative []RepresentativeStatement `json:"representative"`
}

// RepresentativeStatement is a statement that sets a group apart: Count
// of the Of group members who voted on it voted Direction.
type RepresentativeStatement struct {
	StatementID     string  `json:"statement_id"`
	SourceID        string  `json:"source_id,omitempty"`
	Direction       string  `json:"direction"` // agree | disagree
	Count           int     `json:"count"`
	Of              int     `json:"of"`
	Probability     float64 `json:"probability"`      // (count+1)/(of+2)
	ProbabilityTest float64 `json:"probability_test"` // z against one half
	Repness         float64 `json:"repness"`          // probability over the rest's
	RepnessTest     float64 `json:"repness_test"`     // z of the difference
}

// ConsensusStatement is a statement the groups share a view of.
type ConsensusStatement struct {
	StatementID string  `json:"statement_id"`
	SourceID    string  `json:"source_id,omitempty"`
	Direction   string  `json:"direction"`
	Score       float64 `json:"score"` // product over groups of each group's probability
}

// GroupedStatement is one statement's votes per group.
type GroupedStatement struct {
	StatementID       string          `json:"statement_id"`
	SourceID          string          `json:"source_id,omitempty"`
	Groups            []GroupTally    `json:"groups"`
	AgreeConsensus    float64         `json:"agree_consensus"`
	DisagreeConsensus float64         `json:"disagree_consensus"`
	Body              domain.Personal `json:"body"` // sealed, as in the log
}

// GroupTally is a group's latest votes on a statement.
type GroupTally struct {
	Agree    int `json:"agree"`
	Disagree int `json:"disagree"`
	Pass     int `json:"pass"`
}

// MapPoint is one grouped participant on the opinion map.
type MapPoint struct {
	X     float64 `json:"x"`
	Y     float64 `json:"y"`
	Group int     `json:"group"`
}

// GroupsInput is what the opinion groups of one dialogue are computed
// from: a copy of its latest-vote matrix and statements. Taking it is
// cheap (a reader holds the runner's read lock for it); Compute, the
// expensive part, runs on the copy.
type GroupsInput struct {
	processID  string
	matrix     *opinion.Matrix
	statements []dialogueStatement
}

// GroupsInput copies dialogue process processID's latest votes;
// statements not shown publicly (hidden, say) count as moderated out. It
// reports false when there is no such dialogue.
func (d *Dialogue) GroupsInput(processID string) (GroupsInput, bool) {
	p := d.st.Processes[processID]
	if p == nil {
		return GroupsInput{}, false
	}
	in := GroupsInput{processID: processID, matrix: opinion.NewMatrix(len(p.Participants), len(p.Statements)),
		statements: make([]dialogueStatement, len(p.Statements))}
	codes := map[domain.Vote]int{domain.VoteAgree: opinion.Agree, domain.VoteDisagree: opinion.Disagree, domain.VotePass: opinion.Pass}
	for s, st := range p.Statements {
		in.statements[s] = *st
		if !st.Status.Public() {
			in.matrix.ModerateOut(s)
		}
		for n, v := range p.Latest[s] {
			in.matrix.Set(n, s, codes[v])
		}
	}
	for _, n := range p.InConversation {
		in.matrix.KeepIn(n) // once in, always in
	}
	return in, true
}

// Groups computes the opinion groups of dialogue process processID from
// its latest votes (GroupsInput, then Compute).
func (d *Dialogue) Groups(processID string) (OpinionGroups, bool) {
	in, ok := d.GroupsInput(processID)
	if !ok {
		return OpinionGroups{}, false
	}
	return in.Compute(), true
}

// Compute finds the opinion groups (package opinion: Polis's method).
func (in GroupsInput) Compute() OpinionGroups {
	r := opinion.Compute(in.matrix, opinion.Options{})
	out := OpinionGroups{ProcessID: in.processID, InConversation: r.InConversation, Silhouette: round(r.Silhouette),
		Groups: []OpinionGroup{}, Consensus: []ConsensusStatement{}, Statements: []GroupedStatement{}, Points: []MapPoint{}}
	for _, pl := range r.Participants {
		if pl.Votes > 0 {
			out.Voters++
		}
		if pl.Group >= 0 {
			out.Points = append(out.Points, MapPoint{X: round(pl.X), Y: round(pl.Y), Group: pl.Group})
		}
	}
	slices.SortFunc(out.Points, func(a, b MapPoint) int {
		return cmp.Or(cmp.Compare(a.Group, b.Group), cmp.Compare(a.X, b.X), cmp.Compare(a.Y, b.Y))
	})
	direction := func(agree bool) string {
		if agree {
			return "agree"
		}
		return "disagree"
	}
	for g, grp := range r.Groups {
		og := OpinionGroup{Group: g, Members: grp.Members, X: round(grp.X), Y: round(grp.Y), Representative: []RepresentativeStatement{}}
		for _, rep := range grp.Representative {
			st := in.statements[rep.Statement]
			og.Representative = append(og.Representative, RepresentativeStatement{StatementID: st.ID, SourceID: st.SourceID,
				Direction: direction(rep.Agree), Count: rep.Count, Of: rep.Of, Probability: round(rep.P),
				ProbabilityTest: round(rep.PTest), Repness: round(rep.Repness), RepnessTest: round(rep.RepnessTest)})
		}
		out.Groups = append(out.Groups, og)
	}
	for _, c := range r.Consensus {
		st := in.statements[c.Statement]
		out.Consensus = append(out.Consensus, ConsensusStatement{StatementID: st.ID, SourceID: st.SourceID,
			Direction: direction(c.Agree), Score: round(c.Score)})
	}
	for s, ss := range r.Statements {
		st := in.statements[s]
		if ss.Groups == nil || !st.Status.Public() {
			continue
		}
		gs := GroupedStatement{StatementID: st.ID, SourceID: st.SourceID, Groups: make([]GroupTally, len(ss.Groups)),
			AgreeConsensus: round(ss.AgreeConsensus), DisagreeConsensus: round(ss.DisagreeConsensus), Body: st.Body}
		for g, t := range ss.Groups {
			gs.Groups[g] = GroupTally(t)
		}
		out.Statements = append(out.Statements, gs)
	}
	return out
}

// round keeps four decimals: enough for a map and the statistics, and the
// same bytes on every machine.
func round(x float64) float64 { return math.Round(x*1e4) / 1e4 }
