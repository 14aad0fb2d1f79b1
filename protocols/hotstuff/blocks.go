package hotstuff

import (
	"slices"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/protocols"
)

type hash = [wire.DigestSize]byte

// qc is a checked quorum certificate.
type qc struct {
	view  uint64
	block hash
	votes wire.Frames // 2f+1 sealed votes; none for the genesis QC
}

func (q *qc) wire() wire.QC { return wire.QC{View: q.view, Block: q.block, Votes: q.votes} }

// block is a proposal that passed every check. Blocks always extend the
// block their justify QC certifies, so parent == justify.block.
type block struct {
	hash    hash
	view    uint64
	parent  hash
	justify qc
	batch   wire.Frames
	reqs    []blockReq // the requests of batch
	frame   []byte     // the sealed proposal, to answer fetches; nil for genesis
}

type blockReq struct {
	key   reqKey
	frame []byte // sealed, aliasing the block's batch
}

// genesis is the block every chain starts from: view 0, no parent, no
// requests, certified by a QC without votes.
func genesis() *block {
	p := wire.HSProposal{}
	return &block{hash: p.BlockHash()}
}

var genesisHash = genesis().hash

// parseBlock checks a sealed proposal: sent by its view's leader,
// extending the block its justify QC certifies, from an earlier view, with
// a valid QC and well-formed requests.
func (c *Core) parseBlock(frame []byte) (*block, error) {
	var m wire.HSProposal
	if err := wire.DecodeHSProposal(frame, &m); err != nil {
		return nil, errReject
	}
	if m.Replica != c.leader(m.View) || m.Justify.View >= m.View || m.Parent != m.Justify.Block {
		return nil, errReject
	}
	if c.cfg.MaxBatchBytes > 0 && len(m.Batch) > c.cfg.MaxBatchBytes {
		return nil, errReject // over the cap every replica applies
	}
	q, err := c.checkQC(&m.Justify)
	if err != nil {
		return nil, err
	}
	b := &block{hash: m.BlockHash(), view: m.View, parent: m.Parent, justify: q, batch: m.Batch, frame: frame}
	var r wire.Request
	err = m.Batch.Each(func(f []byte) error {
		if err := wire.DecodeRequest(f, &r); err != nil {
			return err
		}
		b.reqs = append(b.reqs, blockReq{protocols.IDOf(&r), f})
		return nil
	})
	if err != nil {
		return nil, errReject
	}
	return b, nil
}

// checkQC checks that a QC holds 2f+1 votes from distinct replicas for its
// block and view (their authenticators were checked by Verify).
func (c *Core) checkQC(m *wire.QC) (qc, error) {
	q := qc{view: m.View, block: m.Block, votes: m.Votes}
	if m.View == 0 {
		if m.Block != genesisHash || len(m.Votes) != 0 {
			return qc{}, errReject
		}
		return q, nil
	}
	seen := make([]bool, c.n)
	count := 0
	var v wire.HSVote
	err := m.Votes.Each(func(f []byte) error {
		if err := wire.DecodeHSVote(f, &v); err != nil {
			return err
		}
		if v.View != m.View || v.Block != m.Block || int(v.Replica) >= c.n || seen[v.Replica] {
			return errReject
		}
		seen[v.Replica] = true
		count++
		return nil
	})
	if err != nil || count < c.quorum() {
		return qc{}, errReject
	}
	return q, nil
}

func (c *Core) onProposal(from uint32, frame []byte) error {
	b, err := c.parseBlock(frame)
	if err != nil || c.leader(b.view) != from {
		return errReject
	}
	if b.justify.view < c.highQC.view {
		c.help(from) // a leader that missed QCs proposes on an old one
	}
	if c.missing[b.hash] == nil && c.heldInView(b.view, b.hash) {
		return nil // a second block for the view: only if a QC names it, then fetched
	}
	if !c.addBlock(from, b, true) {
		return nil // old, on a dead fork, or waiting for its parent
	}
	b = c.blocks[b.hash] // the copy held, if it was known before
	if b.view > c.view {
		c.advance(b.view) // a proposal shows its view has begun
	}
	if b.view == c.view && b.view >= c.want && b.view > c.voted && c.safe(b) {
		c.voted = b.view
		c.Stats.Votes++
		c.send(c.leader(b.view+1), wire.AppendHSVote(nil, &wire.HSVote{Replica: c.id, View: b.view, Block: b.hash}), true)
		c.advance(b.view + 1) // nothing more to do in this view
	}
	return nil
}

