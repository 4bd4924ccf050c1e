package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kaigi/kaigi/internal/errs"
)

// ErrorBody is the one shape of every error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what went wrong, in words for a person.
type ErrorDetail struct {
	Code      errs.Code `json:"code" doc:"Machine-readable kind of error."`
	Message   string    `json:"message" doc:"What went wrong, for a person."`
	RequestID string    `json:"request_id" doc:"Quote this when asking for help."`
}

// Status maps an error code to its HTTP status. It is the only such mapping.
func Status(c errs.Code) int {
	switch c {
	case errs.Invalid:
		return http.StatusBadRequest
	case errs.Unauthenticated:
		return http.StatusUnauthorized
	case errs.Forbidden:
		return http.StatusForbidden
	case errs.NotFound:
		return http.StatusNotFound
	case errs.Conflict:
		return http.StatusConflict
	case errs.TooLarge:
		return http.StatusRequestEntityTooLarge
	case errs.Unsupported:
		return http.StatusUnsupportedMediaType
	case errs.NotAllowed:
		return http.StatusMethodNotAllowed
	case errs.RateLimited:
		return http.StatusTooManyRequests
	case errs.Unavailable:
		return http.StatusServiceUnavailable
	case errs.ModerationWarning, errs.ModerationHeld:
		return http.StatusUnprocessableEntity
	}
	return http.StatusInternalServerError
}

// WriteError renders err in the error shape. Only internal errors are logged
// with their cause; the client never sees the cause.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	code := errs.CodeOf(err)
	status := Status(code)
	rid := RequestID(r.Context())
	if status >= 500 {
		log.ErrorContext(r.Context(), "request failed", "request_id", rid, "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if d := errs.RetryAfterOf(err); d > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((d+time.Second-1)/time.Second)))
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="kaigi"`)
	}
	WriteJSON(w, status, ErrorBody{Error: ErrorDetail{Code: code, Message: errs.MessageOf(err), RequestID: rid}})
}

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}

// DecodeJSON reads the request body into v: JSON only, one value, no unknown
// fields, within the server's size limit. Its errors say what to fix.
func DecodeJSON(r *http.Request, v any) error {
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		return errs.E(errs.Unsupported, "Send the request body as JSON (Content-Type: application/json).")
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		if err != nil && isTooLarge(err) {
			return jsonError(err)
		}
		return errs.E(errs.Invalid, "The request body must hold exactly one JSON value.")
	}
	return nil
}

func isTooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

func jsonError(err error) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
	)
	switch {
	case isTooLarge(err):
		var mbe *http.MaxBytesError
		errors.As(err, &mbe)
		return errs.Wrap(errs.TooLarge, err, "The request body is too large (the limit is %d bytes).", mbe.Limit)
	case errors.As(err, &syn):
		return errs.Wrap(errs.Invalid, err, "The request body is not valid JSON (error near byte %d).", syn.Offset)
	case errors.As(err, &typ):
		return errs.Wrap(errs.Invalid, err, "The field %q must be of type %s.", typ.Field, typ.Type.String())
	case errors.Is(err, io.EOF):
		return errs.E(errs.Invalid, "The request body is empty; send a JSON object.")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errs.E(errs.Invalid, "The request body ends in the middle of a JSON value.")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return errs.Wrap(errs.Invalid, err, "The request has a field this API does not know: %s.", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return errs.Wrap(errs.Invalid, err, "The request body could not be read as JSON.")
}
