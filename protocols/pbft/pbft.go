// Package pbft is a deterministic PBFT core (Castro & Liskov, OSDI 1999):
// pre-prepare/prepare/commit with batching, checkpoints with watermarks and
// log garbage collection, view change and new view, and state transfer for a
// replica that fell behind. It does no I/O and no cryptography: frames
// arrive verified (see Verify for what the runtime checks first), time
// arrives as ticks, and everything to send comes back as protocols.Effects.
package pbft

import (
	"fmt"
	"sort"
	"strings"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/protocols"
)

// Config parameterises a core. Durations are in ticks.
type Config struct {
	ID uint32
	N  int // replicas, n = 3f+1 >= 4
	// BatchSize caps the requests in one pre-prepare.
	BatchSize int
	// MaxBatchBytes caps a batch's encoding (its sealed requests, 4 bytes
	// of length each): a batch ends before the request that would cross it,
	// though a request always fits alone if it fits at all. A request that
	// cannot fit alone is refused (Stats.Oversized), and a pre-prepare over
	// it rejected. The runtime sets BatchBudget so every message carrying a
	// batch fits in a frame; 0 means no cap.
	MaxBatchBytes int
	// BatchTimeout is how long the primary lets queued requests wait for a
	// fuller batch while earlier batches are in flight; an idle primary
	// proposes at once, so light load never waits.
	BatchTimeout uint64
	// CheckpointInterval is the number of requests between checkpoints at
	// full batches: a checkpoint is taken every ceil(CheckpointInterval /
	// BatchSize) sequence numbers. The log window is twice that.
	CheckpointInterval int
	// ViewChangeTimeout is how long a backup waits for a known request to
	// execute before it suspects the primary; it doubles for every view
	// change that does not complete.
	ViewChangeTimeout uint64
	// StateTimeout is how long a state fetch waits before asking another replica.
	StateTimeout uint64
	// ClientWindow bounds how far beyond a client's oldest unexecuted request
	// its requests are accepted (its outstanding requests).
	ClientWindow uint64
	App          protocols.App
	// Gate, if set, learns which slots need no more votes (see Gate).
	Gate *Gate

	mutation string // deliberately broken variants for the mutation tests
}

func (c *Config) fill() error {
	if c.N < 4 || (c.N-1)%3 != 0 {
		return fmt.Errorf("pbft: n = %d replicas; need n = 3f+1 >= 4", c.N)
	}
	if int(c.ID) >= c.N {
		return fmt.Errorf("pbft: replica id %d out of range for n = %d", c.ID, c.N)
	}
	if c.App == nil {
		return fmt.Errorf("pbft: no application")
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 1
	}
	if c.CheckpointInterval <= 0 {
		c.CheckpointInterval = 1000
	}
	if c.ViewChangeTimeout == 0 {
		c.ViewChangeTimeout = 1000
	}
	if c.StateTimeout == 0 {
		c.StateTimeout = c.ViewChangeTimeout / 2
	}
	if c.ClientWindow == 0 {
		c.ClientWindow = 1 << 16
	}
	return nil
}

// Core is one PBFT replica's state machine. Not safe for concurrent use.
type Core struct {
	cfg    Config
	id     uint32
	n, f   int
	period uint64 // sequence numbers between checkpoints
	window uint64 // L: sequence numbers accepted above the low watermark
	now    uint64
	out    *protocols.Effects

	// Views.
	view     uint64 // the installed view, or the view being changed to
	changing bool   // sent a view change for view, no new view installed yet
	vc       viewChanges

	// The log: entries for sequence numbers in (low, low+window].
	low      uint64 // low watermark: the last stable checkpoint
	lastExec uint64
	nextSeq  uint64 // primary: the next sequence number to assign
	log      map[uint64]*entry
	expect   map[uint64][wire.DigestSize]byte // digests a new view fixed for its first sequence numbers

	// Requests.
	sessions protocols.Sessions
	pending  map[reqKey]*request // known, not executed yet
	queue    []reqKey            // primary: pending requests not yet in a batch, in arrival order
	proposed map[reqKey]bool     // primary: in a batch of this view, not executed yet
	timer    uint64              // view-change deadline (0: not running)
	backoff  uint64              // current view-change timeout
	oldest   uint64              // tick the oldest queued request arrived (batch timeout)
	execs    uint64              // requests executed: positions in the total order

	cps   checkpoints
	fetch stateFetch

	// Retransmission: when nothing executes for a state timeout while work
	// is outstanding, the replica sends its part again (see resend).
	progress uint64 // tick of the last execution or installed view
	resentAt uint64 // tick of the last resend
	ownVC    []byte // unsealed view-change this replica sent for view, while changing

	Stats Stats
}