// heldInView reports whether a block of view v other than h is held. A
// correct leader proposes one block per view; keeping only the first one a
// leader sends for a view bounds what an equivocating leader can make
// replicas hold until the next commit prunes it.
func (c *Core) heldInView(v uint64, h hash) bool {
	for _, b := range c.blocks {
		if b.view == v && b.hash != h {
			return true
		}
	}
	return false
}

// safe is HotStuff's voting rule: the block extends the locked block, or
// its QC is newer than the lock (the lock then was on a branch the others
// left behind).
func (c *Core) safe(b *block) bool {
	return c.cfg.mutations.noLock || b.justify.view > c.locked.view || c.extends(b, c.locked)
}

// extends reports whether b is anc or one of its descendants.
func (c *Core) extends(b, anc *block) bool {
	for b != nil && b.view > anc.view {
		b = c.blocks[b.parent]
	}
	return b != nil && b.hash == anc.hash
}

// addBlock stores a checked block whose ancestors are all known, processes
// its QC and hands on what waited for it. It reports whether the block is
// held when it returns. A block whose parent is missing waits for a fetch
// of the parent (if fetchParent) or is dropped, and so is one that cannot
// extend the last committed block.
func (c *Core) addBlock(from uint32, b *block, fetchParent bool) bool {
	if _, ok := c.blocks[b.hash]; ok {
		return true
	}
	if b.justify.view < c.committed.view || (b.justify.view == c.committed.view && b.parent != c.committed.hash) {
		return false // a branch that left the committed chain, or history
	}
	if c.blocks[b.parent] == nil {
		if fetchParent {
			c.await(b.parent, b.justify.view, from, b.frame, 0)
		}
		return false
	}
	c.blocks[b.hash] = b
	for _, r := range b.reqs {
		if _, done, old := c.sessions.Lookup(r.key); !done && !old {
			c.addPending(r.key, r.frame) // should this branch be abandoned, another block carries it
		}
	}
	c.processQC(b.justify)
	c.arrived(b.hash)
	// Children that waited for it may have committed past it, pruning it.
	return c.blocks[b.hash] != nil
}

// processQC takes in a QC whose block is held: it may raise the high QC,
// move the lock to the first block of a two-chain, commit the first block
// of a three-chain of consecutive views, and end the QC's view.
func (c *Core) processQC(q qc) {
	b2 := c.blocks[q.block]
	if b2 == nil {
		return
	}
	if q.view > c.highQC.view {
		c.highQC = q
		c.pruneVotes()
	}
	if b1 := c.blocks[b2.parent]; b1 != nil {
		if b1.view > c.locked.view {
			c.locked = b1
		}
		if b0 := c.blocks[b1.parent]; b0 != nil && b2.view == b1.view+1 && b1.view == b0.view+1 && b0.view > c.committed.view {
			c.commit(b0)
		}
	}
	if c.cfg.mutations.oneChain && b2.view > c.committed.view {
		c.commit(b2)
	}
	if q.view >= c.view {
		c.advance(q.view + 1)
	}
}

// commit executes b and its uncommitted ancestors, oldest first, then
// prunes what no longer matters.
func (c *Core) commit(b *block) {
	var chain []*block
	for x := b; x != c.committed; x = c.blocks[x.parent] {
		if x == nil || x.view <= c.committed.view {
			c.Stats.Conflicts++
			return
		}
		chain = append(chain, x)
	}
	for i := len(chain) - 1; i >= 0; i-- {
		x := chain[i]
		var r wire.Request
		_ = x.batch.Each(func(f []byte) error {
			if wire.DecodeRequest(f, &r) == nil { // checked when the block arrived
				c.execute(&r)
			}
			return nil
		})
		c.committed = x
		c.Stats.Blocks++
	}
	c.fails = 0 // progress: QCs alone are not, if views end too soon to chain them
	if c.locked.view < c.committed.view {
		c.locked = c.committed
	}
	c.prune()
}

func (c *Core) execute(r *wire.Request) {
	k := protocols.IDOf(r)
	delete(c.pending, k)
	if c.sessions.Execute(c.cfg.App, r, c.view, &c.execs, c.out) {
		c.Stats.Executed++
	}
}

