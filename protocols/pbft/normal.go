package pbft

import (
	"crypto/sha256"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/protocols"
)

// entry is the log slot of one sequence number.
type entry struct {
	seq        uint64
	view       uint64 // view of the accepted pre-prepare (or of the votes, before one arrives)
	digest     [wire.DigestSize]byte
	pp         []byte // accepted sealed pre-prepare; nil until one is accepted in view
	batch      wire.Frames
	prepares   []vote // per replica, votes in view
	commits    []vote
	prepared   bool
	committed  bool
	sentCommit bool

	// cert is the newest prepared certificate, kept across views for view changes.
	cert *certificate
}

type vote struct {
	ok     bool
	digest [wire.DigestSize]byte
	frame  []byte // sealed; kept for prepares (certificates)
}

// certificate proves that a batch prepared at seq in view: the pre-prepare
// and 2f prepares from distinct backups.
type certificate struct {
	view     uint64
	pp       []byte
	prepares [][]byte
}

func (c *Core) entry(seq uint64) *entry {
	e := c.log[seq]
	if e == nil {
		e = &entry{seq: seq, prepares: make([]vote, c.n), commits: make([]vote, c.n)}
		c.log[seq] = e
	}
	return e
}

// moveTo resets e's per-view state for a higher view; the certificate stays.
func (e *entry) moveTo(view uint64) {
	if view == e.view {
		return
	}
	e.view = view
	e.pp, e.batch = nil, nil
	e.prepared, e.committed, e.sentCommit = false, false, false
	for i := range e.prepares {
		e.prepares[i], e.commits[i] = vote{}, vote{}
	}
}

func (e *entry) countPrepares() int { return count(e.prepares, e.digest, e.pp != nil) }
func (e *entry) countCommits() int  { return count(e.commits, e.digest, e.pp != nil) }

func count(votes []vote, d [wire.DigestSize]byte, known bool) int {
	if !known {
		return 0
	}
	n := 0
	for _, v := range votes {
		if v.ok && v.digest == d {
			n++
		}
	}
	return n
}

// inWindow reports whether seq is within the watermarks: the primary
// proposes only there.
func (c *Core) inWindow(seq uint64) bool { return seq > c.low && seq <= c.low+c.window }

// canHold reports whether a message for seq is kept. Replicas hold one
// window beyond the watermarks: a backup whose checkpoint is not stable
// yet, a moment after the primary's became so, would otherwise drop the
// primary's next pre-prepares and votes, and the batch would wait for a
// resend. Twice the window still bounds the log.
func (c *Core) canHold(seq uint64) bool { return seq > c.low && seq <= c.low+2*c.window }

// enqueue adds a pending request to the primary's batch queue.
func (c *Core) enqueue(k reqKey) {
	if len(c.queue) == 0 {
		c.oldest = c.now
	}
	c.queue = append(c.queue, k)
}

// propose sends pre-prepares for queued requests: full batches always, a
// partial batch when nothing is in flight (an idle primary never waits) or
// when timeout says the batch timeout passed. Proposals stay within the
// watermark window.
func (c *Core) propose(timeout bool) {
	for len(c.queue) > 0 && c.isPrimary() && c.inWindow(c.nextSeq) {
		idle := c.nextSeq == c.lastExec+1
		n := c.batchLen()
		if n == len(c.queue) && n < c.cfg.BatchSize && !idle && !timeout {
			return // room for more: wait for a fuller batch
		}
		var batch []byte
		for _, k := range c.queue[:n] {
			batch = wire.AppendFrame(batch, c.pending[k].frame)
			c.proposed[k] = true
		}
		c.queue = c.queue[n:]
		if len(c.queue) == 0 {
			c.queue = nil // let the backing array go
		} else {
			c.oldest = c.now
		}
		c.sendPrePrepare(c.nextSeq, batch)
		c.nextSeq++
		c.Stats.Batches++
		timeout = false
	}
}

