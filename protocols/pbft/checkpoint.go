package pbft

import (
	"crypto/sha256"
	"encoding/binary"
	"sort"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/protocols"
)

// checkpoints tracks checkpoint votes, the stable checkpoint's proof and
// this replica's own snapshots (to serve state transfer).
type checkpoints struct {
	votes  map[uint64]map[uint32]cpVote // seq -> replica -> vote, seqs above the low watermark
	recent [][]uint64                   // per replica, the seqs it voted for that are still held
	own    map[uint64][]byte            // snapshots of own checkpoints at or above the low watermark
	proof  [][]byte                     // 2f+1 sealed checkpoint frames for the stable checkpoint
}

type cpVote struct {
	digest [wire.DigestSize]byte
	frame  []byte
}

// maxVotesPerReplica bounds the checkpoint votes kept per replica, so a
// replica far ahead (or a faulty one) cannot grow the table.
const maxVotesPerReplica = 4

func (cp *checkpoints) init(n int) {
	cp.votes = make(map[uint64]map[uint32]cpVote)
	cp.recent = make([][]uint64, n)
	cp.own = make(map[uint64][]byte)
}

// snapshot encodes the replicated state: requests executed, client
// sessions and the application. Its SHA-256 is the checkpoint digest, so a
// transferred snapshot is checked against a stable checkpoint directly.
func (c *Core) snapshot() []byte {
	b := binary.BigEndian.AppendUint64(nil, c.execs)
	b = c.sessions.AppendTo(b)
	return append(b, c.cfg.App.Snapshot()...)
}

func (c *Core) restore(snap []byte) error {
	if len(snap) < 8 {
		return protocols.ErrSnapshot
	}
	execs := binary.BigEndian.Uint64(snap)
	var s protocols.Sessions
	rest, err := s.Decode(snap[8:])
	if err != nil {
		return err
	}
	if err := c.cfg.App.Restore(rest); err != nil {
		return err
	}
	c.execs, c.sessions = execs, s
	return nil
}

func (c *Core) takeCheckpoint() {
	snap := c.snapshot()
	d := sha256.Sum256(snap)
	c.cps.own[c.lastExec] = snap
	c.out.Checkpoints = append(c.out.Checkpoints, protocols.Checkpoint{Seq: c.lastExec, Digest: d})
	c.send(broadcast, wire.AppendCheckpoint(nil, &wire.Checkpoint{Replica: c.id, Seq: c.lastExec, Digest: d}))
}

func (c *Core) onCheckpoint(from uint32, frame []byte) error {
	var m wire.Checkpoint
	if err := wire.DecodeCheckpoint(frame, &m); err != nil || m.Replica != from || m.Seq == 0 || m.Seq%c.period != 0 {
		return errReject
	}
	if m.Seq <= c.low {
		return nil
	}
	cp := &c.cps
	votes := cp.votes[m.Seq]
	if votes == nil {
		votes = make(map[uint32]cpVote)
		cp.votes[m.Seq] = votes
	}
	if _, dup := votes[from]; dup {
		return nil
	}
	votes[from] = cpVote{m.Digest, frame}
	cp.recent[from] = append(cp.recent[from], m.Seq)
	if len(cp.recent[from]) > maxVotesPerReplica {
		old := cp.recent[from][0]
		cp.recent[from] = cp.recent[from][1:]
		if v := cp.votes[old]; v != nil {
			delete(v, from)
		}
	}
	if proof := c.matching(votes, m.Digest); len(proof) >= c.quorum() {
		c.makeStable(m.Seq, m.Digest, proof)
	}
	return nil
}

