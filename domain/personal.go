package domain

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
)

// Personal is a personal or free-text field. In the log it exists only
// sealed with the data key of Subject (AES-GCM by the privacy package), so
// destroying that key (crypto-shredding) disposes of it while every Merkle
// proof over the stored bytes stays valid. The domain never encrypts: the
// command service seals Plain into Sealed before encoding and opens Sealed
// after decoding, finding the fields with PersonalFields.
type Personal struct {
	// Subject is whose data key seals it: the participant id for
	// participant fields, the item id (submission, comment) for content and
	// for free text written about an item (flags, appeals).
	Subject string
	// Plain is the plaintext, in memory only; it is never encoded.
	Plain string
	// Sealed is nonce||ciphertext as stored.
	Sealed []byte
}

// NewPersonal returns a field holding plaintext for subject; the command
// service seals it before encoding (Encode refuses it until then).
func NewPersonal(subject, plain string) Personal { return Personal{Subject: subject, Plain: plain} }

// ErrUnsealed is returned by MarshalJSON for a field that holds plaintext
// but no ciphertext: unsealed personal data must never reach the log.
var ErrUnsealed = errors.New("domain: personal field is not sealed")

// IsZero reports whether the field carries no data at all (an optional
// field left empty).
func (p Personal) IsZero() bool { return p.Plain == "" && len(p.Sealed) == 0 }

type personalJSON struct {
	Subject string `json:"subject"`
	Sealed  []byte `json:"sealed"` // base64 (standard, padded) by encoding/json
}

// MarshalJSON encodes {"subject":…,"sealed":"<base64>"}; it fails if the
// field holds plaintext that was never sealed.
func (p Personal) MarshalJSON() ([]byte, error) {
	if p.Plain != "" && len(p.Sealed) == 0 {
		return nil, fmt.Errorf("%w (subject %q)", ErrUnsealed, p.Subject)
	}
	sealed := p.Sealed
	if sealed == nil {
		sealed = []byte{} // "" rather than null: one encoding for "empty"
	}
	return json.Marshal(personalJSON{Subject: p.Subject, Sealed: sealed})
}

// UnmarshalJSON decodes the sealed form; Plain stays empty.
func (p *Personal) UnmarshalJSON(b []byte) error {
	var j personalJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*p = Personal{Subject: j.Subject, Sealed: j.Sealed}
	if len(p.Sealed) == 0 {
		p.Sealed = nil
	}
	return nil
}

// LogValue keeps plaintext out of logs.
func (p Personal) LogValue() slog.Value {
	return slog.GroupValue(slog.String("subject", p.Subject), slog.Int("sealed_bytes", len(p.Sealed)))
}

// String keeps plaintext out of fmt output.
func (p Personal) String() string {
	return fmt.Sprintf("Personal{subject=%s, %d sealed bytes}", p.Subject, len(p.Sealed))
}

// GoString keeps plaintext out of %#v.
func (p Personal) GoString() string { return p.String() }

// personalHolder is implemented by events with personal fields.
type personalHolder interface {
	personal() []*Personal
}

// PersonalFields returns pointers to every personal field of ev (including
// those in slices), so that the command service can seal them in place
// before Encode and open them after Decode. Events without personal data
// return nil.
func PersonalFields(ev Event) []*Personal {
	if h, ok := ev.(personalHolder); ok {
		return h.personal()
	}
	return nil
}
