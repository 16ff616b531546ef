package ledgerhttp

import (
	"net/http"
	"reflect"
	"regexp"
	"strings"
)

// The OpenAPI 3.1 document is built from the route table, so a route cannot
// be served without being documented; TestOpenAPIMatchesRouter walks the
// chi router to catch routes mounted outside the table.

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

func (s *Server) openapi(w http.ResponseWriter, r *http.Request) {
	s.docOnce.Do(func() { s.doc = buildOpenAPI(s.routes) })
	writeJSON(w, "application/json", http.StatusOK, s.doc)
}

func buildOpenAPI(routes []route) map[string]any {
	paths := map[string]any{}
	schemas := map[string]any{
		"Problem": schemaOf(reflect.TypeOf(Problem{}), nil),
		"Write":   schemaOf(reflect.TypeOf(WriteResponse{}), nil),
	}
	for _, rt := range routes {
		item, _ := paths[rt.pattern].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[rt.pattern] = item
		}
		op := map[string]any{
			"summary":     rt.summary,
			"operationId": operationID(rt),
			"responses":   responsesFor(rt),
		}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(rt.pattern, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		for _, q := range rt.query {
			params = append(params, q.openapi())
		}
		if rt.body != nil {
			params = append(params,
				map[string]any{"name": "Idempotency-Key", "in": "header", "required": true, "schema": map[string]any{"type": "string", "maxLength": 200}},
				map[string]any{"name": "If-Match", "in": "header", "required": false, "description": `Expected stream revision, e.g. "3"`, "schema": map[string]any{"type": "string"}},
			)
			name := reflect.TypeOf(rt.body).Name()
			schemas[name] = schemaOf(reflect.TypeOf(rt.body), nil)
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/" + name}}}}
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if len(rt.roles) > 0 {
			rs := make([]string, len(rt.roles))
			for i, r := range rt.roles {
				rs[i] = string(r)
			}
			op["security"] = []any{map[string]any{"bearer": []any{}}}
			op["x-roles"] = rs
			op["description"] = "Roles: " + strings.Join(rs, ", ")
		}
		item[strings.ToLower(rt.method)] = op
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":   "Participation Ledger API",
			"version": "1",
			"description": "Writes take Idempotency-Key and optional If-Match; errors are RFC 9457 problem+json " +
				"with type URIs under " + ProblemBase,
		},
		"paths": paths,
		"components": map[string]any{
			"schemas":         schemas,
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}},
		},
	}
}

// openapi is the Parameter Object of a query parameter.
func (q param) openapi() map[string]any {
	schema := map[string]any{"type": q.typ}
	if q.format != "" {
		schema["format"] = q.format
	}
	if len(q.enum) > 0 {
		schema["enum"] = q.enum
	}
	if q.typ == "integer" {
		schema["minimum"] = 0
	}
	return map[string]any{"name": q.name, "in": "query", "required": q.required, "description": q.doc, "schema": schema}
}

func operationID(rt route) string {
	p := pathParam.ReplaceAllString(rt.pattern, "by-$1")
	p = strings.NewReplacer("/", "-", ".", "-").Replace(strings.Trim(p, "/"))
	return strings.ToLower(rt.method) + "-" + p
}

func responsesFor(rt route) map[string]any {
	problem := map[string]any{"application/problem+json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Problem"}}}
	res := map[string]any{"default": map[string]any{"description": "Problem", "content": problem}}
	switch {
	case rt.body != nil:
		res["201"] = map[string]any{"description": "Appended", "content": map[string]any{
			"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Write"}}}}
		if rt.method == http.MethodDelete {
			delete(res, "201")
			res["200"] = map[string]any{"description": "Appended", "content": map[string]any{
				"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Write"}}}}
		}
	default:
		res["200"] = map[string]any{"description": "OK"}
	}
	return res
}

// schemaOf is a small JSON Schema for the request and response structs: enough
// for clients and validators, derived from the json tags.
func schemaOf(t reflect.Type, seen map[reflect.Type]bool) map[string]any {
	if seen == nil {
		seen = map[reflect.Type]bool{}
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": schemaOf(t.Elem(), seen)}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem(), seen)}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		if t.PkgPath() == "time" {
			return map[string]any{"type": "string", "format": "date-time"}
		}
		if seen[t] {
			return map[string]any{"type": "object"}
		}
		seen[t] = true
		defer delete(seen, t)
		props := map[string]any{}
		var required []string
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			sc := schemaOf(f.Type, seen)
			if d := f.Tag.Get("doc"); d != "" {
				sc["description"] = d
			}
			props[name] = sc
			if f.Tag.Get("required") == "true" && !strings.Contains(opts, "omitempty") {
				required = append(required, name)
			}
		}
		out := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
		if len(required) > 0 {
			out["required"] = required
		}
		return out
	}
	return map[string]any{}
}
