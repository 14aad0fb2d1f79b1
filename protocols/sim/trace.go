package sim

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/keys"
)

// EventKind says what an Event records.
type EventKind uint8

const (
	EvDeliver    EventKind = iota + 1 // a frame reached a replica or client
	EvDrop                            // a frame was lost (Note says why)
	EvDuplicate                       // the network will deliver a frame twice
	EvCrash                           // a replica stopped
	EvRestart                         // a crashed replica resumed
	EvPartition                       // the replicas were split (Note lists the groups)
	EvHeal                            // every partition healed
	EvSubmit                          // a client sent a new request
	EvRetransmit                      // a client resent its request to every replica
	EvAccept                          // a client accepted a result
	EvExecute                         // a replica executed a request
	EvCheckpoint                      // a replica reported a checkpoint
)

var kindNames = [...]string{"?", "deliver", "drop", "duplicate", "crash", "restart", "partition", "heal",
	"submit", "retransmit", "accept", "execute", "checkpoint"}

func (k EventKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Event is one line of the trace. Which fields are set depends on Kind:
// messages have From, To, Type and Size; client events have From (the
// client), To (where it sent) and ReqSeq; executions and checkpoints have
// From (the replica), Seq, and Client and ReqSeq or Digest.
type Event struct {
	Tick     uint64
	Kind     EventKind
	From, To keys.Principal
	Type     wire.Type
	Size     int
	Seq      uint64 // position in the agreed order
	Client   uint32
	ReqSeq   uint64 // the client's request number
	Digest   [32]byte
	Note     string
}

// String renders the event as one trace line.
func (e Event) String() string {
	head := fmt.Sprintf("t=%d %s", e.Tick, e.Kind)
	switch e.Kind {
	case EvDeliver, EvDuplicate:
		return fmt.Sprintf("%s %s->%s %s %dB", head, short(e.From), short(e.To), e.Type, e.Size)
	case EvDrop:
		return fmt.Sprintf("%s %s->%s %s %dB (%s)", head, short(e.From), short(e.To), e.Type, e.Size, e.Note)
	case EvCrash, EvRestart:
		return fmt.Sprintf("%s %s", head, short(e.From))
	case EvPartition:
		return fmt.Sprintf("%s %s", head, e.Note)
	case EvSubmit:
		return fmt.Sprintf("%s %s #%d to %s (%dB)", head, short(e.From), e.ReqSeq, short(e.To), e.Size)
	case EvRetransmit:
		return fmt.Sprintf("%s %s #%d to all", head, short(e.From), e.ReqSeq)
	case EvAccept:
		return fmt.Sprintf("%s %s #%d", head, short(e.From), e.ReqSeq)
	case EvExecute:
		return fmt.Sprintf("%s %s seq %d = c%d #%d", head, short(e.From), e.Seq, e.Client, e.ReqSeq)
	case EvCheckpoint:
		return fmt.Sprintf("%s %s seq %d digest %x", head, short(e.From), e.Seq, e.Digest[:4])
	}
	return head
}

// short names a principal as r2 or c0, to keep trace lines narrow.
func short(p keys.Principal) string {
	switch p.Role {
	case keys.RoleReplica:
		return fmt.Sprintf("r%d", p.ID)
	case keys.RoleClient:
		return fmt.Sprintf("c%d", p.ID)
	}
	return "?"
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// tracer keeps the last events in a ring and folds every event, with the
// bytes of every delivered frame, into a running hash: two runs with equal
// hashes did the same things in the same order.
type tracer struct {
	ring    []Event
	next    int
	full    bool
	hash    uint64
	observe func(Event)
}

func newTracer(lines int, observe func(Event)) tracer {
	return tracer{ring: make([]Event, lines), observe: observe}
}

func (t *tracer) add(e *Event, frame []byte) {
	h := t.hash
	h = mix64(h ^ e.Tick)
	h = mix64(h ^ uint64(e.Kind) ^ uint64(e.Type)<<8 ^ uint64(e.From.Role)<<16 ^ uint64(e.To.Role)<<24 ^ uint64(e.Size)<<32)
	h = mix64(h ^ uint64(e.From.ID)<<32 ^ uint64(e.To.ID))
	h = mix64(h ^ e.Seq ^ uint64(e.Client)<<48)
	h = mix64(h ^ e.ReqSeq)
	if e.Kind == EvCheckpoint {
		h = mix64(h ^ binary.LittleEndian.Uint64(e.Digest[:]))
	}
	if frame != nil {
		h = mix64(h ^ uint64(crc32.Checksum(frame, castagnoli)))
	}
	if e.Note != "" {
		h = mix64(h ^ uint64(crc32.Checksum([]byte(e.Note), castagnoli)))
	}
	t.hash = h
	t.ring[t.next] = *e
	t.next++
	if t.next == len(t.ring) {
		t.next, t.full = 0, true
	}
	if t.observe != nil {
		t.observe(*e)
	}
}

// events returns the ring's contents, oldest first.
func (t *tracer) events() []Event {
	if !t.full {
		return append([]Event(nil), t.ring[:t.next]...)
	}
	return append(append([]Event(nil), t.ring[t.next:]...), t.ring[:t.next]...)
}

func (t *tracer) lines() []string {
	evs := t.events()
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.String()
	}
	return out
}
