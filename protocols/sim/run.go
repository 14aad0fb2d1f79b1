package sim

import (
	"fmt"
	"strings"
)

// Report counts what a run did.
type Report struct {
	Seed      uint64
	Ticks     uint64
	Sent      uint64 // frames put on the network, one per receiver
	Delivered uint64
	Dropped   uint64 // lost, cut by a partition or filter, or sent to a crashed replica
	// Duplicated counts extra copies the network made.
	Duplicated  uint64
	Malformed   uint64 // frames a core built or addressed so that no runtime could send them
	Completed   uint64 // requests whose result a client accepted
	Retransmits uint64
	Executions  uint64 // requests executed, summed over replicas
	Checkpoints uint64 // distinct checkpoint positions reported
	Crashes     int
	Partitions  int
	// Unchecked counts accepted results the checker could not compare,
	// because no replica's step both executed the request and showed its
	// result (through the application or a reply).
	Unchecked int
	TraceHash uint64
}

// Failure is a safety violation or liveness failure, with what it takes to
// reproduce it.
type Failure struct {
	Seed   uint64
	Kind   Kind
	Tick   uint64
	What   string   // one line
	Detail string   // further lines (stuck requests, replica states); may be empty
	Trace  []string // the events before it, oldest first
	Repro  string   // the command line that replays this run
}

func (f *Failure) Error() string {
	return fmt.Sprintf("seed %d: %s at tick %d: %s", f.Seed, f.Kind, f.Tick, f.What)
}

// Details renders the failure in full: the error, the detail, the trace
// and the command that reproduces it.
func (f *Failure) Details() string {
	var b strings.Builder
	b.WriteString(f.Error())
	b.WriteByte('\n')
	if f.Detail != "" {
		for _, l := range strings.Split(f.Detail, "\n") {
			fmt.Fprintf(&b, "  %s\n", l)
		}
	}
	if len(f.Trace) > 0 {
		fmt.Fprintf(&b, "last %d events:\n", len(f.Trace))
		for _, l := range f.Trace {
			fmt.Fprintf(&b, "  %s\n", l)
		}
	}
	fmt.Fprintf(&b, "reproduce: %s\n", f.Repro)
	return b.String()
}

func (c *Config) repro() string {
	name := c.Protocol
	if name == "" {
		name = "NAME"
	}
	cmd := fmt.Sprintf("replbench sim --protocol %s --seed %d --faults %s", name, c.Seed, c.Faults)
	if len(c.ReproArgs) > 0 {
		cmd += " " + strings.Join(c.ReproArgs, " ")
	}
	return cmd
}

// Run simulates one seed in two phases. During the fault phase (at most
// FaultTicks, shorter if every request completes) the configured faults
// strike at random: lost, duplicated and reordered frames, partitions and
// crashes, with never more than F replicas crashed or cut off from the
// majority at once. Then every partition heals, every crashed replica
// restarts, loss and duplication stop, and every request must complete
// within LivenessTicks. The checkers run throughout; the first violation
// ends the run. The error is a *Failure for a violation or a liveness
// failure, another error for a bad Config.
func Run(cfg Config) (*Report, error) {
	if cfg.ThinkTicks == 0 && cfg.Requests > 0 {
		ft := cfg.FaultTicks
		if ft == 0 {
			ft = DefaultFaultTicks
		}
		cfg.ThinkTicks = 2 * ft / uint64(cfg.Requests)
	}
	s, err := New(cfg)
	if err != nil {
		return nil, err
	}
	plan := newFaultPlan(s)
	for s.now < s.cfg.FaultTicks && !s.Done() && s.fail == nil {
		plan.step(s)
		s.step()
	}
	plan.end(s)
	calm := s.now
	s.RunUntil(func() bool { return s.Done() || s.fail != nil }, s.cfg.LivenessTicks)
	if s.fail == nil && !s.Done() {
		s.failf(Liveness, s.Stuck(), "requests incomplete %d ticks after the faults stopped (at t=%d)", s.now-calm, calm)
	}
	if s.fail == nil {
		// Let what is in flight land, so late executions are checked too.
		s.Tick(int(2*(s.cfg.Network.Delay+2*s.cfg.Network.Jitter)) + 1)
	}
	rep := s.Report()
	if s.fail != nil {
		return &rep, s.fail
	}
	return &rep, nil
}

