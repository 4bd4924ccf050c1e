package app_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/moderation"
)

// TestModerationExternalKeyIsWriteOnly: an admin sets an external
// service's key through the API; GET returns only that a key is set, the
// audit record and the database hold no copy of it, and a compliance
// officer can neither read it nor turn the service on. No message is sent,
// so the (unreachable) endpoint is never called.
func TestModerationExternalKeyIsWriteOnly(t *testing.T) {
	w := startModerationWorld(t)
	key := "sk-CANARY" + strings.ReplaceAll(ids.New(), "-", "")
	ext := map[string]any{"backend": "openai", "mode": "second_opinion", "endpoint": "https://moderation.invalid", "key": key}
	if r := w.officer.do("PUT", "/api/v1/moderation/policy", map[string]any{"rules": []any{}, "external": ext}); r.status != 403 {
		t.Fatalf("officer enables: %d %s", r.status, r.body)
	}
	if r := w.admin.do("PUT", "/api/v1/moderation/policy", map[string]any{"rules": []any{}, "external": ext}); r.status != 204 {
		t.Fatalf("admin enables: %d %s", r.status, r.body)
	}
	for _, c := range []*client{w.admin, w.officer} {
		r := c.do("GET", "/api/v1/moderation/policy", nil)
		var pol moderation.Policy
		r.json(t, &pol)
		if r.status != 200 || bytes.Contains(r.body, []byte(key)) || bytes.Contains(r.body, []byte("sealed_key")) || pol.External == nil || !pol.External.KeySet {
			t.Fatalf("GET policy: %d %s", r.status, r.body)
		}
	}
	recs, err := w.s.DB.AuditRecords(t.Context(), w.tenant.ID, 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range recs {
		if strings.Contains(r.Details, key) {
			t.Fatalf("audit record %s holds the key", r.Action)
		}
		found = found || (r.Action == "moderation.policy.update" && r.DetailMap()["external"] == "openai")
	}
	if !found {
		t.Fatal("enabling the external service was not audited")
	}
	// Saved again unchanged by the officer (the key field left empty): the key is kept.
	delete(ext, "key")
	if r := w.officer.do("PUT", "/api/v1/moderation/policy", map[string]any{"rules": []any{}, "external": ext}); r.status != 204 {
		t.Fatalf("officer saves unchanged: %d %s", r.status, r.body)
	}
	var pol moderation.Policy
	w.admin.do("GET", "/api/v1/moderation/policy", nil).json(t, &pol)
	if pol.External == nil || !pol.External.KeySet {
		t.Fatalf("key lost: %+v", pol.External)
	}
}
