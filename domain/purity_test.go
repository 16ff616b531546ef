package domain

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The domain must stay pure: deciding a command twice on the same state
// gives the same events. These tests fail when a file starts doing I/O,
// reading the clock or drawing randomness.

// forbiddenImports are packages whose mere import in domain means I/O,
// randomness or a global logger. (Standard packages such as fmt import os
// themselves without doing I/O in the functions we use, so the check is on
// the domain's own imports and on those of any non-standard dependency.)
var forbiddenImports = map[string]bool{
	"os": true, "os/exec": true, "os/signal": true, "os/user": true, "syscall": true, "io/fs": true,
	"io/ioutil": true, "net": true, "path/filepath": true,
	"math/rand": true, "math/rand/v2": true, "crypto/rand": true, "log": true, "runtime": true,
	"unsafe": true, "plugin": true, "embed": true, "database/sql": true, "time/tzdata": true,
}

func TestNoIOImports(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{.Standard}} {{join .Imports \",\"}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const self = "github.com/malmo/participation-ledger/domain"
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.SplitN(line, " ", 3)
		path, std := f[0], f[1] == "true"
		if std {
			continue
		}
		if path != self && !strings.HasPrefix(path, "github.com/malmo/participation-ledger/") {
			t.Errorf("domain depends on third-party package %s; the domain uses the standard library only", path)
		}
		checked++
		if len(f) < 3 || f[2] == "" {
			continue
		}
		for _, imp := range strings.Split(f[2], ",") {
			if forbiddenImports[imp] || strings.HasPrefix(imp, "net/") {
				t.Errorf("%s imports %s", path, imp)
			}
		}
	}
	if checked == 0 {
		t.Fatal("go list reported no domain package")
	}
}

// forbiddenCalls read the clock or use the global logger.
var forbiddenCalls = map[string]map[string]bool{
	"time": {"Now": true, "Since": true, "Until": true, "After": true, "AfterFunc": true, "Tick": true,
		"NewTimer": true, "NewTicker": true, "Sleep": true},
	"slog": {"Default": true, "SetDefault": true, "Info": true, "Warn": true, "Error": true, "Debug": true, "Log": true,
		"InfoContext": true, "WarnContext": true, "ErrorContext": true, "DebugContext": true},
}

func TestNoClockInSource(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	scanned := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		scanned++
		for _, c := range clockCalls(fset, f) {
			t.Errorf("%s: the domain takes time as an argument", c)
		}
	}
	if scanned < 5 {
		t.Fatalf("scanned only %d files", scanned)
	}
}

// clockCalls lists the forbidden calls in a file.
func clockCalls(fset *token.FileSet, f *ast.File) []string {
	var found []string
	ast.Inspect(f, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if x, ok := sel.X.(*ast.Ident); ok && forbiddenCalls[x.Name][sel.Sel.Name] {
				found = append(found, fmt.Sprintf("%s: %s.%s", fset.Position(sel.Pos()), x.Name, sel.Sel.Name))
			}
		}
		return true
	})
	return found
}

// TestPurityCheckerCatches keeps the scan honest: it must flag a clock
// read in a sample file.
func TestPurityCheckerCatches(t *testing.T) {
	src := "package domain\nimport \"time\"\nfunc f() time.Duration { return time.Since(time.Now()) }\n"
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "x.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := clockCalls(fset, f); len(got) != 2 {
		t.Fatalf("found %v, want time.Since and time.Now", got)
	}
}
