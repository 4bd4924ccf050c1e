package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/kaigi/kaigi/internal/bus"
	"github.com/kaigi/kaigi/internal/chat"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/principal"
)

// Internal bounds of a hub.
const (
	fillPage          = 200              // events per store read when filling a gap
	maxFillPages      = 10               // beyond this, connections catch up on their own
	maxProbes         = 4                // concurrent visibility probes per tenant
	maxProbeUsers     = 256              // people checked by one probe; the re-check finds the rest
	earlyLimit        = 1024             // events a connection buffers while it joins
	hiddenResetPeriod = 10 * time.Minute // how long "cannot see" answers are trusted
)

// hub is one tenant's fan-out on this node: the bus subscriptions, and an
// index from channel to the connections that follow it.
type hub struct {
	g      *Gateway
	tenant ids.TenantID
	refs   int // guarded by g.mu

	ready chan struct{} // closed once start has finished
	err   error         // start's result, set before ready is closed

	events, typing, control, presence bus.Subscription // used by the loop only
	stopc                             chan struct{}
	stopOnce                          sync.Once
	done                              chan struct{} // closed when the loop has returned

	pubMu sync.Mutex // orders the presence notices this node publishes

	mu      sync.RWMutex
	chans   map[string]*hubChan
	users   map[ids.UserID]*account // accounts with connections here past ready
	joining map[*conn]struct{}      // connections between hello and ready: they see every event
	// seen is the presence of the tenant's accounts on every node (this one
	// included), as announced on the bus.
	seen map[ids.UserID]*peer
	// hidden remembers who cannot see a channel nobody here follows, so
	// that its events do not ask the store again each time; reset every
	// hiddenResetPeriod, and for a person when a control message about
	// them arrives.
	hidden  map[string]map[ids.UserID]struct{}
	probing map[string]*probeState
}

// account is a person with connections on this node: the re-check of their
// sessions and channels is done once for all of them.
type account struct {
	conns    []*conn
	rv       *time.Timer // the periodic re-check
	checking bool        // a re-check runs
	again    bool        // another was asked for meanwhile
	failed   int         // re-checks failed in a row (the store is unwell)
	// What this node last announced of the account's presence.
	sentStatus string
	sentChans  []string
}

// hubChan is a followed channel.
type hubChan struct {
	id    string // the one copy of the id, shared by the followers' cursors
	conns []*conn
	// last is the highest sequence number fanned out to the followers, 0
	// while unknown. Only the hub's loop changes it after creation.
	last atomic.Int64
}

func newHub(g *Gateway, tenant ids.TenantID) *hub {
	return &hub{g: g, tenant: tenant, ready: make(chan struct{}), stopc: make(chan struct{}), done: make(chan struct{}),
		chans: map[string]*hubChan{}, users: map[ids.UserID]*account{}, joining: map[*conn]struct{}{},
		hidden: map[string]map[ids.UserID]struct{}{}, probing: map[string]*probeState{}, seen: map[ids.UserID]*peer{}}
}

func (h *hub) patterns() [4]string {
	t := string(h.tenant)
	return [4]string{"chat." + t + ".>", "typing." + t + ".>", "control." + t + ".>", "presence." + t + ".>"}
}

// subscribe opens the four subscriptions, all or none.
func (h *hub) subscribe(ctx context.Context) error {
	opts := bus.SubscribeOptions{Buffer: h.g.opts.BusBuffer}
	var subs [4]bus.Subscription
	for i, p := range h.patterns() {
		s, err := h.g.opts.Bus.Subscribe(ctx, p, opts)
		if err != nil {
			for _, s := range subs[:i] {
				s.Unsubscribe()
			}
			return errs.Wrap(errs.Unavailable, err, "Live updates are unavailable right now; try again in a moment.")
		}
		subs[i] = s
	}
	h.events, h.typing, h.control, h.presence = subs[0], subs[1], subs[2], subs[3]
	return nil
}

func (h *hub) subscriptions() []bus.Subscription {
	return []bus.Subscription{h.events, h.typing, h.control, h.presence}
}

func (h *hub) unsubscribe() {
	for _, s := range h.subscriptions() {
		if s != nil {
			s.Unsubscribe()
		}
	}
}

