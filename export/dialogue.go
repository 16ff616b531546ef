package export

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/polis"
)

// PolisDir is the folder of a research export holding, per dialogue
// process, its votes in Polis's export format (polis/<process-id>/...).
const PolisDir = "polis"

// polisFiles writes every dialogue process in the export's scope in
// Polis's format under DIR/polis/<process-id>/. Hidden and not yet
// approved statements are written without their text, and disposed text
// cannot be opened; participant ids are Polis's small integers (an
// imported participant keeps their Polis number, others are numbered in
// order of first appearance), which name no one, so they are not the
// recipient's pseudonyms.
//
// Statements and votes of participants the consent rule leaves out are
// not written; the counts come back per file.
func (w *writer) polisFiles(ctx context.Context) ([]ManifestFile, leftOut, error) {
	left := leftOut{}
	procs, err := w.dialogues(ctx)
	if err != nil {
		return nil, nil, err
	}
	open := func(p domain.Personal) (string, bool) {
		if len(p.Sealed) == 0 {
			return "", false
		}
		text, err := w.src.Keys.Open(p.Subject, p.Sealed)
		return text, err == nil
	}
	var out []ManifestFile
	for _, id := range procs {
		rel := path.Join(PolisDir, id)
		if !filepath.IsLocal(filepath.FromSlash(rel)) || path.Base(rel) != id {
			return nil, nil, fmt.Errorf("export: process id %q cannot name a folder", id)
		}
		dir := filepath.Join(w.dir, filepath.FromSlash(rel))
		if err := os.RemoveAll(dir); err != nil { // a resumed export writes them again
			return nil, nil, err
		}
		res, err := polis.Export(ctx, w.src.Store, open, id, dir, polis.ExportOptions{To: w.st.To,
			LeaveOut: func(pid string) (string, error) { return w.res.consent.of(ctx, pid) }})
		if err != nil {
			return nil, nil, fmt.Errorf("export: process %s in Polis format: %w", id, err)
		}
		for file, reasons := range res.LeftOut {
			name := path.Join(rel, file)
			left[name] = map[string]int64{}
			for why, n := range reasons {
				left[name][why] = int64(n)
			}
		}
		for _, f := range res.Files {
			mf, err := describe(w.dir, path.Join(rel, f.Name))
			if err != nil {
				return nil, nil, err
			}
			out = append(out, mf)
		}
	}
	return out, left, nil
}

// dialogues lists the dialogue processes opened up to the export's end:
// the one process asked for, or every one.
func (w *writer) dialogues(ctx context.Context) ([]string, error) {
	var ids []string
	for after := eventstore.Position(0); after < w.st.To; {
		evs, err := w.src.Store.ReadAll(ctx, after, int(min(uint64(w.st.To-after), 1000)))
		if err != nil {
			return nil, err
		}
		if len(evs) == 0 {
			break
		}
		for _, e := range evs {
			if e.Type != "ProcessOpened" {
				continue
			}
			de, err := domain.Decode(e.Type, e.Version, e.Data)
			if err != nil {
				return nil, fmt.Errorf("export: position %d: %w", e.Position, err)
			}
			if p := de.(*domain.ProcessOpened); p.Kind == domain.KindDialogue && (w.opt.Process == "" || p.ProcessID == w.opt.Process) {
				ids = append(ids, p.ProcessID)
			}
		}
		after = evs[len(evs)-1].Position
	}
	return ids, nil
}

// describe hashes a file of the export (name is slash-separated).
func describe(dir, name string) (ManifestFile, error) {
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(name)))
	if err != nil {
		return ManifestFile{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return ManifestFile{}, err
	}
	return ManifestFile{Name: name, Bytes: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// polisResources describes the Polis files for datapackage.json.
func polisResources(dir string, files []ManifestFile) ([]any, error) {
	intf := func(name, desc string) map[string]any {
		return map[string]any{"name": name, "type": "integer", "description": desc}
	}
	strf := func(name, desc string) map[string]any {
		return map[string]any{"name": name, "type": "string", "description": desc}
	}
	var out []any
	for _, f := range files {
		proc, base := path.Base(path.Dir(f.Name)), path.Base(f.Name)
		var fields []any
		header, desc := true, ""
		switch base {
		case polis.SummaryFile:
			header = false
			desc = "Polis summary of dialogue process " + proc + ": key,value rows without a header (topic, url, voters, commenters, comments, conversation-description)."
			fields = []any{strf("key", "Summary key."), strf("value", "Its value.")}
		case polis.CommentsFile:
			desc = "Polis comments.csv of dialogue process " + proc + ": one row per statement, newest first. comment-body is empty for statements that are hidden, not yet approved or disposed."
			mod := intf("moderated", "-1 hidden by moderation, 0 not moderated, 1 approved by a moderator.")
			mod["constraints"] = map[string]any{"enum": []int{-1, 0, 1}}
			fields = []any{intf("timestamp", "Posted at, Unix milliseconds."), strf("datetime", "Posted at, as Polis writes it."),
				intf("comment-id", "Statement id (Polis's own for an imported statement)."), intf("author-id", "Author's Polis participant number."),
				intf("agrees", "Latest votes agreeing."), intf("disagrees", "Latest votes disagreeing."), mod,
				strf("comment-body", "The statement's text when it is public.")}
		case polis.VotesFile:
			desc = "Polis votes.csv of dialogue process " + proc + ": every vote cast, changes included, in time order."
			v := intf("vote", "1 agree, -1 disagree, 0 pass.")
			v["constraints"] = map[string]any{"enum": []int{-1, 0, 1}}
			fields = []any{intf("timestamp", "Cast at, Unix milliseconds."), strf("datetime", "Cast at, as Polis writes it."),
				intf("comment-id", "Statement voted on."), intf("voter-id", "Voter's Polis participant number."), v}
		case polis.ParticipantsVotesFile:
			desc = "Polis participants-votes.csv of dialogue process " + proc + ": per participant, counts and their latest vote on each statement (one column per comment-id; empty: no vote)."
			hdr, err := csvHeader(filepath.Join(dir, filepath.FromSlash(f.Name)))
			if err != nil {
				return nil, err
			}
			for i, h := range hdr {
				switch {
				case i == 1:
					fields = append(fields, strf(h, "Polis's opinion group; empty (the ledger does not cluster)."))
				case i < 6:
					fields = append(fields, intf(h, map[string]string{
						"participant": "Polis participant number (as author-id and voter-id).",
						"n-comments":  "Statements the participant wrote.", "n-votes": "Statements the participant voted on (latest votes).",
						"n-agree": "Latest votes agreeing.", "n-disagree": "Latest votes disagreeing.",
					}[h]))
				default:
					fields = append(fields, intf(h, "Latest vote on statement "+h+"."))
				}
			}
		default:
			continue
		}
		out = append(out, map[string]any{
			"name": strings.ToLower("polis-" + proc + "-" + strings.TrimSuffix(base, ".csv")), "path": f.Name, "profile": "tabular-data-resource",
			"format": "csv", "mediatype": "text/csv", "encoding": "utf-8",
			"dialect": map[string]any{"delimiter": ",", "lineTerminator": "\n", "header": header, "doubleQuote": true},
			"bytes":   f.Bytes, "hash": "sha256:" + f.SHA256, "description": desc,
			"schema": map[string]any{"fields": fields, "missingValues": []string{""}},
		})
	}
	return out, nil
}

func csvHeader(name string) ([]string, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	hdr, err := csv.NewReader(bytes.NewReader(line)).Read()
	return slices.Clip(hdr), err
}
