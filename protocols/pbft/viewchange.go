package pbft

import (
	"crypto/sha256"
	"sort"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/protocols"
)

// viewChanges holds what view changes need across calls.
type viewChanges struct {
	msgs      map[uint64]map[uint32]*parsedVC // view -> replica -> valid view-change
	sentNV    map[uint64]bool
	installed wire.Frames       // the view-changes that justified the installed view (nil for view 0)
	instView  uint64            // the view they installed
	relayed   map[uint32]relay  // replica -> the last new-view relayed to it
	asked     uint64            // tick this replica last asked to be caught up
	future    map[uint64][]byte // seq -> pre-prepare for a view not installed yet
}

func (v *viewChanges) init() {
	v.msgs = make(map[uint64]map[uint32]*parsedVC)
	v.sentNV = make(map[uint64]bool)
	v.relayed = make(map[uint32]relay)
	v.future = make(map[uint64][]byte)
}

// parsedVC is a view-change checked for internal consistency.
type relay struct{ view, at uint64 }

type parsedVC struct {
	frame   []byte
	replica uint32
	stable  uint64
	digest  [wire.DigestSize]byte // of the stable checkpoint
	proof   [][]byte              // its 2f+1 checkpoint frames
	certs   map[uint64]*prepared  // seq -> the prepared batch it reports
}

type prepared struct {
	view   uint64
	digest [wire.DigestSize]byte
	batch  wire.Frames
}

// startViewChange stops normal operation and asks the others to move to
// view, reporting the stable checkpoint and every prepared certificate above it.
func (c *Core) startViewChange(view uint64) {
	if view <= c.view {
		return
	}
	c.view, c.changing = view, true
	c.Stats.ViewChanges++
	c.timer = c.now + c.backoff
	c.backoff *= 2 // a view change that does not complete waits longer next time
	c.queue, c.proposed = nil, make(map[reqKey]bool)

	m := wire.ViewChange{Replica: c.id, View: view, Stable: c.low}
	var cps, pps, prs []byte
	for _, f := range c.cps.proof {
		cps = wire.AppendFrame(cps, f)
	}
	for _, seq := range c.logSeqs() {
		if cert := c.log[seq].cert; cert != nil {
			pps = wire.AppendFrame(pps, cert.pp)
			for _, p := range cert.prepares {
				prs = wire.AppendFrame(prs, p)
			}
		}
	}
	m.Checkpoints, m.PrePrepares, m.Prepares = cps, pps, prs
	c.ownVC = wire.AppendViewChange(nil, &m)
	c.send(broadcast, append([]byte(nil), c.ownVC...))
}

