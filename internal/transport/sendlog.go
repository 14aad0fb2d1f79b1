package transport

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/keys"
)

// sendLogEvery is how often a refusal that keeps happening is logged again
// for the same peer and reason, with how many were not logged meanwhile.
const sendLogEvery = 10 * time.Second

// sendLog logs refused Sends: the first of each reason for each peer at
// once, then at most one line per sendLogEvery with a count, so a refusal
// that repeats on every message (a frame over the limit, a peer that never
// drains) is visible in the log without flooding it. Counters alone (Stats)
// say that sends failed, not why nor to whom.
type sendLog struct {
	mu   sync.Mutex
	seen map[sendKey]*sendRecord
	now  func() time.Time // time.Now; tests replace it
}

type sendKey struct {
	to     keys.Principal
	reason string
}

type sendRecord struct {
	logged     time.Time
	suppressed int
}

// sendReason names the kind of a Send refusal: one log line stands for
// every refusal of the kind, so details such as sizes stay out of the key.
func sendReason(err error) string {
	switch {
	case errors.Is(err, wire.ErrOversized):
		return "frame over the size limit"
	case errors.Is(err, ErrQueueFull):
		return "send queue full"
	case errors.Is(err, ErrUnknownPeer):
		return "unknown peer"
	case errors.Is(err, ErrClosed):
		return "transport closed"
	}
	return "malformed frame"
}

// refused records one refused Send of frame to to and logs it if due.
func (l *sendLog) refused(log *slog.Logger, to keys.Principal, frame []byte, err error) {
	k := sendKey{to, sendReason(err)}
	l.mu.Lock()
	if l.seen == nil {
		l.seen = make(map[sendKey]*sendRecord)
	}
	now := l.now()
	r := l.seen[k]
	first := r == nil
	if first {
		r = &sendRecord{}
		l.seen[k] = r
	} else if now.Sub(r.logged) < sendLogEvery {
		r.suppressed++
		l.mu.Unlock()
		return
	}
	suppressed := r.suppressed
	r.logged, r.suppressed = now, 0
	l.mu.Unlock()

	typ := "?"
	if len(frame) >= wire.HeaderSize {
		typ = wire.TypeOf(frame).String()
	}
	level := slog.LevelWarn
	if k.reason == "transport closed" {
		level = slog.LevelDebug // shutting down: every send after Close fails
	}
	msg := "send refused"
	if !first {
		msg = "send refused again"
	}
	log.Log(context.Background(), level, msg, "peer", to.String(), "reason", k.reason, "type", typ, "bytes", len(frame),
		"err", err.Error(), "unlogged_since_last", suppressed)
}