func (h *hub) start(ctx context.Context) error {
	if err := h.subscribe(ctx); err != nil {
		close(h.done)
		return err
	}
	go h.loop()
	h.askPresence()
	return nil
}

func (h *hub) stop() {
	h.stopOnce.Do(func() { close(h.stopc) })
	<-h.done
}

func (h *hub) stopping() bool {
	select {
	case <-h.stopc:
		return true
	default:
		return false
	}
}

func (h *hub) loop() {
	defer close(h.done)
	defer h.unsubscribe()
	reset := time.NewTicker(hiddenResetPeriod)
	defer reset.Stop()
	refresh := time.NewTicker(h.g.opts.PresenceInterval)
	defer refresh.Stop()
	for {
		var ok bool
		var m bus.Message
		select {
		case <-h.stopc:
			return
		case <-reset.C:
			h.mu.Lock()
			clear(h.hidden)
			h.mu.Unlock()
			continue
		case <-refresh.C:
			h.expirePresence()
			go h.announceAll()
			continue
		case m, ok = <-h.presence.C():
			if ok {
				h.onPresence(m)
			}
		case m, ok = <-h.events.C():
			if ok {
				h.onEvent(m)
			}
		case m, ok = <-h.typing.C():
			if ok {
				h.onTyping(m)
			}
		case m, ok = <-h.control.C():
			if ok {
				h.onControl(m)
			}
		}
		if !ok && !h.recover() {
			return
		}
	}
}

// recover resubscribes after a subscription ended (dropped as slow, or the
// bus failed) and fills what was missed; it reports false when the hub must
// stop instead.
func (h *hub) recover() bool {
	var cause error
	for _, s := range h.subscriptions() {
		if err := s.Err(); err != nil {
			cause = err
		}
	}
	h.unsubscribe()
	if h.stopping() {
		return false
	}
	if errors.Is(cause, bus.ErrClosed) {
		h.g.log.Warn("realtime: the bus closed; closing the tenant's connections", "tenant", string(h.tenant))
		h.closeAll(websocket.StatusGoingAway, "server is restarting")
		<-h.stopc // the connections' teardown releases the hub
		return false
	}
	h.g.log.Warn("realtime: bus subscription ended; resubscribing", "tenant", string(h.tenant), "err", cause)
	for delay := 50 * time.Millisecond; ; delay = min(2*delay, 5*time.Second) {
		ctx, cancel := context.WithTimeout(h.g.ctx, 10*time.Second)
		err := h.subscribe(ctx)
		cancel()
		if err == nil {
			break
		}
		select {
		case <-h.stopc:
			return false
		case <-time.After(delay):
		}
	}
	// Whatever was published meanwhile is in the store: fill each followed
	// channel from where the node was; connections of channels whose
	// position is unknown catch up on their own.
	h.mu.RLock()
	chans := make([]*hubChan, 0, len(h.chans))
	for _, hc := range h.chans {
		chans = append(chans, hc)
	}
	h.mu.RUnlock()
	for _, hc := range chans {
		if last := hc.last.Load(); last > 0 {
			h.fill(hc, last, 0, nil)
			continue
		}
		h.mu.RLock()
		for _, c := range hc.conns {
			c.resync(hc.id)
		}
		h.mu.RUnlock()
	}
	h.askPresence() // what was announced meanwhile is lost
	return true
}

func (h *hub) closeAll(code websocket.StatusCode, why string) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, a := range h.users {
		for _, c := range a.conns {
			c.close(code, why)
		}
	}
	for c := range h.joining {
		c.close(code, why)
	}
}

