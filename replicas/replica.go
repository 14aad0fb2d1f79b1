// Package replicas is the replica runtime: it owns one protocol core and does
// all the I/O the core may not. Frames are verified on the transport's reader
// goroutines (one per connection, so in parallel) before they reach the core's
// goroutine; what the core returns is sealed and sent from here.
package replicas

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/replbench/replbench/internal/cluster"
	"github.com/replbench/replbench/internal/transport"
	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/keys"
	"github.com/replbench/replbench/protocols"
	"github.com/replbench/replbench/protocols/registry"
	"github.com/replbench/replbench/replicas/app"
)

// Stats counts what the runtime accepted and rejected.
type Stats struct {
	Requests    uint64 `json:"requests"`     // verified client requests handed to the core
	Messages    uint64 `json:"messages"`     // verified protocol messages handed to the core
	BadAuth     uint64 `json:"bad_auth"`     // frames whose authenticator did not verify (dropped)
	Malformed   uint64 `json:"malformed"`    // frames that did not decode (dropped)
	Impersonate uint64 `json:"impersonate"`  // frames claiming a sender other than the connection's peer
	SendErrors  uint64 `json:"send_errors"`  // frames the transport refused (queue full, unknown peer)
	Replies     uint64 `json:"replies_sent"` // replies sent to clients
	Unneeded    uint64 `json:"unneeded"`     // votes dropped unverified: their slot had all it needed
	Oversized   uint64 `json:"oversized"`    // requests refused unverified: too large for any batch (see BatchBudget)
}

// Replica runs one core behind a transport.
type Replica struct {
	id         uint32
	cfg        *cluster.Config
	core       protocols.Core
	peerAuth   keys.Authenticator
	clientAuth keys.Authenticator
	tr         transport.Transport
	log        *slog.Logger

	inbox chan inbound
	loop  []inbound // this replica's own broadcasts, handed back to the core
	// nested checks the authenticators embedded in a protocol frame
	// (certificates, batched requests); nil when the protocol embeds none.
	nested func(frame []byte) error

	requests, messages, badAuth, malformed, impersonate, sendErrors, replies, unneeded, oversized atomic.Uint64
	gate                                                                                          protocols.Gate // nil: every replica frame is verified
	tap                                                                                           Tap
	// budget is the largest batch encoding the core orders (0: no cap); a
	// request that cannot fit alone is refused before it is verified.
	budget       int
	oversizeOnce atomic.Bool
	// done closes when Run returns, so that transport goroutines blocked
	// handing frames to a core that no longer reads them give up, and
	// Close (which waits for them) returns.
	done     chan struct{}
	doneOnce sync.Once

	// The inbox is bounded in bytes as well as in frames, so that large
	// requests queue in the kernel's socket buffers, not in the heap: a
	// reader goroutine waits while a frame would take the inbox beyond
	// inLimit bytes (see InboxBytes; a frame always enters an empty inbox).
	inMu      sync.Mutex
	inBytes   int
	inLimit   int
	inWaiters int           // readers waiting for room
	inFreed   chan struct{} // closed (and replaced) when bytes leave the inbox and readers wait

	// Owned by the core goroutine.
	eff      protocols.Effects
	req      wire.Request
	replyBuf []byte
	authBuf  []byte
	tooLarge map[wire.Type]bool // message types logged as over the frame limit
}

type inbound struct {
	from  keys.Principal
	frame []byte
}

// Tap observes frames as they arrive; msgdump.CaptureWriter is one.
type Tap interface {
	Received(from keys.Principal, frame []byte)
}

// Options carries what New cannot derive from the cluster file.
type Options struct {
	Logger *slog.Logger
	// Tap, if set, sees every frame that arrives, before verification, so
	// forged and malformed ones are recorded too (capture files for msgdump).
	Tap Tap
	// Transport, when set, is used instead of a TCP listener (tests); its
	// handler must be the Replica's Deliver method.
	Transport func(h transport.Handler) (transport.Transport, error)
}

// DefaultTick is the cores' clock period when the cluster file sets none.
const DefaultTick = time.Millisecond

// ticks converts a duration to core ticks, rounding up, at least 1.
func ticks(d, tick time.Duration) uint64 {
	if d <= 0 {
		return 1
	}
	return uint64((d + tick - 1) / tick)
}

