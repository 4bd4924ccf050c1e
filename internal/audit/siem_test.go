package audit_test

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/webhook"
)

// TestWebhookSignatureChecksWithOpenSSL: the documented way to check a
// delivery, with openssl outside Kaigi, agrees with webhook.Sign.
func TestWebhookSignatureChecksWithOpenSSL(t *testing.T) {
	secret, ts := "s3cr3t-from-kaigi", "1767225600"
	body := []byte(`{"tenant":"t","sink":"s","records":[{"seq":1,"target":"a \"quoted\" $thing"}]}`)
	sig := webhook.Sign([]byte(secret), ts, body)
	cmd := exec.CommandContext(t.Context(), "openssl", "dgst", "-sha256", "-hmac", secret, "-hex")
	cmd.Stdin = strings.NewReader(ts + "." + string(body))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl: %v", err)
	}
	fields := strings.Fields(string(out))
	if got := "v1=" + fields[len(fields)-1]; got != sig {
		t.Fatalf("openssl computes %s, Kaigi sends %s", got, sig)
	}
	now := time.Unix(1767225600, 0)
	if err := webhook.Verify([]byte(secret), ts, sig, body, now, time.Minute); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		secret, ts, sig string
		body            []byte
		now             time.Time
	}{
		"wrong secret":    {"other", ts, sig, body, now},
		"changed body":    {secret, ts, sig, append([]byte(" "), body...), now},
		"changed time":    {secret, "1767225601", sig, body, now},
		"replayed later":  {secret, ts, sig, body, now.Add(time.Hour)},
		"not a timestamp": {secret, "soon", sig, body, now},
	} {
		if err := webhook.Verify([]byte(tc.secret), tc.ts, tc.sig, tc.body, tc.now, time.Minute); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestSafeCellDefusesFormulas(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"equals", "=1+1", "'=1+1"},
		{"plus", "+1", "'+1"},
		{"minus", "-1", "'-1"},
		{"at", "@SUM(A1)", "'@SUM(A1)"},
		{"tab", "\t=1", "'\t=1"},
		{"carriage return", "\r=1", "'\r=1"},
		{"plain", "channel:abc", "channel:abc"},
		{"empty", "", ""},
		{"inner equals", "a=b", "a=b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := audit.SafeCell(tc.in); got != tc.want {
				t.Fatalf("SafeCell(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestSyslogMessageIsRFC5424(t *testing.T) {
	r := audit.Record{Tenant: "t1", Seq: 7, Time: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC), ActorID: "u1", ActorKind: "member",
		Action: "chat.message send\x00", Target: `a"b]c\d`, Result: audit.Denied, Details: "{}"}
	got := string(audit.SyslogMessage(r))
	want := `<108>1 2026-01-02T03:04:05.000006Z kaigi kaigi - chat.message_send_ [kaigi@32473 tenant="t1" seq="7" actor_id="u1" actor_kind="member" source="" target="a\"b\]c\\d" result="denied" hash=""] ` + "\ufeff{"
	if !strings.HasPrefix(got, want) {
		t.Fatalf("got  %q\nwant %q…", got, want)
	}
}

func TestFilterFieldsNamesOnly(t *testing.T) {
	f := audit.Filter{ActorID: "secret-person", Action: "chat.", Result: audit.Denied, From: time.Now()}
	if got := f.Fields(); got != "from,actor_id,action,result" {
		t.Fatalf("Fields() = %q", got)
	}
}