// Stats counts what the core did, for logs and tests.
type Stats struct {
	Batches, Executed, Duplicates, ViewChanges, StateTransfers uint64
	Rejected                                                   uint64 // structurally invalid or out-of-window messages
	Oversized                                                  uint64 // requests refused: over MaxBatchBytes alone
}

type reqKey = protocols.RequestID

type request struct {
	frame []byte // sealed client request
	seen  uint64 // tick it arrived
}

var _ protocols.Core = (*Core)(nil)

// New returns a core in view 0 with an empty log.
func New(cfg Config) (*Core, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	c := &Core{
		cfg: cfg, id: cfg.ID, n: cfg.N, f: (cfg.N - 1) / 3,
		log: make(map[uint64]*entry), expect: make(map[uint64][wire.DigestSize]byte),
		pending: make(map[reqKey]*request), proposed: make(map[reqKey]bool),
		nextSeq: 1, backoff: cfg.ViewChangeTimeout,
	}
	c.period = uint64((cfg.CheckpointInterval + cfg.BatchSize - 1) / cfg.BatchSize)
	c.window = 2 * c.period
	c.sessions.Init()
	c.cps.init(c.n)
	c.vc.init()
	return c, nil
}

func (c *Core) primary(v uint64) uint32 { return uint32(v % uint64(c.n)) }
func (c *Core) isPrimary() bool         { return !c.changing && c.primary(c.view) == c.id }

// quorum is 2f+1: prepared certificates (with the pre-prepare), commits,
// stable checkpoints and new views need this many distinct replicas.
func (c *Core) quorum() int { return 2*c.f + 1 }

// View reports the current view and whether a view change is in progress.
func (c *Core) View() (uint64, bool) { return c.view, c.changing }

// LastExecuted is the highest sequence number executed.
func (c *Core) LastExecuted() uint64 { return c.lastExec }

// LowWatermark is the last stable checkpoint.
func (c *Core) LowWatermark() uint64 { return c.low }