// onEvent handles one sealed chat event from the bus.
func (h *hub) onEvent(m bus.Message) {
	ch, ok := strings.CutPrefix(m.Subject, "chat."+string(h.tenant)+".")
	if !ok || !ids.Valid(ch) {
		return
	}
	var env chat.Envelope
	if err := json.Unmarshal(m.Payload, &env); err != nil || env.Tenant != h.tenant || env.Channel != ch || env.Seq <= 0 {
		h.g.log.Warn("realtime: malformed chat event on the bus", "tenant", string(h.tenant), "subject", m.Subject)
		return
	}
	h.mu.RLock()
	hc := h.chans[ch]
	early := len(h.joining) > 0
	h.mu.RUnlock()

	if hc == nil {
		if early || env.Kind == chat.EventMembers {
			if payload, ok := h.open(env); ok {
				h.offerEarly(ch, env.Seq, eventFrame(ch, env.Seq, payload))
				h.probe(ch, env.Seq, membersOf(env.Kind, payload))
			}
			return
		}
		h.probe(ch, env.Seq, nil)
		return
	}
	last := hc.last.Load()
	if last > 0 && env.Seq <= last {
		return // already fanned out (filled from the store, or a duplicate)
	}
	if last > 0 && env.Seq > last+1 {
		// A gap for the whole node: fill it once, from the store.
		if h.fill(hc, last, env.Seq, &env) {
			return
		}
	}
	payload, ok := h.open(env)
	if !ok {
		return // the followers see a gap at the next event and fill it themselves
	}
	frame := eventFrame(ch, env.Seq, payload)
	h.fanout(hc, env.Seq, frame)
	if env.Kind == chat.EventMembers {
		h.probe(ch, env.Seq, membersOf(env.Kind, payload))
	}
}

// open opens an envelope's payload, once for the node.
func (h *hub) open(env chat.Envelope) ([]byte, bool) {
	payload, err := h.g.chat.OpenEvent(h.g.ctx, env.Tenant, env.Channel, env.Seq, env.Payload)
	if err != nil || !json.Valid(payload) {
		h.g.log.Warn("realtime: cannot open a chat event", "tenant", string(env.Tenant), "channel", env.Channel, "seq", env.Seq, "err", err)
		return nil, false
	}
	h.g.m.opened.Inc()
	return payload, true
}

// membersOf returns the accounts a membership event names.
func membersOf(kind string, payload []byte) []ids.UserID {
	if kind != chat.EventMembers {
		return nil
	}
	var p struct {
		Members []ids.UserID `json:"members"`
	}
	json.Unmarshal(payload, &p)
	return p.Members
}

// fanout hands one event to every follower and advances the node's
// position. Offering never blocks: a follower that cannot keep up is
// closed by its own queue.
func (h *hub) fanout(hc *hubChan, seq int64, frame []byte) {
	h.mu.RLock()
	for _, c := range hc.conns {
		c.offer(hc.id, seq, frame)
	}
	for c := range h.joining {
		c.offerEarly(hc.id, seq, frame)
	}
	h.mu.RUnlock()
	if seq > hc.last.Load() {
		hc.last.Store(seq)
	}
}

// fill reads a followed channel's events after last from the store (as one
// of its followers, so the chat service authorises the read) and fans them
// out, up to and including upto (0: as far as the store goes). It reports
// whether env (the event that revealed the gap, if any) is covered.
func (h *hub) fill(hc *hubChan, last, upto int64, env *chat.Envelope) bool {
	h.mu.RLock()
	var p principal.Principal
	if len(hc.conns) > 0 {
		p = hc.conns[0].p
	}
	h.mu.RUnlock()
	if p.User == "" {
		return false
	}
	h.g.m.gapFills.WithLabelValues("node").Inc()
	covered := false
	for range maxFillPages {
		evs, err := h.g.chat.Events(h.g.ctx, p, hc.id, last, fillPage)
		if err != nil {
			h.g.log.Warn("realtime: fill a gap from the store", "tenant", string(h.tenant), "channel", hc.id, "err", err)
			return covered
		}
		for _, e := range evs {
			seq, err := seqOf(e)
			if err != nil || seq <= last {
				continue
			}
			h.fanout(hc, seq, eventFrame(hc.id, seq, e))
			last = seq
			if env != nil && seq >= env.Seq {
				covered = true
			}
		}
		if len(evs) < fillPage || upto > 0 && last >= upto {
			return covered
		}
	}
	return covered
}

// offerEarly hands an event to the connections that are joining.
func (h *hub) offerEarly(ch string, seq int64, frame []byte) {
	h.mu.RLock()
	for c := range h.joining {
		c.offerEarly(ch, seq, frame)
	}
	h.mu.RUnlock()
}

