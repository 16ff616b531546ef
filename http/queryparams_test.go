package ledgerhttp

import (
	"bytes"
	"context"
	"encoding/json"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/eventstore/memory"
	"github.com/malmo/participation-ledger/ledger"
	"github.com/malmo/participation-ledger/privacy"
)

// TestQueryParamsDocumented checks, route by route, that the query
// parameters a handler can read are exactly those the OpenAPI document
// lists for it. It type-checks the module's packages that this one builds
// on, finds every read of a url.Values (Get, Has, indexing) or
// Request.FormValue, follows calls (including into helpers that take the
// parameter name as an argument, like queryInt, and into other packages of
// the module, like the SSE hub's last_event_id), and fails on a read it
// cannot name. Calls through interfaces are not followed: a handler that
// reads the query behind one is not covered.
func TestQueryParamsDocumented(t *testing.T) {
	if testing.Short() {
		t.Skip("type-checks the module's sources")
	}
	reads := analyseQueryReads(t)

	s := newTestServer(t)
	raw, err := json.Marshal(buildOpenAPI(s.routes))
	require.NoError(t, err)
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	require.NoError(t, err)
	require.NoError(t, doc.Validate(context.Background()))

	checked := 0
	for _, rt := range s.routes {
		name := funcName(rt.handler)
		var documented []string
		for _, p := range doc.Paths.Find(rt.pattern).GetOperation(rt.method).Parameters {
			if p.Value.In == "query" {
				documented = append(documented, p.Value.Name)
			}
		}
		slices.Sort(documented)
		fn, ok := reads.funcs[name]
		if !ok {
			if strings.Contains(name, modulePath+"/") {
				t.Errorf("%s %s: handler %s not found in the analysed sources", rt.method, rt.pattern, name)
			}
			continue // not the module's code (the Prometheus handler)
		}
		checked++
		if len(fn.dynamic) > 0 {
			t.Errorf("%s %s: reads a query parameter whose name is not a constant: %s", rt.method, rt.pattern, strings.Join(fn.dynamic, "; "))
		}
		read := slices.Sorted(maps.Keys(fn.reads))
		for _, q := range read {
			if !slices.Contains(documented, q) {
				t.Errorf("%s %s reads ?%s=, which the OpenAPI document does not list (add it to the route's query in routes.go)", rt.method, rt.pattern, q)
			}
		}
		for _, q := range documented {
			if !slices.Contains(read, q) {
				t.Errorf("%s %s: the OpenAPI document lists ?%s=, which the handler never reads", rt.method, rt.pattern, q)
			}
		}
	}
	if checked < 50 {
		t.Fatalf("only %d routes' handlers were analysed; the analysis is not finding the handlers", checked)
	}
	// The analysis itself must see the reads it exists for.
	require.Contains(t, reads.funcs["(*"+modulePath+"/http.Server).resolveAt"].reads, "as_of")
	require.Contains(t, reads.funcs[modulePath+"/http.queryInt"].forward, 1)
}

const modulePath = "github.com/malmo/participation-ledger"

