package transport

import "sync/atomic"

// counters is the live form of Stats: every field is updated with atomics
// from the goroutine that did the work, so Stats never takes a lock.
type counters struct {
	framesIn, framesOut atomic.Uint64
	bytesIn, bytesOut   atomic.Uint64
	flushes             atomic.Uint64
	handshakesRejected  atomic.Uint64
	handshakeTimeouts   atomic.Uint64
	preAuthRefused      atomic.Uint64
	badFrames           atomic.Uint64
	queueFull           atomic.Uint64
	dropped             atomic.Uint64
	reconnects          atomic.Uint64
}

func (c *counters) snapshot() Stats {
	return Stats{
		FramesIn:           c.framesIn.Load(),
		FramesOut:          c.framesOut.Load(),
		BytesIn:            c.bytesIn.Load(),
		BytesOut:           c.bytesOut.Load(),
		Flushes:            c.flushes.Load(),
		HandshakesRejected: c.handshakesRejected.Load(),
		HandshakeTimeouts:  c.handshakeTimeouts.Load(),
		PreAuthRefused:     c.preAuthRefused.Load(),
		BadFrames:          c.badFrames.Load(),
		QueueFull:          c.queueFull.Load(),
		Dropped:            c.dropped.Load(),
		Reconnects:         c.reconnects.Load(),
	}
}