// prune drops every block that does not extend the committed block (its
// ancestors and abandoned branches), fetches that no longer matter, and
// executed requests from the queue.
func (c *Core) prune() {
	keep := map[hash]bool{c.committed.hash: true}
	var walk func(b *block) bool
	walk = func(b *block) bool {
		if k, ok := keep[b.hash]; ok {
			return k
		}
		p := c.blocks[b.parent]
		k := b.view > c.committed.view && p != nil && walk(p)
		keep[b.hash] = k
		return k
	}
	for h, b := range c.blocks {
		if !walk(b) {
			delete(c.blocks, h)
		}
	}
	var stale []hash
	for h, f := range c.missing {
		if f.view <= c.committed.view {
			stale = append(stale, h)
		}
	}
	slices.SortFunc(stale, func(a, b hash) int { return slices.Compare(a[:], b[:]) }) // deterministic order
	for _, h := range stale {
		// What waited for a block now below the committed one is handled
		// again: a new-view still counts, a proposal may fit now.
		c.retry = append(c.retry, c.missing[h].frames...)
		delete(c.missing, h)
	}
	if len(c.queue) > 2*len(c.pending)+64 {
		q := c.queue[:0]
		for _, k := range c.queue {
			if c.pending[k] != nil {
				q = append(q, k)
			}
		}
		clear(c.queue[len(q):])
		c.queue = q
	}
}

// maybePropose proposes a block if this replica leads the current view and
// may: it has not proposed in it nor asked to leave it, it knows the QC of
// the view before or 2f+1 replicas moved on to this view (so its high QC is
// at least theirs), and there are requests to order or to commit.
func (c *Core) maybePropose() {
	v := c.view
	if c.leader(v) != c.id || c.proposed >= v || c.want > v {
		return
	}
	parent := c.blocks[c.highQC.block]
	if parent == nil || (c.highQC.view+1 != v && c.moved(v) < c.quorum()) {
		return
	}
	if len(c.pending) == 0 && !c.unsettled(parent) {
		return // an idle cluster goes quiet
	}
	ordered := make(map[reqKey]bool)
	for x := parent; x != nil && x != c.committed; x = c.blocks[x.parent] {
		for _, r := range x.reqs {
			ordered[r.key] = true
		}
	}
	var batch []byte
	n := 0
	for _, k := range c.queue {
		if n == c.cfg.BatchSize {
			break
		}
		if r := c.pending[k]; r != nil && !ordered[k] {
			if n > 0 && c.cfg.MaxBatchBytes > 0 && len(batch)+4+len(r.frame) > c.cfg.MaxBatchBytes {
				break // the block is full by bytes; the rest waits in order
			}
			batch = wire.AppendFrame(batch, r.frame)
			ordered[k] = true
			n++
		}
	}
	// With every pending request already in the chain, an empty block
	// still moves them towards a three-chain.
	c.proposed = v
	c.Stats.Proposals++
	m := wire.HSProposal{Replica: c.id, View: v, Parent: parent.hash, Justify: c.highQC.wire(), Batch: batch}
	c.send(broadcast, wire.AppendHSProposal(nil, &m), false)
}

// unsettled reports whether requests in the chain ending at b may still
// be uncommitted at some replica: the others commit a block only when a
// proposal brings them the QC of its second descendant, so until the last
// three blocks are empty, empty blocks must follow.
func (c *Core) unsettled(b *block) bool {
	for i := 0; i < 3 && b != nil; i++ {
		if len(b.reqs) > 0 {
			return true
		}
		b = c.blocks[b.parent]
	}
	return false
}

// voteKey names what votes are for.
type voteKey struct {
	view  uint64
	block hash
}

type voteSet struct {
	frames [][]byte // per replica
	count  int
}

// onVote collects votes as the next view's leader and forms a QC from 2f+1.
func (c *Core) onVote(from uint32, frame []byte) error {
	var m wire.HSVote
	if err := wire.DecodeHSVote(frame, &m); err != nil || m.Replica != from || c.leader(m.View+1) != c.id {
		return errReject
	}
	if m.View <= c.highQC.view {
		return nil // a QC at least as high is known
	}
	k := voteKey{m.View, m.Block}
	vs := c.votes[k]
	if vs == nil {
		if len(c.votes) >= maxVoteSets {
			return nil // a flood of votes for views far apart: the QC will come another way
		}
		vs = &voteSet{frames: make([][]byte, c.n)}
		c.votes[k] = vs
	}
	if vs.frames[from] != nil {
		return nil
	}
	vs.frames[from] = frame
	vs.count++
	if vs.count < c.quorum() {
		return nil
	}
	var list []byte
	for _, f := range vs.frames {
		if f != nil {
			list = wire.AppendFrame(list, f)
		}
	}
	delete(c.votes, k)
	q := qc{view: m.View, block: m.Block, votes: list}
	if c.blocks[q.block] == nil {
		c.awaitQC(q, from)
		return nil
	}
	c.processQC(q)
	return nil
}

// maxVoteSets bounds the vote sets a leader collects at once.
const maxVoteSets = 16

// pruneVotes drops vote sets a QC at least as high made useless.
func (c *Core) pruneVotes() {
	for k := range c.votes {
		if k.view <= c.highQC.view {
			delete(c.votes, k)
		}
	}
}
