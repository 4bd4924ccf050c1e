package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

// TestAcknowledgedMessageSurvivesAKill sends a message to a real kaigi
// process, kills the process with SIGKILL the moment the 201 arrives,
// starts it again on the same data, and finds the message there.
func TestAcknowledgedMessageSurvivesAKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "kaigi")
	build := exec.CommandContext(t.Context(), "go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	data := filepath.Join(dir, "data")
	out, err := exec.CommandContext(t.Context(), bin, "tenant", "create", "--data", data, "--name", "Acme", "--domain", "acme.example", "--admin-email", "ada@acme.example").CombinedOutput()
	if err != nil {
		t.Fatalf("tenant create: %v\n%s", err, out)
	}
	i := strings.Index(string(out), "token=")
	token := strings.Fields(string(out)[i+len("token="):])[0]

	addr := freeAddr(t)
	base := "http://" + addr
	start := func() *exec.Cmd {
		// Media on ports of its own: nothing else on the machine may hold them.
		cmd := exec.Command(bin, "serve", "--data", data, "--addr", addr, "--media-udp-addr", "127.0.0.1:0", "--media-tcp-addr", "127.0.0.1:0")
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			if resp, err := http.Get(base + "/healthz"); err == nil {
				resp.Body.Close()
				return cmd
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatal("kaigi did not start")
		return nil
	}
	proc := start()

	c := newAPI(t, base)
	c.call("POST", "/api/v1/invitations/accept", map[string]string{"token": token, "display_name": "Ada", "password": "Vivid-Lantern-Orbit-73-Quill"}, 201, nil)
	c.call("POST", "/api/v1/auth/signin", map[string]string{"email": "ada@acme.example", "password": "Vivid-Lantern-Orbit-73-Quill"}, 200, nil)
	var enrol struct {
		ManualKey string `json:"manual_key"`
		Pending   string `json:"pending"`
	}
	c.call("POST", "/api/v1/me/factors/totp", nil, 200, &enrol)
	code, err := totp.GenerateCode(strings.ReplaceAll(enrol.ManualKey, " ", ""), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c.call("POST", "/api/v1/me/factors/totp/confirm", map[string]string{"pending": enrol.Pending, "code": code}, 201, nil)
	c.call("GET", "/api/v1/session", nil, 200, nil)
	// Password alone from now on, so the second sign-in needs no new code.
	var pol map[string]any
	c.call("GET", "/api/v1/admin/policy", nil, 200, &pol)
	pol["mfa"] = "off"
	c.call("PUT", "/api/v1/admin/policy", map[string]any{"policy": pol}, 204, nil)
	var team struct{ ID string }
	c.call("POST", "/api/v1/teams", map[string]string{"name": "Crash"}, 201, &team)
	var chans []struct{ ID string }
	c.call("GET", "/api/v1/channels", nil, 200, &chans)

	var sent struct {
		ID  string
		Seq int64
	}
	c.call("POST", "/api/v1/channels/"+chans[0].ID+"/messages", map[string]string{"body": "acknowledged, then the power went"}, 201, &sent)
	if err := proc.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	proc.Wait()

	start()
	c = newAPI(t, base)
	c.call("POST", "/api/v1/auth/signin", map[string]string{"email": "ada@acme.example", "password": "Vivid-Lantern-Orbit-73-Quill"}, 200, nil)
	var msgs []struct {
		ID   string
		Seq  int64
		Body string
	}
	c.call("GET", "/api/v1/channels/"+chans[0].ID+"/messages", nil, 200, &msgs)
	if len(msgs) != 1 || msgs[0].ID != sent.ID || msgs[0].Seq != sent.Seq || msgs[0].Body != "acknowledged, then the power went" {
		t.Fatalf("after the kill: %+v, want the acknowledged message %+v", msgs, sent)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type api struct {
	t    *testing.T
	base string
	http *http.Client
	csrf string
}

func newAPI(t *testing.T, base string) *api {
	jar, _ := cookiejar.New(nil)
	return &api{t: t, base: base, http: &http.Client{Jar: jar, Timeout: 20 * time.Second}}
}

func (a *api) call(method, path string, body any, want int, out any) {
	a.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequestWithContext(a.t.Context(), method, a.base+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.csrf != "" {
		req.Header.Set("X-CSRF-Token", a.csrf)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		a.t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, want)
	}
	var s struct{ CSRF string }
	if json.Unmarshal(b, &s) == nil && s.CSRF != "" {
		a.csrf = s.CSRF
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			a.t.Fatalf("decode %s: %v", b, err)
		}
	}
}