// matching returns the frames of votes for digest d, in replica order.
func (c *Core) matching(votes map[uint32]cpVote, d [wire.DigestSize]byte) [][]byte {
	ids := make([]uint32, 0, len(votes))
	for id, v := range votes {
		if v.digest == d {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	frames := make([][]byte, len(ids))
	for i, id := range ids {
		frames[i] = votes[id].frame
	}
	return frames
}

// makeStable moves the low watermark to seq, whose digest d 2f+1 replicas
// vouch for (proof), discards the log below it, and fetches the state if
// this replica has not executed that far.
func (c *Core) makeStable(seq uint64, d [wire.DigestSize]byte, proof [][]byte) {
	if seq <= c.low {
		return
	}
	c.low = seq
	c.cps.proof = proof[:c.quorum()]
	c.cfg.Gate.prune(seq)
	for s := range c.log {
		if s <= seq {
			delete(c.log, s)
		}
	}
	for s := range c.expect {
		if s <= seq {
			delete(c.expect, s)
		}
	}
	for s := range c.vc.future {
		if s <= seq {
			delete(c.vc.future, s)
		}
	}
	for s := range c.cps.votes {
		if s <= seq {
			delete(c.cps.votes, s)
		}
	}
	for i, r := range c.cps.recent {
		kept := r[:0]
		for _, s := range r {
			if s > seq {
				kept = append(kept, s)
			}
		}
		c.cps.recent[i] = kept
	}
	for s := range c.cps.own {
		if s < seq {
			delete(c.cps.own, s)
		}
	}
	if c.nextSeq <= seq {
		c.nextSeq = seq + 1
	}
	if c.lastExec < seq {
		c.fetch.start(c, seq, d, proof)
		return
	}
	if c.isPrimary() {
		c.propose(false) // the window moved
	}
}

// stateFetch is a state transfer in progress: the replica asks one replica
// after another for a stable checkpoint at or above seq.
type stateFetch struct {
	active   bool
	seq      uint64
	digest   [wire.DigestSize]byte
	from     []uint32 // replicas that vouched for the checkpoint, asked in turn
	next     int
	deadline uint64
}

func (f *stateFetch) start(c *Core, seq uint64, d [wire.DigestSize]byte, proof [][]byte) {
	if f.active && f.seq >= seq {
		return
	}
	*f = stateFetch{active: true, seq: seq, digest: d}
	for _, frame := range proof {
		if id := frame2sender(frame); id != c.id {
			f.from = append(f.from, id)
		}
	}
	f.retry(c)
}

// retry asks the next replica and sets the deadline for its answer.
func (f *stateFetch) retry(c *Core) {
	if len(f.from) == 0 {
		f.from = others(c)
	}
	to := f.from[f.next%len(f.from)]
	f.next++
	f.deadline = c.now + c.cfg.StateTimeout
	c.send(to, wire.AppendFetchState(nil, &wire.FetchState{Replica: c.id, Seq: f.seq, View: c.vc.instView}))
}

func others(c *Core) []uint32 {
	var ids []uint32
	for i := 0; i < c.n; i++ {
		if uint32(i) != c.id {
			ids = append(ids, uint32(i))
		}
	}
	return ids
}

func frame2sender(frame []byte) uint32 {
	if len(frame) < wire.HeaderSize+4 {
		return ^uint32(0)
	}
	return binary.BigEndian.Uint32(frame[wire.HeaderSize:])
}

func (c *Core) onFetchState(from uint32, frame []byte) error {
	var m wire.FetchState
	if err := wire.DecodeFetchState(frame, &m); err != nil || m.Replica != from {
		return errReject
	}
	c.vc.relayTo(c, from, m.View)
	snap := c.cps.own[c.low]
	if m.Seq == 0 || c.low < m.Seq || snap == nil || from == c.id {
		return nil // cannot help (yet); the asker moves on to another replica
	}
	var proof []byte
	for _, p := range c.cps.proof {
		proof = wire.AppendFrame(proof, p)
	}
	c.send(from, wire.AppendState(nil, &wire.State{Replica: c.id, Seq: c.low, Checkpoints: proof, Snapshot: snap}))
	return nil
}

func (c *Core) onState(from uint32, frame []byte) error {
	var m wire.State
	if err := wire.DecodeState(frame, &m); err != nil || m.Replica != from {
		return errReject
	}
	if !c.fetch.active || m.Seq < c.fetch.seq || m.Seq <= c.lastExec {
		return nil
	}
	d, proof, err := c.checkpointProof(m.Seq, m.Checkpoints)
	if err != nil || sha256.Sum256(m.Snapshot) != d {
		return errReject
	}
	snap := append([]byte(nil), m.Snapshot...)
	if err := c.restore(snap); err != nil {
		return errReject
	}
	c.Stats.StateTransfers++
	c.fetch = stateFetch{}
	c.lastExec = m.Seq
	c.cps.own[m.Seq] = snap
	if m.Seq > c.low {
		c.makeStable(m.Seq, d, proof)
	} else if m.Seq == c.low {
		c.cps.proof = proof
	}
	// Requests the snapshot covers are done.
	for k := range c.pending {
		if _, done, old := c.sessions.Lookup(k); done || old {
			delete(c.pending, k)
			delete(c.proposed, k)
		}
	}
	c.pruneQueue()
	c.execute()
	return nil
}

// pruneQueue drops queued requests that are no longer pending.
func (c *Core) pruneQueue() {
	kept := c.queue[:0]
	for _, k := range c.queue {
		if c.pending[k] != nil && !c.proposed[k] {
			kept = append(kept, k)
		}
	}
	c.queue = kept
}

// checkpointProof checks that frames hold 2f+1 checkpoints from distinct
// replicas for seq with one digest, and returns the digest and the frames.
func (c *Core) checkpointProof(seq uint64, frames wire.Frames) ([wire.DigestSize]byte, [][]byte, error) {
	var d [wire.DigestSize]byte
	var proof [][]byte
	seen := make(map[uint32]bool)
	err := frames.Each(func(f []byte) error {
		var m wire.Checkpoint
		if err := wire.DecodeCheckpoint(f, &m); err != nil || m.Seq != seq || int(m.Replica) >= c.n || seen[m.Replica] {
			return errReject
		}
		if len(proof) == 0 {
			d = m.Digest
		} else if m.Digest != d {
			return errReject
		}
		seen[m.Replica] = true
		proof = append(proof, f)
		return nil
	})
	if err != nil || len(proof) < c.quorum() {
		return d, nil, errReject
	}
	return d, proof, nil
}
