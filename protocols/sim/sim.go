package sim

import (
	"fmt"
	"strings"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/keys"
	"github.com/replbench/replbench/protocols"
)

// Sim is one simulated cluster: n cores, their applications, the clients
// and the network between them, all driven by one seeded generator. Run
// drives a Sim through a random fault schedule; scripted tests drive it by
// hand with Tick, Crash, Partition, Submit and DeliverAll. A Sim is not safe
// for concurrent use; independent Sims are.
type Sim struct {
	cfg      Config
	rng      *rng
	now      uint64
	replicas []replica
	clients  []client
	queue    queue
	sent     uint64   // frames enqueued so far: the queue's tie-breaker
	links    []uint64 // fixed delay of each directed link, [from*nodes+to]
	nodes    int      // replicas, then clients
	active   Faults   // network faults in force now
	filter   func(from, to keys.Principal, frame []byte) bool
	check    checker
	trace    tracer
	stats    Report
	fail     *Failure
	arena    []byte
	req      wire.Request // decode buffers, reused
	rep      wire.Reply
}

type replica struct {
	core  protocols.Core
	app   *recorder
	eff   protocols.Effects
	up    bool
	group int // replicas talk only within their group; 0 when healed
}

// StatusReporter is what a core may implement to describe its state (view,
// last executed, pending work) when a run fails to make progress.
type StatusReporter interface {
	Status() string
}

// New builds the cluster cfg describes. Nothing happens until the first Tick.
func New(cfg Config) (*Sim, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	s := &Sim{
		cfg:      cfg,
		rng:      newRNG(cfg.Seed),
		replicas: make([]replica, cfg.N),
		clients:  make([]client, cfg.Clients),
		nodes:    cfg.N + cfg.Clients,
		active:   cfg.Faults & (Loss | Dup | Reorder),
		check:    newChecker(cfg.N),
		trace:    newTracer(cfg.TraceLines, cfg.Observe),
	}
	s.stats.Seed = cfg.Seed
	s.links = make([]uint64, s.nodes*s.nodes)
	for i := range s.links {
		s.links[i] = s.rng.between(cfg.Network.Delay, cfg.Network.Delay+cfg.Network.Jitter)
	}
	for id := range s.replicas {
		r := &s.replicas[id]
		r.app = &recorder{App: cfg.App()}
		r.core = cfg.New(uint32(id), r.app)
		if r.core == nil {
			return nil, fmt.Errorf("sim: core factory returned nil for replica %d", id)
		}
		r.up = true
	}
	for id := range s.clients {
		c := &s.clients[id]
		c.id = uint32(id)
		c.auto = cfg.Requests
		c.replies = make([]clientReply, cfg.N)
	}
	return s, nil
}

// Tick advances time by n ticks. In each tick the network delivers what is
// due, every running replica's core ticks, then every client acts
// (retransmits on timeout, sends its next request).
func (s *Sim) Tick(n int) {
	for range n {
		s.step()
	}
}

func (s *Sim) step() {
	s.now++
	for len(s.queue) > 0 && s.queue[0].at <= s.now {
		s.deliver(s.queue.pop())
	}
	for id := range s.replicas {
		r := &s.replicas[id]
		if r.up {
			r.core.Tick(&r.eff)
			s.apply(uint32(id))
		}
	}
	for i := range s.clients {
		s.clientTick(&s.clients[i])
	}
}

// maxDeliverAll bounds DeliverAll, so cores that answer every message with
// another cannot hang a test.
const maxDeliverAll = 1 << 20

// DeliverAll delivers every frame in flight, and every frame sent in
// response, in delivery order, without advancing time or ticking anyone. It
// returns how many frames it delivered; it stops after about a million.
func (s *Sim) DeliverAll() int {
	n := 0
	for len(s.queue) > 0 && n < maxDeliverAll {
		s.deliver(s.queue.pop())
		n++
	}
	return n
}

// RunUntil ticks until cond holds, for at most maxTicks ticks, and reports
// whether cond held. cond is checked before every tick.
func (s *Sim) RunUntil(cond func() bool, maxTicks uint64) bool {
	for range maxTicks {
		if cond() {
			return true
		}
		s.step()
	}
	return cond()
}

// Crash stops replica id: it gets no frames (those reaching it are lost) and
// no ticks until Restart. Frames it sent before are still delivered.
func (s *Sim) Crash(id uint32) {
	if int(id) >= len(s.replicas) || !s.replicas[id].up {
		return
	}
	s.replicas[id].up = false
	s.stats.Crashes++
	s.event(&Event{Kind: EvCrash, From: keys.Replica(id)}, nil)
}

// Restart resumes a crashed replica with the same core and application, as
// if from stable storage; it has missed everything sent while it was down.
func (s *Sim) Restart(id uint32) {
	if int(id) >= len(s.replicas) || s.replicas[id].up {
		return
	}
	s.replicas[id].up = true
	s.event(&Event{Kind: EvRestart, From: keys.Replica(id)}, nil)
}

