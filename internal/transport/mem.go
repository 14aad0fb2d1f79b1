package transport

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/keys"
)

// MemNetwork connects in-memory endpoints, for tests of everything above
// the transport. Frames are copied at Send and delivered asynchronously, in
// order per sender and receiver, by one goroutine per receiving endpoint.
// There is no handshake: an endpoint is whoever it was registered as.
type MemNetwork struct {
	mu      sync.Mutex
	eps     map[keys.Principal]*Mem
	cut     map[[2]keys.Principal]bool // both orders of every partitioned pair
	dropped atomic.Uint64
}

// NewMemNetwork returns an empty network.
func NewMemNetwork() *MemNetwork {
	return &MemNetwork{
		eps: make(map[keys.Principal]*Mem),
		cut: make(map[[2]keys.Principal]bool),
	}
}

// Endpoint attaches self to the network with handler h and starts its
// delivery goroutine. An endpoint registered earlier as self stops
// receiving, as if the node had restarted.
func (n *MemNetwork) Endpoint(self keys.Principal, h Handler) *Mem {
	m := &Mem{
		net:    n,
		self:   self,
		h:      h,
		queued: make(map[keys.Principal]int),
		wake:   make(chan struct{}, 1),
		done:   make(chan struct{}),
		exited: make(chan struct{}),
	}
	n.mu.Lock()
	n.eps[self] = m
	n.mu.Unlock()
	go m.deliverLoop()
	return m
}

// Partition drops every frame between a and b, both ways, until Heal.
func (n *MemNetwork) Partition(a, b keys.Principal) {
	n.mu.Lock()
	n.cut[[2]keys.Principal{a, b}] = true
	n.cut[[2]keys.Principal{b, a}] = true
	n.mu.Unlock()
}

// Heal undoes Partition(a, b).
func (n *MemNetwork) Heal(a, b keys.Principal) {
	n.mu.Lock()
	delete(n.cut, [2]keys.Principal{a, b})
	delete(n.cut, [2]keys.Principal{b, a})
	n.mu.Unlock()
}

// Dropped counts frames a partition swallowed.
func (n *MemNetwork) Dropped() uint64 { return n.dropped.Load() }

// route finds to's endpoint as seen from from, or reports the pair cut.
func (n *MemNetwork) route(from, to keys.Principal) (dst *Mem, cut bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.eps[to], n.cut[[2]keys.Principal{from, to}]
}

// Mem is one endpoint of a MemNetwork.
type Mem struct {
	net  *MemNetwork
	self keys.Principal
	h    Handler
	c    counters

	mu     sync.Mutex
	closed bool
	inbox  []memFrame             // frames waiting for delivery, oldest first
	spare  []memFrame             // the delivery loop's last batch, reused
	queued map[keys.Principal]int // inbox bytes per sender, for the queue bound

	wake   chan struct{} // capacity 1: the inbox has frames
	done   chan struct{} // closed by Close
	exited chan struct{} // closed when the delivery loop returns
}

type memFrame struct {
	from  keys.Principal
	frame []byte
}

var _ Transport = (*Mem)(nil)

// Send copies frame into to's inbox. The bound DefaultQueueBytes applies per
// (sender, receiver) pair, as it would per connection over TCP.
func (m *Mem) Send(to keys.Principal, frame []byte) error {
	if _, _, err := wire.ParseHeader(frame, wire.DefaultMaxFrame); err != nil {
		return fmt.Errorf("transport: send to %v: %w", to, err)
	}
	m.mu.Lock()
	closed := m.closed
	m.mu.Unlock()
	if closed {
		return ErrClosed
	}
	dst, cut := m.net.route(m.self, to)
	switch {
	case dst == nil:
		return ErrUnknownPeer
	case cut:
		m.net.dropped.Add(1)
		return nil
	}
	if err := dst.receive(m.self, frame); err != nil {
		if err == ErrQueueFull {
			m.c.queueFull.Add(1)
		}
		return err
	}
	m.c.framesOut.Add(1)
	m.c.bytesOut.Add(uint64(len(frame)))
	m.c.flushes.Add(1)
	return nil
}

// receive queues a copy of frame from from.
func (m *Mem) receive(from keys.Principal, frame []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch q := m.queued[from]; {
	case m.closed:
		return ErrUnknownPeer
	case q > 0 && q+len(frame) > DefaultQueueBytes:
		return ErrQueueFull
	}
	m.inbox = append(m.inbox, memFrame{from, append([]byte(nil), frame...)})
	m.queued[from] += len(frame)
	select {
	case m.wake <- struct{}{}:
	default:
	}
	return nil
}

// deliverLoop hands queued frames to the handler, a whole inbox at a time.
func (m *Mem) deliverLoop() {
	defer close(m.exited)
	for {
		select {
		case <-m.done:
			return
		case <-m.wake:
		}
		m.mu.Lock()
		batch := m.inbox
		m.inbox, m.spare = m.spare[:0], nil
		m.mu.Unlock()
		for i, f := range batch {
			select {
			case <-m.done:
				return
			default:
			}
			m.mu.Lock()
			m.queued[f.from] -= len(f.frame)
			m.mu.Unlock()
			m.c.framesIn.Add(1)
			m.c.bytesIn.Add(uint64(len(f.frame)))
			m.h(f.from, f.frame)
			batch[i] = memFrame{} // the handler owns the frame now
		}
		m.mu.Lock()
		m.spare = batch[:0]
		m.mu.Unlock()
	}
}

// Stats reports the endpoint's counters. Flushes equals FramesOut: every
// frame is handed over on its own.
func (m *Mem) Stats() Stats { return m.c.snapshot() }

// Close detaches the endpoint, drops what it has not delivered and waits
// for its delivery goroutine, a handler in progress included.
func (m *Mem) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.inbox = nil
	m.mu.Unlock()

	m.net.mu.Lock()
	if m.net.eps[m.self] == m {
		delete(m.net.eps, m.self)
	}
	m.net.mu.Unlock()
	close(m.done)
	<-m.exited
	return nil
}
