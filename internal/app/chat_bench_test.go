package app_test

import (
	"testing"

	"github.com/kaigi/kaigi/internal/app/apptest"
	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/principal"
)

// chatBench is a node with a tenant, a member and a team channel.
func chatBench(b *testing.B, opts apptest.Options) (*apptest.Server, principal.Principal, string) {
	b.Helper()
	s := apptest.Start(b, opts)
	ctx := b.Context()
	_, link, err := s.Identity.CreateTenant(ctx, principal.Job("bench", ""), identity.NewTenant{Name: "Bench", Domain: "bench.example", AdminEmail: "a@bench.example"})
	if err != nil {
		b.Fatal(err)
	}
	acct, err := s.Identity.AcceptInvitation(ctx, fragment(link, "token"), "Bea", goodPassword, "127.0.0.1")
	if err != nil {
		b.Fatal(err)
	}
	p := principal.Principal{Kind: principal.Member, Tenant: acct.Tenant, User: acct.ID, Roles: acct.Roles, Source: "127.0.0.1", Client: "browser"}
	if _, err := s.Chat.CreateTeam(ctx, p, "Bench", ""); err != nil {
		b.Fatal(err)
	}
	chans, err := s.Chat.Channels(ctx, p)
	if err != nil || len(chans) != 1 {
		b.Fatal(err, chans)
	}
	return s, p, chans[0].ID
}

// BenchmarkSend is one message through the real send path: validation,
// authorization, sealing, then one transaction with the message, the
// channel's next sequence number, the event (sealed), the read position and
// the audit record; then the publish on the bus.
func BenchmarkSend(b *testing.B) {
	for _, e := range []struct {
		name string
		opts apptest.Options
	}{{"sqlite", apptest.Options{}}, {"postgres", apptest.Options{Postgres: true}}} {
		b.Run(e.name, func(b *testing.B) {
			s, p, ch := chatBench(b, e.opts)
			body := "A typical message of about a hundred bytes, with a **bit** of Markdown and a link https://x.example"
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Chat.Send(b.Context(), p, ch, body, ""); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