// Partition splits the replicas: each group given talks only within
// itself, and the replicas named in no group form one more group. Frames
// already in flight still arrive; clients reach every replica throughout.
// Ids out of range are ignored.
func (s *Sim) Partition(groups ...[]uint32) {
	for i := range s.replicas {
		s.replicas[i].group = 0
	}
	for g, ids := range groups {
		for _, id := range ids {
			if int(id) < len(s.replicas) {
				s.replicas[id].group = g + 1
			}
		}
	}
	s.stats.Partitions++
	s.event(&Event{Kind: EvPartition, Note: s.groupsString()}, nil)
}

// Heal ends every partition.
func (s *Sim) Heal() {
	healed := false
	for i := range s.replicas {
		healed = healed || s.replicas[i].group != 0
		s.replicas[i].group = 0
	}
	if healed {
		s.event(&Event{Kind: EvHeal}, nil)
	}
}

// groupsString renders the partition as "{0 2 3} {1}", groups ordered by
// their lowest member.
func (s *Sim) groupsString() string {
	var b strings.Builder
	done := make([]bool, len(s.replicas))
	for i := range s.replicas {
		if done[i] {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteByte('{')
		for j := i; j < len(s.replicas); j++ {
			if s.replicas[j].group == s.replicas[i].group {
				if j > i {
					b.WriteByte(' ')
				}
				fmt.Fprint(&b, j)
				done[j] = true
			}
		}
		b.WriteByte('}')
	}
	return b.String()
}

// SetFilter installs a filter every frame passes when it is sent: frames
// for which keep returns false are dropped (traced as "filter"). nil
// removes it. Scripted tests use it to cut particular messages.
func (s *Sim) SetFilter(keep func(from, to keys.Principal, frame []byte) bool) { s.filter = keep }

// Core returns replica id's core, for tests to inspect.
func (s *Sim) Core(id uint32) protocols.Core { return s.replicas[id].core }

// App returns replica id's application.
func (s *Sim) App(id uint32) protocols.App { return s.replicas[id].app.App }

// Up reports whether replica id is running.
func (s *Sim) Up(id uint32) bool { return s.replicas[id].up }

// Now returns the current tick.
func (s *Sim) Now() uint64 { return s.now }

// InFlight returns how many frames the network holds.
func (s *Sim) InFlight() int { return len(s.queue) }

// Trace returns the most recent events (Config.TraceLines of them), oldest first.
func (s *Sim) Trace() []Event { return s.trace.events() }

// Err returns the first safety violation the checkers found, as a
// *Failure, or nil. Checking goes on after it, but only the first is kept.
func (s *Sim) Err() error {
	if s.fail == nil {
		return nil
	}
	return s.fail
}

// Report returns the counters so far.
func (s *Sim) Report() Report {
	r := s.stats
	r.Ticks = s.now
	r.TraceHash = s.trace.hash
	r.Unchecked = s.check.unchecked
	return r
}

// Status describes replica id: crashed or partitioned, and the core's own
// Status if it implements StatusReporter.
func (s *Sim) Status(id uint32) string {
	r := &s.replicas[id]
	var b strings.Builder
	if !r.up {
		b.WriteString("crashed")
	} else {
		b.WriteString("up")
	}
	if r.group != 0 {
		fmt.Fprintf(&b, ", partition group %d", r.group)
	}
	if sr, ok := r.core.(StatusReporter); ok {
		b.WriteString(": ")
		b.WriteString(sr.Status())
	}
	return b.String()
}

// event adds e, stamped with the current tick, to the trace.
func (s *Sim) event(e *Event, frame []byte) {
	e.Tick = s.now
	s.trace.add(e, frame)
}

func (s *Sim) frameEvent(kind EventKind, from, to keys.Principal, frame []byte, note string) {
	s.event(&Event{Kind: kind, From: from, To: to, Type: wire.TypeOf(frame), Size: len(frame), Note: note}, frame)
}

// arenaChunk is the size of the blocks frames are cut from. Frames are never
// reused (cores may keep slices of what they receive), so an arena is just a
// cheaper way to allocate them: one allocation per 64 KiB, not per frame.
const arenaChunk = 64 << 10

// alloc returns n bytes of fresh memory with capacity n.
func (s *Sim) alloc(n int) []byte {
	if n > arenaChunk/8 {
		return make([]byte, n)
	}
	if len(s.arena)+n > cap(s.arena) {
		s.arena = make([]byte, 0, arenaChunk)
	}
	start := len(s.arena)
	s.arena = s.arena[:start+n]
	return s.arena[start : start+n : start+n]
}

// seal copies a core's unsealed frame (valid only until its Effects reset)
// and seals it with an empty authenticator: cores here see no forgeries, so
// the simulator does not model authenticators.
func (s *Sim) seal(unsealed []byte) []byte {
	b := s.alloc(len(unsealed) + 2)
	copy(b, unsealed)
	return wire.Seal(b[:len(unsealed)], nil)
}

// apply acts on what replica id's last step asked for: the checkers see its
// executions and checkpoints, its messages and replies go on the network.
func (s *Sim) apply(id uint32) {
	r := &s.replicas[id]
	e := &r.eff
	if len(e.Messages) == 0 && len(e.Replies) == 0 && len(e.Executed) == 0 && len(e.Checkpoints) == 0 {
		if len(r.app.calls) > 0 {
			r.app.reset()
		}
		return
	}
	from := keys.Replica(id)
	if len(e.Executed) > 0 {
		s.checkExecuted(id, e, r.app)
	}
	for i := range e.Checkpoints {
		s.checkCheckpoint(id, &e.Checkpoints[i])
	}
	var loop [][]byte // the replica's own broadcasts, handed back below
	for _, m := range e.Messages {
		if len(m.Frame) < wire.HeaderSize+4 {
			s.stats.Malformed++ // no room for a sender: not a frame the runtime could send
			continue
		}
		frame := s.seal(m.Frame)
		switch {
		case m.To == protocols.Broadcast:
			for to := range s.replicas {
				if uint32(to) != id {
					s.send(from, keys.Replica(uint32(to)), frame)
				}
			}
			loop = append(loop, frame)
		case m.To.Role == keys.RoleReplica && int(m.To.ID) < len(s.replicas) && m.To.ID != id:
			s.send(from, m.To, frame)
		case m.To == from:
			loop = append(loop, frame) // to itself: handed back like a broadcast
		default:
			s.stats.Malformed++
		}
	}
	for i := range e.Replies {
		rep := &e.Replies[i]
		if int(rep.Request.Client) >= len(s.clients) {
			s.stats.Malformed++
			continue
		}
		frame := s.alloc(replyOverhead + len(rep.Result))
		frame = wire.AppendReply(frame[:0], &wire.Reply{
			Replica: id, Client: rep.Request.Client, Session: rep.Request.Session, Seq: rep.Request.Seq, View: rep.View, Result: rep.Result,
		})
		s.send(from, keys.Client(rep.Request.Client), wire.Seal(frame, nil))
	}
	e.Reset()
	r.app.reset()
	// A broadcast includes its sender: the runtime hands the core its own
	// sealed copy at once, without the network, and so does the simulator
	// (and with a message addressed to the sender alone).
	for _, frame := range loop {
		if r.up {
			r.core.Message(id, frame, &r.eff)
			s.apply(id)
		}
	}
}

// replyOverhead is a sealed reply's size without its result and authenticator.
const replyOverhead = wire.ReplyOverhead

// requestOverhead is the same for a request and its payload.
const requestOverhead = wire.RequestOverhead

// send puts a sealed frame on the link from -> to, where it may be cut by a
// partition or the filter, lost or duplicated.
func (s *Sim) send(from, to keys.Principal, frame []byte) {
	s.stats.Sent++
	var reason string
	switch {
	case from.Role == keys.RoleReplica && to.Role == keys.RoleReplica &&
		s.replicas[from.ID].group != s.replicas[to.ID].group:
		reason = "partition"
	case s.filter != nil && !s.filter(from, to, frame):
		reason = "filter"
	case s.active&Loss != 0 && s.rng.chance(s.cfg.Network.Loss):
		reason = "loss"
	}
	if reason != "" {
		s.stats.Dropped++
		s.frameEvent(EvDrop, from, to, frame, reason)
		return
	}
	s.enqueue(from, to, frame)
	if s.active&Dup != 0 && s.rng.chance(s.cfg.Network.Dup) {
		s.stats.Duplicated++
		s.frameEvent(EvDuplicate, from, to, frame, "")
		s.enqueue(from, to, frame)
	}
}

func (s *Sim) node(p keys.Principal) int {
	if p.Role == keys.RoleClient {
		return len(s.replicas) + int(p.ID)
	}
	return int(p.ID)
}

func (s *Sim) enqueue(from, to keys.Principal, frame []byte) {
	d := s.links[s.node(from)*s.nodes+s.node(to)]
	if s.active&Reorder != 0 {
		d += s.rng.below(s.cfg.Network.Jitter + 1)
	}
	s.sent++
	s.queue.push(event{at: s.now + d, seq: s.sent, from: from, to: to, frame: frame})
}

// deliver hands a frame to its receiver, as the replica runtime does:
// requests to Core.Request, everything else to Core.Message.
func (s *Sim) deliver(e event) {
	if e.to.Role == keys.RoleClient {
		s.stats.Delivered++
		s.frameEvent(EvDeliver, e.from, e.to, e.frame, "")
		s.deliverReply(&s.clients[e.to.ID], e.frame)
		return
	}
	r := &s.replicas[e.to.ID]
	if !r.up {
		s.stats.Dropped++
		s.frameEvent(EvDrop, e.from, e.to, e.frame, "crashed")
		return
	}
	s.stats.Delivered++
	s.frameEvent(EvDeliver, e.from, e.to, e.frame, "")
	if wire.TypeOf(e.frame) == wire.TypeRequest {
		if err := wire.DecodeRequest(e.frame, &s.req); err != nil {
			s.stats.Malformed++
			return
		}
		r.core.Request(&s.req, &r.eff)
	} else {
		r.core.Message(e.from.ID, e.frame, &r.eff)
	}
	s.apply(e.to.ID)
}
