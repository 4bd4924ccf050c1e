package httpapi

import (
	"net/http"

	"github.com/kaigi/kaigi/internal/principal"
)

// None is the request or response body of a route that has none.
type None = struct{}

// JSON adapts a function of the decoded request body to a HandlerFunc: the
// body is decoded into Req (unless Req is None), fn is called, and its answer
// is written as JSON with status — or, for 204, no body at all.
func JSON[Req, Resp any](status int, fn func(r *http.Request, p principal.Principal, req Req) (Resp, error)) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
		var req Req
		if _, none := any(req).(None); !none {
			if err := DecodeJSON(r, &req); err != nil {
				return err
			}
		}
		resp, err := fn(r, p, req)
		if err != nil {
			return err
		}
		if status == http.StatusNoContent {
			w.WriteHeader(status)
			return nil
		}
		WriteJSON(w, status, resp)
		return nil
	}
}
