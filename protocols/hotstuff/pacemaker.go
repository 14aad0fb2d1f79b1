package hotstuff

import (
	"slices"

	"github.com/replbench/replbench/internal/wire"
)

// The pacemaker keeps correct replicas in the same view long enough for a
// leader to be heard. A view ends for a replica when it sees the view's QC
// (or a proposal of a later view), or when it has voted in it. A replica
// with requests waiting that sees no progress for a view timeout asks to
// leave its view: it broadcasts a new-view for the next leader's first
// view (see viewsPerLeader) with its high QC and stops voting in its
// current view, but stays there. It moves on only when 2f+1 replicas
// asked for a later view (they gave their QCs to its leader), and joins
// any request f+1 replicas made (one of them is correct). So no replica
// runs ahead of the others on timeouts alone, and a leader starts its view
// knowing the highest QC of 2f+1 replicas.

// advance enters view v if it is later than the current one.
func (c *Core) advance(v uint64) {
	if v <= c.view {
		return
	}
	c.view = v
	c.want = max(c.want, v)
	c.timer = 0 // finish restarts it if there is work
}

// timeout fires when a view made no progress: ask to leave it.
func (c *Core) timeout() {
	c.timer = 0
	c.fails++
	c.Stats.Timeouts++
	c.want = max(c.want, nextLeaderView(c.view))
	c.sendNewView(c.want, broadcast)
}

func (c *Core) sendNewView(v uint64, to uint32) {
	c.send(to, wire.AppendHSNewView(nil, &wire.HSNewView{Replica: c.id, View: v, HighQC: c.highQC.wire()}), false)
}

func (c *Core) onNewView(from uint32, frame []byte) error {
	var m wire.HSNewView
	if err := wire.DecodeHSNewView(frame, &m); err != nil || m.Replica != from {
		return errReject
	}
	q, err := c.checkQC(&m.HighQC)
	if err != nil {
		return err
	}
	if c.cfg.mutations.staleLeader {
		q = c.highQC
	}
	if q.view > c.committed.view && c.blocks[q.block] == nil {
		// Take its QC and its view together, once the block is here: a
		// leader counts the new-views whose QCs it knows.
		c.await(q.block, q.view, from, frame, c.cfg.FetchTimeout/4)
		return nil
	}
	c.processQC(q)
	if q.view < c.highQC.view {
		c.help(from)
	}
	c.wants[from] = max(c.wants[from], m.View)
	c.syncViews()
	return nil
}

// syncViews applies the two rules of view synchronisation to the views
// others are in or asked for: join a view f+1 replicas want beyond this
// replica's, and enter the highest view 2f+1 replicas reached.
func (c *Core) syncViews() {
	ws := slices.Clone(c.wants)
	ws[c.id] = max(ws[c.id], c.want)
	slices.Sort(ws)
	slices.Reverse(ws)
	if w := ws[c.f]; w > c.want {
		c.want = w
		c.sendNewView(w, broadcast)
	}
	if w := ws[2*c.f]; w > c.view {
		c.advance(w)
	}
}

// moved counts the replicas in or asking for view v or a later one.
func (c *Core) moved(v uint64) int {
	n := 0
	for id, w := range c.wants {
		if uint32(id) == c.id {
			w = max(w, c.want)
		}
		if w >= v {
			n++
		}
	}
	return n
}

// help sends a replica that showed an old high QC this replica's view and
// high QC, at most once per fetch timeout: it catches up from there.
func (c *Core) help(to uint32) {
	if to == c.id || (c.helped[to] != 0 && c.now < c.helped[to]+c.cfg.FetchTimeout) {
		return
	}
	c.helped[to] = c.now
	c.sendNewView(c.view, to)
}
