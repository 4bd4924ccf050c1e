package app_test

import (
	"time"

	"testing"

	"github.com/kaigi/kaigi/internal/app/apptest"
	"github.com/kaigi/kaigi/internal/config"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/store/storetest"
)

// TestRealtimeAcrossTwoNodes runs two nodes of one deployment — one
// PostgreSQL schema, one data directory (the keyring), one NATS subject
// prefix, one public URL — and checks that a message sent through either
// node reaches sockets on both, live and exactly once, and that a socket cut
// on one node resumes on the other without loss or repetition while both
// nodes publish.
func TestRealtimeAcrossTwoNodes(t *testing.T) {
	nats := natsURL(t)
	db := storetest.PostgresSchemaURL(t)
	dir, prefix := t.TempDir(), "rt-"+ids.New()
	opts := apptest.Options{NATSURL: nats, DataDir: dir, Config: func(c *config.Config) {
		c.DatabaseURL, c.NATSPrefix = db, prefix
	}}
	n1 := realtimeNode(t, opts, "")
	w := realtimeWorldOn(t, n1)
	// The second node starts once the tenant exists: the local keyring file
	// is read at start, so a key-encryption key made later by another node
	// is unknown to it (deployments of several nodes use a shared KMS).
	n2 := realtimeNode(t, opts, n1.Config.URL())
	ch := w.general.ID

	onTwo := openSocketAt(t, w.admin, n2.URL, w.origin, nil)
	onOne := openSocketAt(t, w.member, n1.URL, w.origin, nil)
	v := send(t, w.member, ch, "sent through node 1", "")
	for name, s := range map[string]*socket{"node 2": onTwo, "node 1": onOne} {
		if f := s.event(); f.Seq != v.Seq || f.Event.Message == nil || f.Event.Message.Body != "sent through node 1" {
			t.Fatalf("socket on %s got %+v", name, f)
		}
	}
	v = send(t, w.admin.to(n2.URL), ch, "sent through node 2", "")
	for name, s := range map[string]*socket{"node 2": onTwo, "node 1": onOne} {
		if f := s.event(); f.Seq != v.Seq || f.Event.Message.Body != "sent through node 2" {
			t.Fatalf("socket on %s got %+v", name, f)
		}
		s.quiet(100 * time.Millisecond)
	}
	testResume(t, w, w.member, []string{n1.URL, n2.URL}, n2.URL, n1.URL)
}
