package hotstuff

import (
	"encoding/binary"
	"slices"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/protocols"
)

// A replica that sees a block it lacks (the parent of a proposal, the block
// of a QC) fetches it, with the ancestors it also lacks, from the replica
// that showed it, then from the others in turn. Whatever named the block
// waits and is handled again once the block is here. A replica asked for
// ancestors it has pruned answers with its state after its last committed
// block instead, and the asker installs it: state transfer.
//
// The state is taken on trust. Its block is a signed proposal the asker
// checks like any other, but nothing certifies the state after it (PBFT's
// checkpoints carry 2f+1 signed digests; blocks here carry none), so a
// Byzantine replica could hand a lagging one a wrong state. Crash faults,
// all the simulator injects, cannot.

// fetch is one missing block and what waits for it.
type fetch struct {
	view     uint64 // the missing block's view, known from the QC that named it
	from     uint32 // the replica to ask, or asked last
	asked    bool
	have     uint64 // the newest view of a block that an answer brought and that fitted
	deadline uint64 // when to ask again (or for the first time)
	frames   []waiting
	qcs      []qc // QCs formed from votes before their block arrived
}

type waiting struct {
	from  uint32
	frame []byte
}

// Bounds on what waits, so that a faulty replica cannot fill memory.
const (
	maxMissing    = 16 // blocks fetched at once
	maxWaiting    = 8  // messages waiting per block
	maxFetchChain = 32 // blocks per answer
	maxFetchBytes = 4 << 20
)

// await makes frame from from wait for block h of view v, which is
// fetched from from after delay ticks.
func (c *Core) await(h hash, v uint64, from uint32, frame []byte, delay uint64) {
	f := c.need(h, v, from, delay)
	if f != nil && len(f.frames) < maxWaiting {
		f.frames = append(f.frames, waiting{from, frame})
	}
}

// awaitQC keeps a QC formed from votes until its block arrives.
func (c *Core) awaitQC(q qc, from uint32) {
	if f := c.need(q.block, q.view, from, c.cfg.FetchTimeout/4); f != nil && len(f.qcs) < maxWaiting {
		f.qcs = append(f.qcs, q)
	}
}

// need starts fetching block h (of view v) if it is not being fetched.
func (c *Core) need(h hash, v uint64, from uint32, delay uint64) *fetch {
	if v <= c.committed.view {
		return nil // pruned history, or a branch that cannot be committed
	}
	if f := c.missing[h]; f != nil {
		return f
	}
	if len(c.missing) >= maxMissing {
		return nil // the messages will come again (new-views, proposals, resent fetches)
	}
	f := &fetch{view: v, from: from, deadline: c.now + delay}
	c.missing[h] = f
	if delay == 0 {
		c.ask(h, f, false)
	}
	return f
}

// ask sends the fetch for h; another replica than the last if that one
// did not answer in time (next).
func (c *Core) ask(h hash, f *fetch, next bool) {
	if next {
		f.from = (f.from + 1) % uint32(c.n)
		f.have = 0 // what it said fitted may not fit what the next one holds
	}
	if f.from == c.id {
		f.from = (f.from + 1) % uint32(c.n)
	}
	f.asked = true
	f.deadline = c.now + c.cfg.FetchTimeout
	c.Stats.Fetches++
	c.send(f.from, wire.AppendHSFetch(nil, &wire.HSFetch{Replica: c.id, Block: h, Have: max(f.have, c.committed.view)}), false)
}

// fetchTick asks again, another replica, for blocks that did not come.
func (c *Core) fetchTick() {
	if len(c.missing) == 0 {
		return
	}
	hs := make([]hash, 0, len(c.missing))
	for h, f := range c.missing {
		if c.now >= f.deadline {
			hs = append(hs, h)
		}
	}
	slices.SortFunc(hs, func(a, b hash) int { return slices.Compare(a[:], b[:]) }) // deterministic output
	for _, h := range hs {
		f := c.missing[h]
		c.ask(h, f, f.asked)
	}
}

// arrived hands on what waited for block h, now held.
func (c *Core) arrived(h hash) {
	f := c.missing[h]
	if f == nil {
		return
	}
	delete(c.missing, h)
	for _, q := range f.qcs {
		c.processQC(q)
	}
	for _, w := range f.frames {
		if c.handle(w.from, w.frame) != nil {
			c.Stats.Rejected++
		}
	}
}

