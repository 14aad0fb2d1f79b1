// Package clients is the client library: it authenticates requests, sends
// them to the replicas, waits for a quorum of matching replies, retransmits
// on timeout and learns the current primary from the replies' views.
package clients

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/replbench/replbench/internal/cluster"
	"github.com/replbench/replbench/internal/transport"
	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/keys"
	"github.com/replbench/replbench/protocols/registry"
)

// ErrGaveUp is returned for a request that got no quorum within Config.GiveUp.
var ErrGaveUp = errors.New("no reply quorum before the give-up deadline")

// ErrClosed is returned for requests outstanding when the client closes.
var ErrClosed = errors.New("client closed")

// Config describes one client.
type Config struct {
	Cluster *cluster.Config
	ID      uint32
	// Session tells this client's requests from those of every earlier
	// client with the same ID: replicas execute requests exactly once per
	// (ID, Session), numbered from 1, and answer the latest session only.
	// 0 means the time New is called, in nanoseconds since 1970, so a
	// process started after another gets a later session.
	Session uint64
	Auth    keys.Authenticator
	// Timeout is how long a request waits before it is sent again, to all replicas.
	Timeout time.Duration
	// GiveUp is how long a request may take before it fails with ErrGaveUp.
	GiveUp time.Duration
	Logger *slog.Logger
	// Transport, when set, replaces the TCP transport (tests).
	Transport func(h transport.Handler) (transport.Transport, error)
	// Tap, if set, sees every frame the client sends and receives (capture
	// files for msgdump).
	Tap Tap
}

// Tap observes frames; msgdump.CaptureWriter is one.
type Tap interface {
	Sent(to keys.Principal, frame []byte)
	Received(from keys.Principal, frame []byte)
}

// Stats counts what a client saw.
type Stats struct {
	Sent, Retransmits, Completed, GaveUp uint64
	BadReplies                           uint64 // replies that failed to decode or verify
	Mismatched                           uint64 // verified replies whose result differed from the quorum's
}

// Client issues requests. Safe for concurrent use.
type Client struct {
	cfg    Config
	tr     transport.Transport
	n      int
	quorum int
	// sendToAll sends every request to all replicas at once: with a
	// rotating leader (HotStuff) there is no primary to aim at, and every
	// replica keeps the requests it holds until one of them proposes them
	// (protocols.Protocol.ClientsSendToAll).
	sendToAll bool

	mu      sync.Mutex
	seq     uint64
	view    uint64
	pending map[uint64]*call
	stats   Stats
	closed  bool
	buf     []byte
	authBuf []byte

	stop chan struct{}
	wg   sync.WaitGroup
}

type call struct {
	frame   []byte // sealed, ready to resend
	flags   uint8
	first   time.Time
	last    time.Time
	replies []reply // one per replica that answered; only kept when quorum > 1
	done    func([]byte, error)
}

type reply struct {
	replica uint32
	result  []byte
}

// New connects a client to the cluster's replicas and waits until it can
// reach all of them or ctx ends.
func New(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = time.Second
	}
	if cfg.GiveUp <= 0 {
		cfg.GiveUp = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Session == 0 {
		cfg.Session = uint64(time.Now().UnixNano())
	}
	proto, err := registry.Lookup(cfg.Cluster.Protocol)
	if err != nil {
		return nil, fmt.Errorf("client %d: %w", cfg.ID, err)
	}
	c := &Client{
		cfg: cfg, n: len(cfg.Cluster.Replicas), quorum: cfg.Cluster.ReplyQuorum(),
		sendToAll: proto.ClientsSendToAll,
		pending:   make(map[uint64]*call), stop: make(chan struct{}),
	}
	if cfg.Transport != nil {
		c.tr, err = cfg.Transport(c.deliver)
	} else {
		peers := make(map[keys.Principal]string, c.n)
		for i, addr := range cfg.Cluster.Replicas {
			peers[keys.Replica(uint32(i))] = addr
		}
		var tcp *transport.TCP
		tcp, err = transport.Listen(transport.Config{
			Self:     keys.Client(cfg.ID),
			AuthFor:  func(keys.Role) keys.Authenticator { return cfg.Auth },
			Peers:    peers,
			Handler:  c.deliver,
			MaxFrame: cfg.Cluster.MaxFrame,
			Logger:   cfg.Logger,
			Link:     cfg.Cluster.Network.Shaper(keys.Client(cfg.ID)),
		})
		if err == nil {
			c.tr = tcp
			all := make([]keys.Principal, 0, c.n)
			for p := range peers {
				all = append(all, p)
			}
			if err = tcp.WaitConnected(ctx, all...); err != nil {
				tcp.Close()
				err = fmt.Errorf("connect to replicas: %w", err)
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("client %d: %w", cfg.ID, err)
	}
	c.wg.Add(1)
	go c.retransmitLoop()
	return c, nil
}

// Invoke sends payload and waits for the result.
func (c *Client) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	type outcome struct {
		res []byte
		err error
	}
	ch := make(chan outcome, 1)
	seq := c.InvokeAsync(payload, func(res []byte, err error) { ch <- outcome{res, err} })
	select {
	case o := <-ch:
		return o.res, o.err
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.pending, seq)
		c.mu.Unlock()
		return nil, ctx.Err()
	}
}