// BatchBudget is the largest batch, in bytes of its encoding, that the
// cluster's protocol puts in one pre-prepare or block: every message that
// carries such a batch fits in a frame of cfg.MaxFrame (see
// pbft.BatchBudget and hotstuff.BatchBudget) when replica authenticators
// are at most auth bytes. It is 0 (no cap) for the unreplicated server.
func BatchBudget(cfg *cluster.Config, auth int) int {
	maxFrame := cfg.MaxFrame
	if maxFrame <= 0 {
		maxFrame = wire.DefaultMaxFrame
	}
	p, err := registry.Lookup(cfg.Protocol)
	if err != nil || p.BatchBudget == nil {
		return 0
	}
	budget, _ := p.BatchBudget(maxFrame, len(cfg.Replicas), auth)
	return max(1, budget)
}

// NewCore builds the protocol core the cluster file asks for; budget caps
// its batches in bytes (see BatchBudget; 0: no cap).
func NewCore(cfg *cluster.Config, id uint32, budget int) (protocols.Core, error) {
	p, err := registry.Lookup(cfg.Protocol)
	if err != nil {
		return nil, err
	}
	a, err := app.New(cfg.App, cfg.AppReply)
	if err != nil {
		return nil, err
	}
	tick := cfg.Tick.Duration
	if tick <= 0 {
		tick = DefaultTick
	}
	return p.New(protocols.Params{
		ID: id, N: len(cfg.Replicas), App: a,
		BatchSize:          cfg.BatchSize,
		MaxBatchBytes:      budget,
		BatchTimeout:       ticks(cfg.BatchTimeout.Duration, tick),
		CheckpointInterval: cfg.CheckpointInterval,
		ViewChangeTimeout:  ticks(cfg.ViewChangeTimeout.Duration, tick),
	})
}

// New loads keys, builds the core and starts listening on the replica's address.
func New(cfg *cluster.Config, id uint32, opt Options) (*Replica, error) {
	if int(id) >= len(cfg.Replicas) {
		return nil, fmt.Errorf("replica id %d out of range: cluster has %d replicas", id, len(cfg.Replicas))
	}
	proto, err := registry.Lookup(cfg.Protocol)
	if err != nil {
		return nil, err
	}
	peerAuth, clientAuth, err := cfg.ReplicaAuth(id)
	if err != nil {
		return nil, err
	}
	budget := BatchBudget(cfg, peerAuth.MaxSize())
	core, err := NewCore(cfg, id, budget)
	if err != nil {
		return nil, err
	}
	var gate protocols.Gate
	if g, ok := core.(protocols.Gated); ok {
		gate = g.Gate()
	}
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Replica{
		id: id, cfg: cfg, core: core, peerAuth: peerAuth, clientAuth: clientAuth, log: log,
		inbox: make(chan inbound, 4096), gate: gate, tap: opt.Tap,
		budget: budget, done: make(chan struct{}),
		inLimit: InboxBytes(cfg), inFreed: make(chan struct{}),
	}
	if verify := proto.Verify; verify != nil {
		r.nested = func(frame []byte) error { return verify(frame, peerAuth, clientAuth) }
	}
	if opt.Transport != nil {
		r.tr, err = opt.Transport(r.Deliver)
	} else {
		peers := make(map[keys.Principal]string)
		for i, addr := range cfg.Replicas {
			if uint32(i) != id {
				peers[keys.Replica(uint32(i))] = addr
			}
		}
		r.tr, err = transport.Listen(transport.Config{
			Self: keys.Replica(id),
			AuthFor: func(role keys.Role) keys.Authenticator {
				if role == keys.RoleReplica {
					return peerAuth
				}
				return clientAuth
			},
			Listen:   cfg.Replicas[id],
			Peers:    peers,
			Handler:  r.Deliver,
			MaxFrame: cfg.MaxFrame,
			// Room for a batch-carrying message behind another: with the
			// default 4 MiB, a pre-prepare or block of large requests would
			// be refused whenever a vote is still queued.
			QueueBytes: max(transport.DefaultQueueBytes, 2*budget),
			Logger:     log,
			Link:       cfg.Network.Shaper(keys.Replica(id)),
		})
	}
	if err != nil {
		return nil, fmt.Errorf("replica %d: %w", id, err)
	}
	return r, nil
}

