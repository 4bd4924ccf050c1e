package httpapi

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/kaigi/kaigi/internal/chat"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/principal"
)

// RegisterFiles registers upload and download of attachments. Uploads are
// the raw file as the request body; downloads are always attachments of
// type application/octet-stream in a sandbox, so that no upload can ever run
// as a page of Kaigi's origin.
func RegisterFiles(s *Server, c *chat.Service, maxFile int64) {
	s.Handle(Route{Method: http.MethodPost, Pattern: "/api/v1/channels/{id}/files", Policy: principal.TenantUser, MaxBody: maxFile + 1,
		Doc: Doc{Summary: "Upload a file (the request body) to a channel as a message; ?name= the file name, ?caption= optional text.", Tag: "chat", Response: chat.View{}, Status: http.StatusCreated},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			q := r.URL.Query()
			v, err := c.SendFile(r.Context(), p, r.PathValue("id"), q.Get("name"), r.Body, q.Get("caption"))
			if err != nil {
				var mbe *http.MaxBytesError
				if errors.As(err, &mbe) {
					return errs.E(errs.TooLarge, "The file is too large: at most %d MiB.", maxFile>>20)
				}
				return err
			}
			WriteJSON(w, http.StatusCreated, v)
			return nil
		}})
	s.Handle(Route{Method: http.MethodGet, Pattern: "/api/v1/files/{id}", Policy: principal.TenantUser, Raw: true,
		Doc: Doc{Summary: "Download a file, always as an attachment.", Tag: "chat", ContentType: "application/octet-stream"},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			f, rc, err := c.OpenFile(r.Context(), p, r.PathValue("id"))
			if err != nil {
				return err
			}
			defer rc.Close()
			h := w.Header()
			h.Set("Content-Type", "application/octet-stream")
			h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": f.Name}))
			h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
			h.Set("Cache-Control", "private, no-store")
			h.Set("Content-Length", strconv.FormatInt(f.Size, 10))
			h.Set("X-Kaigi-Content-Type", f.ContentType)
			h.Set("X-Kaigi-SHA256", f.SHA256)
			w.WriteHeader(http.StatusOK)
			_, err = io.Copy(w, rc)
			if err != nil {
				// Headers are gone; a broken or tampered blob ends the
				// download short, which the client sees as an error.
				panic(http.ErrAbortHandler)
			}
			return nil
		}})
}