func newTestServer(t *testing.T) *Server {
	t.Helper()
	store := memory.New()
	t.Cleanup(func() { store.Close() })
	keys, err := privacy.Open(t.TempDir())
	require.NoError(t, err)
	s, err := NewServer(Config{Service: ledger.New(store, keys)})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// funcName turns a handler (a method value or function) into the name
// go/types gives the function: "(*pkg.T).m" or "pkg.f".
func funcName(h any) string {
	n := runtime.FuncForPC(reflect.ValueOf(h).Pointer()).Name()
	n = strings.TrimSuffix(n, "-fm")
	slash := strings.LastIndex(n, "/")
	dot := slash + 1 + strings.Index(n[slash+1:], ".")
	pkg, rest := n[:dot], n[dot+1:]
	switch {
	case strings.HasPrefix(rest, "(*"):
		return "(*" + pkg + "." + rest[2:]
	case strings.HasPrefix(rest, "("):
		return "(" + pkg + "." + rest[1:]
	}
	return pkg + "." + rest
}

// queryFunc is what one function does with query parameters.
type queryFunc struct {
	reads   map[string]bool // names read, directly or through callees
	forward map[int]bool    // indexes of its parameters it reads as a name
	dynamic []string        // reads whose name is not known
	calls   []queryCall
}

type queryCall struct {
	callee string
	args   []queryArg
	pos    string
}

// queryArg is a call argument: a string constant, one of the caller's
// parameters (param >= 0), or neither.
type queryArg struct {
	constant *string
	param    int
}

type queryReads struct{ funcs map[string]*queryFunc }

func analyseQueryReads(t *testing.T) queryReads {
	t.Helper()
	// One go list names the module's packages this one depends on, their
	// sources, and the export data of every dependency for the importer.
	cmd := exec.Command("go", "list", "-deps", "-export", "-json=ImportPath,Dir,GoFiles,Export,Module", ".")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	require.NoError(t, err)
	type pkg struct {
		ImportPath, Dir, Export string
		GoFiles                 []string
		Module                  *struct{ Path string }
	}
	exports := map[string]string{}
	var mine []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else {
			require.NoError(t, err)
		}
		exports[p.ImportPath] = p.Export
		if p.Module != nil && p.Module.Path == modulePath {
			mine = append(mine, p)
		}
	}
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		return os.Open(exports[path])
	})
	qr := queryReads{funcs: map[string]*queryFunc{}}
	for _, p := range mine {
		var files []*ast.File
		for _, f := range p.GoFiles {
			af, err := parser.ParseFile(fset, filepath.Join(p.Dir, f), nil, 0)
			require.NoError(t, err)
			files = append(files, af)
		}
		info := &types.Info{Uses: map[*ast.Ident]types.Object{}, Defs: map[*ast.Ident]types.Object{}, Types: map[ast.Expr]types.TypeAndValue{}}
		conf := types.Config{Importer: imp}
		_, err := conf.Check(p.ImportPath, fset, files, info)
		require.NoError(t, err, p.ImportPath)
		for _, f := range files {
			for _, d := range f.Decls {
				fd, ok := d.(*ast.FuncDecl)
				if !ok || fd.Body == nil {
					continue
				}
				fn := info.Defs[fd.Name].(*types.Func)
				qr.funcs[fn.FullName()] = scanFunc(fset, info, fd)
			}
		}
	}
	qr.close()
	return qr
}