// probe looks, off the loop, for people connected here who can see a
// channel none of their connections follows (a new channel, a new chat,
// someone added to a private channel) and makes their connections follow
// it from just before seq. members, if given, are the only ones to check.
// A probe asked for while one runs for the channel runs again after it.
func (h *hub) probe(ch string, seq int64, members []ids.UserID) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, u := range members {
		delete(h.hidden[ch], u) // their membership just changed
	}
	if ps := h.probing[ch]; ps != nil {
		ps.again, ps.seq = true, max(ps.seq, seq)
		return
	}
	if len(h.probing) >= maxProbes {
		return // the periodic re-check finds them
	}
	cands := h.candidatesLocked(ch, members)
	if len(cands) == 0 {
		return
	}
	h.probing[ch] = &probeState{seq: seq}
	go h.runProbe(ch, seq, cands)
}

type probeState struct {
	again bool  // asked for again while running
	seq   int64 // the latest event that asked
}

// candidatesLocked returns one principal per person connected here who
// does not follow ch and is not known to be unable to see it.
func (h *hub) candidatesLocked(ch string, members []ids.UserID) []principal.Principal {
	hidden := h.hidden[ch]
	var cands []principal.Principal
	add := func(a *account) {
		if a != nil && len(a.conns) > 0 && len(cands) < maxProbeUsers && !a.conns[0].follows(ch) {
			if _, no := hidden[a.conns[0].p.User]; !no {
				cands = append(cands, a.conns[0].p)
			}
		}
	}
	if members != nil {
		for _, u := range members {
			add(h.users[u])
		}
	} else {
		for _, a := range h.users {
			add(a)
		}
	}
	return cands
}

func (h *hub) runProbe(ch string, seq int64, cands []principal.Principal) {
	for {
		for _, p := range cands {
			err := h.g.chat.CanSee(h.g.ctx, p, ch)
			switch {
			case err == nil:
				h.join(p.User, ch, seq-1)
			case errs.CodeOf(err) == errs.NotFound || errs.CodeOf(err) == errs.Forbidden:
				h.mu.Lock()
				if h.hidden[ch] == nil {
					h.hidden[ch] = map[ids.UserID]struct{}{}
				}
				h.hidden[ch][p.User] = struct{}{}
				h.mu.Unlock()
			}
			// Other errors: the store is unwell; the periodic re-check will do.
		}
		h.mu.Lock()
		ps := h.probing[ch]
		if ps.again {
			ps.again, seq = false, ps.seq
			if cands = h.candidatesLocked(ch, nil); len(cands) > 0 {
				h.mu.Unlock()
				continue
			}
		}
		delete(h.probing, ch)
		h.mu.Unlock()
		return
	}
}

// join makes every connection of user follow ch from after seq, catching
// up from the store.
func (h *hub) join(user ids.UserID, ch string, seq int64) {
	h.mu.Lock()
	if a := h.users[user]; a != nil {
		for _, c := range a.conns {
			h.followLocked(c, ch, seq, true, 0)
		}
	}
	h.mu.Unlock()
	h.announce(user, false)
}

// chanLocked returns the followed channel ch, creating it with the node's
// position last (0: unknown).
func (h *hub) chanLocked(ch string, last int64) *hubChan {
	hc := h.chans[ch]
	if hc == nil {
		hc = &hubChan{id: ch}
		hc.last.Store(last)
		h.chans[ch] = hc
	}
	return hc
}

// followLocked makes c follow ch with cursor seq, announcing it with a join
// frame unless silent; catchUp reads the store after seq first. It does
// nothing if c already follows ch or is closing.
func (h *hub) followLocked(c *conn, ch string, seq int64, announce bool, last int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing || c.cursors == nil {
		return
	}
	if _, ok := c.cursors[ch]; ok {
		return
	}
	hc := h.chanLocked(ch, last)
	hc.conns = append(hc.conns, c)
	c.cursors[hc.id] = seq
	if announce {
		c.enqueueLocked(joinFrame(hc.id, seq), frameControl)
		if c.presence {
			if users := h.presenceOfLocked(func(chans []string) bool { return slices.Contains(chans, hc.id) }); len(users) > 0 {
				c.enqueueLocked(presenceFrame(users, false), framePresence)
			}
		}
	}
	c.startSyncLocked(hc.id, nil)
}

