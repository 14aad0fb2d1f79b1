package transport

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/keys"
)

// DefaultQueueBytes bounds the bytes queued for one peer unless Config says otherwise.
const DefaultQueueBytes = 4 << 20

// DefaultHandshakeTimeout bounds a whole handshake unless Config says
// otherwise, so that a silent or slow peer cannot hold a connection slot.
const DefaultHandshakeTimeout = 5 * time.Second

// Inbound connections that have not completed the handshake cost a
// goroutine and a read buffer each (about 40 KiB) and anyone can open
// them, so they are capped (Config.MaxPreAuth, MaxPreAuthPerSource). A
// connection over a cap is closed at once, unread. The per-source cap is
// above what a benchmark's clients open at once from one host (every
// client dials every replica when it starts), so that they are not
// refused, and below the total, so that one source cannot fill it.
const (
	DefaultMaxPreAuth          = 256
	DefaultMaxPreAuthPerSource = 64
)

const (
	defaultDialBackoff = 50 * time.Millisecond
	maxDialBackoff     = time.Second
)

// Config sets up a TCP transport.
type Config struct {
	Self keys.Principal
	// AuthFor returns the authenticator for links with peers of the given
	// role: a replica uses its replica-scheme authenticator with replicas and
	// its client-scheme one with clients; a client has only the client one.
	// It may return nil for a role the node never talks to; handshakes with
	// such peers are refused.
	AuthFor func(peer keys.Role) keys.Authenticator
	// Listen is the address to accept connections on; "" dials only (clients).
	Listen string
	// Listener, if set, is an open listener to accept on instead of Listen.
	// It lets a caller learn every address before any node starts dialing.
	// The transport closes it.
	Listener net.Listener
	// Peers are the addresses this node dials. It owns those links and
	// reconnects them; other peers reach it by dialing in.
	Peers   map[keys.Principal]string
	Handler Handler
	// MaxFrame bounds incoming frames; 0 means wire.DefaultMaxFrame.
	MaxFrame int
	// QueueBytes bounds the bytes queued for one peer; 0 means DefaultQueueBytes.
	QueueBytes int
	// Logger receives connection events; nil discards them.
	Logger *slog.Logger
	// HandshakeTimeout bounds a whole handshake, in either direction; a
	// dialer that has not proved itself by then is cut off and counted
	// (Stats.HandshakeTimeouts). 0 means DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// MaxPreAuth bounds the inbound connections that have not completed the
	// handshake, and MaxPreAuthPerSource those from one IP address; a
	// connection over either is closed unread and counted
	// (Stats.PreAuthRefused). 0 means DefaultMaxPreAuth and
	// DefaultMaxPreAuthPerSource.
	MaxPreAuth, MaxPreAuthPerSource int
	// DialBackoff is the first wait before redialing a peer; it doubles on
	// every failure up to one second. 0 means 50 ms.
	DialBackoff time.Duration
	// Link, if set, emulates the link to each peer on this node's sending
	// side. It is asked when the transport learns of a peer (at Listen for
	// the peers it dials, on each new connection from one that dials in); a
	// zero Link leaves that peer unshaped. nil emulates nothing and costs
	// nothing. See Link.
	Link func(to keys.Principal) Link
}

// TCP is the transport over TCP. Every link is mutually authenticated by a
// handshake before any frame passes; see docs/wire.md.
//
// Each node dials the peers in Config.Peers and accepts whoever dials it.
// Frames to a peer leave on the connection this node dialed to it, or, for a
// peer it does not dial (a client), on that peer's latest inbound connection.
// Inbound connections from a peer this node also dials only carry frames in.
type TCP struct {
	cfg      Config
	log      *slog.Logger
	ln       net.Listener
	ctx      context.Context // cancelled by Close
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	c        counters
	maxFrame int
	pre      preAuth // inbound connections still in the handshake
	sendLog  sendLog

	mu      sync.RWMutex
	closed  bool
	peers   map[keys.Principal]*peer // everyone frames can be sent to
	inbound map[keys.Principal]*conn // latest authenticated inbound connection per peer
	conns   map[*conn]struct{}       // every open connection, handshaking ones too, for Close
	changed chan struct{}            // closed when a peer gains a connection to send on
}

var _ Transport = (*TCP)(nil)

