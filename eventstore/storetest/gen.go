package storetest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/malmo/participation-ledger/eventstore"
)

// gen makes realistic ledger events deterministically from a seed, so that a
// failing case can be rerun with the same data. It is not safe for
// concurrent use; give each goroutine its own.
type gen struct {
	rng *rand.Rand
	n   int
}

func newGen(seed uint64) *gen {
	return &gen{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// id returns a random (version 4) UUID drawn from the generator's stream.
func (g *gen) id() uuid.UUID {
	var u uuid.UUID
	for i := 0; i < 16; i += 8 {
		v := g.rng.Uint64()
		for j := range 8 {
			u[i+j] = byte(v >> (8 * j))
		}
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return u
}

var (
	districts = []string{"Centrum", "Södra Innerstaden", "Västra Innerstaden", "Limhamn-Bunkeflo", "Hyllie", "Fosie", "Oxie", "Rosengård", "Husie", "Kirseberg"}
	bodies    = []string{"KS", "STK", "TN", "FRN", "MN", "GRF", "KFN"}
	channels  = []string{"web", "paper", "email", "meeting"}
	roles     = []string{"participant", "intake", "moderator", "official"}
	phrases   = []string{
		"Fler cykelställ vid Triangeln", "Belysning längs Ribersborg", "Öppettider på biblioteket i Husie",
		"Säkrare skolväg över Lorensborgsgatan", "Parklek i Pildammsparken", "Mer grönska på Möllevångstorget",
		"Bänkar längs kanalen", "Återvinningsstation i Hyllie", "Läxhjälp på fritidsgården",
	}
)

// event returns the next realistic event: a submission, comment, support or
// moderation decision with Swedish text, HTML-sensitive characters and
// escapes in its JSON, and metadata filled as the HTTP layer would.
func (g *gen) event() eventstore.EventData {
	g.n++
	id := g.id()
	md := eventstore.Metadata{
		Actor:         fmt.Sprintf("actor-%04d", g.rng.IntN(5000)),
		Role:          roles[g.rng.IntN(len(roles))],
		CorrelationID: fmt.Sprintf("corr-%d", g.rng.IntN(1000)),
		RequestID:     fmt.Sprintf("req-%08x", g.rng.Uint32()),
	}
	if g.rng.IntN(4) == 0 {
		// A paper letter registered later: it happened days before.
		md.OccurredAt = time.Date(2024, 9, 1+g.rng.IntN(28), 8+g.rng.IntN(9), g.rng.IntN(60), 0, g.rng.IntN(1e9), time.UTC)
	}
	var typ string
	var body any
	switch g.rng.IntN(4) {
	case 0:
		typ = "SubmissionReceived"
		body = map[string]any{
			"process":  fmt.Sprintf("process-%d", g.rng.IntN(20)),
			"channel":  channels[g.rng.IntN(len(channels))],
			"language": "sv",
			"title":    map[string]string{"subject": md.Actor, "sealed": sealed(g, 48)},
			"body":     map[string]string{"subject": md.Actor, "sealed": sealed(g, 400)},
			"district": districts[g.rng.IntN(len(districts))],
		}
	case 1:
		typ = "CommentPosted"
		body = map[string]any{
			"submission": fmt.Sprintf("submission-%d", g.rng.IntN(500)),
			"text":       phrases[g.rng.IntN(len(phrases))] + " – håller med! <3 & tack",
		}
	case 2:
		typ = "SupportGiven"
		body = map[string]any{"submission": fmt.Sprintf("submission-%d", g.rng.IntN(500)), "seq": g.n}
	default:
		typ = "ModerationDecided"
		body = map[string]any{
			"item":                fmt.Sprintf("comment-%d", g.rng.IntN(500)),
			"content_version":     1 + g.rng.IntN(3),
			"decision_visibility": "DECISION_VISIBILITY_CONTENT_REMOVED",
			"ground":              "INCOMPATIBLE_CONTENT",
			"policy_clause":       "Öppna Malmö forumregler §4",
			"explanation":         "Inlägget innehöll personuppgifter om tredje person.",
			"decision_ref":        fmt.Sprintf("%s 2024-09-%02d §%d", bodies[g.rng.IntN(len(bodies))], 1+g.rng.IntN(28), 1+g.rng.IntN(500)),
			"automated_detection": g.rng.IntN(2) == 0,
		}
	}
	data, err := json.Marshal(body)
	if err != nil {
		panic(err) // the bodies above always marshal
	}
	return eventstore.EventData{ID: id, Type: typ, Version: 1 + g.rng.IntN(2), Data: data, Metadata: md}
}

// events returns n events from g.
func (g *gen) events(n int) []eventstore.EventData {
	out := make([]eventstore.EventData, n)
	for i := range out {
		out[i] = g.event()
	}
	return out
}

// sealed imitates a sealed field: base64-looking ciphertext of about n bytes.
func sealed(g *gen, n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	var b strings.Builder
	b.Grow(n)
	for range n {
		b.WriteByte(alphabet[g.rng.IntN(len(alphabet))])
	}
	return b.String()
}

// blob returns a valid JSON object of exactly size bytes (size >= 16)
// without line breaks. Its filler is repetitive: drawing megabytes from the
// generator byte by byte is slow under the race detector.
func blob(g *gen, size int) []byte {
	const head, tail = `{"blob":"`, `"}`
	chunk := sealed(g, 4096)
	b := make([]byte, 0, size)
	b = append(b, head...)
	for len(b) < size-len(tail) {
		b = append(b, chunk[:min(len(chunk), size-len(tail)-len(b))]...)
	}
	return append(b, tail...)
}

// plain returns n small events that differ only in their IDs, for cases
// where the content does not matter and generation cost does.
func (g *gen) plain(n int) []eventstore.EventData {
	out := make([]eventstore.EventData, n)
	for i := range out {
		out[i] = eventstore.EventData{ID: g.id(), Type: "SupportGiven", Version: 1, Data: []byte(`{"submission":"submission-1"}`)}
	}
	return out
}