// unfollowLocked drops ch from c (the caller holds h.mu and c.mu).
func (h *hub) unfollowLocked(c *conn, ch string) {
	delete(c.cursors, ch)
	delete(c.syncs, ch)
	hc := h.chans[ch]
	if hc == nil {
		return
	}
	for i, x := range hc.conns {
		if x == c {
			last := len(hc.conns) - 1
			hc.conns[i], hc.conns[last] = hc.conns[last], nil
			hc.conns = hc.conns[:last]
			break
		}
	}
	if len(hc.conns) == 0 {
		delete(h.chans, ch)
	}
}

// beginJoin makes c see every event of the tenant until finishJoin, so that
// nothing published while its channel list is read is missed.
func (h *hub) beginJoin(c *conn) {
	h.mu.Lock()
	h.joining[c] = struct{}{}
	h.mu.Unlock()
}

// finishJoin makes c follow the channels it can see, with the client's
// cursors, and queues the ready frame.
func (h *hub) finishJoin(c *conn, list []chat.Channel, cursors map[string]int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.joining, c)
	c.mu.Lock()
	defer c.mu.Unlock()
	early, overflow := c.early, c.earlyFull
	c.early, c.earlyFull = nil, false
	if c.closing {
		return
	}
	h.addLocked(c)
	c.cursors = make(map[string]int64, len(list))
	ready := make(map[string]int64, len(list))
	for _, ch := range list {
		if ch.Tenant != "" && ch.Tenant != h.tenant || !ids.Valid(ch.ID) {
			continue
		}
		// The node's position for a channel nobody here followed: the
		// store's, or what arrived meanwhile.
		known := ch.LastSeq
		for _, e := range early {
			if e.ch == ch.ID && e.seq > known {
				known = e.seq
			}
		}
		hc := h.chanLocked(ch.ID, known)
		hc.conns = append(hc.conns, c)
		cur, asked := cursors[ch.ID]
		if !asked || cur > ch.LastSeq {
			cur = ch.LastSeq
		}
		cur = max(cur, 0)
		c.cursors[hc.id] = cur
		ready[hc.id] = ch.LastSeq
		if cur < ch.LastSeq || overflow {
			c.startSyncLocked(hc.id, nil)
		}
	}
	c.enqueueLocked(readyFrame(ready), frameControl)
	if c.presence {
		c.enqueueLocked(presenceFrame(h.presenceOfLocked(c.sharesLocked), true), framePresence)
	}
	for _, e := range early {
		c.offerLocked(e.ch, e.seq, e.frame)
	}
}

// addLocked counts c among its account's connections here, starting the
// account's periodic re-check with its first.
func (h *hub) addLocked(c *conn) {
	u := c.p.User
	a := h.users[u]
	if a == nil {
		a = &account{}
		h.users[u] = a
		a.rv = time.AfterFunc(h.recheckDelay(), func() { h.recheck(u) })
	}
	a.conns = append(a.conns, c)
}

func (h *hub) recheckDelay() time.Duration {
	d := h.g.opts.RevalidateInterval
	return d + rand.N(d/10+1)
}

// recheck re-checks an account's sessions and the channels it may see,
// once for all its connections here; asked for while one runs, it runs
// again after it.
func (h *hub) recheck(u ids.UserID) {
	h.mu.Lock()
	a := h.users[u]
	if a == nil {
		h.mu.Unlock()
		return
	}
	if a.checking {
		a.again = true
		h.mu.Unlock()
		return
	}
	a.checking = true
	for {
		a.again = false
		cs := slices.Clone(a.conns)
		h.mu.Unlock()
		if len(cs) > 0 {
			h.check(a, cs)
			h.announce(u, false)
		}
		h.mu.Lock()
		if !a.again || h.users[u] != a {
			break
		}
	}
	a.checking = false
	if h.users[u] == a {
		a.rv.Reset(h.recheckDelay())
	}
	h.mu.Unlock()
}

