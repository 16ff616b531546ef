package integrity

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// ErrNotOfRecord: the data directory is a copy of a ledger's directory
// (copied, restored from a backup, cloned), so it may not sign: a copy that
// signs checkpoints of the same sizes with the same key but other events
// forks the log, and an auditor comparing checkpoints would see
// equivocation. Adopt makes a copy the ledger of record.
var ErrNotOfRecord = errors.New("integrity: this data directory is not the ledger of record")

// Identity binds a data directory to its signing history. It is kept in
// DIR/integrity/identity and names the ledger and the very directory
// (inode and creation time of DIR/integrity) that signs for it. A
// copy carries the file but lives in another directory, so it does not
// match: copying a directory (cp, rsync, tar, a restore) cannot by accident
// give a second signer of the same log. A move within a file system keeps
// the inode and stays the ledger of record. What this cannot see: a copy
// of the whole block device or virtual machine, which keeps inodes.
type Identity struct {
	// LedgerID names the ledger; copies keep it, so messages can say
	// whose copy a directory is.
	LedgerID string `json:"ledger_id"`
	// Inode and Birth (creation time, Unix nanoseconds; 0 where the file
	// system does not keep it) identify DIR/integrity when it was bound.
	// Both survive a reboot, a remount and a move within the file system;
	// a copy gets its own. Device is recorded for the operator only: it
	// changes when a network or FUSE file system is mounted again.
	Inode  uint64 `json:"inode"`
	Birth  int64  `json:"birth,omitempty"`
	Device uint64 `json:"device"`
	// Path is where the directory was when it was bound (for messages).
	Path    string `json:"path"`
	BoundAt string `json:"bound_at"`
	// How is "created" (the directory's first signing) or "adopted" (an
	// operator declared a copy the ledger of record).
	How string `json:"how"`
	// CheckpointSize and CheckpointRoot are the latest signed checkpoint
	// when it was bound: where this directory's signing history joins
	// the ledger's.
	CheckpointSize int64  `json:"checkpoint_size"`
	CheckpointRoot string `json:"checkpoint_root,omitempty"`
}

func identityPath(p paths) string { return filepath.Join(p.dir, "identity") }

// dirID returns the device, inode and birth time of dir.
func dirID(dir string) (dev, ino uint64, birth int64, err error) {
	st, err := os.Stat(dir)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("integrity: %w", err)
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, 0, fmt.Errorf("integrity: cannot identify %s on this system", dir)
	}
	return uint64(sys.Dev), sys.Ino, birthTime(dir), nil // Dev is int32 on some platforms
}

// ReadIdentity reads DIR's identity. ok is false when it has none yet (a
// directory that never signed, or one made before identities existed).
func ReadIdentity(dataDir string) (id Identity, ok bool, err error) {
	b, err := os.ReadFile(identityPath(pathsIn(dataDir)))
	if errors.Is(err, os.ErrNotExist) {
		return Identity{}, false, nil
	}
	if err != nil {
		return Identity{}, false, fmt.Errorf("integrity: read identity: %w", err)
	}
	if err := json.Unmarshal(b, &id); err != nil || id.LedgerID == "" {
		return Identity{}, false, fmt.Errorf("%w: %s is not a data directory identity", ErrMalformed, identityPath(pathsIn(dataDir)))
	}
	return id, true, nil
}

// CheckIdentity reports whether DIR may sign for its ledger: nil when it is
// the directory its identity names (or has no identity yet: the first
// signer binds it), an ErrNotOfRecord error saying whose copy it is
// otherwise. It opens nothing, so commands that only append can refuse to
// write to a copy before they start.
func CheckIdentity(dataDir string) error {
	id, ok, err := ReadIdentity(dataDir)
	if err != nil || !ok {
		return err
	}
	_, ino, birth, err := dirID(pathsIn(dataDir).dir)
	if err != nil {
		return err
	}
	if ino == id.Inode && (birth == id.Birth || birth == 0 || id.Birth == 0) {
		return nil
	}
	return fmt.Errorf("%w: %s is a copy of ledger %s, whose directory of record was %s (bound %s); "+
		"it signs nothing and takes no writes. If this copy is now the ledger of record (restored or moved after the original was retired), "+
		"run 'ledger adopt --data %s'", ErrNotOfRecord, dataDir, id.LedgerID, id.Path, id.BoundAt, dataDir)
}

// bind writes DIR's identity for this directory, keeping the ledger id of
// a previous identity (a copy that is adopted stays the same ledger).
func bind(p paths, how string, latest Checkpoint, now time.Time) (Identity, error) {
	dev, ino, birth, err := dirID(p.dir)
	if err != nil {
		return Identity{}, err
	}
	abs, _ := filepath.Abs(filepath.Dir(p.dir))
	id := Identity{Device: dev, Inode: ino, Birth: birth, Path: abs, BoundAt: now.UTC().Format(time.RFC3339), How: how, CheckpointSize: latest.Size}
	if latest.Size > 0 {
		id.CheckpointRoot = latest.Root.String()
	}
	if old, ok, err := ReadIdentity(filepath.Dir(p.dir)); err == nil && ok {
		id.LedgerID = old.LedgerID
	} else {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return Identity{}, fmt.Errorf("integrity: %w", err)
		}
		id.LedgerID = hex.EncodeToString(b[:])
	}
	b, err := json.MarshalIndent(id, "", "  ")
	if err != nil {
		return Identity{}, err
	}
	return id, writeAtomic(identityPath(p), append(b, '\n'), 0o644)
}

// Adopt declares the data directory the ledger of record: it binds the
// directory's identity to where it now is, so it signs again. Use it after
// a restore from backup or a copy to a new machine, once the directory it
// was copied from no longer signs — two signing directories fork the log.
// The directory must not be open (Adopt takes its lock).
func Adopt(dataDir string) (Identity, error) {
	p := pathsIn(dataDir)
	if _, err := os.Stat(p.dir); err != nil {
		return Identity{}, fmt.Errorf("integrity: %s holds no integrity log: %w", dataDir, err)
	}
	lock, err := lockFile(p.lock)
	if err != nil {
		return Identity{}, err
	}
	defer lock.Close()
	var latest Checkpoint
	if msg, err := os.ReadFile(p.latest); err == nil {
		if latest, err = parseUnverified(msg); err != nil {
			return Identity{}, fmt.Errorf("integrity: latest checkpoint: %w", err)
		}
	}
	return bind(p, "adopted", latest, time.Now())
}

// OfRecord is nil when the log may sign, or the ErrNotOfRecord error that
// keeps it from signing (checkpoints and receipt promises alike).
func (l *Log) OfRecord() error { return l.notOfRecord }
