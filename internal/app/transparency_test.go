package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/kaigi/kaigi/internal/httpapi"
	"github.com/kaigi/kaigi/internal/store"
	"github.com/kaigi/kaigi/internal/transparency"
	"github.com/kaigi/kaigi/internal/webhook"
)

// TestTransparencyLogThroughTheAPI: a tenant admin fetches the tenant's
// access-transparency log through the API and checks it with nothing but
// the service's published verifier key — first in full, then the new
// entries against the state kept — and checks an inclusion proof; bad
// questions get clear refusals; a member of the tenant is refused.
func TestTransparencyLogThroughTheAPI(t *testing.T) {
	w := startChatWorld(t)
	add := func(from, n int) {
		t.Helper()
		for i := from; i < from+n; i++ {
			err := w.s.DB.InTx(t.Context(), func(tx *store.Tx) error {
				_, err := w.s.Transparency.Append(t.Context(), tx, w.tenant.ID, "access",
					map[string]any{"operator": "op-1", "resource": "channel:" + string(w.general.ID), "n": i})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	var svc struct {
		VerifierKey string `json:"verifier_key"`
	}
	w.admin.do("GET", "/api/v1/service", nil).json(t, &svc)

	add(0, 5)
	var b transparency.Bundle
	if r := w.admin.do("GET", "/api/v1/transparency/bundle", nil); r.status != 200 {
		t.Fatalf("bundle: %d %s", r.status, r.body)
	} else {
		r.json(t, &b)
	}
	state, rep, err := transparency.VerifyBundle(nil, b, svc.VerifierKey)
	if err != nil || rep.Size != 5 || len(rep.New) != 5 {
		t.Fatalf("full check: %+v %v", rep, err)
	}

	add(5, 3)
	w.admin.do("GET", fmt.Sprintf("/api/v1/transparency/bundle?since=%d&first=%d", state.Size, state.Size), nil).json(t, &b)
	next, rep, err := transparency.VerifyBundle(&state, b, svc.VerifierKey)
	if err != nil || next.Size != 8 || len(rep.New) != 3 || rep.New[0].Index != 5 {
		t.Fatalf("incremental check: %+v %v", rep, err)
	}

	var leaves []transparency.Leaf
	w.admin.do("GET", "/api/v1/transparency/entries?from=2&limit=1", nil).json(t, &leaves)
	var proof struct {
		Hashes [][]byte `json:"hashes"`
	}
	if r := w.admin.do("GET", "/api/v1/transparency/proofs/inclusion?index=2&size=8", nil); r.status != 200 {
		t.Fatalf("inclusion proof: %d %s", r.status, r.body)
	} else {
		r.json(t, &proof)
	}
	cp, err := transparency.OpenCheckpoint(b.Checkpoint, svc.VerifierKey, b.Origin)
	if err != nil || len(leaves) != 1 {
		t.Fatalf("checkpoint: %v, leaves %d", err, len(leaves))
	}
	if err := transparency.VerifyInclusion(cp, leaves[0], proof.Hashes); err != nil {
		t.Fatalf("inclusion: %v", err)
	}
	var cons struct {
		Hashes [][]byte `json:"hashes"`
	}
	w.admin.do("GET", "/api/v1/transparency/proofs/consistency?from=5&to=8", nil).json(t, &cons)
	if len(cons.Hashes) == 0 {
		t.Fatal("an empty consistency proof between 5 and 8")
	}

	for _, bad := range []string{
		"/api/v1/transparency/bundle?since=abc",
		"/api/v1/transparency/bundle?since=99",
		"/api/v1/transparency/proofs/inclusion?index=8&size=8",
		"/api/v1/transparency/proofs/consistency?from=0&to=8",
		"/api/v1/transparency/checkpoints/0",
		"/api/v1/transparency/checkpoints/x",
		"/api/v1/transparency/entries?from=-1",
	} {
		if r := w.admin.do("GET", bad, nil); r.status != 400 {
			t.Errorf("%s: %d %s, want 400", bad, r.status, r.body)
		}
	}
	if r := w.member.do("GET", "/api/v1/transparency/head", nil); r.status != 403 {
		t.Fatalf("a member read the transparency log: %d", r.status)
	}
}

// TestTransparencyLiveFeed: a tenant admin's WebSocket gets the entries
// from where it asked, then each new one live, each batch followed by the
// signed head; a member may not open it; a bad start is refused.
func TestTransparencyLiveFeed(t *testing.T) {
	w := startChatWorld(t)
	add := func(n int) {
		t.Helper()
		for i := range n {
			if err := w.s.DB.InTx(t.Context(), func(tx *store.Tx) error {
				_, err := w.s.Transparency.Append(t.Context(), tx, w.tenant.ID, "access", map[string]any{"n": i})
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	add(3)
	dial := func(c *client, query string) (*websocket.Conn, int) {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		h := http.Header{}
		h.Set("Origin", w.s.URL)
		ws, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(w.s.URL, "http")+"/api/v1/transparency/live"+query, &websocket.DialOptions{HTTPClient: c.http, HTTPHeader: h})
		if err != nil {
			if resp == nil {
				t.Fatal(err)
			}
			return nil, resp.StatusCode
		}
		t.Cleanup(func() { ws.CloseNow() })
		return ws, http.StatusSwitchingProtocols
	}
	if _, status := dial(w.member, ""); status != 403 {
		t.Fatalf("a member opened the live feed: %d", status)
	}
	if _, status := dial(w.admin, "?from=99"); status != 400 {
		t.Fatalf("a start past the end: %d", status)
	}
	ws, status := dial(w.admin, "?from=1")
	if status != http.StatusSwitchingProtocols {
		t.Fatalf("open the live feed: %d", status)
	}
	next := func() httpapi.LiveFrame {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		_, b, err := ws.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var f httpapi.LiveFrame
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatal(err)
		}
		return f
	}
	for _, want := range []uint64{1, 2} {
		if f := next(); f.Type != "entry" || f.Leaf.Index != want {
			t.Fatalf("frame %+v, want entry %d", f, want)
		}
	}
	if f := next(); f.Type != "head" || f.Size != 3 || !strings.Contains(f.Checkpoint, "\n3\n") {
		t.Fatalf("head frame %+v", f)
	}
	add(1)
	if f := next(); f.Type != "entry" || f.Leaf.Index != 3 {
		t.Fatalf("the live entry: %+v", f)
	}
	if f := next(); f.Type != "head" || f.Size != 4 {
		t.Fatalf("the new head: %+v", f)
	}
}

// TestTransparencyWebhookDeliversEveryEntrySigned: a tenant admin
// subscribes a local TLS endpoint; every new entry arrives once, in order,
// signed with the secret shown once, with the signed head; after the
// receiver fails it is retried from the same entry; an unsafe endpoint is
// refused; removing the webhook stops deliveries.
func TestTransparencyWebhookDeliversEveryEntrySigned(t *testing.T) {
	w := startChatWorld(t)
	var mu sync.Mutex
	var got []transparency.Leaf
	var heads []string
	fail := atomic.Int32{}
	var secret []byte
	srv := httptest.NewTLSServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if fail.Load() > 0 {
			fail.Add(-1)
			rw.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if err := webhook.Verify(secret, r.Header.Get(webhook.HeaderTimestamp), r.Header.Get(webhook.HeaderSignature), body, w.s.Clock.Now(), time.Minute); err != nil {
			t.Errorf("delivery signature: %v", err)
			rw.WriteHeader(http.StatusUnauthorized)
			return
		}
		var d transparency.HookDelivery
		if err := json.Unmarshal(body, &d); err != nil {
			t.Errorf("delivery body: %v", err)
		}
		got = append(got, d.Leaves...)
		heads = append(heads, d.Checkpoint)
	}))
	defer srv.Close()
	w.s.TransparencyHooks.AllowLoopbackEndpoints(true)
	add := func(n int) {
		t.Helper()
		for i := range n {
			if err := w.s.DB.InTx(t.Context(), func(tx *store.Tx) error {
				_, err := w.s.Transparency.Append(t.Context(), tx, w.tenant.ID, "access", map[string]any{"n": i})
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	add(2)
	for _, bad := range []string{"http://example.com/hook", "https://169.254.169.254/latest"} {
		if r := w.admin.do("POST", "/api/v1/transparency/webhooks", map[string]any{"url": bad}); r.status != 400 {
			t.Fatalf("unsafe endpoint %s: %d %s", bad, r.status, r.body)
		}
	}
	var created httpapi.HookCreated
	if r := w.admin.do("POST", "/api/v1/transparency/webhooks", map[string]any{"url": srv.URL + "/kaigi", "from_start": true}); r.status != 201 {
		t.Fatalf("subscribe: %d %s", r.status, r.body)
	} else {
		r.json(t, &created)
	}
	mu.Lock()
	secret = []byte(created.Secret)
	mu.Unlock()
	// The test server's certificate is its own: trust it through the
	// process's default pool is not possible, so deliver with its client.
	w.s.TransparencyHooks.SetClientTLS(srv.Client().Transport.(*http.Transport).TLSClientConfig)
	deliver := func() {
		t.Helper()
		due, _ := store.TransparencyHooks(w.s.DB).DueHooks(t.Context(), w.s.Clock.Now())
		for _, hk := range due {
			w.s.TransparencyHooks.Deliver(t.Context(), hk)
		}
	}
	deliver()
	add(3)
	fail.Store(1)
	deliver() // refused by the receiver: retried later from the same entry
	w.s.Clock.Advance(2 * time.Second)
	deliver()
	mu.Lock()
	if len(got) != 5 {
		t.Fatalf("%d entries delivered, want 5", len(got))
	}
	for i, l := range got {
		if l.Index != uint64(i) {
			t.Fatalf("entry %d delivered as %d", i, l.Index)
		}
	}
	mu.Unlock()
	var hooks []transparency.Hook
	w.admin.do("GET", "/api/v1/transparency/webhooks", nil).json(t, &hooks)
	if len(hooks) != 1 || hooks[0].Next != 5 || hooks[0].Failures != 0 || strings.Contains(fmt.Sprint(hooks), created.Secret) {
		t.Fatalf("hooks: %+v", hooks)
	}
	if r := w.admin.do("DELETE", "/api/v1/transparency/webhooks/"+created.Hook.ID, nil); r.status != 204 {
		t.Fatalf("remove: %d", r.status)
	}
	add(1)
	w.s.Clock.Advance(time.Minute)
	deliver()
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 5 {
		t.Fatal("a removed webhook was delivered to")
	}
	if r := w.member.do("GET", "/api/v1/transparency/webhooks", nil); r.status != 403 {
		t.Fatalf("a member listed the webhooks: %d", r.status)
	}
}