func isValues(info *types.Info, e ast.Expr) bool {
	tv, ok := info.Types[e]
	if !ok {
		return false
	}
	n, ok := types.Unalias(tv.Type).(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == "net/url" && n.Obj().Name() == "Values"
}

func calleeOf(info *types.Info, fun ast.Expr) *types.Func {
	for {
		switch e := fun.(type) {
		case *ast.ParenExpr:
			fun = e.X
			continue
		case *ast.IndexExpr:
			fun = e.X
			continue
		case *ast.IndexListExpr:
			fun = e.X
			continue
		case *ast.SelectorExpr:
			fn, _ := info.Uses[e.Sel].(*types.Func)
			return fn
		case *ast.Ident:
			fn, _ := info.Uses[e].(*types.Func)
			return fn
		}
		return nil
	}
}

func scanFunc(fset *token.FileSet, info *types.Info, fd *ast.FuncDecl) *queryFunc {
	qf := &queryFunc{reads: map[string]bool{}, forward: map[int]bool{}}
	params := map[types.Object]int{}
	i := 0
	for _, field := range fd.Type.Params.List {
		for _, n := range field.Names {
			params[info.Defs[n]] = i
			i++
		}
		if len(field.Names) == 0 {
			i++
		}
	}
	argOf := func(e ast.Expr) queryArg {
		if e == nil {
			return queryArg{param: -1}
		}
		if tv, ok := info.Types[e]; ok && tv.Value != nil {
			if s, err := strconv.Unquote(tv.Value.ExactString()); err == nil {
				return queryArg{constant: &s, param: -1}
			}
		}
		if id, ok := e.(*ast.Ident); ok {
			if n, ok := params[info.Uses[id]]; ok {
				return queryArg{param: n}
			}
		}
		return queryArg{param: -1}
	}
	// Ranging over a literal list of names (or of structs holding them)
	// reads each of them.
	ranged := map[types.Object]*ast.CompositeLit{}
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		if rs, ok := n.(*ast.RangeStmt); ok {
			if lit, ok := rs.X.(*ast.CompositeLit); ok {
				if id, ok := rs.Value.(*ast.Ident); ok {
					ranged[info.Defs[id]] = lit
				}
			}
		}
		return true
	})
	rangedNames := func(e ast.Expr) ([]string, bool) {
		var field string
		if sel, ok := e.(*ast.SelectorExpr); ok {
			e, field = sel.X, sel.Sel.Name
		}
		id, ok := e.(*ast.Ident)
		if !ok || ranged[info.Uses[id]] == nil {
			return nil, false
		}
		var names []string
		for _, elt := range ranged[info.Uses[id]].Elts {
			v := elt
			if field != "" {
				v = nil
				st, _ := info.Types[elt].Type.Underlying().(*types.Struct)
				for i, fe := range elt.(*ast.CompositeLit).Elts {
					if kv, ok := fe.(*ast.KeyValueExpr); ok && kv.Key.(*ast.Ident).Name == field {
						v = kv.Value
					} else if !ok && st != nil && st.Field(i).Name() == field {
						v = fe
					}
				}
			}
			a := argOf(v)
			if v == nil || a.constant == nil {
				return nil, false
			}
			names = append(names, *a.constant)
		}
		return names, true
	}
	readName := func(e ast.Expr, at token.Pos) {
		if names, ok := rangedNames(e); ok {
			for _, n := range names {
				qf.reads[n] = true
			}
			return
		}
		switch a := argOf(e); {
		case a.constant != nil:
			qf.reads[*a.constant] = true
		case a.param >= 0:
			qf.forward[a.param] = true
		default:
			qf.dynamic = append(qf.dynamic, fset.Position(at).String())
		}
	}
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			sel, isSel := n.Fun.(*ast.SelectorExpr)
			if isSel && isValues(info, sel.X) && (sel.Sel.Name == "Get" || sel.Sel.Name == "Has") && len(n.Args) == 1 {
				readName(n.Args[0], n.Pos())
				return true
			}
			fn := calleeOf(info, n.Fun)
			if fn == nil {
				return true
			}
			if fn.FullName() == "(*net/http.Request).FormValue" {
				readName(n.Args[0], n.Pos())
				return true
			}
			c := queryCall{callee: fn.Origin().FullName(), pos: fset.Position(n.Pos()).String()}
			for _, a := range n.Args {
				c.args = append(c.args, argOf(a))
			}
			qf.calls = append(qf.calls, c)
		case *ast.IndexExpr:
			if isValues(info, n.X) {
				readName(n.Index, n.Pos())
			}
		case *ast.RangeStmt:
			if isValues(info, n.X) {
				qf.dynamic = append(qf.dynamic, fset.Position(n.Pos()).String()+" (ranges over url.Values)")
			}
		case *ast.Ident:
			// A function used as a value (a callback, a method value) may
			// be called: count it as a call without known arguments.
			if fn, ok := info.Uses[n].(*types.Func); ok {
				qf.calls = append(qf.calls, queryCall{callee: fn.Origin().FullName(), pos: fset.Position(n.Pos()).String()})
			}
		}
		return true
	})
	return qf
}

// close propagates reads and forwarded names through calls to a fixpoint.
func (qr queryReads) close() {
	for changed := true; changed; {
		changed = false
		for _, f := range qr.funcs {
			for _, c := range f.calls {
				callee, ok := qr.funcs[c.callee]
				if !ok || callee == f {
					continue
				}
				for q := range callee.reads {
					if !f.reads[q] {
						f.reads[q], changed = true, true
					}
				}
				if len(callee.dynamic) > 0 && !slices.Contains(f.dynamic, "via "+c.callee) {
					f.dynamic, changed = append(f.dynamic, "via "+c.callee), true
				}
				for i := range callee.forward {
					if c.args == nil {
						continue // a function value: its call sites are elsewhere
					}
					var a queryArg
					if i < len(c.args) {
						a = c.args[i]
					} else {
						a = queryArg{param: -1}
					}
					switch {
					case a.constant != nil:
						if !f.reads[*a.constant] {
							f.reads[*a.constant], changed = true, true
						}
					case a.param >= 0:
						if !f.forward[a.param] {
							f.forward[a.param], changed = true, true
						}
					default:
						if d := c.pos + " (name passed to " + c.callee + ")"; !slices.Contains(f.dynamic, d) {
							f.dynamic, changed = append(f.dynamic, d), true
						}
					}
				}
			}
		}
	}
}
