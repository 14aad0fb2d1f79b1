// Package hotstuff is a deterministic chained HotStuff core (Yin et al.,
// PODC 2019): blocks carrying batches of requests, quorum certificates of
// 2f+1 votes, a rotating leader, the locking rule, commit on a three-chain
// of consecutive views, a pacemaker with timeouts and view synchronisation,
// block fetching, state transfer and block pruning. It does no I/O and no
// cryptography: frames arrive verified (see Verify for what the runtime
// checks first), time arrives as ticks, and everything to send comes back
// as protocols.Effects.
package hotstuff

import (
	"fmt"
	"strings"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/protocols"
)

// Config parameterises a core. Durations are in ticks.
type Config struct {
	ID uint32
	N  int // replicas, n = 3f+1 >= 4
	// BatchSize caps the requests in one block. A leader proposes as soon
	// as it may; requests that arrive meanwhile wait for the next block.
	BatchSize int
	// MaxBatchBytes caps a block's batch encoding (its sealed requests, 4
	// bytes of length each): a block ends before the request that would
	// cross it, though a request always fits alone if it fits at all. A
	// request that cannot fit alone is refused (Stats.Oversized), and a
	// proposal over it rejected. The runtime sets BatchBudget so that a
	// proposal, and a fetch answer carrying it, fit in a frame; 0 means no cap.
	MaxBatchBytes int
	// ViewTimeout is how long a replica with requests to execute waits in a
	// view for progress before it asks to move on; it doubles with every
	// consecutive timeout (up to 2^maxBackoff times) and resets on a commit.
	ViewTimeout uint64
	// FetchTimeout is how long a block fetch waits before asking another replica.
	FetchTimeout uint64
	// ClientWindow bounds how far beyond a client's oldest unexecuted
	// request its requests are accepted (its outstanding requests).
	ClientWindow uint64
	App          protocols.App

	mutations mutations // deliberately broken variants, for the mutation tests
}

// mutations break the protocol on purpose: the simulator must catch them
// (see sim_test.go for which it can and why).
type mutations struct {
	noLock      bool // vote without the locking rule
	oneChain    bool // commit a block as soon as it has a QC
	staleLeader bool // take no QCs from new-views: a leader proposes on whatever QC it holds
}

// maxBackoff caps the pacemaker's doubling. Doubling lets views outlast
// slow links; replicas enter views together anyway (see syncViews), so
// growth beyond 2^maxBackoff would only delay a cluster once it has healed.
const maxBackoff = 4

func (c *Config) fill() error {
	if c.N < 4 || (c.N-1)%3 != 0 {
		return fmt.Errorf("hotstuff: n = %d replicas; need n = 3f+1 >= 4", c.N)
	}
	if int(c.ID) >= c.N {
		return fmt.Errorf("hotstuff: replica id %d out of range for n = %d", c.ID, c.N)
	}
	if c.App == nil {
		return fmt.Errorf("hotstuff: no application")
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 1
	}
	if c.ViewTimeout == 0 {
		c.ViewTimeout = 1000
	}
	if c.FetchTimeout == 0 {
		c.FetchTimeout = max(c.ViewTimeout/2, 1)
	}
	if c.ClientWindow == 0 {
		c.ClientWindow = 1 << 16
	}
	return nil
}

// Core is one HotStuff replica's state machine. Not safe for concurrent use.
type Core struct {
	cfg  Config
	id   uint32
	n, f int
	now  uint64
	out  *protocols.Effects

	// Blocks: the last committed block and every block known to extend it.
	blocks    map[hash]*block
	committed *block // executed with all its ancestors, which are pruned
	locked    *block // the first block of the highest two-chain
	highQC    qc     // the highest QC known

	// Views (see pacemaker.go).
	view     uint64   // the current view
	want     uint64   // votes in no view below this; view <= want
	voted    uint64   // the last view voted in
	proposed uint64   // the last view proposed in
	wants    []uint64 // per replica: the highest view it is in or asked for
	timer    uint64   // pacemaker deadline (0: not running)
	fails    int      // consecutive timeouts
	votes    map[voteKey]*voteSet
	helped   []uint64 // per replica: tick it was last sent this replica's high QC

	// Requests.
	sessions protocols.Sessions
	pending  map[reqKey]*request // known, not executed
	queue    []reqKey            // pending requests in arrival order (may hold executed ones)
	execs    uint64              // requests executed: positions in the total order

	missing map[hash]*fetch // blocks being fetched, with what waits for them
	retry   []waiting       // messages to handle again at the end of the step

	Stats Stats
}

// Stats counts what the core did, for logs and tests.
type Stats struct {
	Proposals, Votes, Blocks, Executed, Duplicates uint64
	Timeouts, Fetches, StateTransfers              uint64
	Rejected                                       uint64 // structurally invalid or unusable messages
	Oversized                                      uint64 // requests refused: over MaxBatchBytes alone
	// Conflicts counts commits of blocks that do not extend the last
	// committed block: impossible unless more than f replicas are faulty.
	Conflicts uint64
}

type reqKey = protocols.RequestID

type request struct {
	frame []byte // sealed client request
}

var _ protocols.Core = (*Core)(nil)

// New returns a core in view 1 whose only block is the genesis block.
func New(cfg Config) (*Core, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	g := genesis()
	c := &Core{
		cfg: cfg, id: cfg.ID, n: cfg.N, f: (cfg.N - 1) / 3,
		blocks:    map[hash]*block{g.hash: g},
		committed: g, locked: g, highQC: qc{view: 0, block: g.hash},
		view: 1, want: 1,
		wants: make([]uint64, cfg.N), helped: make([]uint64, cfg.N),
		votes:   make(map[voteKey]*voteSet),
		pending: make(map[reqKey]*request),
		missing: make(map[hash]*fetch),
	}
	c.sessions.Init()
	return c, nil
}