// Deliver verifies one frame from an authenticated connection and queues it
// for the core. It runs on transport goroutines, in parallel across peers.
func (r *Replica) Deliver(from keys.Principal, frame []byte) {
	if r.tap != nil {
		r.tap.Received(from, frame)
	}
	t, _, err := wire.ParseHeader(frame, r.cfg.MaxFrame)
	if err != nil {
		r.malformed.Add(1)
		return
	}
	sender, signed, auth, err := wire.Open(frame)
	if err != nil {
		r.malformed.Add(1)
		return
	}
	switch {
	case t == wire.TypeRequest && r.budget > 0 && 4+len(frame) > r.budget: // 4: its length in a batch
		// No batch can carry it: verifying and queueing it would only let
		// it stall the view it is proposed in.
		r.oversized.Add(1)
		if r.oversizeOnce.CompareAndSwap(false, true) {
			r.log.Warn("refused a request too large to order (logged once; see oversized in the stats)",
				"client", sender, "bytes", len(frame), "batch_budget", r.budget, "max_frame", r.cfg.MaxFrame)
		}
		return
	case t == wire.TypeRequest:
		// A client speaks only for itself; replicas may relay requests.
		if from.Role == keys.RoleClient && from.ID != sender {
			r.impersonate.Add(1)
			return
		}
		if err := r.clientAuth.Verify(keys.Client(sender), signed, auth); err != nil {
			r.badAuth.Add(1)
			return
		}
	case from.Role == keys.RoleReplica && from.ID == sender:
		if r.gate != nil && !r.gate.Needed(frame) {
			r.unneeded.Add(1)
			return
		}
		if err := r.peerAuth.Verify(from, signed, auth); err != nil {
			r.badAuth.Add(1)
			return
		}
		if r.nested != nil {
			if err := r.nested(frame); err != nil {
				r.badAuth.Add(1)
				return
			}
		}
	default:
		r.impersonate.Add(1)
		return
	}
	if !r.admit(len(frame)) {
		return // Run has returned: nobody reads the inbox any more
	}
	select {
	case r.inbox <- inbound{from: from, frame: frame}:
	case <-r.done:
	}
}

// admit waits until the inbox has room for n more bytes, or reports false
// once the replica stops.
func (r *Replica) admit(n int) bool {
	for {
		r.inMu.Lock()
		if r.inBytes == 0 || r.inBytes+n <= r.inLimit {
			r.inBytes += n
			r.inMu.Unlock()
			return true
		}
		r.inWaiters++
		freed := r.inFreed
		r.inMu.Unlock()
		select {
		case <-freed:
		case <-r.done:
			return false
		}
	}
}

// release returns the bytes of a frame taken from the inbox and wakes the
// readers waiting for room, if any (so it allocates nothing otherwise).
func (r *Replica) release(n int) {
	r.inMu.Lock()
	r.inBytes -= n
	if r.inWaiters > 0 {
		close(r.inFreed)
		r.inFreed, r.inWaiters = make(chan struct{}), 0
	}
	r.inMu.Unlock()
}

// InboxBytes bounds the bytes of frames waiting for a replica's core:
// four frames of the cluster's limit, at least 64 MiB.
func InboxBytes(cfg *cluster.Config) int {
	maxFrame := cfg.MaxFrame
	if maxFrame <= 0 {
		maxFrame = wire.DefaultMaxFrame
	}
	return max(64<<20, 4*maxFrame)
}

// Run drives the core until ctx ends; tick is the core's clock period.
func (r *Replica) Run(ctx context.Context) error {
	tick := r.cfg.Tick.Duration
	if tick <= 0 {
		tick = DefaultTick
	}
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	defer r.stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case in := <-r.inbox:
			r.step(in)
			// Drain what is queued before sealing, so one wake-up serves a
			// burst; a stop request ends the burst.
			for n := len(r.inbox); n > 0 && ctx.Err() == nil; n-- {
				r.step(<-r.inbox)
			}
		case <-ticker.C:
			r.core.Tick(&r.eff)
			r.apply()
			r.drainLoop()
		}
	}
}

func (r *Replica) step(in inbound) {
	r.release(len(in.frame))
	if wire.TypeOf(in.frame) == wire.TypeRequest {
		if err := wire.DecodeRequest(in.frame, &r.req); err != nil {
			r.malformed.Add(1)
			return
		}
		r.requests.Add(1)
		r.core.Request(&r.req, &r.eff)
	} else {
		r.messages.Add(1)
		r.core.Message(in.from.ID, in.frame, &r.eff)
	}
	r.apply()
	r.drainLoop()
}

// drainLoop hands the core its own broadcasts before anything else is
// read, so it counts its own votes in the order it cast them.
func (r *Replica) drainLoop() {
	for i := 0; i < len(r.loop); i++ {
		r.messages.Add(1)
		r.core.Message(r.id, r.loop[i].frame, &r.eff)
		r.apply()
	}
	r.loop = r.loop[:0]
}