func (c *Core) onFetch(from uint32, frame []byte) error {
	var m wire.HSFetch
	if err := wire.DecodeHSFetch(frame, &m); err != nil || m.Replica != from || from == c.id {
		return errReject
	}
	b := c.blocks[m.Block]
	if b == nil {
		if c.committed.view <= m.Have {
			return nil // unknown here: another replica may help
		}
		b = c.committed // pruned, or unknown: the asker is behind in any case
	}
	var chain []*block // what the asker lacks, newest first
	for x := b; x != nil && x.view > m.Have; x = c.blocks[x.parent] {
		chain = append(chain, x)
	}
	if len(chain) == 0 {
		return nil
	}
	reply := wire.HSBlocks{Replica: c.id}
	if chain[len(chain)-1] == c.committed && c.committed.justify.view > m.Have {
		// The asker lacks blocks this replica pruned: it gets the state
		// after the committed block, and the blocks from there.
		reply.Snapshot = c.snapshot()
	}
	// The oldest block always goes (BatchBudget leaves room for one
	// proposal in an answer); more only while they stay within
	// maxFetchBytes, and within MaxBatchBytes when it is set, so that an
	// answer of large blocks never outgrows a frame.
	limit := maxFetchBytes
	if c.cfg.MaxBatchBytes > 0 {
		limit = min(limit, c.cfg.MaxBatchBytes)
	}
	var size int
	start := len(chain) - 1
	for i := start; i >= 0 && start-i < maxFetchChain; i-- {
		if i < start && size+4+len(chain[i].frame) > limit {
			break
		}
		reply.Proposals = wire.AppendFrame(reply.Proposals, chain[i].frame)
		size += 4 + len(chain[i].frame)
	}
	c.send(from, wire.AppendHSBlocks(nil, &reply), false)
	return nil
}

func (c *Core) onBlocks(from uint32, frame []byte) error {
	var m wire.HSBlocks
	if err := wire.DecodeHSBlocks(frame, &m); err != nil || m.Replica != from {
		return errReject
	}
	first := len(m.Snapshot) > 0
	var newest uint64 // the newest block taken in
	err := m.Proposals.Each(func(f []byte) error {
		b, err := c.parseBlock(f)
		if err != nil {
			return err
		}
		if first {
			first = false
			if _, held := c.blocks[b.hash]; !held && b.view > c.committed.view {
				if err := c.install(b, m.Snapshot); err != nil {
					return err
				}
				newest = b.view
				return nil
			}
		}
		if c.addBlock(from, b, false) {
			newest = max(newest, b.view)
		}
		return nil
	})
	if newest == 0 {
		return err
	}
	// An answer holds at most maxFetchChain blocks, oldest first: ask on
	// from where it ended for what is still missing.
	hs := make([]hash, 0, len(c.missing))
	for h, f := range c.missing {
		if f.asked && f.from == from {
			hs = append(hs, h)
		}
	}
	slices.SortFunc(hs, func(a, b hash) int { return slices.Compare(a[:], b[:]) })
	for _, h := range hs {
		f := c.missing[h]
		f.have = max(f.have, newest)
		c.ask(h, f, false)
	}
	return err
}

// snapshot encodes the state after the committed block: the number of
// requests executed, the client sessions and the application's state.
func (c *Core) snapshot() []byte {
	s := binary.BigEndian.AppendUint64(nil, c.execs)
	s = c.sessions.AppendTo(s)
	return append(s, c.cfg.App.Snapshot()...)
}

// install makes b, from another replica's snapshot, the committed block.
func (c *Core) install(b *block, snapshot []byte) error {
	if len(snapshot) < 8 {
		return errReject
	}
	var s protocols.Sessions
	rest, err := s.Decode(snapshot[8:])
	if err != nil {
		return errReject
	}
	if err := c.cfg.App.Restore(rest); err != nil {
		return errReject
	}
	c.execs = binary.BigEndian.Uint64(snapshot)
	c.sessions = s
	c.blocks[b.hash] = b
	c.committed = b
	if c.locked.view < b.view {
		c.locked = b
	}
	c.Stats.StateTransfers++
	for k := range c.pending {
		if _, done, old := c.sessions.Lookup(k); done || old {
			delete(c.pending, k)
		}
	}
	c.prune()
	c.arrived(b.hash)
	return nil
}