// check closes the connections whose session ended (4401) and brings the
// others' channels in line with what the person can see now.
func (h *hub) check(a *account, cs []*conn) {
	ctx := h.g.ctx
	active, err := h.g.activeSessions(ctx, cs[0].p)
	var list []chat.Channel
	if err == nil {
		live := cs[:0:0]
		for _, c := range cs {
			if active[c.p.Session] {
				live = append(live, c)
			} else {
				c.close(StatusSessionEnded, "session ended")
			}
		}
		if cs = live; len(cs) == 0 {
			return
		}
		list, err = h.g.chat.Channels(ctx, cs[0].p)
	}
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		if code := errs.CodeOf(err); code == errs.Unauthenticated || code == errs.Forbidden {
			for _, c := range cs {
				c.close(StatusSessionEnded, "session ended")
			}
			return
		}
		// The store is unwell: keep serving what was allowed, but not for long.
		a.failed++
		h.g.log.Warn("realtime: re-check failed", "tenant", string(h.tenant), "failures", a.failed, "err", err)
		if a.failed >= 2 {
			for _, c := range cs {
				c.close(websocket.StatusInternalError, "cannot check the connection; reconnect")
			}
		}
		return
	}
	a.failed = 0
	for _, c := range cs {
		h.reconcile(c, list)
	}
}

// reconcile brings c's channels in line with list, what the person can see
// now: channels gone are dropped (leave), new ones followed (join), and
// channels whose cursor is behind the store caught up (a lost publish).
func (h *hub) reconcile(c *conn, list []chat.Channel) {
	visible := make(map[string]int64, len(list))
	for _, ch := range list {
		if (ch.Tenant == "" || ch.Tenant == h.tenant) && ids.Valid(ch.ID) {
			visible[ch.ID] = ch.LastSeq
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, hidden := range h.hidden {
		delete(hidden, c.p.User)
	}
	c.mu.Lock()
	if c.closing || c.cursors == nil {
		c.mu.Unlock()
		return
	}
	var add []string
	for ch, cur := range c.cursors {
		last, ok := visible[ch]
		switch {
		case !ok:
			h.unfollowLocked(c, ch)
			c.enqueueLocked(leaveFrame(ch), frameControl)
		case last > cur && c.syncs[ch] == nil:
			c.startSyncLocked(ch, nil)
		}
	}
	for ch := range visible {
		if _, ok := c.cursors[ch]; !ok {
			add = append(add, ch)
		}
	}
	c.mu.Unlock()
	for _, ch := range add {
		h.followLocked(c, ch, visible[ch], true, 0)
	}
}

// detach removes c from the hub.
func (h *hub) detach(c *conn) {
	h.mu.Lock()
	delete(h.joining, c)
	gone := false
	if a := h.users[c.p.User]; a != nil {
		a.conns = slices.DeleteFunc(slices.Clone(a.conns), func(x *conn) bool { return x == c })
		if len(a.conns) == 0 {
			a.rv.Stop()
			delete(h.users, c.p.User)
			gone = a.sentStatus != ""
		}
	}
	c.mu.Lock()
	for ch := range c.cursors {
		h.unfollowLocked(c, ch)
	}
	c.cursors = nil
	c.mu.Unlock()
	h.mu.Unlock()
	if gone {
		h.pubMu.Lock()
		h.mu.RLock()
		back := h.users[c.p.User] != nil // another connection of theirs came meanwhile
		h.mu.RUnlock()
		if !back {
			h.publishPresence(c.p.User, presenceNotice{Node: h.g.node, Status: statusOffline})
		}
		h.pubMu.Unlock()
	} else {
		h.announce(c.p.User, false)
	}
}

// onTyping relays a typing notice to the other followers of the channel.
func (h *hub) onTyping(m bus.Message) {
	ch, ok := strings.CutPrefix(m.Subject, "typing."+string(h.tenant)+".")
	if !ok || !ids.Valid(ch) {
		return
	}
	var n typingNotice
	if json.Unmarshal(m.Payload, &n) != nil || n.Channel != ch || !ids.Valid(string(n.User)) {
		return
	}
	frame := typingFrame(ch, n.User)
	h.mu.RLock()
	defer h.mu.RUnlock()
	if hc := h.chans[ch]; hc != nil {
		for _, c := range hc.conns {
			if c.p.User != n.User {
				c.offerTyping(ch, frame)
			}
		}
	}
}

// onControl re-checks at once the connections of the account a control
// message is about.
func (h *hub) onControl(m bus.Message) {
	u, ok := strings.CutPrefix(m.Subject, "control."+string(h.tenant)+".account.")
	if !ok || !ids.Valid(u) {
		return
	}
	h.mu.Lock()
	for _, hidden := range h.hidden {
		delete(hidden, ids.UserID(u))
	}
	h.mu.Unlock()
	go h.recheck(ids.UserID(u))
}
