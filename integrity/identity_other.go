//go:build !linux

package integrity

// birthTime is 0 where statx is not available: the inode alone identifies
// the directory.
func birthTime(string) int64 { return 0 }
