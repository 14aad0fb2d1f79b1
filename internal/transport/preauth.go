package transport

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
)

// preAuth counts the inbound connections that have not completed the
// handshake, in total and per source address (Config.MaxPreAuth and
// MaxPreAuthPerSource).
type preAuth struct {
	mu       sync.Mutex
	total    int
	bySource map[string]int
}

// admit takes a slot for a connection from src, or says which cap it is over.
func (p *preAuth) admit(src string, maxTotal, maxPerSource int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.bySource[src] >= maxPerSource:
		return fmt.Errorf("%d connections from %s are already in the handshake (the cap per source)", p.bySource[src], src)
	case p.total >= maxTotal:
		return fmt.Errorf("%d connections are already in the handshake (the cap in total)", p.total)
	}
	if p.bySource == nil {
		p.bySource = make(map[string]int)
	}
	p.total++
	p.bySource[src]++
	return nil
}

// release gives back the slot of a connection from src whose handshake ended.
func (p *preAuth) release(src string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total--
	if p.bySource[src]--; p.bySource[src] <= 0 {
		delete(p.bySource, src)
	}
}

// source is the IP address a connection comes from: the unit of the
// per-source cap (the port changes with every connection).
func source(a net.Addr) string {
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		return ap.Addr().Unmap().String()
	}
	return a.String()
}

// refused counts and logs a connection closed over a pre-authentication
// cap: the first as a warning, later ones at debug level, since a flood
// would otherwise flood the log too.
func (t *TCP) refused(src string, why error) {
	level := slog.LevelDebug
	if t.c.preAuthRefused.Add(1) == 1 {
		level = slog.LevelWarn
	}
	t.log.Log(context.Background(), level, "connection refused before the handshake; later ones are logged at debug level and counted as PreAuthRefused in the stats",
		"remote", src, "err", why)
}
