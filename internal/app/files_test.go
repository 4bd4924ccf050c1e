package app_test

import (
	"bytes"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kaigi/kaigi/internal/chat"
	"github.com/kaigi/kaigi/internal/config"
	"github.com/kaigi/kaigi/internal/ids"
)

// upload posts raw file content to a channel.
func upload(t *testing.T, c *client, channel, name string, content []byte) response {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "POST", c.base+"/api/v1/channels/"+channel+"/files?name="+url.QueryEscape(name), bytes.NewReader(content))
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("X-CSRF-Token", c.csrf)
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func TestFilesAreCheckedSealedAndNeverServedInline(t *testing.T) {
	w := startChatWorld(t)
	ch := w.general.ID
	canary := "CANARY-FILE-" + ids.New()
	content := []byte(strings.Repeat("quarterly numbers "+canary+"\n", 5000))
	r := upload(t, w.member, ch, "../../etc/report.txt", content)
	if r.status != 201 {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	var v chat.View
	r.json(t, &v)
	if len(v.Files) != 1 || v.Files[0].Name != "report.txt" || v.Files[0].Size != int64(len(content)) || !strings.HasPrefix(v.Files[0].ContentType, "text/plain") {
		t.Fatalf("the file: %+v", v.Files)
	}
	f := v.Files[0]

	// The teammate downloads it: an attachment, never inline, byte for byte.
	r = w.guest.do("GET", "/api/v1/files/"+f.ID, nil)
	if r.status != 200 || !bytes.Equal(r.body, content) {
		t.Fatalf("download: %d, %d bytes", r.status, len(r.body))
	}
	if ct := r.header.Get("Content-Type"); ct != "application/octet-stream" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := r.header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment") || !strings.Contains(cd, "report.txt") {
		t.Errorf("Content-Disposition %q", cd)
	}
	if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "sandbox") {
		t.Errorf("CSP %q", csp)
	}
	// The listing carries it too.
	var views []chat.View
	w.admin.do("GET", "/api/v1/channels/"+ch+"/messages", nil).json(t, &views)
	if len(views) != 1 || len(views[0].Files) != 1 || views[0].Files[0].SHA256 != f.SHA256 {
		t.Fatalf("listing: %+v", views)
	}

	// Files that lie about their type are refused.
	for name, body := range map[string][]byte{
		"holiday.png": []byte("<!DOCTYPE html><html><script>alert(document.cookie)</script></html>"),
		"notes.txt":   []byte("<html><body onload=alert(1)>hi</body></html>"),
		"scan.pdf":    []byte("\x89PNG\r\n\x1a\n0000000000000"),
		"invoice.jpg": []byte("just some text pretending to be an image"),
	} {
		if r := upload(t, w.member, ch, name, body); r.status != 415 {
			t.Errorf("%s: %d %s, want 415", name, r.status, r.body)
		}
	}
	for _, name := range []string{"", "a\u202Etxt.exe", strings.Repeat("x", 300)} {
		if r := upload(t, w.member, ch, name, []byte("x")); r.status != 400 {
			t.Errorf("name %q: %d, want 400", name, r.status)
		}
	}
	// Outsiders cannot fetch it.
	outsider := inviteAndSignIn(t, w.world, "ollie@acme.example")
	if r := outsider.do("GET", "/api/v1/files/"+f.ID, nil); r.status != 403 {
		t.Fatalf("an outsider downloads: %d", r.status)
	}
	if r := upload(t, outsider, ch, "x.txt", []byte("x")); r.status != 403 {
		t.Fatalf("an outsider uploads: %d", r.status)
	}
	// The name is sealed too, and still reads back.
	secretName := "merger-" + canary + ".txt"
	if r := upload(t, w.member, ch, secretName, []byte("x")); r.status != 201 {
		t.Fatalf("upload with a telling name: %d %s", r.status, r.body)
	}
	w.admin.do("GET", "/api/v1/channels/"+ch+"/messages", nil).json(t, &views)
	if len(views[0].Files) != 1 || views[0].Files[0].Name != secretName {
		t.Fatalf("the sealed name does not read back: %+v", views[0].Files)
	}
	// The content and the name are sealed on disk.
	filepath.WalkDir(w.s.Config.DataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if b, _ := os.ReadFile(path); bytes.Contains(b, []byte(canary)) {
			t.Errorf("file content or name in plaintext in %s", path)
		}
		return nil
	})
}

func TestOversizedFilesAreRefusedAndLeaveNothing(t *testing.T) {
	w := startWorldWith(t, func(c *config.Config) { c.MaxFileBytes = 4096 })
	var team chat.Team
	w.admin.do("POST", "/api/v1/teams", map[string]string{"name": "T"}).json(t, &team)
	var chans []chat.Channel
	w.admin.do("GET", "/api/v1/channels", nil).json(t, &chans)
	r := upload(t, w.admin, chans[0].ID, "big.txt", bytes.Repeat([]byte("x"), 5000))
	if r.status != 413 || !strings.Contains(string(r.body), "too large") {
		t.Fatalf("oversized: %d %s", r.status, r.body)
	}
	if r := upload(t, w.admin, chans[0].ID, "small.txt", bytes.Repeat([]byte("x"), 4096)); r.status != 201 {
		t.Fatalf("at the limit: %d %s", r.status, r.body)
	}
	files := 0
	filepath.WalkDir(filepath.Join(w.s.Config.DataDir, "blobs"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files++
		}
		return nil
	})
	if files != 1 {
		t.Fatalf("%d blobs on disk, want only the accepted one", files)
	}
}
