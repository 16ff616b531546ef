// Package lazyfs is a FUSE file system for power-loss tests: it keeps every
// write, create, rename and delete in memory until the program makes it
// durable with fsync — of the file for its data, of the directory for the
// names in it — and on PowerCut forgets everything that was not, the way a
// machine that loses power forgets its page cache (in the spirit of LazyFS).
//
// The model is the strict POSIX one. A file's data and size become durable
// when the file is fsync'd (fsync and fdatasync are alike here); a name
// becomes durable when its directory is fsync'd, and then refers to whatever
// of that inode is durable (possibly nothing: an empty file). After a cut,
// the file system holds exactly the durable names, each with its inode's
// durable data; inodes no durable name reaches are gone.
//
// The durable state lives in the test process, which outlives the program
// under test. Besides power cuts the file system injects the two errors a
// storage stack returns most: ENOSPC (SetFull) and EIO (SetFailing).
package lazyfs

import (
	"context"
	"fmt"
	"os"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// FS is one lazy file system, mounted at one directory at a time.
type FS struct {
	mountpoint string

	mu      sync.Mutex
	nextIno uint64
	durable map[uint64]*durableInode // what survives a power cut
	cut     bool                     // power is off: every operation fails
	full    bool                     // every write and create answers ENOSPC
	failing bool                     // every operation answers EIO
	syncs   int                      // fsyncs that made something durable
	server  *fuse.Server
}

type durableInode struct {
	dir     bool
	mode    uint32
	data    []byte
	entries map[string]uint64
}

const rootIno = 1

// Mount mounts an empty lazy file system at mountpoint (an existing, empty
// directory). Unmount it when done.
func Mount(mountpoint string) (*FS, error) {
	f := &FS{
		mountpoint: mountpoint,
		nextIno:    rootIno + 1,
		durable:    map[uint64]*durableInode{rootIno: {dir: true, mode: 0o755, entries: map[string]uint64{}}},
	}
	if err := f.mount(); err != nil {
		return nil, err
	}
	return f, nil
}

// Mountpoint is where the file system is mounted.
func (f *FS) Mountpoint() string { return f.mountpoint }

func (f *FS) mount() error {
	root := &node{fs: f, ino: rootIno, dir: true, mode: 0o755}
	zero := time.Duration(0)
	server, err := fs.Mount(f.mountpoint, root, &fs.Options{
		// No kernel caching of names or attributes beyond a request: the
		// kernel must ask, so that what a test reads is what the model holds.
		EntryTimeout:    &zero,
		AttrTimeout:     &zero,
		NegativeTimeout: &zero,
		MountOptions: fuse.MountOptions{
			FsName:      "lazyfs",
			Name:        "lazyfs",
			DirectMount: true,
		},
	})
	if err != nil {
		return fmt.Errorf("lazyfs: mounting at %s: %w", f.mountpoint, err)
	}
	f.mu.Lock()
	f.server = server
	f.mu.Unlock()
	return nil
}

// Unmount unmounts the file system; the durable state stays in f, so Remount
// can mount it again. Every process using the mount must have ended.
func (f *FS) Unmount() error {
	f.mu.Lock()
	server := f.server
	f.server = nil
	f.mu.Unlock()
	if server == nil {
		return nil
	}
	var err error
	for range 50 {
		if err = server.Unmount(); err == nil {
			server.Wait()
			return nil
		}
		time.Sleep(100 * time.Millisecond) // a killed process's files are closing
	}
	return fmt.Errorf("lazyfs: unmounting %s: %w", f.mountpoint, err)
}

// PowerCut cuts the power: from now on every operation fails with EIO, as if
// the machine had stopped, until Restart. Kill the processes using the mount,
// then call Restart.
func (f *FS) PowerCut() {
	f.mu.Lock()
	f.cut = true
	f.mu.Unlock()
}

// Restart unmounts the file system and mounts what survived the power cut:
// the durable names and data only. PowerCut need not have been called (then
// Restart is itself the cut).
func (f *FS) Restart() error {
	f.PowerCut()
	if err := f.Unmount(); err != nil {
		return err
	}
	f.mu.Lock()
	f.cut, f.full, f.failing = false, false, false
	f.collect()
	f.mu.Unlock()
	return f.mount()
}

// SetFull makes every write, create and directory creation answer ENOSPC
// (true), or lets them succeed again (false), as a disk that filled up.
func (f *FS) SetFull(full bool) {
	f.mu.Lock()
	f.full = full
	f.mu.Unlock()
}

// SetFailing makes every operation answer EIO (true), or succeed again.
func (f *FS) SetFailing(failing bool) {
	f.mu.Lock()
	f.failing = failing
	f.mu.Unlock()
}

// Syncs counts the fsyncs that made something durable.
func (f *FS) Syncs() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.syncs
}

