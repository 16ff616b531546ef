package main

import (
	"fmt"
	"runtime/debug"

	ledgerhttp "github.com/malmo/participation-ledger/http"
)

// Set by the Makefile with -ldflags "-X main.version=… -X main.commit=…
// -X main.buildTime=…"; empty in a plain go build, which falls back to what
// the Go toolchain stamped into the binary (the module version of a go
// install, the VCS revision and time of a build in a checkout).
var (
	version   string
	commit    string
	buildTime string
)

// currentBuild describes this binary for --version, /healthz and the
// ledger_build_info metric.
func currentBuild() build {
	b := ledgerhttp.BuildInfo{Version: "(devel)", Commit: "unknown", Time: "unknown"}
	if info, ok := debug.ReadBuildInfo(); ok {
		b.GoVersion = info.GoVersion
		if v := info.Main.Version; v != "" {
			b.Version = v
		}
		modified := false
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				b.Commit = s.Value
			case "vcs.time":
				b.Time = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if modified {
			b.Commit += "-dirty"
		}
	}
	for dst, v := range map[*string]string{&b.Version: version, &b.Commit: commit, &b.Time: buildTime} {
		if v != "" {
			*dst = v
		}
	}
	return build(b)
}

type build ledgerhttp.BuildInfo

func (b build) String() string {
	return fmt.Sprintf("ledger %s (commit %s, built %s, %s)", b.Version, b.Commit, b.Time, b.GoVersion)
}
