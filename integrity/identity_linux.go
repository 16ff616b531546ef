package integrity

import "golang.org/x/sys/unix"

// birthTime is dir's creation time (statx btime) in Unix nanoseconds, or 0
// when the file system does not record it.
func birthTime(dir string) int64 {
	var st unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, dir, 0, unix.STATX_BTIME, &st); err != nil || st.Mask&unix.STATX_BTIME == 0 {
		return 0
	}
	return st.Btime.Sec*1e9 + int64(st.Btime.Nsec)
}
