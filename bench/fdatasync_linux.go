package bench

import (
	"os"
	"syscall"
)

// fdatasync flushes f's data (and the size, which an append changes) but not
// other metadata, as Pebble's WAL and PostgreSQL's default wal_sync_method do.
func fdatasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