// collect drops the durable inodes no durable name reaches. f.mu is held.
func (f *FS) collect() {
	seen := map[uint64]bool{}
	var walk func(ino uint64)
	walk = func(ino uint64) {
		if seen[ino] {
			return
		}
		seen[ino] = true
		if d := f.durable[ino]; d != nil && d.dir {
			for _, c := range d.entries {
				walk(c)
			}
		}
	}
	walk(rootIno)
	for ino := range f.durable {
		if !seen[ino] {
			delete(f.durable, ino)
		}
	}
}

// check answers the error every operation gets while the power is off or
// the disk fails. f.mu is held.
func (f *FS) check() syscall.Errno {
	if f.cut || f.failing {
		return syscall.EIO
	}
	return 0
}

// checkWrite is check, plus ENOSPC while the disk is full. f.mu is held.
func (f *FS) checkWrite() syscall.Errno {
	if errno := f.check(); errno != 0 {
		return errno
	}
	if f.full {
		return syscall.ENOSPC
	}
	return 0
}

// node is a file or a directory as the program sees it now (volatile).
// Directories' entries are go-fuse's tree of inodes; files hold their data.
type node struct {
	fs.Inode
	fs    *FS
	ino   uint64
	dir   bool
	mode  uint32
	data  []byte // files only; guarded by fs.mu
	mtime time.Time
}

var (
	_ fs.NodeOnAdder    = (*node)(nil)
	_ fs.NodeGetattrer  = (*node)(nil)
	_ fs.NodeSetattrer  = (*node)(nil)
	_ fs.NodeOpener     = (*node)(nil)
	_ fs.NodeReader     = (*node)(nil)
	_ fs.NodeWriter     = (*node)(nil)
	_ fs.NodeFsyncer    = (*node)(nil)
	_ fs.NodeFlusher    = (*node)(nil)
	_ fs.NodeAllocater  = (*node)(nil)
	_ fs.NodeCreater    = (*node)(nil)
	_ fs.NodeMkdirer    = (*node)(nil)
	_ fs.NodeUnlinker   = (*node)(nil)
	_ fs.NodeRmdirer    = (*node)(nil)
	_ fs.NodeRenamer    = (*node)(nil)
	_ fs.NodeLinker     = (*node)(nil)
	_ fs.NodeStatfser   = (*node)(nil)
	_ fs.NodeOpendirer  = (*node)(nil)
	_ fs.NodeReaddirer  = (*node)(nil)
	_ fs.NodeLookuper   = (*node)(nil)
	_ fs.NodeAccesser   = (*node)(nil)
	_ fs.NodeGetxattrer = (*node)(nil)
)