// Listen starts a TCP transport: it listens on cfg.Listen (if set) and starts
// dialing every peer in cfg.Peers. It returns once the listener is open;
// links come up in the background (see WaitConnected).
func Listen(cfg Config) (*TCP, error) {
	if err := cfg.check(); err != nil {
		if cfg.Listener != nil {
			cfg.Listener.Close()
		}
		return nil, err
	}
	if cfg.MaxFrame <= 0 {
		cfg.MaxFrame = wire.DefaultMaxFrame
	}
	if cfg.QueueBytes <= 0 {
		cfg.QueueBytes = DefaultQueueBytes
	}
	if cfg.DialBackoff <= 0 {
		cfg.DialBackoff = defaultDialBackoff
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if cfg.MaxPreAuth <= 0 {
		cfg.MaxPreAuth = DefaultMaxPreAuth
	}
	if cfg.MaxPreAuthPerSource <= 0 {
		cfg.MaxPreAuthPerSource = DefaultMaxPreAuthPerSource
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := &TCP{
		cfg:      cfg,
		log:      log.With("self", cfg.Self.String()),
		maxFrame: cfg.MaxFrame,
		peers:    make(map[keys.Principal]*peer, len(cfg.Peers)),
		inbound:  make(map[keys.Principal]*conn),
		conns:    make(map[*conn]struct{}),
		changed:  make(chan struct{}),
	}
	t.sendLog.now = time.Now
	t.ctx, t.cancel = context.WithCancel(context.Background())
	// Every dialed peer is known before the first connection comes in, so
	// an early inbound link from one is not mistaken for a client's.
	for who, addr := range cfg.Peers {
		t.peers[who] = &peer{who: who, dialed: true, addr: addr, shape: t.shaperFor(who)}
	}
	t.ln = cfg.Listener
	if t.ln == nil && cfg.Listen != "" {
		ln, err := net.Listen("tcp", cfg.Listen)
		if err != nil {
			t.cancel()
			return nil, fmt.Errorf("transport: %v listen: %w", cfg.Self, err)
		}
		t.ln = ln
	}
	if t.ln != nil {
		t.wg.Add(1)
		go t.acceptLoop()
	}
	for who, addr := range cfg.Peers {
		t.wg.Add(1)
		go t.dialLoop(t.peers[who], addr)
	}
	return t, nil
}

func (cfg *Config) check() error {
	switch {
	case cfg.Self.Role != keys.RoleReplica && cfg.Self.Role != keys.RoleClient:
		return fmt.Errorf("transport: config: self %v has no valid role", cfg.Self)
	case cfg.AuthFor == nil:
		return fmt.Errorf("transport: config for %v: AuthFor is nil", cfg.Self)
	case cfg.Handler == nil:
		return fmt.Errorf("transport: config for %v: Handler is nil", cfg.Self)
	}
	for who, addr := range cfg.Peers {
		if who == cfg.Self {
			return fmt.Errorf("transport: config for %v: peers include self", cfg.Self)
		}
		if addr == "" {
			return fmt.Errorf("transport: config for %v: peer %v has no address", cfg.Self, who)
		}
		switch auth := cfg.AuthFor(who.Role); {
		case auth == nil:
			return fmt.Errorf("transport: config for %v: no authenticator for peer %v", cfg.Self, who)
		case auth.Self() != cfg.Self:
			return fmt.Errorf("transport: config for %v: authenticator for peer %v is %v's", cfg.Self, who, auth.Self())
		}
	}
	return nil
}

// shaperFor returns the emulated link to who, nil when there is none.
func (t *TCP) shaperFor(who keys.Principal) *shaper {
	if t.cfg.Link == nil {
		return nil
	}
	return newShaper(t.cfg.Link(who), t.cfg.Self, who)
}

// Addr is the listening address (nil for a dial-only transport); with
// Listen ":0" it tells which port was picked.
func (t *TCP) Addr() net.Addr {
	if t.ln == nil {
		return nil
	}
	return t.ln.Addr()
}

// Send queues a copy of frame for to. Frames to a peer this node dials are
// kept (up to the queue bound) while the link is down and leave once it is
// back; frames to a peer that only dials in need its connection to be up.
// Send rejects a frame whose header is malformed or over MaxFrame, since it
// would make the peer drop the connection. Every refusal is logged, once
// per peer and reason and then at most every sendLogEvery (see sendLog).
func (t *TCP) Send(to keys.Principal, frame []byte) error {
	err := t.send(to, frame)
	if err != nil {
		t.sendLog.refused(t.log, to, frame, err)
	}
	return err
}

func (t *TCP) send(to keys.Principal, frame []byte) error {
	if _, _, err := wire.ParseHeader(frame, t.maxFrame); err != nil {
		return fmt.Errorf("transport: send to %v: %w", to, err)
	}
	t.mu.RLock()
	p, closed := t.peers[to], t.closed
	t.mu.RUnlock()
	switch {
	case closed:
		return ErrClosed
	case p == nil:
		return ErrUnknownPeer
	}
	wake, err := p.enqueue(frame, t.cfg.QueueBytes)
	switch err {
	case nil:
	case ErrQueueFull:
		t.c.queueFull.Add(1)
	case errLost:
		t.c.dropped.Add(1)
		return nil
	}
	if wake != nil {
		select {
		case wake <- struct{}{}:
		default: // the writer is already due to run
		}
	}
	return err
}

// Stats reports the transport's counters. Reconnects counts links to dialed
// peers that came back after having been up.
func (t *TCP) Stats() Stats { return t.c.snapshot() }

// WaitConnected returns once each of peers has an authenticated connection
// that frames to it can leave on, or with ctx's error, or ErrClosed.
func (t *TCP) WaitConnected(ctx context.Context, peers ...keys.Principal) error {
	for {
		t.mu.RLock()
		ready := !t.closed
		for _, who := range peers {
			if p := t.peers[who]; p == nil || !p.connected() {
				ready = false
				break
			}
		}
		changed, closed := t.changed, t.closed
		t.mu.RUnlock()
		switch {
		case closed:
			return ErrClosed
		case ready:
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return t.unreachable(peers, ctx.Err())
		case <-t.ctx.Done():
			return ErrClosed
		}
	}
}

// unreachable explains which peers WaitConnected still lacked and why.
func (t *TCP) unreachable(peers []keys.Principal, cause error) error {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var parts []string
	for _, who := range peers {
		p := t.peers[who]
		switch {
		case p == nil:
			parts = append(parts, who.String()+": never connected")
		case p.connected():
		case p.lastErr.Load() != nil:
			parts = append(parts, fmt.Sprintf("%v at %s: %v", who, p.addr, *p.lastErr.Load()))
		default:
			parts = append(parts, fmt.Sprintf("%v at %s: no connection yet", who, p.addr))
		}
	}
	return fmt.Errorf("transport: %v could not reach %s: %w", t.cfg.Self, strings.Join(parts, "; "), cause)
}

// Close closes the listener and every connection and waits for every
// goroutine of the transport, handlers in progress included. Frames still
// queued are dropped.
func (t *TCP) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	conns := make([]*conn, 0, len(t.conns))
	for c := range t.conns {
		conns = append(conns, c)
	}
	close(t.changed) // wake WaitConnected callers
	t.mu.Unlock()

	t.cancel()
	var err error
	if t.ln != nil {
		err = t.ln.Close()
	}
	for _, c := range conns {
		c.close()
	}
	t.wg.Wait()
	if err != nil {
		return fmt.Errorf("transport: %v close: %w", t.cfg.Self, err)
	}
	return nil
}

// track records a new connection so Close can reach it; it reports false
// (and closes nc) once the transport is closed.
func (t *TCP) track(nc net.Conn) (*conn, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		nc.Close()
		return nil, false
	}
	c := newConn(nc)
	t.conns[c] = struct{}{}
	return c, true
}