// viewsPerLeader is how many consecutive views each leader leads, in
// turn. Committing needs three blocks of consecutive views plus the QC of
// the third, formed by the next view's leader: four views in a row with
// working leaders. Had every view a new leader (v mod n), one crashed
// replica among four would leave no such run, and nothing would ever
// commit; with runs of four views, every correct leader commits a block.
const viewsPerLeader = 4

func (c *Core) leader(v uint64) uint32 { return uint32(v / viewsPerLeader % uint64(c.n)) }

// nextLeaderView is the first view after v that another leader leads: a
// replica that gives up on a view gives up on its leader's whole run.
func nextLeaderView(v uint64) uint64 { return (v/viewsPerLeader + 1) * viewsPerLeader }

// quorum is 2f+1: votes in a QC, and new-views that let a view begin.
func (c *Core) quorum() int { return 2*c.f + 1 }

// View is the current view.
func (c *Core) View() uint64 { return c.view }

// Committed returns the view of the last committed block and the number of
// requests executed.
func (c *Core) Committed() (view, executed uint64) { return c.committed.view, c.execs }

// BlocksHeld is the number of blocks in memory, the committed one included.
func (c *Core) BlocksHeld() int { return len(c.blocks) }

// Status describes the core's state in one line, for liveness reports.
func (c *Core) Status() string {
	var b strings.Builder
	fmt.Fprintf(&b, "replica %d view %d", c.id, c.view)
	if c.want > c.view {
		fmt.Fprintf(&b, " (asks for %d)", c.want)
	}
	fmt.Fprintf(&b, " voted %d highQC %d locked %d committed %d exec %d pending %d blocks %d wants %v",
		c.voted, c.highQC.view, c.locked.view, c.committed.view, c.execs, len(c.pending), len(c.blocks), c.wants)
	if c.timer != 0 {
		fmt.Fprintf(&b, " timer %+d", int64(c.timer-c.now))
	}
	if len(c.missing) > 0 {
		fmt.Fprintf(&b, " fetching %d", len(c.missing))
	}
	if c.Stats.Conflicts > 0 {
		fmt.Fprintf(&b, " CONFLICTS %d", c.Stats.Conflicts)
	}
	return b.String()
}

// send queues a frame for replica to (itself included) or, with
// broadcast, for every replica.
func (c *Core) send(to uint32, frame []byte, transferable bool) {
	p := protocols.Broadcast
	if to != broadcast {
		p.ID = to
	}
	c.out.Messages = append(c.out.Messages, protocols.Message{To: p, Frame: frame[:len(frame):len(frame)], Transferable: transferable})
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
	if c.cfg.MaxBatchBytes > 0 && !RequestFits(len(req.Frame), c.cfg.MaxBatchBytes) {
		c.Stats.Oversized++ // no block could carry it: ordering it would stall every view
		return
	}
	c.addPending(k, req.Frame)
	c.finish()
}

// addPending remembers a request until it executes.
func (c *Core) addPending(k reqKey, frame []byte) {
	if _, known := c.pending[k]; known {
		return
	}
	c.pending[k] = &request{frame: frame}
	c.queue = append(c.queue, k)
}

// Message handles a verified protocol frame from replica from (itself for
// what it sent to itself or to everyone).
func (c *Core) Message(from uint32, frame []byte, out *protocols.Effects) {
	c.out = out
	if err := c.handle(from, frame); err != nil {
		c.Stats.Rejected++
	}
	c.finish()
}

func (c *Core) handle(from uint32, frame []byte) error {
	if len(frame) < wire.HeaderSize || int(from) >= c.n {
		return errReject
	}
	switch wire.TypeOf(frame) {
	case wire.TypeHSProposal:
		return c.onProposal(from, frame)
	case wire.TypeHSVote:
		return c.onVote(from, frame)
	case wire.TypeHSNewView:
		return c.onNewView(from, frame)
	case wire.TypeHSFetch:
		return c.onFetch(from, frame)
	case wire.TypeHSBlocks:
		return c.onBlocks(from, frame)
	}
	return errReject
}

// Tick advances the clock: the pacemaker's timer and block fetches.
func (c *Core) Tick(out *protocols.Effects) {
	c.out = out
	c.now++
	if c.timer != 0 && c.now >= c.timer {
		c.timeout()
	}
	c.fetchTick()
	c.finish()
}

// finish ends every step: messages whose wait ended are handled again, a
// leader proposes if it now may, and the pacemaker's timer runs exactly
// while there is work.
func (c *Core) finish() {
	for len(c.retry) > 0 {
		w := c.retry[0]
		c.retry = c.retry[1:]
		if c.handle(w.from, w.frame) != nil {
			c.Stats.Rejected++
		}
	}
	c.retry = nil
	c.maybePropose()
	if len(c.pending) == 0 {
		c.timer = 0 // an idle cluster goes quiet
	} else if c.timer == 0 {
		c.timer = c.now + c.cfg.ViewTimeout<<min(c.fails, maxBackoff)
	}
}

type rejection struct{}

func (rejection) Error() string { return "hotstuff: message rejected" }

var errReject error = rejection{}

// SimConfig is the configuration the simulator runs HotStuff with, in ticks
// of its virtual clock (links take 2 to 10 ticks): blocks of up to 3
// requests and a view timeout of a few round trips.
func SimConfig(id uint32, n int, app protocols.App) Config {
	return Config{ID: id, N: n, App: app, BatchSize: 3, ViewTimeout: 60, FetchTimeout: 30}
}

// SimClientTimeout is the client retransmission timeout, in ticks, that
// suits SimConfig.
const SimClientTimeout = 200
