package projections

import (
	"encoding/json"
	"slices"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
)

// MinCell is the smallest count participation statistics publish; smaller
// non-zero counts are suppressed so nobody can be singled out.
const MinCell = 5

// Participation counts who took part in each process, by channel, district
// and age band. District and age band are sealed personal data, so the
// fold keeps them sealed and Stats opens them through an Opener when asked:
// the fold stays pure, nothing personal is persisted in plaintext, and a
// shredded key moves its participant to "unknown" at once.
type Participation struct {
	st participationState
}

type participationState struct {
	Participants map[string]*participant `json:"participants"`
	Processes    map[string]*procStats   `json:"processes"`
}

type participant struct {
	District domain.Personal `json:"district"`
	AgeBand  domain.Personal `json:"age_band"`
}

type procStats struct {
	// Channels maps participant → the channels they used here.
	Channels      map[string][]domain.Channel `json:"channels"`
	Contributions map[string]int              `json:"contributions"` // by kind
}

// NewParticipation returns an empty participation model.
func NewParticipation() *Participation { p := &Participation{}; p.Reset(); return p }

// Name implements Model.
func (*Participation) Name() string { return NameParticipation }

// Reset implements Model.
func (p *Participation) Reset() {
	p.st = participationState{Participants: map[string]*participant{}, Processes: map[string]*procStats{}}
}

// MarshalJSON implements Model.
func (p *Participation) MarshalJSON() ([]byte, error) { return json.Marshal(p.st) }

// UnmarshalJSON implements Model.
func (p *Participation) UnmarshalJSON(b []byte) error {
	p.Reset()
	return json.Unmarshal(b, &p.st)
}

// Contribution kinds counted.
const (
	KindSubmissions   = "submissions"
	KindComments      = "comments"
	KindSupports      = "supports"
	KindSurveyAnswers = "survey_answers"
)

// Apply implements Model.
func (p *Participation) Apply(_ eventstore.Event, de domain.Event) {
	switch e := de.(type) {
	case *domain.ProcessOpened:
		p.st.Processes[e.ProcessID] = &procStats{Channels: map[string][]domain.Channel{}, Contributions: map[string]int{}}
	case *domain.ParticipantRegistered:
		p.st.Participants[e.ParticipantID] = &participant{District: e.District, AgeBand: e.AgeBand}
	case *domain.SubmissionReceived:
		p.took(e.ProcessID, e.Author, e.Channel, KindSubmissions)
	case *domain.CommentPosted:
		p.took(e.ProcessID, e.Author, e.Channel, KindComments)
	case *domain.SupportGiven:
		// Support is given on the web (the command has no other channel).
		p.took(e.ProcessID, e.ParticipantID, domain.ChannelWeb, KindSupports)
	case *domain.SurveyAnswered:
		p.took(e.ProcessID, e.ParticipantID, e.Channel, KindSurveyAnswers)
	}
}

func (p *Participation) took(process, who string, ch domain.Channel, kind string) {
	ps := p.st.Processes[process]
	if ps == nil || who == "" {
		return
	}
	ps.Contributions[kind]++
	if !slices.Contains(ps.Channels[who], ch) {
		ps.Channels[who] = append(ps.Channels[who], ch)
	}
}

// Opener opens a sealed personal field, reporting false when it cannot
// (key shredded, no key). It is the one impure seam of the read side, and
// it is called only at query time, never inside a fold.
type Opener func(domain.Personal) (string, bool)

// Cell is one published count; Count is nil when suppressed.
type Cell struct {
	Key        string `json:"key"`
	Count      *int   `json:"count"`
	Suppressed bool   `json:"suppressed,omitempty"`
}

// Stats is the participation statistics of one process. Participant counts
// are distinct participants; contributions are events.
type Stats struct {
	ProcessID     string `json:"process_id"`
	Participants  Cell   `json:"participants"`
	ByChannel     []Cell `json:"participants_by_channel"`
	ByDistrict    []Cell `json:"participants_by_district"`
	ByAgeBand     []Cell `json:"participants_by_age_band"`
	Contributions []Cell `json:"contributions_by_kind"`
}

// Unknown is the key of participants whose district or age band is not
// known (not given, not registered, or the key is shredded).
const Unknown = "unknown"

// Stats returns the statistics of a process, opening districts and age
// bands with open. Cells below MinCell are suppressed, and where that
// would leave a suppressed cell recoverable from the total (exactly one
// suppressed cell in a breakdown), the next smallest is suppressed too.
func (p *Participation) Stats(processID string, open Opener) (Stats, bool) {
	ps := p.st.Processes[processID]
	if ps == nil {
		return Stats{}, false
	}
	byChannel, byDistrict, byAge := map[string]int{}, map[string]int{}, map[string]int{}
	for who, chs := range ps.Channels {
		for _, ch := range chs {
			byChannel[string(ch)]++
		}
		district, age := Unknown, Unknown
		if pt := p.st.Participants[who]; pt != nil {
			district, age = openOr(open, pt.District), openOr(open, pt.AgeBand)
		}
		byDistrict[district]++
		byAge[age]++
	}
	s := Stats{ProcessID: processID, Participants: cell("total", len(ps.Channels)),
		ByChannel: breakdown(byChannel, false), ByDistrict: breakdown(byDistrict, true),
		ByAgeBand: breakdown(byAge, true), Contributions: breakdown(ps.Contributions, true)}
	return s, true
}

func openOr(open Opener, f domain.Personal) string {
	if f.IsZero() || open == nil {
		return Unknown
	}
	if v, ok := open(f); ok && v != "" {
		return v
	}
	return Unknown
}

func cell(key string, n int) Cell {
	if n > 0 && n < MinCell {
		return Cell{Key: key, Suppressed: true}
	}
	return Cell{Key: key, Count: &n}
}

// breakdown returns the cells sorted by key, with primary and (when the
// cells partition the total) secondary suppression. Channels do not
// partition participants (one may use two), so no cell can be recovered
// by subtraction there.
func breakdown(m map[string]int, partition bool) []Cell {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	cells := make([]Cell, len(keys))
	suppressed := 0
	for i, k := range keys {
		cells[i] = cell(k, m[k])
		if cells[i].Suppressed {
			suppressed++
		}
	}
	if partition && suppressed == 1 {
		// Suppress the smallest published cell (first by key on ties).
		best := -1
		for i, c := range cells {
			if c.Count != nil && *c.Count > 0 && (best < 0 || *c.Count < *cells[best].Count) {
				best = i
			}
		}
		if best >= 0 {
			cells[best] = Cell{Key: cells[best].Key, Suppressed: true}
		}
	}
	return cells
}