// faultPlan schedules crashes and partitions during the fault phase. Every
// so often (a random gap averaging FaultTicks/10) it may start one: crash
// a running replica, or cut off a minority of replicas, which lasts a
// random time between FaultTicks/40 and FaultTicks/5. It never lets crashed
// plus cut-off replicas exceed F.
type faultPlan struct {
	next      uint64
	gap       uint64
	minDown   uint64
	maxDown   uint64
	restartAt []uint64 // per replica; 0 when it is not down
	healAt    uint64   // 0 when no partition is active
	cut       int      // replicas the active partition cuts off
}

func newFaultPlan(s *Sim) *faultPlan {
	ft := s.cfg.FaultTicks
	p := &faultPlan{
		gap:       max(ft/10, 1),
		minDown:   max(ft/40, 1),
		maxDown:   max(ft/5, 1),
		restartAt: make([]uint64, s.cfg.N),
	}
	p.next = 1 + s.rng.below(p.gap)
	return p
}

func (p *faultPlan) faulty() int {
	n := p.cut
	for _, at := range p.restartAt {
		if at != 0 {
			n++
		}
	}
	return n
}

func (p *faultPlan) step(s *Sim) {
	now := s.now + 1 // the tick about to run
	for id, at := range p.restartAt {
		if at != 0 && at <= now {
			p.restartAt[id] = 0
			s.Restart(uint32(id))
		}
	}
	if p.healAt != 0 && p.healAt <= now {
		p.healAt, p.cut = 0, 0
		s.Heal()
	}
	if now < p.next {
		return
	}
	p.next = now + 1 + s.rng.below(2*p.gap)
	room := s.cfg.F - p.faulty()
	if room <= 0 {
		return
	}
	var kinds []Faults
	if s.cfg.Faults.Has(Crash) {
		kinds = append(kinds, Crash)
	}
	if s.cfg.Faults.Has(Partition) && p.cut == 0 {
		kinds = append(kinds, Partition)
	}
	if len(kinds) == 0 {
		return
	}
	until := now + s.rng.between(p.minDown, p.maxDown)
	// Candidates: running replicas, in id order, so the draw is reproducible.
	var up []uint32
	for id := range s.replicas {
		if s.replicas[id].up {
			up = append(up, uint32(id))
		}
	}
	switch kinds[s.rng.below(uint64(len(kinds)))] {
	case Crash:
		id := up[s.rng.below(uint64(len(up)))]
		p.restartAt[id] = until
		s.Crash(id)
	case Partition:
		k := 1 + int(s.rng.below(uint64(room)))
		for i := range k { // partial Fisher-Yates: the first k of up are cut off
			j := i + int(s.rng.below(uint64(len(up)-i)))
			up[i], up[j] = up[j], up[i]
		}
		cut := up[:k]
		var groups [][]uint32
		if k > 1 && s.rng.below(2) == 0 {
			for _, id := range cut { // each alone
				groups = append(groups, []uint32{id})
			}
		} else {
			groups = [][]uint32{cut} // together, a minority that can talk
		}
		p.cut, p.healAt = k, until
		s.Partition(groups...)
	}
}

// end stops every fault: partitions heal, crashed replicas restart, the
// network stops losing and duplicating (delays and reordering stay).
func (p *faultPlan) end(s *Sim) {
	s.Heal()
	p.healAt, p.cut = 0, 0
	for id := range s.replicas {
		p.restartAt[id] = 0
		s.Restart(uint32(id))
	}
	s.active &^= Loss | Dup
}
