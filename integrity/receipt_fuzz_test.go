package integrity

import (
	"encoding/json"
	"testing"
)

// FuzzReceipt feeds receipts as a participant might bring them back: any
// bytes parse or fail with an error, and only the ledger's own signed
// statements verify.
func FuzzReceipt(f *testing.F) {
	s := newStore(f, 20)
	l := openLog(f, f.TempDir(), s)
	evs, err := s.ReadAll(ctxT(f), 0, 20)
	if err != nil {
		f.Fatal(err)
	}
	promise, err := l.Promise(evs[3])
	if err != nil {
		f.Fatal(err)
	}
	b, err := json.Marshal(promise)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"event_id":"x","leaf_index":-1}`))
	f.Add([]byte(`{}`))
	key := l.Verifier()
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseReceipt(b)
		if err != nil {
			return
		}
		if VerifyReceipt(r, key) == nil && r.LeafIndex != 3 {
			t.Fatalf("a receipt for leaf %d verified without the ledger having signed it: %s", r.LeafIndex, b)
		}
	})
}
