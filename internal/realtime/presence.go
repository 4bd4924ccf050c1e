package realtime

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/kaigi/kaigi/internal/bus"
	"github.com/kaigi/kaigi/internal/ids"
)

// Presence statuses. A person with at least one open connection on any
// node is online, or what they set (away, busy, dnd); without one they are
// offline.
const (
	statusOnline  = "online"
	statusAway    = "away"
	statusBusy    = "busy"
	statusDND     = "dnd"
	statusOffline = "offline"
)

// maxPresenceChannels bounds the channels one presence notice names (a
// hello names at most about 700).
const maxPresenceChannels = 2000

// presenceStatus checks a status a client sets; "available" is online.
func presenceStatus(s string) (string, bool) {
	switch s {
	case statusOnline, "available":
		return "", true
	case statusAway, statusBusy, statusDND:
		return s, true
	}
	return "", false
}

// rank orders statuses when several connections or nodes disagree: the
// most restrictive a person set wins.
func rank(s string) int {
	switch s {
	case statusDND:
		return 4
	case statusBusy:
		return 3
	case statusAway:
		return 2
	case statusOnline:
		return 1
	}
	return 0
}

// PresenceSubject is where a node announces the presence of one account
// connected to it.
func PresenceSubject(tenant ids.TenantID, account ids.UserID) string {
	return "presence." + string(tenant) + "." + string(account)
}

// presenceSyncSubject is where a node that starts serving a tenant asks
// the others to announce their accounts at once.
func presenceSyncSubject(tenant ids.TenantID, node string) string {
	return "presence." + string(tenant) + ".sync." + node
}

// presenceNotice is the payload of a presence subject: what one node says
// of one account. Channels are those the account's connections on that
// node follow: whoever follows one of them may learn the account's
// presence (people who share a channel or chat, and nobody else). A notice
// holds for TTL milliseconds; the node repeats it every
// Options.PresenceInterval while the account stays connected.
type presenceNotice struct {
	Node     string   `json:"node"`
	Status   string   `json:"status"`
	Channels []string `json:"channels,omitempty"`
	TTL      int64    `json:"ttl_ms,omitempty"`
}

// peer is an account's presence as the nodes announced it.
type peer struct {
	nodes  map[string]nodeSeen
	status string   // what the followers were last told
	chans  []string // the union of the nodes' channels, sorted
}

type nodeSeen struct {
	status  string
	chans   []string
	expires int64 // Gateway.now
}

// setStatus sets the status the person chose on this connection.
func (c *conn) setStatus(s string) {
	st, ok := presenceStatus(s)
	if !ok {
		c.badFrame("Unknown status; use online, away, busy or dnd.")
		return
	}
	c.mu.Lock()
	c.status = st
	h := c.h
	ready := c.cursors != nil
	c.mu.Unlock()
	if h != nil && ready {
		h.announce(c.p.User, false)
	}
}

// sharesLocked reports whether c follows one of chans (c.mu held).
func (c *conn) sharesLocked(chans []string) bool {
	for _, ch := range chans {
		if _, ok := c.cursors[ch]; ok {
			return true
		}
	}
	return false
}

// announce publishes what this node knows of an account's presence if it
// changed since the last notice (or always, with force).
func (h *hub) announce(u ids.UserID, force bool) {
	h.pubMu.Lock() // so that a notice computed before the last disconnect cannot follow its "offline"
	defer h.pubMu.Unlock()
	h.mu.Lock()
	a := h.users[u]
	if a == nil || len(a.conns) == 0 {
		h.mu.Unlock()
		return
	}
	set := map[string]struct{}{}
	st := ""
	for _, c := range a.conns {
		c.mu.Lock()
		for ch := range c.cursors {
			set[ch] = struct{}{}
		}
		if rank(c.status) > rank(st) {
			st = c.status
		}
		c.mu.Unlock()
	}
	if st == "" {
		st = statusOnline
	}
	chans := make([]string, 0, len(set))
	for ch := range set {
		chans = append(chans, ch)
	}
	slices.Sort(chans)
	if len(chans) > maxPresenceChannels {
		chans = chans[:maxPresenceChannels]
	}
	if !force && st == a.sentStatus && slices.Equal(chans, a.sentChans) {
		h.mu.Unlock()
		return
	}
	a.sentStatus, a.sentChans = st, chans
	h.mu.Unlock()
	h.publishPresence(u, presenceNotice{Node: h.g.node, Status: st, Channels: chans,
		TTL: (3 * h.g.opts.PresenceInterval).Milliseconds()})
}

func (h *hub) publishPresence(u ids.UserID, n presenceNotice) {
	b, err := json.Marshal(n)
	if err == nil {
		err = h.g.opts.Bus.Publish(h.g.ctx, PresenceSubject(h.tenant, u), b)
	}
	if err != nil && h.g.ctx.Err() == nil {
		h.g.log.Warn("realtime: publish presence", "tenant", string(h.tenant), "err", err)
	}
}

// announceAll repeats the notices of every account connected here.
func (h *hub) announceAll() {
	h.mu.RLock()
	us := make([]ids.UserID, 0, len(h.users))
	for u := range h.users {
		us = append(us, u)
	}
	h.mu.RUnlock()
	for _, u := range us {
		if h.stopping() {
			return
		}
		h.announce(u, true)
	}
}

