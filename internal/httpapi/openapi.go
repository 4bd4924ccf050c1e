package httpapi

import (
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Info heads the OpenAPI document.
type Info struct {
	Title, Version, Description string
}

var paramRE = regexp.MustCompile(`\{([a-zA-Z0-9_]+)(\.\.\.)?\}`)

// PathParams returns the names of a pattern's path parameters.
func PathParams(pattern string) []string {
	var out []string
	for _, m := range paramRE.FindAllStringSubmatch(pattern, -1) {
		out = append(out, m[1])
	}
	return out
}

// OpenAPI describes every registered route as an OpenAPI 3.1 document.
func (s *Server) OpenAPI(info Info) map[string]any {
	schemas := map[string]any{}
	sch := &schemaGen{defs: schemas}
	errRef := sch.of(reflect.TypeFor[ErrorBody]())
	paths := map[string]any{}
	for _, rt := range s.routes {
		path := paramRE.ReplaceAllString(rt.Pattern, "{$1}")
		item, _ := paths[path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[path] = item
		}
		status := rt.Doc.Status
		if status == 0 {
			status = http.StatusOK
		}
		ct := rt.Doc.ContentType
		if ct == "" {
			ct = "application/json"
		}
		ok := map[string]any{"description": http.StatusText(status)}
		if rt.Doc.Response != nil {
			ok["content"] = map[string]any{ct: map[string]any{"schema": sch.of(reflect.TypeOf(rt.Doc.Response))}}
		} else if rt.Raw {
			ok["content"] = map[string]any{ct: map[string]any{"schema": map[string]any{"type": "string"}}}
		}
		errResp := func(desc string) map[string]any {
			return map[string]any{"description": desc, "content": map[string]any{"application/json": map[string]any{"schema": errRef}}}
		}
		responses := map[string]any{strconv.Itoa(status): ok, "default": errResp("An error, in the one error shape.")}
		if rt.Policy.Name != "public" {
			responses["401"] = errResp("Not signed in.")
			responses["403"] = errResp("Signed in, but not allowed.")
		}
		op := map[string]any{
			"summary":                  rt.Doc.Summary,
			"operationId":              operationID(rt.Method, rt.Pattern),
			"responses":                responses,
			"x-kaigi-authorization":    rt.Policy.Name,
			"x-kaigi-tenant-from":      "the authenticated principal, never the request",
			"x-kaigi-route-registered": true,
		}
		if rt.Doc.Description != "" {
			op["description"] = rt.Doc.Description
		}
		if rt.Doc.Tag != "" {
			op["tags"] = []string{rt.Doc.Tag}
		}
		var params []any
		for _, p := range PathParams(rt.Pattern) {
			params = append(params, map[string]any{"name": p, "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if rt.Doc.Request != nil {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": sch.of(reflect.TypeOf(rt.Doc.Request))}}}
		}
		item[strings.ToLower(rt.Method)] = op
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info":    map[string]any{"title": info.Title, "version": info.Version, "description": info.Description},
		"paths":   paths,
		"components": map[string]any{
			"schemas":         schemas,
			"securitySchemes": map[string]any{"session": map[string]any{"type": "apiKey", "in": "cookie", "name": "kaigi_session"}, "token": map[string]any{"type": "http", "scheme": "bearer"}},
		},
		"security": []any{map[string]any{"session": []any{}}, map[string]any{"token": []any{}}},
	}
}

func operationID(method, pattern string) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(method))
	for _, part := range strings.FieldsFunc(pattern, func(r rune) bool { return r == '/' || r == '.' || r == '-' || r == '{' || r == '}' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

type schemaGen struct{ defs map[string]any }

var timeType = reflect.TypeFor[time.Time]()

func (g *schemaGen) of(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t.Kind() == reflect.String:
		return map[string]any{"type": "string"}
	case t.Kind() == reflect.Bool:
		return map[string]any{"type": "boolean"}
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return map[string]any{"type": "integer"}
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return map[string]any{"type": "number"}
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8:
		return map[string]any{"type": "string", "contentEncoding": "base64"}
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
		return map[string]any{"type": "array", "items": g.of(t.Elem())}
	case t.Kind() == reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.of(t.Elem())}
	case t.Kind() == reflect.Struct:
		name := t.Name()
		if name == "" {
			return g.object(t)
		}
		if _, done := g.defs[name]; !done {
			g.defs[name] = map[string]any{} // placeholder against recursion
			g.defs[name] = g.object(t)
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	return map[string]any{}
}

func (g *schemaGen) object(t reflect.Type) map[string]any {
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
		s := g.of(f.Type)
		if d := f.Tag.Get("doc"); d != "" {
			s = map[string]any{"allOf": []any{s}, "description": d}
		}
		props[name] = s
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
			required = append(required, name)
		}
	}
	out := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		out["required"] = required
	}
	return out
}