// OnAdd builds the tree of a fresh mount from the durable state (root only).
// Each durable name gets an inode of its own, so that a name left durable in
// two directories by a rename does not become a hard link. Files are
// numbered anew; a directory keeps its inode number (the first name that
// reaches it), as on a real file system, where a directory's identity
// survives a power cut (the ledger binds its data directory to it).
func (n *node) OnAdd(ctx context.Context) {
	if n.ino != rootIno {
		return
	}
	f := n.fs
	f.mu.Lock()
	defer f.mu.Unlock()
	fresh := map[uint64]*durableInode{rootIno: {dir: true, mode: 0o755, entries: map[string]uint64{}}}
	var build func(parent *fs.Inode, parentIno uint64, d *durableInode)
	build = func(parent *fs.Inode, parentIno uint64, d *durableInode) {
		names := make([]string, 0, len(d.entries))
		for name := range d.entries {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			cd := f.durable[d.entries[name]]
			if cd == nil {
				continue
			}
			ino := d.entries[name]
			if !cd.dir || fresh[ino] != nil {
				ino = f.nextIno
				f.nextIno++
			}
			child := &node{fs: f, ino: ino, dir: cd.dir, mode: cd.mode, mtime: time.Now()}
			nd := &durableInode{dir: cd.dir, mode: cd.mode}
			stable := fs.StableAttr{Mode: syscall.S_IFREG, Ino: child.ino}
			if cd.dir {
				stable.Mode = syscall.S_IFDIR
				nd.entries = map[string]uint64{}
			} else {
				child.data = append([]byte(nil), cd.data...)
				nd.data = append([]byte(nil), cd.data...)
			}
			fresh[parentIno].entries[name] = child.ino
			fresh[child.ino] = nd
			ch := parent.NewPersistentInode(ctx, child, stable)
			parent.AddChild(name, ch, true)
			if cd.dir {
				build(ch, child.ino, cd)
			}
		}
	}
	build(&n.Inode, rootIno, f.durable[rootIno])
	f.durable = fresh
}

func (n *node) fill(out *fuse.Attr) {
	out.Ino = n.ino
	out.Nlink = 1
	if n.dir {
		out.Mode = syscall.S_IFDIR | n.mode&0o7777
		out.Nlink = 2
	} else {
		out.Mode = syscall.S_IFREG | n.mode&0o7777
		out.Size = uint64(len(n.data))
		out.Blocks = (out.Size + 511) / 512
	}
	out.Blksize = 4096
	out.SetTimes(nil, &n.mtime, &n.mtime)
}

func (n *node) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	if errno := n.fs.check(); errno != 0 {
		return errno
	}
	n.fill(&out.Attr)
	return 0
}

func (n *node) Setattr(ctx context.Context, fh fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	if errno := n.fs.check(); errno != 0 {
		return errno
	}
	if size, ok := in.GetSize(); ok && !n.dir {
		if size > uint64(len(n.data)) {
			if errno := n.fs.checkWrite(); errno != 0 {
				return errno
			}
			n.data = append(n.data, make([]byte, size-uint64(len(n.data)))...)
		} else {
			n.data = n.data[:size]
		}
		n.mtime = time.Now()
	}
	if mode, ok := in.GetMode(); ok {
		n.mode = mode & 0o7777
	}
	if mtime, ok := in.GetMTime(); ok {
		n.mtime = mtime
	}
	n.fill(&out.Attr)
	return 0
}

func (n *node) Access(ctx context.Context, mask uint32) syscall.Errno { return 0 }

func (n *node) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	return 0, syscall.ENODATA
}

func (n *node) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	out.Bsize = 4096
	out.Frsize = 4096
	out.NameLen = 255
	out.Blocks = 1 << 24 // 64 GiB
	out.Files = 1 << 20
	if !n.fs.full {
		out.Bfree, out.Bavail, out.Ffree = out.Blocks/2, out.Blocks/2, out.Files/2
	}
	return 0
}

func (n *node) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	if errno := n.fs.check(); errno != 0 {
		return nil, 0, errno
	}
	if flags&syscall.O_TRUNC != 0 && !n.dir {
		n.data = n.data[:0]
	}
	// DIRECT_IO: reads always come to us, never from a page cache that
	// would outlive a power cut in the test's kernel.
	return nil, fuse.FOPEN_DIRECT_IO, 0
}