// apply seals and sends what the core asked for.
func (r *Replica) apply() {
	for _, m := range r.eff.Messages {
		if !r.fits(m) {
			continue
		}
		var err error
		signed := wire.SignedBytes(m.Frame)
		if m.To == protocols.Broadcast || m.Transferable {
			r.authBuf, err = r.peerAuth.Sign(r.authBuf[:0], signed)
		} else {
			r.authBuf, err = r.peerAuth.SignFor(r.authBuf[:0], signed, m.To)
		}
		if err != nil {
			r.log.Error("sign", "err", err)
			continue
		}
		frame := wire.Seal(m.Frame, r.authBuf)
		if m.To == protocols.Broadcast {
			for i := range r.cfg.Replicas {
				if uint32(i) != r.id {
					r.send(keys.Replica(uint32(i)), frame)
				}
			}
			// The core keeps frames it is handed; the transport copied its own.
			r.loop = append(r.loop, inbound{from: keys.Replica(r.id), frame: append([]byte(nil), frame...)})
		} else if m.To == keys.Replica(r.id) {
			r.loop = append(r.loop, inbound{from: m.To, frame: append([]byte(nil), frame...)})
		} else {
			r.send(m.To, frame)
		}
	}
	for i := range r.eff.Replies {
		rep := &r.eff.Replies[i]
		to := keys.Client(rep.Request.Client)
		r.replyBuf = wire.AppendReply(r.replyBuf[:0], &wire.Reply{
			Replica: r.id, Client: rep.Request.Client, Session: rep.Request.Session, Seq: rep.Request.Seq, View: rep.View, Result: rep.Result,
		})
		var err error
		r.authBuf, err = r.clientAuth.SignFor(r.authBuf[:0], wire.SignedBytes(r.replyBuf), to)
		if err != nil {
			r.log.Error("sign reply", "err", err)
			continue
		}
		r.replyBuf = wire.Seal(r.replyBuf, r.authBuf)
		if r.send(to, r.replyBuf) {
			r.replies.Add(1)
		}
	}
	r.eff.Reset()
}

// fits reports whether m sealed stays within the frame limit. One that
// does not is neither signed nor sent (the transport would refuse it, and
// signing and copying a frame of many megabytes only stalls the core): it
// counts as a send error for each receiver, and each message type over the
// limit is logged once. Batches are capped so that this does not happen
// (see BatchBudget), except for a PBFT view-change reporting several
// prepared batches (docs/spec.md, "Batches").
func (r *Replica) fits(m protocols.Message) bool {
	limit := r.cfg.MaxFrame
	if limit <= 0 {
		limit = wire.DefaultMaxFrame
	}
	size := len(m.Frame) + r.peerAuth.MaxSize() + 2
	if size-4 <= limit {
		return true
	}
	receivers := 1
	if m.To == protocols.Broadcast {
		receivers = len(r.cfg.Replicas) - 1
	}
	r.sendErrors.Add(uint64(receivers))
	t := wire.TypeOf(m.Frame)
	if !r.tooLarge[t] {
		if r.tooLarge == nil {
			r.tooLarge = make(map[wire.Type]bool)
		}
		r.tooLarge[t] = true
		to := m.To.String()
		if m.To == protocols.Broadcast {
			to = "all replicas"
		}
		r.log.Error("message over the frame limit not sent (logged once per type; see send_errors in the stats)",
			"type", t.String(), "bytes", size, "max_frame", limit, "to", to)
	}
	return false
}

func (r *Replica) send(to keys.Principal, frame []byte) bool {
	if err := r.tr.Send(to, frame); err != nil {
		r.sendErrors.Add(1)
		return false
	}
	return true
}

// Stats returns the runtime's counters.
func (r *Replica) Stats() Stats {
	return Stats{
		Requests: r.requests.Load(), Messages: r.messages.Load(), BadAuth: r.badAuth.Load(),
		Malformed: r.malformed.Load(), Impersonate: r.impersonate.Load(),
		SendErrors: r.sendErrors.Load(), Replies: r.replies.Load(), Unneeded: r.unneeded.Load(),
		Oversized: r.oversized.Load(),
	}
}

// TransportStats returns the transport's counters.
func (r *Replica) TransportStats() transport.Stats { return r.tr.Stats() }

// WaitConnected returns once this replica has authenticated links to every
// other replica, or ctx ends. Only TCP transports connect in the
// background; others are connected from the start.
func (r *Replica) WaitConnected(ctx context.Context) error {
	tcp, ok := r.tr.(*transport.TCP)
	if !ok {
		return nil
	}
	var peers []keys.Principal
	for i := range r.cfg.Replicas {
		if uint32(i) != r.id {
			peers = append(peers, keys.Replica(uint32(i)))
		}
	}
	return tcp.WaitConnected(ctx, peers...)
}

// stop releases transport goroutines waiting to hand the core a frame.
func (r *Replica) stop() { r.doneOnce.Do(func() { close(r.done) }) }

// Close stops the transport. Frames arriving meanwhile are dropped, so that
// Close returns even when the core stopped reading with the inbox full.
func (r *Replica) Close() error {
	r.stop()
	return r.tr.Close()
}