// InvokeAsync sends payload and returns its request number at once; done is
// called exactly once, from a transport goroutine, with the result (valid only
// during the call) or an error. payload may be reused after InvokeAsync returns.
func (c *Client) InvokeAsync(payload []byte, done func(result []byte, err error)) uint64 {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		done(nil, ErrClosed)
		return 0
	}
	c.seq++
	seq := c.seq
	frame, err := c.seal(seq, 0, payload)
	if err != nil {
		c.mu.Unlock()
		done(nil, err)
		return seq
	}
	now := time.Now()
	cl := &call{frame: frame, first: now, last: now, done: done}
	c.pending[seq] = cl
	c.stats.Sent++
	primary := keys.Replica(uint32(c.view % uint64(c.n)))
	c.mu.Unlock()
	if c.sendToAll {
		for i := 0; i < c.n; i++ {
			c.send(keys.Replica(uint32(i)), frame)
		}
	} else {
		c.send(primary, frame)
	}
	return seq
}

// seal encodes and authenticates a request; c.mu must be held.
func (c *Client) seal(seq uint64, flags uint8, payload []byte) ([]byte, error) {
	c.buf = wire.AppendRequest(c.buf[:0], &wire.Request{Client: c.cfg.ID, Session: c.cfg.Session, Seq: seq, Flags: flags, Payload: payload})
	var err error
	c.authBuf, err = c.cfg.Auth.Sign(c.authBuf[:0], wire.SignedBytes(c.buf))
	if err != nil {
		return nil, fmt.Errorf("sign request: %w", err)
	}
	// The frame is kept for retransmission, so it gets its own memory.
	frame := make([]byte, 0, len(c.buf)+len(c.authBuf)+2)
	return wire.Seal(append(frame, c.buf...), c.authBuf), nil
}

func (c *Client) send(to keys.Principal, frame []byte) {
	if c.cfg.Tap != nil {
		c.cfg.Tap.Sent(to, frame)
	}
	if err := c.tr.Send(to, frame); err != nil {
		c.cfg.Logger.Debug("send", "to", to, "err", err)
	}
}

// deliver handles a reply frame from a replica.
func (c *Client) deliver(from keys.Principal, frame []byte) {
	if c.cfg.Tap != nil {
		c.cfg.Tap.Received(from, frame)
	}
	var r wire.Reply
	if err := wire.DecodeReply(frame, &r); err != nil || from.Role != keys.RoleReplica || r.Replica != from.ID || r.Client != c.cfg.ID {
		c.bad()
		return
	}
	_, signed, auth, err := wire.Open(frame)
	if err != nil || c.cfg.Auth.Verify(from, signed, auth) != nil {
		c.bad()
		return
	}
	c.mu.Lock()
	if r.View > c.view {
		c.view = r.View
	}
	cl := c.pending[r.Seq]
	if cl == nil || r.Session != c.cfg.Session { // late reply, or one for an earlier client of this ID
		c.mu.Unlock()
		return
	}
	if c.quorum > 1 && !c.record(cl, r.Replica, r.Result) {
		c.mu.Unlock()
		return
	}
	delete(c.pending, r.Seq)
	c.stats.Completed++
	c.mu.Unlock()
	cl.done(r.Result, nil)
}

// record adds a replica's result to cl and reports whether a quorum of
// replicas now agrees on this result; c.mu must be held.
func (c *Client) record(cl *call, replica uint32, result []byte) bool {
	for _, p := range cl.replies {
		if p.replica == replica {
			return false // a duplicate counts once
		}
	}
	cl.replies = append(cl.replies, reply{replica, append([]byte(nil), result...)})
	match := 0
	for _, p := range cl.replies {
		if bytes.Equal(p.result, result) {
			match++
		}
	}
	if match < c.quorum && len(cl.replies) == c.n {
		c.stats.Mismatched++
	}
	return match >= c.quorum
}

func (c *Client) bad() {
	c.mu.Lock()
	c.stats.BadReplies++
	c.mu.Unlock()
}

// retransmitLoop resends requests that waited longer than Timeout, to every
// replica (so a faulty primary cannot hide them), and fails those past GiveUp.
func (c *Client) retransmitLoop() {
	defer c.wg.Done()
	period := c.cfg.Timeout / 4
	if period < time.Millisecond {
		period = time.Millisecond
	}
	t := time.NewTicker(period)
	defer t.Stop()
	type resend struct {
		frame []byte
	}
	var (
		again  []resend
		failed []func([]byte, error)
	)
	for {
		select {
		case <-c.stop:
			return
		case now := <-t.C:
			again, failed = again[:0], failed[:0]
			c.mu.Lock()
			for seq, cl := range c.pending {
				switch {
				case now.Sub(cl.first) > c.cfg.GiveUp:
					delete(c.pending, seq)
					c.stats.GaveUp++
					failed = append(failed, cl.done)
				case now.Sub(cl.last) > c.cfg.Timeout:
					if cl.flags&wire.FlagRetransmit == 0 {
						cl.flags |= wire.FlagRetransmit
						if f, err := c.seal(seq, cl.flags, cl.payload()); err == nil {
							cl.frame = f
						}
					}
					cl.last = now
					c.stats.Retransmits++
					again = append(again, resend{cl.frame})
				}
			}
			c.mu.Unlock()
			for _, r := range again {
				for i := 0; i < c.n; i++ {
					c.send(keys.Replica(uint32(i)), r.frame)
				}
			}
			for _, done := range failed {
				done(nil, ErrGaveUp)
			}
		}
	}
}

// payload recovers the request's payload from its sealed frame.
func (cl *call) payload() []byte {
	var r wire.Request
	if wire.DecodeRequest(cl.frame, &r) != nil {
		return nil
	}
	return r.Payload
}

// Stats returns the client's counters.
func (c *Client) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// Close fails outstanding requests with ErrClosed and closes the transport.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	pending := c.pending
	c.pending = nil
	c.mu.Unlock()
	close(c.stop)
	c.wg.Wait()
	err := c.tr.Close()
	for _, cl := range pending {
		cl.done(nil, ErrClosed)
	}
	return err
}