func (n *node) Read(ctx context.Context, fh fs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	if errno := n.fs.check(); errno != 0 {
		return nil, errno
	}
	if n.dir {
		return nil, syscall.EISDIR
	}
	if off >= int64(len(n.data)) {
		return fuse.ReadResultData(nil), 0
	}
	end := min(off+int64(len(dest)), int64(len(n.data)))
	return fuse.ReadResultData(append([]byte(nil), n.data[off:end]...)), 0
}

func (n *node) Write(ctx context.Context, fh fs.FileHandle, data []byte, off int64) (uint32, syscall.Errno) {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	if errno := n.fs.checkWrite(); errno != 0 {
		return 0, errno
	}
	if end := off + int64(len(data)); end > int64(len(n.data)) {
		n.data = append(n.data, make([]byte, end-int64(len(n.data)))...)
	}
	copy(n.data[off:], data)
	n.mtime = time.Now()
	return uint32(len(data)), 0
}

func (n *node) Allocate(ctx context.Context, fh fs.FileHandle, off, size uint64, mode uint32) syscall.Errno {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	if errno := n.fs.checkWrite(); errno != 0 {
		return errno
	}
	const keepSize = 0x01 // FALLOC_FL_KEEP_SIZE
	if mode&keepSize == 0 && off+size > uint64(len(n.data)) {
		n.data = append(n.data, make([]byte, off+size-uint64(len(n.data)))...)
	}
	return 0
}

func (n *node) Flush(ctx context.Context, fh fs.FileHandle) syscall.Errno { return 0 }

// Fsync makes a file's data, or a directory's names, durable. It is also
// what go-fuse calls for fsync on a directory.
func (n *node) Fsync(ctx context.Context, fh fs.FileHandle, flags uint32) syscall.Errno {
	f := n.fs
	f.mu.Lock()
	defer f.mu.Unlock()
	if errno := f.check(); errno != 0 {
		return errno
	}
	d := f.durable[n.ino]
	if d == nil {
		d = &durableInode{dir: n.dir}
		f.durable[n.ino] = d
	}
	d.mode = n.mode
	if !n.dir {
		d.data = append(d.data[:0:0], n.data...)
		f.syncs++
		return 0
	}
	d.entries = map[string]uint64{}
	for name, ch := range n.Children() {
		c := ch.Operations().(*node)
		d.entries[name] = c.ino
		if f.durable[c.ino] == nil {
			// The name is durable now; the inode's data only once it is
			// synced itself (a directory's own names likewise).
			cd := &durableInode{dir: c.dir, mode: c.mode}
			if c.dir {
				cd.entries = map[string]uint64{}
			}
			f.durable[c.ino] = cd
		}
	}
	f.syncs++
	return 0
}

func (n *node) Opendir(ctx context.Context) syscall.Errno {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	return n.fs.check()
}

func (n *node) Readdir(ctx context.Context) (fs.DirStream, syscall.Errno) {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	if errno := n.fs.check(); errno != 0 {
		return nil, errno
	}
	children := n.Children()
	names := make([]string, 0, len(children))
	for name := range children {
		names = append(names, name)
	}
	sort.Strings(names)
	entries := make([]fuse.DirEntry, 0, len(names))
	for _, name := range names {
		c := children[name].Operations().(*node)
		mode := uint32(syscall.S_IFREG)
		if c.dir {
			mode = syscall.S_IFDIR
		}
		entries = append(entries, fuse.DirEntry{Name: name, Ino: c.ino, Mode: mode})
	}
	return fs.NewListDirStream(entries), 0
}

func (n *node) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	if errno := n.fs.check(); errno != 0 {
		return nil, errno
	}
	ch := n.GetChild(name)
	if ch == nil {
		return nil, syscall.ENOENT
	}
	ch.Operations().(*node).fill(&out.Attr)
	return ch, 0
}

