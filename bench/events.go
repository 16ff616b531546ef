package bench

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"

	"github.com/malmo/participation-ledger/eventstore"
)

// Submission is the body of the generated events: shaped like a
// SubmissionReceived whose personal data and free text are sealed, which is
// what most of the ledger's events look like on disk. The scan metric decodes
// Data into it.
type Submission struct {
	SubmissionID string `json:"submission_id"`
	ProcessID    string `json:"process_id"`
	Channel      string `json:"channel"`
	Language     string `json:"language"`
	Author       string `json:"author"`
	Sealed       struct {
		KeyID string `json:"key_id"`
		Alg   string `json:"alg"`
		Nonce string `json:"nonce"`
		Title string `json:"title"`
		Body  string `json:"body"`
	} `json:"sealed"`
	Attachments int `json:"attachments"`
}

// Gen generates realistic events deterministically from a seed.
type Gen struct {
	r    *rand.Rand
	n    uint64
	buf  []byte
	base time.Time
}

// NewGen returns a generator; equal seeds give equal events.
func NewGen(seed uint64) *Gen {
	return &Gen{
		r:    rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)),
		base: time.Date(2024, 9, 1, 8, 0, 0, 0, time.UTC),
	}
}

var (
	channels  = [...]string{"web", "web", "web", "paper", "email", "meeting"}
	languages = [...]string{"sv", "sv", "sv", "en", "ar"}
)

// Event returns the next event: about 400 bytes of JSON data plus metadata.
func (g *Gen) Event() eventstore.EventData {
	g.n++
	var s Submission
	s.SubmissionID = "submission-" + g.uuid().String()
	s.ProcessID = fmt.Sprintf("process-%d", 1+g.r.IntN(40))
	s.Channel = channels[g.r.IntN(len(channels))]
	s.Language = languages[g.r.IntN(len(languages))]
	s.Author = fmt.Sprintf("p-%016x", g.r.Uint64())
	s.Sealed.KeyID = fmt.Sprintf("dk-%016x", g.r.Uint64())
	s.Sealed.Alg = "AES-256-GCM"
	s.Sealed.Nonce = g.b64(12)
	s.Sealed.Title = g.b64(20 + g.r.IntN(20))
	s.Sealed.Body = g.b64(48 + g.r.IntN(48))
	s.Attachments = g.r.IntN(3)
	data, err := json.Marshal(s)
	if err != nil {
		panic(err) // cannot happen: a struct of strings and ints
	}
	return eventstore.EventData{
		ID:      g.uuid(),
		Type:    "SubmissionReceived",
		Version: 1,
		Data:    data,
		Metadata: eventstore.Metadata{
			Actor:         s.Author,
			Role:          "participant",
			CorrelationID: g.uuid().String(),
			RequestID:     fmt.Sprintf("req-%016x", g.r.Uint64()),
			OccurredAt:    g.base.Add(time.Duration(g.n) * 37 * time.Second),
		},
	}
}

// uuid returns a random (version 4) UUID from the generator's stream.
func (g *Gen) uuid() uuid.UUID {
	var u uuid.UUID
	binary.LittleEndian.PutUint64(u[:8], g.r.Uint64())
	binary.LittleEndian.PutUint64(u[8:], g.r.Uint64())
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return u
}

// b64 returns n random bytes in base64, standing in for ciphertext.
func (g *Gen) b64(n int) string {
	g.buf = g.buf[:0]
	for len(g.buf) < n {
		g.buf = binary.LittleEndian.AppendUint64(g.buf, g.r.Uint64())
	}
	return base64.RawStdEncoding.EncodeToString(g.buf[:n])
}