// batchLen is how many queued requests the next batch takes: up to
// BatchSize, and as many as fit in MaxBatchBytes (at least one).
func (c *Core) batchLen() int {
	n, size := 0, 0
	for _, k := range c.queue {
		if n == c.cfg.BatchSize {
			break
		}
		size += 4 + len(c.pending[k].frame)
		if n > 0 && c.cfg.MaxBatchBytes > 0 && size > c.cfg.MaxBatchBytes {
			break
		}
		n++
	}
	return n
}

func (c *Core) sendPrePrepare(seq uint64, batch []byte) {
	m := wire.PrePrepare{Replica: c.id, View: c.view, Seq: seq, Digest: sha256.Sum256(batch), Batch: batch}
	c.send(broadcast, wire.AppendPrePrepare(nil, &m))
}

func (c *Core) onPrePrepare(from uint32, frame []byte) error {
	var m wire.PrePrepare
	if err := wire.DecodePrePrepare(frame, &m); err != nil || m.Replica != from {
		return errReject
	}
	if m.View < c.view {
		c.vc.relayTo(c, from, m.View)
	}
	if m.View != c.view || c.changing {
		if m.View > c.view || (m.View == c.view && c.changing) {
			if c.canHold(m.Seq) {
				c.vc.future[m.Seq] = frame // accept it once that view is installed
			}
			c.behind(from)
		}
		return nil
	}
	if from != c.primary(m.View) || !c.canHold(m.Seq) {
		return errReject
	}
	if d := sha256.Sum256(m.Batch); d != m.Digest {
		return errReject
	}
	if c.cfg.MaxBatchBytes > 0 && len(m.Batch) > c.cfg.MaxBatchBytes {
		return errReject // over the cap every replica applies
	}
	if d, fixed := c.expect[m.Seq]; fixed && d != m.Digest {
		return errReject // the new view determined this slot's batch
	}
	if err := checkBatch(m.Batch); err != nil {
		return err
	}
	e := c.entry(m.Seq)
	e.moveTo(m.View)
	if e.pp != nil {
		if e.digest != m.Digest {
			return errReject // a second pre-prepare for the slot: keep the first
		}
		return nil
	}
	e.pp, e.batch, e.digest = frame, m.Batch, m.Digest
	if c.primary(c.view) == c.id && m.Seq >= c.nextSeq {
		c.nextSeq = m.Seq + 1
	}
	if c.primary(m.View) != c.id {
		c.sendVote(wire.TypePrepare, m.View, m.Seq, m.Digest)
	}
	c.advance(e)
	return nil
}

// checkBatch checks that every item of a batch is a well-formed request.
func checkBatch(batch wire.Frames) error {
	var r wire.Request
	return batch.Each(func(frame []byte) error { return wire.DecodeRequest(frame, &r) })
}

func (c *Core) sendVote(t wire.Type, view, seq uint64, d [wire.DigestSize]byte) {
	c.send(broadcast, wire.AppendVote(nil, t, &wire.Vote{Replica: c.id, View: view, Seq: seq, Digest: d}))
}

func (c *Core) onVote(from uint32, frame []byte) error {
	t := wire.TypeOf(frame)
	var m wire.Vote
	if err := wire.DecodeVote(frame, t, &m); err != nil || m.Replica != from {
		return errReject
	}
	if m.View < c.view {
		c.vc.relayTo(c, from, m.View)
		return nil
	}
	if !c.canHold(m.Seq) {
		return nil // below the watermark: done; above: too far ahead to hold
	}
	if t == wire.TypePrepare && from == c.primary(m.View) {
		return errReject // the primary's pre-prepare stands for its prepare
	}
	e := c.entry(m.Seq)
	if m.View < e.view {
		return nil
	}
	e.moveTo(m.View)
	if m.View > c.view || (m.View == c.view && c.changing) {
		c.behind(from)
	}
	v := vote{ok: true, digest: m.Digest}
	if t == wire.TypePrepare {
		v.frame = frame
		e.prepares[from] = v
	} else {
		e.commits[from] = v
	}
	if m.View == c.view && !c.changing {
		c.advance(e)
	}
	return nil
}

