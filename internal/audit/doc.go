// Package audit publishes one audit event per finished call to NATS
// JetStream, and admin actions beside them.
//
// Events are CloudEvents 1.0 in structured JSON (schema/audit-event.v1.json)
// on the subject <subject>.call.<pipeline>, several at a time as a
// CloudEvents JSON batch (admin actions: <subject>.admin) of
// the stream MANIFOLD_AUDIT over <subject>.>.
//
// The Publisher is an event.Recorder that never holds up an answer: Record
// puts the call on a bounded in-memory queue and returns. One goroutine
// turns queued calls into events and publishes them with JetStream's
// asynchronous publish, keeping a window of events in flight until each is
// acknowledged. The event id is the message's Nats-Msg-Id, so an event
// sent again after a lost acknowledgement is stored once.
//
// Nothing is lost silently. When an acknowledgement fails, or NATS is
// unreachable, the events in flight and every later event go to a spool of
// append-only segment files in the data directory; once NATS answers
// again the spool is replayed in order, and only then does publishing go
// back to memory. Close flushes within its context's deadline and spools
// what is left, for the next start. Events are dropped only when the
// spool's byte bound is reached; each drop is counted (Stats) and logged
// with the count.
//
// With nats: embedded, Start runs a nats-server with JetStream inside the
// process, on the data directory, listening on loopback (or on in-process
// connections only); otherwise it connects to the given NATS servers and
// reconnects forever.
package audit
