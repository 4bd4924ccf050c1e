// Package realtime is the WebSocket gateway: one socket per browser tab
// (GET /api/v1/realtime) carries the events of every channel and chat the
// person can see, live, in order, exactly once — across reconnects and
// across nodes.
//
// # Protocol
//
// Every WebSocket message is a JSON text message holding one frame (an
// object with a "type") or, when the server coalesces several frames into
// one write, a JSON array of frames. Clients must accept both.
//
// Client to server:
//
//	{"type":"hello","cursors":{"<channel>":<last seq seen>, …},
//	 "presence":true, "status":"<status>"}
//	    Sent first, once. Channels with a cursor are replayed from the
//	    channel's stored log after it; channels without one start live.
//	    "presence" (optional) asks for presence frames; "status"
//	    (optional) is the status the person set, as in a status frame.
//	{"type":"typing","channel":"<channel>"}
//	    The person is typing in a channel they follow; ephemeral, never
//	    stored, at most one per Options.TypingInterval and channel.
//	{"type":"status","status":"online"|"away"|"busy"|"dnd"}
//	    The status the person chose, for this connection ("available" is
//	    online). When an account's connections disagree, the most
//	    restrictive wins: dnd, then busy, then away, then online.
//	{"type":"ping"}
//	    Answered with a pong (an application-level heartbeat, for clients
//	    that cannot see WebSocket pings).
//
// Server to client:
//
//	{"type":"ready","channels":{"<channel>":<last seq>, …}}
//	    The answer to hello: every channel the connection follows and its
//	    last sequence number when the connection joined. A channel the
//	    client asked for that is missing here is one it cannot see.
//	{"type":"event","channel":"<channel>","seq":N,"event":{…}}
//	    One committed channel event; "event" is the opened chat.Payload.
//	    For each channel, seq grows by exactly one from frame to frame.
//	{"type":"typing","channel":"<channel>","user":"<account>"}
//	{"type":"join","channel":"<channel>","seq":N}
//	    The person can now see a channel (added to a team or a private
//	    channel, a new channel, a new chat); events after N follow.
//	    Earlier history is fetched over HTTP.
//	{"type":"leave","channel":"<channel>"}
//	    The person can no longer see a channel; nothing more comes for it.
//	{"type":"presence","users":{"<account>":"<status>", …},"snapshot":true}
//	    Only for a connection whose hello asked for presence. The status
//	    ("online", "away", "busy", "dnd" or "offline") of people who share a
//	    channel or chat with the person. With "snapshot", right after
//	    ready: everyone not listed is offline. Without it, changes: someone
//	    came, went, changed status, or now shares a channel (after a join);
//	    "offline" also for someone who no longer shares any channel.
//	{"type":"error","message":"<text>"}
//	    A frame was refused; the connection stays open unless it closes.
//	{"type":"pong"}
//
// The connection is closed with a status code and reason: 1001 when the
// server shuts down, 1008 for a client that breaks the protocol (no hello,
// too many malformed frames, frames too fast) or reads too slowly ("too
// slow"; perhaps without a close frame, which could not get through
// either), 1009 for a message over Options.ReadLimit, 1011 when the server
// cannot check the connection, and 4401 when the session ended (signed
// out, expired, account deactivated): sign in again before reconnecting. A
// peer that leaves the server's pings unanswered is dropped without a
// close frame.
// Any other close is safe to retry with the cursors the client holds.
//
// # Exactly once, in order
//
// The gateway keeps, per connection and channel, the sequence number of the
// last event it handed to the client (the cursor). An event with seq ==
// cursor+1 is delivered; seq <= cursor is a duplicate and dropped; seq >
// cursor+1 is a gap — a publish was lost, or another node's publish
// overtook it — and the missing range is read from the channel's stored
// log, in order, while live events wait. On hello the connection first
// subscribes, then replays the stored events after each cursor, then
// delivers the live events above the replayed cursor, so that replay and
// live neither overlap nor leave a hole. A periodic re-check compares each
// cursor with the channel's last sequence number, so even the loss of a
// channel's very last publish is repaired within Options.RevalidateInterval.
//
// # Fan-out
//
// A node keeps one bus subscription per tenant with live connections
// ("chat.<tenant>.>", plus "typing.<tenant>.>", "control.<tenant>.>" and
// "presence.<tenant>.>"), shared by all that tenant's connections. Each
// event's sealed payload is opened once per node, and the same bytes are
// queued to every connection that follows the channel. Gaps seen by the
// whole node are filled once per node from the store. The publisher never
// waits for a connection.
//
// A frame queued for a connection whose writer is idle starts the writer
// at once while the node's fan-out is light. Under heavy fan-out (from
// 30,000 frames a second to idle connections) frames wait for a flush
// window that grows from Options.FlushWindow (0) to MaxFlushWindow (20ms),
// or until they fill Options.MaxBatchBytes, so that deliveries arriving
// close together share one WebSocket message and one write(2); one timer
// per node serves every waiting connection. A writer goroutine drains
// every queued frame into one message, and ends when the queue is empty;
// frames queued while it writes share its next write, so under load one
// write carries many deliveries.
// Writes carry no deadline of their own: a watchdog per node looks at
// every connection a few times per min(Options.WriteTimeout,
// Options.SlowConsumerAge).
//
// Slow consumers are closed with 1008 "too slow", counted by reason in
// kaigi_realtime_slow_consumers_total, and reconnect and resume from their
// cursors: "lagging" when the oldest frame waiting for a connection is
// older than Options.SlowConsumerAge while its writes block (at least half
// the time since the watchdog's last look was spent in writes to it — a
// client that does not read; a server that is merely busy does not block
// in writes, so it keeps its healthy readers), "write_timeout" when one
// write takes longer than Options.WriteTimeout, and "queue_full" when the
// frames waiting exceed Options.SendQueue or SendQueueBytes, a hard bound
// on memory whatever their age.
//
// An idle connection holds one goroutine (its reader, started after the
// upgrade with a small stack: the HTTP handler returns, and the hello's
// store reads run on the writer), a 256-byte read buffer, the library's
// 4 KiB write buffer, one timer (the heartbeat) and its cursors.
//
// # Presence
//
// An account is online while it has at least one connection past ready on
// any node. Each node announces the accounts connected to it on
// PresenceSubject ("presence.<tenant>.<account>"): the status, and the
// channels its connections follow, when either changes, "offline" when its
// last connection there ends, and again every Options.PresenceInterval.
// A notice holds for three intervals, so that a node that dies stops
// counting for its people after at most that long. A node that starts
// serving a tenant, or has lost bus messages, asks the others to announce
// at once ("presence.<tenant>.sync.<node>"). Every node keeps the
// tenant's presence table and tells each of its connections about the
// accounts that follow a channel it follows: people learn the presence of
// those they share a channel or chat with, and of nobody else — a guest
// never learns about the host's directory, only about the people of the
// channels they were added to.
//
// # Authorization
//
// The route admits members and guests with a browser session. The gateway
// then refuses a handshake whose Origin is not one of Options.Origins (the
// deployment's public URL), and more than Options.MaxConnsPerAccount
// connections per account on a node. A connection follows only channels
// that chat.Service says the person can see. The node re-checks each
// account's sessions and channel list — once for all its connections there
// — every Options.RevalidateInterval and at once when a control message
// about the account arrives (see NotifyAccount): a connection whose session
// ended is closed with 4401, and channels the person can no longer see are
// dropped with a leave frame.
package realtime
