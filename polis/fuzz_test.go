package polis_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/malmo/participation-ledger/polis"
)

// FuzzRead: whatever the three files hold, Read returns a conversation or
// an error naming the file, never panics; what it accepts, Write writes
// (opinion groups included) and Read reads back.
func FuzzRead(f *testing.F) {
	head := func(name string, lines int) string {
		b, err := os.ReadFile(filepath.Join(samples, conversations[0], name))
		if err != nil {
			f.Fatal(err)
		}
		return strings.Join(strings.SplitAfter(string(b), "\n")[:lines], "")
	}
	f.Add(head("summary.csv", 9), head("comments.csv", 70), head("votes.csv", 400))
	f.Add("topic,x\n", "timestamp,datetime,comment-id,author-id,agrees,disagrees,moderated,comment-body\n1,d,0,1,0,0,-1,\n",
		"timestamp,datetime,comment-id,voter-id,vote\n2,d,0,1,1\n3,d,0,2,-1\n")
	f.Fuzz(func(t *testing.T, summary, comments, votes string) {
		dir := t.TempDir()
		for name, s := range map[string]string{"summary.csv": summary, "comments.csv": comments, "votes.csv": votes} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		c, err := polis.Read(dir)
		if err != nil {
			var pe *polis.Error
			if !errors.As(err, &pe) || pe.File == "" {
				t.Fatalf("error without a file: %v", err)
			}
			return
		}
		out := t.TempDir()
		if _, err := polis.Write(out, c); err != nil {
			t.Fatal(err)
		}
		back, err := polis.Read(out)
		if err != nil {
			t.Fatalf("reading what Write wrote: %v", err)
		}
		if len(back.Comments) != len(c.Comments) || len(back.Votes) != len(c.Votes) {
			t.Fatalf("round trip: %d/%d comments, %d/%d votes", len(back.Comments), len(c.Comments), len(back.Votes), len(c.Votes))
		}
	})
}
