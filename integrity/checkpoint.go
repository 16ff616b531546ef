package integrity

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/malmo/participation-ledger/durable"
)

// DefaultOrigin is the checkpoint origin line (and signing key name) unless
// WithOrigin says otherwise.
const DefaultOrigin = "malmo.se/participation-ledger"

// Checkpoint is the body of a C2SP tlog-checkpoint: the log's origin, a tree
// size and the RFC 6962 root hash of the first Size leaves.
type Checkpoint struct {
	Origin string
	Size   int64
	Root   tlog.Hash
}

// Text formats c as checkpoint note text: three lines, each ending in LF.
func (c Checkpoint) Text() string {
	return c.Origin + "\n" + strconv.FormatInt(c.Size, 10) + "\n" + c.Root.String() + "\n"
}

// ParseCheckpoint parses checkpoint note text. Extension lines after the
// root hash are allowed by C2SP and ignored, as are they by other verifiers.
func ParseCheckpoint(text string) (Checkpoint, error) {
	lines := strings.SplitAfter(text, "\n")
	if len(lines) < 3 || !strings.HasSuffix(text, "\n") {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint has fewer than three lines", ErrMalformed)
	}
	origin := strings.TrimSuffix(lines[0], "\n")
	sizeText := strings.TrimSuffix(lines[1], "\n")
	rootText := strings.TrimSuffix(lines[2], "\n")
	if origin == "" || strings.TrimSpace(origin) != origin {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint origin line %q", ErrMalformed, origin)
	}
	size, err := strconv.ParseInt(sizeText, 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != sizeText {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint size line %q", ErrMalformed, sizeText)
	}
	root, err := tlog.ParseHash(rootText)
	if err != nil || root.String() != rootText {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint root hash line %q", ErrMalformed, rootText)
	}
	return Checkpoint{Origin: origin, Size: size, Root: root}, nil
}

// SignedCheckpoint is a checkpoint together with its signed note: Note is
// the exact bytes served at /v1/ledger/checkpoint and written to exports.
type SignedCheckpoint struct {
	Checkpoint
	Note []byte
}

// OpenCheckpoint verifies a signed checkpoint note with the verifier key
// vkey (as printed by `ledger key`) and parses it. A note signed by another
// key, or not signed at all, fails with ErrSignature.
func OpenCheckpoint(msg []byte, vkey string) (SignedCheckpoint, error) {
	v, err := note.NewVerifier(strings.TrimSpace(vkey))
	if err != nil {
		return SignedCheckpoint{}, fmt.Errorf("%w: verifier key: %v", ErrMalformed, err)
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		var unverified *note.UnverifiedNoteError
		var invalid *note.InvalidSignatureError
		switch {
		case errors.As(err, &unverified):
			signers := make([]string, 0, len(unverified.Note.UnverifiedSigs))
			for _, s := range unverified.Note.UnverifiedSigs {
				signers = append(signers, fmt.Sprintf("%s+%08x", s.Name, s.Hash))
			}
			return SignedCheckpoint{}, fmt.Errorf("%w: checkpoint is not signed by %s+%08x (signed by: %s)",
				ErrSignature, v.Name(), v.KeyHash(), strings.Join(signers, ", "))
		case errors.As(err, &invalid):
			return SignedCheckpoint{}, fmt.Errorf("%w: %v", ErrSignature, err)
		}
		return SignedCheckpoint{}, fmt.Errorf("%w: checkpoint note: %v", ErrMalformed, err)
	}
	c, err := ParseCheckpoint(n.Text)
	if err != nil {
		return SignedCheckpoint{}, err
	}
	return SignedCheckpoint{Checkpoint: c, Note: bytes.Clone(msg)}, nil
}

// parseUnverified reads a checkpoint note without checking its signature;
// the log uses it for its own files, which may predate a key rotation.
func parseUnverified(msg []byte) (Checkpoint, error) {
	_, err := note.Open(msg, note.VerifierList())
	var unverified *note.UnverifiedNoteError
	if !errors.As(err, &unverified) {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint note: %v", ErrMalformed, err)
	}
	return ParseCheckpoint(unverified.Note.Text)
}

// signingKey is the log's note signer and the matching verifier key.
type signingKey struct {
	signer   note.Signer
	verifier string
}

// loadKey reads a note signer key ("PRIVATE+KEY+name+hash+data") from path.
// When create is set and path does not exist, a new Ed25519 key named name
// is generated and written there with mode 0600.
func loadKey(path, name string, create bool) (signingKey, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && create {
		skey, _, gerr := note.GenerateKey(rand.Reader, name)
		if gerr != nil {
			return signingKey{}, fmt.Errorf("integrity: generate signing key: %w", gerr)
		}
		if err := durable.CreateExclusive(path, []byte(skey+"\n"), 0o600); err != nil {
			if !errors.Is(err, os.ErrExist) {
				return signingKey{}, fmt.Errorf("integrity: write signing key: %w", err)
			}
			// Another process created it first: use theirs.
		}
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return signingKey{}, fmt.Errorf("integrity: read signing key: %w", err)
	}
	return parseSignerKey(strings.TrimSpace(string(b)))
}

// parseSignerKey builds the signer and derives its verifier key, which the
// note package does not do for us: the key data is the algorithm byte
// followed by the Ed25519 seed.
func parseSignerKey(skey string) (signingKey, error) {
	signer, err := note.NewSigner(skey)
	if err != nil {
		return signingKey{}, fmt.Errorf("integrity: signing key: %w", err)
	}
	// PRIVATE+KEY+<name>+<hash>+<data>; names hold no '+', but base64 may.
	rest := strings.TrimPrefix(skey, "PRIVATE+KEY+")
	_, rest, _ = strings.Cut(rest, "+")
	_, rest, _ = strings.Cut(rest, "+")
	data, err := base64.StdEncoding.DecodeString(rest)
	if err != nil || len(data) != 1+ed25519.SeedSize || data[0] != 1 {
		return signingKey{}, errors.New("integrity: signing key is not an Ed25519 note key")
	}
	pub := ed25519.NewKeyFromSeed(data[1:]).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(signer.Name(), pub)
	if err != nil {
		return signingKey{}, fmt.Errorf("integrity: verifier key: %w", err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil || v.KeyHash() != signer.KeyHash() {
		return signingKey{}, errors.New("integrity: signing key hash does not match its key")
	}
	return signingKey{signer: signer, verifier: vkey}, nil
}