// advance moves an entry through prepared and committed and executes what it can.
func (c *Core) advance(e *entry) {
	if e.pp == nil {
		return
	}
	if !e.prepared && e.countPrepares() >= c.quorum()-1 {
		e.prepared = true
		cert := &certificate{view: e.view, pp: e.pp}
		for _, v := range e.prepares {
			if v.ok && v.digest == e.digest && len(cert.prepares) < c.quorum()-1 {
				cert.prepares = append(cert.prepares, v.frame)
			}
		}
		e.cert = cert
		c.cfg.Gate.mark(wire.TypePrepare, e.view, e.seq)
	}
	if e.prepared && !e.sentCommit {
		e.sentCommit = true
		c.sendVote(wire.TypeCommit, e.view, e.seq, e.digest)
	}
	need := c.quorum()
	if c.cfg.mutation == "commit-quorum-f" {
		need = c.f
	}
	if e.prepared && !e.committed && e.countCommits() >= need {
		e.committed = true
		c.cfg.Gate.mark(wire.TypeCommit, e.view, e.seq)
		c.execute()
	}
}

// resend sends this replica's part of what is unfinished again, for when
// messages were lost: protocols messages are not retransmitted otherwise.
// While changing views it repeats its view-change; in a view, for every
// entry of the window, the primary its pre-prepare (until committed) and a
// backup its prepare, and everyone the commit once prepared; and its latest
// checkpoint.
func (c *Core) resend() {
	if c.changing {
		if c.ownVC != nil {
			c.send(broadcast, append([]byte(nil), c.ownVC...))
		}
		return
	}
	for _, seq := range c.logSeqs() {
		e := c.log[seq]
		if e.pp == nil || e.view != c.view {
			continue
		}
		if c.primary(e.view) == c.id {
			// A batch committed here prepared at 2f+1 replicas: a backup
			// that missed it catches up at the next stable checkpoint
			// (state transfer). Resending it too would cost a signature
			// over every batch of the window, megabytes each with large
			// requests, every state timeout.
			if !e.committed {
				c.sendPrePrepare(seq, e.batch)
			}
		} else {
			c.sendVote(wire.TypePrepare, e.view, seq, e.digest)
		}
		if e.prepared {
			c.sendVote(wire.TypeCommit, e.view, seq, e.digest)
		}
	}
	if cp := c.lastExec - c.lastExec%c.period; cp > c.low {
		if snap := c.cps.own[cp]; snap != nil {
			c.send(broadcast, wire.AppendCheckpoint(nil, &wire.Checkpoint{Replica: c.id, Seq: cp, Digest: sha256.Sum256(snap)}))
		}
	}
}

// execute runs committed batches in sequence order.
func (c *Core) execute() {
	before := c.lastExec
	for !c.fetch.active {
		e := c.log[c.lastExec+1]
		if e == nil || !e.committed {
			break
		}
		var r wire.Request
		_ = e.batch.Each(func(frame []byte) error {
			if wire.DecodeRequest(frame, &r) != nil {
				return nil // checked when the pre-prepare was accepted
			}
			c.executeRequest(&r)
			return nil
		})
		c.lastExec = e.seq
		c.Stats.Executed++
		if c.lastExec%c.period == 0 {
			c.takeCheckpoint()
		}
	}
	if c.lastExec == before {
		return
	}
	c.progress = c.now
	// Progress restarts the suspicion timer; nothing left to wait for stops it.
	if !c.changing {
		c.timer = 0
		c.armTimer()
	}
	if c.isPrimary() {
		c.propose(false)
	}
}

func (c *Core) executeRequest(r *wire.Request) {
	k := protocols.IDOf(r)
	delete(c.pending, k)
	delete(c.proposed, k)
	c.sessions.Execute(c.cfg.App, r, c.view, &c.execs, c.out)
}
