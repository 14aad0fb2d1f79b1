// Package transport moves frames between replicas and clients: TCP with
// length-prefixed frames, a mutually authenticated handshake, write
// coalescing, bounded queues and reconnection; and an in-memory network with
// the same interface for tests.
package transport

import (
	"errors"

	"github.com/replbench/replbench/keys"
)

// Handler receives every frame that arrives from an authenticated peer. frame
// is a whole wire frame, header included; the handler owns it and may keep it.
// Handlers are called from the transport's reader goroutines, one per
// connection, so frames from one peer arrive in order.
type Handler func(from keys.Principal, frame []byte)

// Transport sends frames to peers by principal.
type Transport interface {
	// Send queues a copy of frame (a complete wire frame) for peer to and
	// returns at once; the caller may reuse frame. It returns ErrQueueFull
	// when the peer's bounded queue is full and ErrUnknownPeer when there is
	// no address or connection for to. Frames to one peer leave in order.
	Send(to keys.Principal, frame []byte) error
	// Stats reports counters since start.
	Stats() Stats
	// Close stops every goroutine and closes every connection.
	Close() error
}

// Stats counts what a transport did; rejected and dropped traffic is counted, never silent.
type Stats struct {
	FramesIn           uint64 `json:"frames_in"`
	FramesOut          uint64 `json:"frames_out"`
	BytesIn            uint64 `json:"bytes_in"`
	BytesOut           uint64 `json:"bytes_out"`
	Flushes            uint64 `json:"flushes"`             // write syscalls: FramesOut/Flushes is the coalescing factor
	HandshakesRejected uint64 `json:"handshakes_rejected"` // peers that failed to prove their identity
	HandshakeTimeouts  uint64 `json:"handshake_timeouts"`  // inbound connections that did not complete the handshake in time (Config.HandshakeTimeout)
	PreAuthRefused     uint64 `json:"pre_auth_refused"`    // inbound connections closed unread: too many not yet authenticated (Config.MaxPreAuth, MaxPreAuthPerSource)
	BadFrames          uint64 `json:"bad_frames"`          // oversized, truncated or wrong-version frames (connection closed)
	QueueFull          uint64 `json:"queue_full"`          // Send calls refused because the queue was full
	Dropped            uint64 `json:"dropped"`             // frames the emulated link lost (Config.Link's Loss)
	Reconnects         uint64 `json:"reconnects"`
}

var (
	ErrQueueFull   = errors.New("transport: send queue full")
	ErrUnknownPeer = errors.New("transport: unknown peer")
	ErrClosed      = errors.New("transport: closed")
)
