package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/bluehelm/bluehelm"
)

// Body size limits. A report is a page of text; a position batch is what a busy
// gateway sends in one go (the pipeline's own batch limit applies after decoding).
const (
	limitSmall     = 64 << 10 // login, actions, tokens, users
	limitIncident  = 1 << 20
	limitArea      = 4 << 20 // a detailed camp perimeter or AOR polygon
	limitPositions = 8 << 20
)

// readJSON reads a request body of at most limit bytes that must be
// application/json. The whole body is kept because a precise error ("the value at
// casualties[1].low") needs to look at it again.
func readJSON(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	ct := r.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || mt != "application/json" {
		return nil, &httpError{status: http.StatusUnsupportedMediaType, code: codeUnsupportedMedia, field: "Content-Type",
			msg: fmt.Sprintf("the body must be application/json, not %q", ct)}
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return nil, &httpError{status: http.StatusUnsupportedMediaType, code: codeUnsupportedMedia, field: "Content-Type",
			msg: fmt.Sprintf("JSON must be UTF-8, not %s", cs)}
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return nil, bodyError(err, limit)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, invalid("", "the body is empty; a JSON object is expected")
	}
	return b, nil
}

// decodeJSON reads the body into v strictly: unknown fields, wrong types, trailing
// data and malformed JSON are refused with an error naming where.
func decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	b, err := readJSON(w, r, limit)
	if err != nil {
		return err
	}
	return unmarshalStrict(b, v)
}

// decodeOptionalJSON is decodeJSON for bodies that may be absent (a workflow action
// without a reason). An empty body is accepted whatever its Content-Type, because
// many client libraries label every POST as JSON.
func decodeOptionalJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	if r.ContentLength == 0 {
		return nil
	}
	if r.ContentLength < 0 {
		// Chunked: whether there is a body is known only by reading it.
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
		if err != nil {
			return bodyError(err, limit)
		}
		if len(bytes.TrimSpace(b)) == 0 {
			return nil
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
	}
	return decodeJSON(w, r, limit, v)
}

func bodyError(err error, limit int64) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return bluehelm.Errorf(bluehelm.ETOOLARGE, "the body is larger than %d bytes", limit)
	}
	return bluehelm.Errorf(bluehelm.EINVALID, "reading the body: %v", err)
}

func unmarshalStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(b, v, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalid("", "unexpected data after the JSON value at byte %d", dec.InputOffset())
	}
	return nil
}