// Status describes the core's state in one line, for liveness reports.
func (c *Core) Status() string {
	var b strings.Builder
	fmt.Fprintf(&b, "replica %d view %d", c.id, c.view)
	if c.changing {
		b.WriteString(" (changing)")
	}
	fmt.Fprintf(&b, " low %d exec %d next %d pending %d queue %d log %d", c.low, c.lastExec, c.nextSeq, len(c.pending), len(c.queue), len(c.log))
	if c.fetch.active {
		fmt.Fprintf(&b, " fetching %d", c.fetch.seq)
	}
	seqs := make([]uint64, 0, len(c.log))
	for s := range c.log {
		seqs = append(seqs, s)
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	for i, s := range seqs {
		if i == 6 {
			b.WriteString(" ...")
			break
		}
		e := c.log[s]
		fmt.Fprintf(&b, " [%d v%d pp=%t p=%d c=%d prep=%t comm=%t]", s, e.view, e.pp != nil, e.countPrepares(), e.countCommits(), e.prepared, e.committed)
	}
	return b.String()
}

// send queues a frame built by build for to (a replica or Broadcast).
func (c *Core) send(to uint32, frame []byte) {
	p := protocols.Broadcast
	if to != broadcast {
		p.ID = to
	}
	c.out.Messages = append(c.out.Messages, protocols.Message{To: p, Frame: frame[:len(frame):len(frame)]})
}

const broadcast = ^uint32(0)

// Request handles a client request (verified by the runtime).
func (c *Core) Request(req *wire.Request, out *protocols.Effects) {
	c.out = out
	k := protocols.IDOf(req)
	if res, ok, old := c.sessions.Lookup(k); ok {
		// Executed already: answer a retransmission from the cache.
		c.Stats.Duplicates++
		out.Replies = append(out.Replies, protocols.Reply{Request: k, View: c.view, Result: res})
		return
	} else if old || req.Seq > c.sessions.Low(k)+c.cfg.ClientWindow {
		c.Stats.Rejected++
		return
	}
	if _, known := c.pending[k]; known {
		return
	}
	if c.cfg.MaxBatchBytes > 0 && !RequestFits(len(req.Frame), c.cfg.MaxBatchBytes) {
		c.Stats.Oversized++ // no batch could carry it: ordering it would stall every view
		return
	}
	c.pending[k] = &request{frame: req.Frame, seen: c.now}
	if c.isPrimary() {
		if !c.proposed[k] {
			c.enqueue(k)
			c.propose(false)
		}
		return
	}
	c.armTimer()
}

// Message handles a verified protocol frame from replica from (itself for
// its own broadcasts).
func (c *Core) Message(from uint32, frame []byte, out *protocols.Effects) {
	c.out = out
	if len(frame) < wire.HeaderSize || int(from) >= c.n {
		c.Stats.Rejected++
		return
	}
	var err error
	switch wire.TypeOf(frame) {
	case wire.TypePrePrepare:
		err = c.onPrePrepare(from, frame)
	case wire.TypePrepare, wire.TypeCommit:
		err = c.onVote(from, frame)
	case wire.TypeCheckpoint:
		err = c.onCheckpoint(from, frame)
	case wire.TypeViewChange:
		err = c.onViewChange(from, frame)
	case wire.TypeNewView:
		err = c.onNewView(from, frame)
	case wire.TypeFetchState:
		err = c.onFetchState(from, frame)
	case wire.TypeState:
		err = c.onState(from, frame)
	default:
		err = errReject
	}
	if err != nil {
		c.Stats.Rejected++
	}
}

// Tick advances the clock: batch timeouts, view-change timeouts and state
// fetch retries.
func (c *Core) Tick(out *protocols.Effects) {
	c.out = out
	c.now++
	if c.isPrimary() && len(c.queue) > 0 && c.now-c.oldest >= c.cfg.BatchTimeout {
		c.propose(true)
	}
	if c.timer != 0 && c.now >= c.timer {
		c.timer = 0
		c.startViewChange(c.view + 1)
	}
	if c.fetch.active && c.now >= c.fetch.deadline {
		c.fetch.retry(c)
	}
	if c.now >= c.progress+c.cfg.StateTimeout && c.now >= c.resentAt+c.cfg.StateTimeout && c.stuck() {
		c.resentAt = c.now
		c.resend()
	}
}

// stuck reports whether work is outstanding: requests to execute, log
// entries not committed, or a view change in progress.
func (c *Core) stuck() bool {
	if len(c.pending) > 0 || c.changing {
		return true
	}
	for _, e := range c.log {
		if e.pp != nil && !e.committed {
			return true
		}
	}
	return false
}

// armTimer starts the view-change timer if a backup waits for a request.
func (c *Core) armTimer() {
	if c.timer == 0 && !c.isPrimary() && len(c.pending) > 0 {
		c.timer = c.now + c.backoff
	}
}

type rejection struct{}

func (rejection) Error() string { return "pbft: message rejected" }

var errReject error = rejection{}

// SimConfig is the configuration the simulator runs PBFT with, in ticks of
// its virtual clock: batches of up to 3 and checkpoints every 2 sequence
// numbers (a window of 4), so that batching, garbage collection, watermarks
// and state transfer all happen within a few requests.
func SimConfig(id uint32, n int, app protocols.App) Config {
	return Config{
		ID: id, N: n, App: app,
		BatchSize: 3, BatchTimeout: 3, CheckpointInterval: 6,
		ViewChangeTimeout: 150, StateTimeout: 40,
	}
}

// SimClientTimeout is the client retransmission timeout, in ticks, that
// suits SimConfig.
const SimClientTimeout = 100
