package chat

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/keys"
	"github.com/kaigi/kaigi/internal/principal"
)

// Blobs keeps file contents (the blob store seals them with the tenant's keys).
type Blobs interface {
	Put(ctx context.Context, tenant ids.TenantID, key string, r io.Reader) (int64, error)
	Get(ctx context.Context, tenant ids.TenantID, key string) (io.ReadCloser, error)
	Delete(ctx context.Context, tenant ids.TenantID, key string) error
}

// File is an attachment.
type File struct {
	ID          string       `json:"id"`
	Tenant      ids.TenantID `json:"-"`
	Channel     string       `json:"-"`
	Message     string       `json:"message"`
	Uploader    ids.UserID   `json:"uploader"`
	Name        string       `json:"name"`
	Size        int64        `json:"size"`
	ContentType string       `json:"content_type" doc:"What the content is, as detected by Kaigi (not as the uploader said)."`
	SHA256      string       `json:"sha256"`
	SealedName  []byte       `json:"-"` // the name as stored: sealed like content
}

// FileNameAAD labels an attachment's sealed name (also opened by retention
// and eDiscovery).
func FileNameAAD(id string) keys.AAD { return keys.AAD{Kind: "chat-file-name", ID: id} }

// openFiles opens the stored names of files.
func (s *Service) openFiles(ctx context.Context, fs []File) ([]File, error) {
	for i := range fs {
		b, err := s.keys.Open(ctx, fs[i].Tenant, FileNameAAD(fs[i].ID), fs[i].SealedName)
		if err != nil {
			return nil, err
		}
		fs[i].Name = string(b)
	}
	return fs, nil
}

// FileKey is where an attachment's sealed content is kept in the blob
// store (retention and eDiscovery find it there too).
func FileKey(id string) string { return "files/" + id }

// checkFileName keeps the last path element and refuses names a person
// could be fooled by.
func checkFileName(name string) (string, error) {
	name = path.Base(strings.ReplaceAll(strings.TrimSpace(name), "\\", "/"))
	if name == "." || name == "/" || name == "" || len(name) > 255 || !utf8.ValidString(name) ||
		strings.ContainsFunc(name, UnsafeInLine) {
		return "", errs.E(errs.Invalid, "Give the file a name of 1 to 255 characters, without control or direction-changing characters.")
	}
	return name, nil
}

// families are content kinds a file name's extension promises.
var families = map[string]string{
	".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp",
	".pdf": "application/pdf", ".zip": "application/zip", ".gz": "application/x-gzip",
	".mp4": "video/mp4", ".mp3": "audio/mpeg", ".wav": "audio/wave",
	".txt": "text/plain", ".csv": "text/plain", ".md": "text/plain", ".json": "text/plain", ".log": "text/plain",
}

// checkType detects what the first bytes of a file are and refuses a file
// whose name promises something else — a "photo.png" that is a web page.
func checkType(name string, head []byte) (string, error) {
	detected := http.DetectContentType(head)
	base, _, _ := mime.ParseMediaType(detected)
	ext := strings.ToLower(path.Ext(name))
	isHTML := base == "text/html" || base == "text/xml"
	if isHTML && ext != ".html" && ext != ".htm" && ext != ".xml" && ext != ".svg" {
		return "", errs.E(errs.Unsupported, "The file %q is named like a %s file but contains a web page. Rename it, or zip it.", name, strings.TrimPrefix(ext, "."))
	}
	if want, ok := families[ext]; ok {
		switch {
		case want == "text/plain" && strings.HasPrefix(base, "text/plain"):
		case want == "application/zip" && (base == "application/zip" || base == "application/x-gzip"):
		case want == base:
		case len(head) == 0:
		default:
			return "", errs.E(errs.Unsupported, "The file %q is named like a %s file but its content is %s. Rename it to match what it is.", name, strings.TrimPrefix(ext, "."), base)
		}
	}
	return base, nil
}

