package main

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/durable"
	"github.com/malmo/participation-ledger/eventstore/embedded"
	"github.com/malmo/participation-ledger/integrity"
)

const backupUsage = `usage:
  ledger backup --url URL --token ADMIN_TOKEN --out FILE   (the ledger is being served)
  ledger backup --data DIR --out FILE                       (it is not)

Writes a consistent backup of a ledger with the embedded store to FILE, one
tar file: the integrity log (signed checkpoints, their history, the tree
hashes, the verifier and the signing key), a checkpoint of the event store,
the participants' data keys, the pseudonym key and the sign-in link key, and
a manifest (every file's size and SHA-256). A served ledger makes the backup
itself while it goes on taking writes (POST /v1/admin/backup, an admin's
token); --data reads a data directory no ledger is serving. FILE holds the
signing key and every data key: keep it as you keep the signing key.
'ledger restore' makes a data directory of it again.
`

// cmdBackup writes a backup of a served ledger (--url) or of a data
// directory (--data).
func cmdBackup(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlags("backup", stderr)
	fs.Usage = func() { io.WriteString(stderr, backupUsage); fs.PrintDefaults() }
	data := dataFlag(fs, getenv)
	base := fs.String("url", "", "base URL of the serving ledger, e.g. https://ledger.example.se (LEDGER_BACKUP_URL)")
	token := fs.String("token", getenv("LEDGER_TOKEN"), "an admin's bearer token, with --url (LEDGER_TOKEN)")
	out := fs.String("out", "", "the backup file to write; it must not exist (LEDGER_BACKUP_OUT)")
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	if err := needFlags(fs, 0, "out"); err != nil {
		return err
	}
	if _, err := os.Lstat(*out); err == nil {
		return fmt.Errorf("--out %s already exists", *out)
	}
	// Written beside FILE and renamed once its manifest checks, so FILE
	// is never a partial backup.
	tmp, err := os.CreateTemp(filepath.Dir(*out), "."+filepath.Base(*out)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if *base != "" {
		err = fetchBackup(ctx, *base, *token, tmp)
	} else {
		err = localBackup(ctx, *data, tmp)
	}
	if err != nil {
		return err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	m, err := readBackup(tmp, nil)
	if err != nil {
		return fmt.Errorf("the backup does not check: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), *out); err != nil {
		return err
	}
	if err := durable.SyncDir(filepath.Dir(*out)); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backup written to %s: %d files, %d bytes, made %s; it holds the signing key and the data keys, keep it like the signing key\n",
		*out, len(m.Files), m.bytes(), m.Created)
	return nil
}

// localBackup backs up a data directory no process is serving.
func localBackup(ctx context.Context, dataDir string, w io.Writer) error {
	store, err := embedded.Open(filepath.Join(dataDir, "store"))
	if err != nil {
		return fmt.Errorf("opening the store of %s (if the ledger is being served, back it up with --url and an admin token): %w", dataDir, err)
	}
	defer store.Close()
	return writeBackup(ctx, w, dataDir, store, func(fn func(string, int64, io.Reader) error) error {
		return integrity.BackupFiles(dataDir, fn)
	})
}

// backup is POST /v1/admin/backup: a backup of the running node, taken
// while it goes on taking writes.
func (n *node) backup(ctx context.Context, w io.Writer) error {
	store, ok := n.store.(*embedded.Store)
	if !ok {
		return fmt.Errorf("%w: a KurrentDB store is backed up with the cluster's own tools", domain.ErrInvalid)
	}
	return writeBackup(ctx, w, n.dataDir, store, n.integrity.BackupFiles)
}

// fetchBackup asks a serving ledger for its backup.
func fetchBackup(ctx context.Context, base, token string, w io.Writer) error {
	if token == "" {
		return errors.New("--url needs --token (LEDGER_TOKEN): an admin's token")
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--url %q: want the ledger's base URL, e.g. https://ledger.example.se", base)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(base, "/")+"/v1/admin/backup", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("asking the ledger for a backup: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("asking the ledger for a backup: %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("downloading the backup: %w", err)
	}
	return nil
}

// backupManifest is the last file of a backup: what it holds.
type backupManifest struct {
	Format  string       `json:"format"`
	Created string       `json:"created"`
	Files   []backupFile `json:"files"`
}

type backupFile struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

func (m backupManifest) bytes() (n int64) {
	for _, f := range m.Files {
		n += f.Size
	}
	return n
}

const (
	backupFormat       = "participation-ledger-backup/1"
	backupManifestName = "manifest.json"
)

// writeBackup writes the tar of a backup of dataDir to w. The order makes
// it consistent while the ledger takes writes: the integrity files first
// (so their signed checkpoint covers no more than the store copy taken
// after), then a checkpoint of the store, then the keys (a key is written
// before the events sealed with it, so keys copied after the store open
// every event in it).
func writeBackup(ctx context.Context, w io.Writer, dataDir string, store *embedded.Store,
	integrityFiles func(func(name string, size int64, r io.Reader) error) error) error {
	tw := tar.NewWriter(w)
	m := backupManifest{Format: backupFormat, Created: time.Now().UTC().Format(time.RFC3339)}
	add := func(name string, size int64, r io.Reader) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Size: size, Mode: 0o600, ModTime: time.Now(), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		h := sha256.New()
		if n, err := io.Copy(io.MultiWriter(tw, h), r); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		} else if n != size {
			return fmt.Errorf("%s: %d bytes instead of %d", name, n, size)
		}
		m.Files = append(m.Files, backupFile{Name: name, Size: size, SHA256: hex.EncodeToString(h.Sum(nil))})
		return nil
	}
	if err := integrityFiles(func(name string, size int64, r io.Reader) error { return add("integrity/"+name, size, r) }); err != nil {
		return err
	}
	// The checkpoint is made inside the data directory: its tables are
	// hard links there, not copies.
	tmp, err := os.MkdirTemp(dataDir, ".backup-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := store.Checkpoint(filepath.Join(tmp, "store")); err != nil {
		return err
	}
	if err := addTree(tmp, "store", add); err != nil {
		return err
	}
	if err := addTree(dataDir, "keys", add); err != nil {
		return err
	}
	for _, name := range []string{"pseudonym.key", "link.key"} {
		if err := addPath(filepath.Join(dataDir, name), name, add); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: backupManifestName, Size: int64(len(b)), Mode: 0o600, ModTime: time.Now(), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	if _, err := tw.Write(b); err != nil {
		return err
	}
	return tw.Close()
}

// addTree adds every regular file under root/dir (a key being written,
// *.tmp, is left out); a missing dir adds nothing.
func addTree(root, dir string, add func(string, int64, io.Reader) error) error {
	err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !d.Type().IsRegular() || strings.HasSuffix(d.Name(), ".tmp") {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		return addPath(path, filepath.ToSlash(rel), add)
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

func addPath(path, name string, add func(string, int64, io.Reader) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	return add(name, st.Size(), io.LimitReader(f, st.Size()))
}

// readBackup reads a backup's tar and checks every file against its
// manifest (and that the manifest lists nothing missing). With write, each
// file is also handed to it as it is read.
func readBackup(r io.Reader, write func(name string, r io.Reader) error) (backupManifest, error) {
	tr := tar.NewReader(r)
	got := map[string]backupFile{}
	var m backupManifest
	var sawManifest bool
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return m, fmt.Errorf("not a whole backup tar: %w", err)
		}
		if sawManifest {
			return m, fmt.Errorf("%s follows the manifest", hdr.Name)
		}
		if hdr.Name == backupManifestName {
			b, err := io.ReadAll(io.LimitReader(tr, 16<<20))
			if err != nil {
				return m, err
			}
			if err := json.Unmarshal(b, &m); err != nil || m.Format != backupFormat {
				return m, fmt.Errorf("the manifest is not a %s manifest", backupFormat)
			}
			sawManifest = true
			continue
		}
		if hdr.Typeflag != tar.TypeReg || !safeName(hdr.Name) {
			return m, fmt.Errorf("unexpected entry %q", hdr.Name)
		}
		if _, dup := got[hdr.Name]; dup {
			return m, fmt.Errorf("%s appears twice", hdr.Name)
		}
		h := sha256.New()
		var src io.Reader = io.TeeReader(tr, h)
		if write != nil {
			if err := write(hdr.Name, src); err != nil {
				return m, err
			}
		}
		if _, err := io.Copy(io.Discard, src); err != nil { // what write left unread
			return m, fmt.Errorf("%s: %w", hdr.Name, err)
		}
		got[hdr.Name] = backupFile{Name: hdr.Name, Size: hdr.Size, SHA256: hex.EncodeToString(h.Sum(nil))}
	}
	if !sawManifest {
		return m, errors.New("no manifest at its end: the backup was cut short")
	}
	for _, f := range m.Files {
		g, ok := got[f.Name]
		switch {
		case !ok:
			return m, fmt.Errorf("%s is listed in the manifest but missing", f.Name)
		case g.Size != f.Size || g.SHA256 != f.SHA256:
			return m, fmt.Errorf("%s does not match the manifest (size or SHA-256 differ): the backup was altered or damaged", f.Name)
		}
		delete(got, f.Name)
	}
	for name := range got {
		return m, fmt.Errorf("%s is not listed in the manifest", name)
	}
	return m, nil
}

// safeName is a relative, clean, slash-separated name inside the backup.
func safeName(name string) bool {
	return name != "" && fs.ValidPath(name) && name != "." && !strings.Contains(name, "\\")
}