// askPresence asks every node to announce its accounts now.
func (h *hub) askPresence() {
	if err := h.g.opts.Bus.Publish(h.g.ctx, presenceSyncSubject(h.tenant, h.g.node), []byte("{}")); err != nil && h.g.ctx.Err() == nil {
		h.g.log.Warn("realtime: ask for presence", "tenant", string(h.tenant), "err", err)
	}
}

// onPresence handles a presence notice or a request to announce.
func (h *hub) onPresence(m bus.Message) {
	rest, ok := strings.CutPrefix(m.Subject, "presence."+string(h.tenant)+".")
	if !ok {
		return
	}
	if node, ok := strings.CutPrefix(rest, "sync."); ok {
		if node != h.g.node {
			go h.announceAll()
		}
		return
	}
	u := ids.UserID(rest)
	var n presenceNotice
	if !ids.Valid(rest) || json.Unmarshal(m.Payload, &n) != nil || n.Node == "" {
		return
	}
	if n.Status != statusOffline {
		if rank(n.Status) == 0 || n.TTL <= 0 {
			return
		}
		n.Channels = slices.DeleteFunc(n.Channels, func(ch string) bool { return !ids.Valid(ch) })
		if len(n.Channels) > maxPresenceChannels {
			n.Channels = n.Channels[:maxPresenceChannels]
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	pe := h.seen[u]
	if pe == nil {
		if n.Status == statusOffline {
			return
		}
		pe = &peer{nodes: map[string]nodeSeen{}, status: statusOffline}
		h.seen[u] = pe
	}
	if n.Status == statusOffline {
		delete(pe.nodes, n.Node)
	} else {
		for i, ch := range n.Channels {
			if hc := h.chans[ch]; hc != nil {
				n.Channels[i] = hc.id // share the one copy
			}
		}
		ttl := min(time.Duration(n.TTL)*time.Millisecond, time.Hour)
		pe.nodes[n.Node] = nodeSeen{status: n.Status, chans: n.Channels, expires: h.g.now() + int64(ttl)}
	}
	h.updatePeerLocked(u, pe)
}

// expirePresence forgets what nodes that stopped announcing said.
func (h *hub) expirePresence() {
	now := h.g.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	for u, pe := range h.seen {
		changed := false
		for node, ns := range pe.nodes {
			if ns.expires < now {
				delete(pe.nodes, node)
				changed = true
			}
		}
		if changed {
			h.updatePeerLocked(u, pe)
		}
	}
}

// updatePeerLocked recomputes an account's presence from the nodes'
// notices and tells the connections that may see it what changed: its
// status to those who share a channel with it, and offline to those who
// did and no longer do.
func (h *hub) updatePeerLocked(u ids.UserID, pe *peer) {
	st := statusOffline
	var chans []string
	for _, ns := range pe.nodes {
		if rank(ns.status) > rank(st) {
			st = ns.status
		}
		chans = append(chans, ns.chans...)
	}
	slices.Sort(chans)
	chans = slices.Compact(chans)
	old := pe.chans
	if st == pe.status && slices.Equal(chans, old) {
		return
	}
	statusChanged := st != pe.status
	pe.status, pe.chans = st, chans
	if len(pe.nodes) == 0 {
		delete(h.seen, u)
	}
	told := map[*conn]struct{}{}
	frame := presenceFrame(map[ids.UserID]string{u: st}, false)
	for _, ch := range chans {
		hc := h.chans[ch]
		if hc == nil {
			continue
		}
		for _, c := range hc.conns {
			if _, ok := told[c]; ok || !c.presence {
				continue
			}
			told[c] = struct{}{}
			// Someone who shared a channel before hears only of a change
			// of status; someone new to it hears the status.
			c.mu.Lock()
			if statusChanged || !c.sharesLocked(old) {
				c.enqueueLocked(frame, framePresence)
			}
			c.mu.Unlock()
		}
	}
	if len(old) == 0 {
		return
	}
	gone := presenceFrame(map[ids.UserID]string{u: statusOffline}, false)
	for _, ch := range old {
		hc := h.chans[ch]
		if hc == nil {
			continue
		}
		for _, c := range hc.conns {
			if _, ok := told[c]; !ok && c.presence {
				told[c] = struct{}{}
				c.offerPresence(gone)
			}
		}
	}
}

func (c *conn) offerPresence(frame []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.enqueueLocked(frame, framePresence)
}

// presenceOfLocked returns the presence of every account that is not
// offline and whose channels visible(chans) accepts.
func (h *hub) presenceOfLocked(visible func(chans []string) bool) map[ids.UserID]string {
	users := map[ids.UserID]string{}
	for u, pe := range h.seen {
		if pe.status != statusOffline && visible(pe.chans) {
			users[u] = pe.status
		}
	}
	return users
}

// presenceFrame is {"type":"presence","users":{…}}, with "snapshot":true
// when it lists everyone the connection may see who is not offline.
func presenceFrame(users map[ids.UserID]string, snapshot bool) []byte {
	b, _ := json.Marshal(struct {
		Type     string                `json:"type"`
		Users    map[ids.UserID]string `json:"users"`
		Snapshot bool                  `json:"snapshot,omitempty"`
	}{"presence", users, snapshot})
	return b
}
