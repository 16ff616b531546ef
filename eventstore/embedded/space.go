package embedded

import (
	"fmt"
	"sync"
	"syscall"
	"time"

	"github.com/malmo/participation-ledger/eventstore"
)

// DefaultMinFree is the free space an append leaves on the store's file
// system: Pebble treats a failed write-ahead-log write as fatal, so the
// store refuses appends (eventstore.ErrNoSpace, which changes nothing) well
// before the disk is full, and takes them again once space is freed.
const DefaultMinFree = 64 << 20

// WithMinFree sets the reserve of free bytes below which appends are
// refused (default DefaultMinFree; 0 checks nothing).
func WithMinFree(bytes int64) Option { return func(c *config) { c.minFree = bytes } }

// space answers whether the store's file system has room, looking at most
// every spaceEvery (statfs is cheap, but commits come by the thousand).
type space struct {
	dir     string
	minFree int64

	mu      sync.Mutex
	checked time.Time
	err     error
}

const spaceEvery = 100 * time.Millisecond

// check returns an error wrapping eventstore.ErrNoSpace while free space is
// below the reserve.
func (sp *space) check() error {
	if sp.minFree <= 0 {
		return nil
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if now := time.Now(); now.Sub(sp.checked) >= spaceEvery || sp.err != nil {
		sp.checked = now
		sp.err = nil
		var st syscall.Statfs_t
		if err := syscall.Statfs(sp.dir, &st); err == nil {
			if free := int64(st.Bavail) * int64(st.Bsize); free < sp.minFree {
				sp.err = fmt.Errorf("%w: %d MiB free where the store is, below the %d MiB it keeps in reserve",
					eventstore.ErrNoSpace, free>>20, sp.minFree>>20)
			}
		}
	}
	return sp.err
}

// SpaceErr reports, for readiness checks, whether appends are refused for
// want of disk space (nil when there is room).
func (s *Store) SpaceErr() error { return s.space.check() }