// jsonError turns an encoding/json error into a domain error naming the field.
// encoding/json reports type errors with a dotted path that lacks array indices and
// unknown fields with no path at all, so the path is recomputed from the input.
func jsonError(b []byte, v any, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var de *bluehelm.Error
	switch {
	case errors.As(err, &se):
		line, col := lineCol(b, se.Offset)
		return invalid("", "malformed JSON at line %d, column %d: %v", line, col, se)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("", "malformed JSON: the body ends in the middle of a value")
	case errors.As(err, &te):
		field := pathAt(b, te.Offset)
		if field == "" {
			field = te.Field
		}
		return invalid(field, "must be %s, not a JSON %s", jsonKind(te.Type), te.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		return invalid(keyPath(b, name), "unknown field %q", name)
	case errors.As(err, &de), isTimeError(err):
		// A value's own UnmarshalJSON refused it (a Point, a time, a classification).
		// encoding/json does not say where, so look for the first such value that fails.
		if path, perr := findBadValue(b, reflect.TypeOf(v), ""); perr != nil {
			return valueError(path, perr)
		}
		return valueError("", err)
	}
	// Other errors come from UnmarshalJSON methods too (time.Time on a number).
	if path, perr := findBadValue(b, reflect.TypeOf(v), ""); perr != nil {
		return valueError(path, perr)
	}
	return invalid("", "%v", err)
}

func valueError(path string, err error) error {
	var de *bluehelm.Error
	if errors.As(err, &de) {
		f := de.Field
		switch {
		case f == "":
			f = path
		case path == "", f == path, strings.HasPrefix(f, path+"."), strings.HasPrefix(f, path+"["):
			// Geometry errors already name their path from the top of an area.
		default:
			f = path + "." + f
		}
		return &bluehelm.Error{Code: bluehelm.EINVALID, Field: f, Message: de.Message}
	}
	if isTimeError(err) {
		return invalid(path, "must be an RFC 3339 time such as 2026-03-01T14:05:00Z")
	}
	return invalid(path, "%v", err)
}

func isTimeError(err error) bool {
	var pe *time.ParseError
	return errors.As(err, &pe) || strings.HasPrefix(err.Error(), "Time.UnmarshalJSON")
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// findBadValue walks the JSON document guided by the Go type it is decoded into and
// returns the path of the first value whose own UnmarshalJSON fails, with that
// error. It only runs on the error path, so its extra decoding costs nothing on
// requests that are right.
func findBadValue(raw []byte, t reflect.Type, path string) (string, error) {
	if t == nil {
		return "", nil
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		if err := json.Unmarshal(raw, reflect.New(t).Interface()); err != nil {
			return path, err
		}
		return "", nil
	}
	switch t.Kind() {
	case reflect.Struct:
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil {
			return "", nil
		}
		var found string
		var ferr error
		walkFields(t, func(name string, ft reflect.Type) bool {
			v, ok := obj[name]
			if !ok {
				return true
			}
			found, ferr = findBadValue(v, ft, join(path, name))
			return ferr == nil
		})
		return found, ferr
	case reflect.Slice, reflect.Array:
		var arr []json.RawMessage
		if json.Unmarshal(raw, &arr) != nil {
			return "", nil
		}
		for i, v := range arr {
			if p, err := findBadValue(v, t.Elem(), path+"["+strconv.Itoa(i)+"]"); err != nil {
				return p, err
			}
		}
	}
	return "", nil
}

// walkFields calls fn with the JSON name and type of each field of struct type t,
// flattening embedded structs the way encoding/json does.
func walkFields(t reflect.Type, fn func(name string, ft reflect.Type) bool) bool {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct && !reflect.PointerTo(et).Implements(unmarshalerType) {
				if !walkFields(et, fn) {
					return false
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if !fn(name, f.Type) {
			return false
		}
	}
	return true
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// pathFrame is one level of nesting while scanning a document.
type pathFrame struct {
	array bool
	key   string
	index int
	isKey bool // in an object, the next string token is a key
}

// scanPath tokenises b, calling visit after every token with the path of the value
// (or key) it belongs to, until visit returns true.
func scanPath(b []byte, visit func(tok json.Token, isKey bool, path func() string, off int64) bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	var stack []pathFrame
	path := func() string {
		var sb strings.Builder
		for _, f := range stack {
			if f.array {
				sb.WriteString("[" + strconv.Itoa(f.index) + "]")
			} else {
				if sb.Len() > 0 {
					sb.WriteByte('.')
				}
				sb.WriteString(f.key)
			}
		}
		return sb.String()
	}
	// valueDone moves the enclosing container on to its next element.
	valueDone := func() {
		if n := len(stack); n > 0 {
			if stack[n-1].array {
				stack[n-1].index++
			} else {
				stack[n-1].isKey = true
			}
		}
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return
		}
		off := dec.InputOffset()
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				if visit(tok, false, path, off) {
					return
				}
				stack = append(stack, pathFrame{array: d == '[', isKey: d == '{', index: 0})
			case '}', ']':
				stack = stack[:len(stack)-1]
				valueDone()
			}
			continue
		}
		if n := len(stack); n > 0 && !stack[n-1].array && stack[n-1].isKey {
			stack[n-1].key, _ = tok.(string)
			stack[n-1].isKey = false
			if visit(tok, true, path, off) {
				return
			}
			continue
		}
		if visit(tok, false, path, off) {
			return
		}
		valueDone()
	}
}

// pathAt returns the path of the value that ends at (or, for a container, starts
// just before) byte offset off: where encoding/json reports a type error.
func pathAt(b []byte, off int64) string {
	var found string
	scanPath(b, func(_ json.Token, isKey bool, path func() string, o int64) bool {
		if !isKey && o >= off {
			found = path()
			return true
		}
		return false
	})
	return found
}

// keyPath returns the path of the first key named name.
func keyPath(b []byte, name string) string {
	found := name
	scanPath(b, func(tok json.Token, isKey bool, path func() string, _ int64) bool {
		if isKey && tok == name {
			found = path()
			return true
		}
		return false
	})
	return found
}

func lineCol(b []byte, off int64) (line, col int) {
	if off > int64(len(b)) {
		off = int64(len(b))
	}
	line = 1 + bytes.Count(b[:off], []byte{'\n'})
	col = int(off) - bytes.LastIndexByte(b[:off], '\n') - 1
	return line, col
}

// jsonKind names a Go type the way a JSON client thinks of it.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "another type"
}