func (n *node) newChild(ctx context.Context, name string, dir bool, mode uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	f := n.fs
	if errno := f.checkWrite(); errno != 0 {
		return nil, errno
	}
	if n.GetChild(name) != nil {
		return nil, syscall.EEXIST
	}
	c := &node{fs: f, ino: f.nextIno, dir: dir, mode: mode & 0o7777, mtime: time.Now()}
	f.nextIno++
	stable := fs.StableAttr{Mode: syscall.S_IFREG, Ino: c.ino}
	if dir {
		stable.Mode = syscall.S_IFDIR
	}
	ch := n.NewPersistentInode(ctx, c, stable)
	c.fill(&out.Attr)
	return ch, 0
}

func (n *node) Create(ctx context.Context, name string, flags, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	ch, errno := n.newChild(ctx, name, false, mode, out)
	if errno != 0 {
		return nil, nil, 0, errno
	}
	return ch, nil, fuse.FOPEN_DIRECT_IO, 0
}

func (n *node) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	return n.newChild(ctx, name, true, mode, out)
}

func (n *node) Unlink(ctx context.Context, name string) syscall.Errno {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	if errno := n.fs.check(); errno != 0 {
		return errno
	}
	ch := n.GetChild(name)
	if ch == nil {
		return syscall.ENOENT
	}
	if ch.Operations().(*node).dir {
		return syscall.EISDIR
	}
	return 0 // go-fuse removes the name from the tree
}

func (n *node) Rmdir(ctx context.Context, name string) syscall.Errno {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	if errno := n.fs.check(); errno != 0 {
		return errno
	}
	ch := n.GetChild(name)
	if ch == nil {
		return syscall.ENOENT
	}
	if !ch.Operations().(*node).dir {
		return syscall.ENOTDIR
	}
	if len(ch.Children()) > 0 {
		return syscall.ENOTEMPTY
	}
	return 0
}

// Link adds a name for an existing file (a hard link), as exclusive
// creation by link(2) does. After a power cut every durable name is a file
// of its own with the inode's durable data.
func (n *node) Link(ctx context.Context, target fs.InodeEmbedder, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	if errno := n.fs.checkWrite(); errno != 0 {
		return nil, errno
	}
	if n.GetChild(name) != nil {
		return nil, syscall.EEXIST
	}
	t := target.EmbeddedInode()
	tn := t.Operations().(*node)
	if tn.dir {
		return nil, syscall.EPERM
	}
	tn.fill(&out.Attr)
	return t, 0
}

const (
	renameNoReplace = 0x1 // RENAME_NOREPLACE
	renameExchange  = 0x2 // RENAME_EXCHANGE
)

func (n *node) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	if errno := n.fs.check(); errno != 0 {
		return errno
	}
	src := n.GetChild(name)
	if src == nil {
		return syscall.ENOENT
	}
	dst := newParent.EmbeddedInode().GetChild(newName)
	switch {
	case flags&renameExchange != 0:
		if dst == nil {
			return syscall.ENOENT
		}
		return 0
	case dst == nil:
		return 0
	case flags&renameNoReplace != 0:
		return syscall.EEXIST
	}
	s, d := src.Operations().(*node), dst.Operations().(*node)
	switch {
	case s.dir && !d.dir:
		return syscall.ENOTDIR
	case !s.dir && d.dir:
		return syscall.EISDIR
	case d.dir && len(dst.Children()) > 0:
		return syscall.ENOTEMPTY
	}
	return 0 // go-fuse moves the name, replacing dst
}

// Available reports whether FUSE can be used here: /dev/fuse exists and
// can be opened. Tests skip with the reason when it cannot.
func Available() error {
	fd, err := os.OpenFile("/dev/fuse", os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("FUSE is not available (%w); install fuse3 and run as root", err)
	}
	return fd.Close()
}