func (t *TCP) untrack(c *conn) {
	c.close()
	t.mu.Lock()
	delete(t.conns, c)
	t.mu.Unlock()
}

// notifyLocked wakes WaitConnected callers; t.mu must be held for writing.
func (t *TCP) notifyLocked() {
	if !t.closed {
		close(t.changed)
		t.changed = make(chan struct{})
	}
}

func (t *TCP) acceptLoop() {
	defer t.wg.Done()
	backoff := 5 * time.Millisecond
	for {
		nc, err := t.ln.Accept()
		if err != nil {
			if t.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: wait rather than spin.
			t.log.Warn("accept failed", "err", err)
			if !t.wait(backoff) {
				return
			}
			backoff = min(2*backoff, maxDialBackoff)
			continue
		}
		backoff = 5 * time.Millisecond
		src := source(nc.RemoteAddr())
		if err := t.pre.admit(src, t.cfg.MaxPreAuth, t.cfg.MaxPreAuthPerSource); err != nil {
			t.refused(src, err) // counted before the dialer sees the close
			nc.Close()
			continue
		}
		c, ok := t.track(nc)
		if !ok {
			t.pre.release(src)
			return
		}
		t.wg.Add(1)
		go t.serveInbound(c, src)
	}
}

// serveInbound authenticates a dialer and then reads its frames until the
// connection ends.
func (t *TCP) serveInbound(c *conn, src string) {
	defer t.wg.Done()
	defer t.untrack(c)
	who, err := t.accept(c)
	t.pre.release(src)
	if err != nil {
		t.handshakeFailed(c, "inbound", err)
		return
	}
	p, sends := t.attachInbound(c, who)
	t.log.Debug("peer connected", "peer", who.String(), "remote", c.nc.RemoteAddr().String(), "sends", sends)
	err = t.run(c, p, sends)
	t.detachInbound(c, p)
	t.log.Debug("peer disconnected", "peer", who.String(), "err", err)
}

