package realtime_test

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/chat"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/realtime"
)

// presenceOf follows c's presence frames, keeping what they say of each
// account and every account any of them named.
type presenceOf struct {
	c      *client
	status map[string]string
	named  map[string]bool
}

func watchPresence(c *client) *presenceOf {
	return &presenceOf{c: c, status: map[string]string{}, named: map[string]bool{}}
}

func (p *presenceOf) apply(f frame) {
	if f.Snapshot {
		clear(p.status)
	}
	for u, s := range f.Users {
		p.status[u] = s
		p.named[u] = true
	}
}

// until reads frames until user's status is want.
func (p *presenceOf) until(user, want string) {
	p.c.t.Helper()
	for p.get(user) != want {
		f := p.c.next()
		if f.Type == "presence" {
			p.apply(f)
		}
	}
}

func (p *presenceOf) get(user string) string {
	if s, ok := p.status[user]; ok {
		return s
	}
	return "offline"
}

// drain applies what arrives within d.
func (p *presenceOf) drain(d time.Duration) {
	deadline := time.After(d)
	for {
		select {
		case f := <-p.c.frames:
			if f.Type == "presence" {
				p.apply(f)
			}
		case <-deadline:
			return
		}
	}
}

func TestPresenceReachesPeopleWhoShareAChannelAndGuestsLearnNoOneElse(t *testing.T) {
	e := newEnv(t, nil)
	e.chat.addChannel("c1", "alice", "bob")
	e.chat.addChannel("team", "alice", "guest-gil")
	e.chat.addChannel("other", "bob", "carol")
	e.chat.addChannel("solo", "dave")

	b := e.connectWithPresence("bob")
	b.expect("ready")
	if f := b.expect("presence"); !f.Snapshot || len(f.Users) != 0 {
		t.Fatalf("bob's first snapshot: %+v, want an empty one", f)
	}
	bp := watchPresence(b)
	bp.until("bob", "online") // his own connection

	a := e.connectWithPresence("alice")
	a.expect("ready")
	bp.until("alice", "online")

	g := e.connectWithPresence("guest-gil")
	g.expect("ready")
	gp := watchPresence(g)
	gp.until("alice", "online") // in the snapshot or just after: they share "team"

	c := e.connectWithPresence("carol")
	c.expect("ready")
	bp.until("carol", "online")
	d := e.connect("dave", nil) // a client that does not ask for presence is still online
	d.expect("ready")

	a.send(map[string]string{"type": "status", "status": "busy"})
	bp.until("alice", "busy")
	gp.until("alice", "busy")

	a.ws.CloseNow()
	bp.until("alice", "offline")
	gp.until("alice", "offline")

	// A guest reconnecting gets a snapshot of what they may see only.
	g2 := e.connectWithPresence("guest-gil")
	g2.expect("ready")
	gp2 := watchPresence(g2)
	gp2.drain(200 * time.Millisecond)
	gp.drain(50 * time.Millisecond)
	bp.drain(50 * time.Millisecond)
	for _, who := range []*presenceOf{gp, gp2} {
		for u := range who.named {
			if u != "alice" && u != "guest-gil" {
				t.Errorf("the guest learned the presence of %s, with whom they share no channel (named: %v)", u, slices.Sorted(maps.Keys(who.named)))
			}
		}
	}
	if bp.named["dave"] {
		t.Error("bob learned the presence of dave, with whom he shares no channel")
	}
	if got := bp.get("carol"); got != "online" {
		t.Errorf("bob sees carol %s, want online", got)
	}
}

func TestPresenceFollowsChannelMembership(t *testing.T) {
	e := newEnv(t, nil)
	e.chat.addChannel("c1", "alice")
	e.chat.addChannel("c2", "bob")
	a := e.connectWithPresence("alice")
	a.expect("ready")
	ap := watchPresence(a)
	ap.until("alice", "online")
	b := e.connectWithPresence("bob")
	b.expect("ready")
	ap.drain(100 * time.Millisecond)
	if ap.named["bob"] {
		t.Fatal("alice learned bob's presence before they shared a channel")
	}
	// bob is added to c1: both now learn of each other.
	e.chat.setMember("c1", "bob", true)
	e.chat.sendKind(t, "c1", "alice", chat.EventMembers, "", []ids.UserID{"bob"})
	ap.until("bob", "online")
	bp := watchPresence(b)
	bp.until("alice", "online")
}

// TestPresenceAcrossNodes runs two gateways on one bus: people on one node
// see those on the other come and go, and a node that stops announcing
// (it died) stops counting after the notices' time to live.
func TestPresenceAcrossNodes(t *testing.T) {
	tune := func(o *realtime.Options) { o.PresenceInterval = 50 * time.Millisecond }
	n1 := newEnv(t, tune)
	n1.chat.addChannel("c1", "alice", "bob", "zoe")
	n2 := newEnvOn(t, n1.bus, n1.chat, tune)

	b := n1.connectWithPresence("bob")
	b.expect("ready")
	bp := watchPresence(b)
	bp.until("bob", "online")

	a := n2.connectWithPresence("alice")
	a.expect("ready")
	bp.until("alice", "online")
	ap := watchPresence(a)
	ap.until("bob", "online") // n2 asked n1 for its accounts when it started

	a.ws.CloseNow()
	bp.until("alice", "offline")

	// zoe is announced by a node that then falls silent.
	notice := `{"node":"dead-node","status":"online","channels":["c1"],"ttl_ms":300}`
	if err := n1.bus.Publish(context.Background(), realtime.PresenceSubject(testTenant, "zoe"), []byte(notice)); err != nil {
		t.Fatal(err)
	}
	bp.until("zoe", "online")
	start := time.Now()
	bp.until("zoe", "offline")
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("zoe went offline after %v, before the notice's time to live", d)
	}
}