// SendFile stores a file, sealed, and posts it to a channel as a message
// with an optional caption. The file's type is detected from its content.
func (s *Service) SendFile(ctx context.Context, p principal.Principal, channel, name string, content io.Reader, caption string) (View, error) {
	if s.blobs == nil {
		return View{}, errs.E(errs.Unavailable, "File storage is not configured.")
	}
	name, err := checkFileName(name)
	if err != nil {
		return View{}, err
	}
	var mentions []ids.UserID
	if strings.TrimSpace(caption) != "" {
		if mentions, err = checkBody(caption); err != nil {
			return View{}, err
		}
	}
	c, err := s.channel(ctx, p, channel)
	if err != nil {
		return View{}, err
	}
	if !c.Archived.IsZero() {
		return View{}, ErrArchived
	}
	if c.Kind == External {
		return View{}, errs.E(errs.Invalid, "Files cannot be sent in chats with other organisations yet.")
	}
	head := make([]byte, 512)
	n, err := io.ReadFull(content, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return View{}, errs.Wrap(errs.Invalid, err, "The upload could not be read.")
	}
	head = head[:n]
	ctype, err := checkType(name, head)
	if err != nil {
		return View{}, err
	}
	f := File{ID: ids.New(), Tenant: c.Tenant, Channel: c.ID, Uploader: p.User, Name: name, ContentType: ctype}
	h := sha256.New()
	limited := &io.LimitedReader{R: io.MultiReader(bytes.NewReader(head), content), N: s.maxFile + 1}
	size, err := s.blobs.Put(ctx, c.Tenant, FileKey(f.ID), io.TeeReader(limited, h))
	if err != nil {
		return View{}, errs.Wrap(errs.CodeOf(err), err, "The file could not be stored: %s", errs.MessageOf(err))
	}
	cleanup := func() {
		if err := s.blobs.Delete(context.WithoutCancel(ctx), c.Tenant, FileKey(f.ID)); err != nil {
			s.log.WarnContext(ctx, "remove unused blob", "file", f.ID, "err", err)
		}
	}
	if size > s.maxFile {
		cleanup()
		return View{}, errs.E(errs.TooLarge, "The file is too large: at most %d MiB.", s.maxFile>>20)
	}
	f.Size, f.SHA256 = size, hex.EncodeToString(h.Sum(nil))
	// A file's name can say as much as its content ("layoffs-2027.xlsx"):
	// it is sealed too.
	if f.SealedName, err = s.keys.Seal(ctx, c.Tenant, FileNameAAD(f.ID), []byte(name)); err != nil {
		cleanup()
		return View{}, err
	}

	now := s.now()
	m := Message{ID: ids.New(), Tenant: c.Tenant, Channel: c.ID, Author: p.User, Created: now, Version: 1}
	f.Message = m.ID
	if m.Body, err = s.keys.Seal(ctx, c.Tenant, BodyAAD(m.ID, 1), []byte(caption)); err != nil {
		cleanup()
		return View{}, err
	}
	view := View{ID: m.ID, Channel: c.ID, Author: p.User, Created: now, Body: caption, Mentions: mentions, Files: []File{f}}
	var ev Event
	err = s.store.UpdateChat(ctx, func(tx Tx) error {
		var err error
		if ev, err = s.appendEvent(ctx, tx, c, &Payload{Kind: EventMessage, At: now, Actor: p.User, Message: &view}); err != nil {
			return err
		}
		m.Seq = ev.Seq
		if err := tx.InsertMessage(ctx, m); err != nil {
			return err
		}
		if err := tx.InsertFile(ctx, f); err != nil {
			return err
		}
		if err := tx.SetReadSeq(ctx, c.ID, p.User, ev.Seq); err != nil {
			return err
		}
		_, err = s.audit.Append(ctx, tx, audit.Entry{Actor: p, Action: "file.upload", Target: "file:" + f.ID,
			Details: map[string]string{"channel": c.ID, "message": m.ID, "bytes": strconv.FormatInt(size, 10), "type": ctype, "sha256": f.SHA256}})
		return err
	})
	if err != nil {
		cleanup()
		return View{}, err
	}
	s.publish(ctx, ev)
	return view, nil
}

// OpenFile returns a file of a channel the actor can see, with its content.
func (s *Service) OpenFile(ctx context.Context, p principal.Principal, id string) (File, io.ReadCloser, error) {
	if err := tenantUser(p); err != nil {
		return File{}, nil, err
	}
	f, err := s.store.File(ctx, id)
	if err != nil || f.Tenant != p.Tenant {
		return File{}, nil, errs.E(errs.Forbidden, "You do not have access to this file (or it does not exist).")
	}
	if _, err := s.channel(ctx, p, f.Channel); err != nil {
		return File{}, nil, errs.E(errs.Forbidden, "You do not have access to this file (or it does not exist).")
	}
	opened, err := s.openFiles(ctx, []File{f})
	if err != nil {
		return File{}, nil, err
	}
	f = opened[0]
	rc, err := s.blobs.Get(ctx, f.Tenant, FileKey(f.ID))
	if err != nil {
		return File{}, nil, err
	}
	return f, rc, nil
}