// attachInbound makes c the inbound connection of who, replacing (and
// closing) an earlier one. If this node does not dial who, frames to who
// leave on c from now on.
func (t *TCP) attachInbound(c *conn, who keys.Principal) (p *peer, sends bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if old := t.inbound[who]; old != nil {
		old.close()
	}
	t.inbound[who] = c
	p = t.peers[who]
	if p != nil && p.dialed {
		return p, false
	}
	if p == nil {
		p = &peer{who: who, shape: t.shaperFor(who)}
		t.peers[who] = p
	}
	p.attach(c)
	t.notifyLocked()
	return p, true
}

func (t *TCP) detachInbound(c *conn, p *peer) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.inbound[p.who] == c {
		delete(t.inbound, p.who)
	}
	if p.dialed {
		return
	}
	if frames, gone := p.detach(c, true); gone {
		if t.peers[p.who] == p {
			delete(t.peers, p.who)
		}
		if frames > 0 {
			t.log.Info("dropped frames queued for a peer that disconnected", "peer", p.who.String(), "frames", frames)
		}
	}
}

// dialLoop owns the link to a peer this node dials: it connects,
// authenticates, serves the connection until it fails, and starts over
// after a backoff that doubles on every failure.
func (t *TCP) dialLoop(p *peer, addr string) {
	defer t.wg.Done()
	backoff := t.cfg.DialBackoff
	everUp, quiet := false, false
	dialer := net.Dialer{Timeout: t.cfg.HandshakeTimeout}
	for t.ctx.Err() == nil {
		start := time.Now()
		up, err := t.dialOnce(&dialer, p, addr, everUp)
		if t.ctx.Err() != nil {
			return
		}
		if !up && err != nil {
			p.lastErr.Store(&err)
		}
		// A link that dies young (say, the peer refuses our proof after the
		// handshake) keeps backing off instead of redialing in a tight loop.
		healthy := up && time.Since(start) > maxDialBackoff
		switch {
		case up:
			everUp, quiet = true, false
			if healthy {
				backoff = t.cfg.DialBackoff
			}
			t.log.Info("link down, redialing", "peer", p.who.String(), "err", err)
		case errors.As(err, new(*rejection)):
			// handshakeFailed has logged it.
		case quiet:
			// The peer has been unreachable for a while; one warning was enough.
			t.log.Debug("dial failed", "peer", p.who.String(), "addr", addr, "err", err)
		default:
			t.log.Warn("dial failed, will retry", "peer", p.who.String(), "addr", addr, "err", err)
			quiet = true
		}
		if !t.wait(backoff) {
			return
		}
		if !healthy {
			backoff = min(2*backoff, maxDialBackoff)
		}
	}
}

// dialOnce makes one connection to p and serves it until it ends. up reports
// whether the handshake completed.
func (t *TCP) dialOnce(dialer *net.Dialer, p *peer, addr string, reconnect bool) (up bool, err error) {
	nc, err := dialer.DialContext(t.ctx, "tcp", addr)
	if err != nil {
		return false, err
	}
	c, ok := t.track(nc)
	if !ok {
		return false, ErrClosed
	}
	defer t.untrack(c)
	if err := t.dial(c, p.who); err != nil {
		t.handshakeFailed(c, "outbound", err)
		return false, err
	}
	if reconnect {
		t.c.reconnects.Add(1)
	}
	t.mu.Lock()
	p.attach(c)
	t.notifyLocked()
	t.mu.Unlock()
	t.log.Debug("peer connected", "peer", p.who.String(), "remote", addr, "reconnect", reconnect)

	err = t.run(c, p, true)
	p.detach(c, false)
	return true, err
}

// wait sleeps for d unless the transport closes first; it reports whether
// the transport is still open.
func (t *TCP) wait(d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-t.ctx.Done():
		return false
	}
}