func (c *Core) logSeqs() []uint64 {
	seqs := make([]uint64, 0, len(c.log))
	for s := range c.log {
		seqs = append(seqs, s)
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	return seqs
}

func (c *Core) onViewChange(from uint32, frame []byte) error {
	var m wire.ViewChange
	if err := wire.DecodeViewChange(frame, &m); err != nil || m.Replica != from {
		return errReject
	}
	if m.View < c.view || (m.View == c.view && !c.changing) {
		// The sender asks for a view this replica has already installed
		// (or left behind): it still works in the view before.
		c.vc.relayTo(c, from, m.View-1)
		return nil
	}
	p, err := c.parseVC(frame, &m)
	if err != nil {
		return err
	}
	byReplica := c.vc.msgs[m.View]
	if byReplica == nil {
		byReplica = make(map[uint32]*parsedVC)
		c.vc.msgs[m.View] = byReplica
	}
	byReplica[from] = p

	// Join: f+1 replicas asking for higher views means a correct one does.
	if next, ok := c.joinView(); ok {
		c.startViewChange(next)
	}
	c.maybeSendNewView()
	return nil
}

// joinView returns the smallest view above the current one that f+1
// replicas have asked for, if they have.
func (c *Core) joinView() (uint64, bool) {
	asking := make(map[uint32]bool)
	var smallest uint64
	for v, byReplica := range c.vc.msgs {
		if v <= c.view {
			continue
		}
		for r := range byReplica {
			asking[r] = true
		}
		if smallest == 0 || v < smallest {
			smallest = v
		}
	}
	return smallest, len(asking) >= c.f+1
}

// maybeSendNewView sends the new view once this replica is its primary and
// holds 2f+1 view-changes for it.
func (c *Core) maybeSendNewView() {
	v := c.view
	if !c.changing || c.primary(v) != c.id || c.vc.sentNV[v] || len(c.vc.msgs[v]) < c.quorum() {
		return
	}
	if _, own := c.vc.msgs[v][c.id]; !own {
		return // wait for our own view-change to come back
	}
	ids := make([]uint32, 0, len(c.vc.msgs[v]))
	for id := range c.vc.msgs[v] {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	var list []byte
	for _, id := range ids[:c.quorum()] {
		list = wire.AppendFrame(list, c.vc.msgs[v][id].frame)
	}
	c.vc.sentNV[v] = true
	c.send(broadcast, wire.AppendNewView(nil, &wire.NewView{Replica: c.id, View: v, ViewChanges: list}))
}

func (c *Core) onNewView(from uint32, frame []byte) error {
	var m wire.NewView
	if err := wire.DecodeNewView(frame, &m); err != nil || m.Replica != from {
		return errReject
	}
	if m.View < c.view || (m.View == c.view && !c.changing) {
		c.vc.relayTo(c, from, m.View)
		return nil
	}
	var vcs []*parsedVC
	seen := make(map[uint32]bool)
	err := m.ViewChanges.Each(func(f []byte) error {
		var vc wire.ViewChange
		if err := wire.DecodeViewChange(f, &vc); err != nil || vc.View != m.View || int(vc.Replica) >= c.n || seen[vc.Replica] {
			return errReject
		}
		p, err := c.parseVC(f, &vc)
		if err != nil {
			return err
		}
		seen[vc.Replica] = true
		vcs = append(vcs, p)
		return nil
	})
	if err != nil || len(vcs) < c.quorum() {
		return errReject
	}
	c.installView(m.View, m.ViewChanges, vcs)
	return nil
}

// installView enters view with the view-changes vcs: it adopts their
// highest stable checkpoint, fixes the batches of the sequence numbers
// between it and the highest prepared one (the prepared batch of the
// highest view, or a null batch), and resumes normal operation.
func (c *Core) installView(view uint64, list wire.Frames, vcs []*parsedVC) {
	minS, maxS := uint64(0), uint64(0)
	var stable *parsedVC
	for _, p := range vcs {
		if stable == nil || p.stable > minS {
			minS, stable = p.stable, p
		}
	}
	maxS = minS
	for _, p := range vcs {
		for seq := range p.certs {
			maxS = max(maxS, seq)
		}
	}
	batches := make(map[uint64][]byte, maxS-minS)
	for seq := minS + 1; seq <= maxS; seq++ {
		var best *prepared
		if c.cfg.mutation != "newview-drops-prepared" {
			for _, p := range vcs {
				if q := p.certs[seq]; q != nil && (best == nil || q.view > best.view) {
					best = q
				}
			}
		}
		if best != nil {
			batches[seq] = best.batch
		} else {
			batches[seq] = nil // the null request
		}
	}

	c.view, c.changing = view, false
	c.timer, c.backoff = 0, c.cfg.ViewChangeTimeout
	c.ownVC, c.progress = nil, c.now
	c.vc.installed, c.vc.instView = list, view
	for v := range c.vc.msgs {
		if v <= view {
			delete(c.vc.msgs, v)
		}
	}
	if minS > c.low {
		c.makeStable(minS, stable.digest, stable.proof)
	}
	c.expect = make(map[uint64][wire.DigestSize]byte, len(batches))
	for seq, b := range batches {
		if seq > c.low {
			c.expect[seq] = sha256.Sum256(b)
		}
	}
	c.queue, c.proposed = nil, make(map[reqKey]bool)
	if c.primary(view) == c.id {
		c.nextSeq = max(maxS, c.low) + 1
		for seq := minS + 1; seq <= maxS; seq++ {
			if seq > c.low {
				c.sendPrePrepare(seq, batches[seq])
				_ = wire.Frames(batches[seq]).Each(func(f []byte) error {
					var r wire.Request
					if wire.DecodeRequest(f, &r) == nil {
						c.proposed[protocols.IDOf(&r)] = true
					}
					return nil
				})
			}
		}
		c.requeuePending()
		c.propose(false)
	} else {
		c.armTimer()
	}
	// Pre-prepares that arrived before the new view.
	seqs := make([]uint64, 0, len(c.vc.future))
	for s := range c.vc.future {
		seqs = append(seqs, s)
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	for _, s := range seqs {
		f := c.vc.future[s]
		delete(c.vc.future, s)
		if frame2view(f) == view {
			_ = c.onPrePrepare(frame2sender(f), f)
		} else if frame2view(f) > view {
			c.vc.future[s] = f
		}
	}
}

// requeuePending queues, in arrival order, the pending requests no batch of
// this view carries yet.
func (c *Core) requeuePending() {
	keys := make([]reqKey, 0, len(c.pending))
	for k := range c.pending {
		if !c.proposed[k] {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := c.pending[keys[i]], c.pending[keys[j]]
		if a.seen != b.seen {
			return a.seen < b.seen
		}
		if keys[i].Client != keys[j].Client {
			return keys[i].Client < keys[j].Client
		}
		if keys[i].Session != keys[j].Session {
			return keys[i].Session < keys[j].Session
		}
		return keys[i].Seq < keys[j].Seq
	})
	for _, k := range keys {
		c.enqueue(k)
	}
}

func frame2view(frame []byte) uint64 {
	var m wire.PrePrepare
	if wire.DecodePrePrepare(frame, &m) != nil {
		return 0
	}
	return m.View
}

// relayTo sends the new-view that installed this replica's view to a
// replica whose installed view is theirView, older, so a replica that missed
// it (partitioned, say) catches up. It relays at most once per state
// timeout per replica: the relay itself may be lost.
func (v *viewChanges) relayTo(c *Core, to uint32, theirView uint64) {
	last := v.relayed[to]
	if v.installed == nil || v.instView <= theirView || to == c.id ||
		(last.view == v.instView && c.now < last.at+c.cfg.StateTimeout) {
		return
	}
	v.relayed[to] = relay{v.instView, c.now}
	c.send(to, wire.AppendNewView(nil, &wire.NewView{Replica: c.id, View: v.instView, ViewChanges: v.installed}))
}

// behind is called for a message in a view this replica has not installed:
// it asks the sender for that view's new-view, at most once per state timeout.
func (c *Core) behind(from uint32) {
	if from == c.id || (c.vc.asked != 0 && c.now < c.vc.asked+c.cfg.StateTimeout) {
		return
	}
	c.vc.asked = c.now
	c.send(from, wire.AppendFetchState(nil, &wire.FetchState{Replica: c.id, View: c.vc.instView}))
}

// parseVC checks a view-change's internal consistency: its stable
// checkpoint proof, and that each reported batch prepared (a pre-prepare
// from that view's primary and 2f matching prepares from other replicas).
func (c *Core) parseVC(frame []byte, m *wire.ViewChange) (*parsedVC, error) {
	p := &parsedVC{frame: frame, replica: m.Replica, stable: m.Stable, certs: make(map[uint64]*prepared)}
	if m.Stable > 0 {
		d, proof, err := c.checkpointProof(m.Stable, m.Checkpoints)
		if err != nil {
			return nil, err
		}
		p.digest, p.proof = d, proof
	} else if len(m.Checkpoints) != 0 {
		return nil, errReject
	}
	type slot struct {
		view, seq uint64
		digest    [wire.DigestSize]byte
	}
	voters := make(map[slot]map[uint32]bool)
	err := m.Prepares.Each(func(f []byte) error {
		var v wire.Vote
		if err := wire.DecodeVote(f, wire.TypePrepare, &v); err != nil || int(v.Replica) >= c.n {
			return errReject
		}
		s := slot{v.View, v.Seq, v.Digest}
		if voters[s] == nil {
			voters[s] = make(map[uint32]bool)
		}
		voters[s][v.Replica] = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = m.PrePrepares.Each(func(f []byte) error {
		var pp wire.PrePrepare
		if err := wire.DecodePrePrepare(f, &pp); err != nil {
			return errReject
		}
		if pp.View >= m.View || pp.Replica != c.primary(pp.View) || pp.Seq <= m.Stable || pp.Seq > m.Stable+2*c.window ||
			p.certs[pp.Seq] != nil || sha256.Sum256(pp.Batch) != pp.Digest || checkBatch(pp.Batch) != nil {
			return errReject
		}
		n := 0
		for r := range voters[slot{pp.View, pp.Seq, pp.Digest}] {
			if r != pp.Replica {
				n++
			}
		}
		if n < c.quorum()-1 {
			return errReject
		}
		p.certs[pp.Seq] = &prepared{view: pp.View, digest: pp.Digest, batch: pp.Batch}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}
