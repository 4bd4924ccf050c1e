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
//	{"type":"hello","cursors":{"<channel>":<last seq seen>, …}}
//	    Sent first, once. Channels with a cursor are replayed from the
//	    channel's stored log after it; channels without one start live.
//	{"type":"typing","channel":"<channel>"}
//	    The person is typing in a channel they follow; ephemeral, never
//	    stored, at most one per Options.TypingInterval and channel.
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
//	{"type":"error","message":"<text>"}
//	    A frame was refused; the connection stays open unless it closes.
//	{"type":"pong"}
//
// The connection is closed with a status code and reason: 1001 when the
// server shuts down, 1008 for a client that breaks the protocol (no hello,
// too many malformed frames, frames too fast) or reads too slowly ("too
// slow"), 1009 for a message over Options.ReadLimit, 1011 when the server
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
// ("chat.<tenant>.>", plus "typing.<tenant>.>" and "control.<tenant>.>"),
// shared by all that tenant's connections. Each event's sealed payload is
// opened once per node, and the same bytes are queued to every connection
// that follows the channel. Gaps seen by the whole node are filled once per
// node from the store. The publisher never waits for a connection: each has
// a bounded send queue, and a connection whose queue is full is closed
// ("too slow") and counted; it reconnects and resumes from its cursors.
//
// A writer goroutine, started when a connection has something to send and
// ending when its queue is empty, drains every queued frame and writes them
// as one WebSocket message, so that under load one write carries several
// deliveries. An idle connection holds one goroutine (its reader), two
// timers and its cursors.
//
// # Authorization
//
// The route admits members and guests with a browser session. The gateway
// then refuses a handshake whose Origin is not one of Options.Origins (the
// deployment's public URL), and more than Options.MaxConnsPerAccount
// connections per account on a node. A connection follows only channels
// that chat.Service says the person can see. It re-checks the session and
// the channel list every Options.RevalidateInterval and at once when a
// control message about the account arrives (see NotifyAccount): a session
// that ended closes the socket with 4401, and channels the person can no
// longer see are dropped with a leave frame.
package realtime
