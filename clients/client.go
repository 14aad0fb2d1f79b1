// Package clients is the client library: it authenticates requests, sends
// them to the replicas, waits for a quorum of matching replies, retransmits
// on timeout and learns the current primary from the replies' views.
package clients

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/replbench/replbench/internal/cluster"
	"github.com/replbench/replbench/internal/transport"
	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/keys"
	"github.com/replbench/replbench/protocols/client"
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
type Stats = client.Stats

// Client issues requests over the network: the protocol logic (numbering,
// where requests go, the reply quorum, retransmission, giving up) is
// protocols/client's Core, the same the simulator runs; Client adds the
// transport, reply verification, the clock and the callers' callbacks.
// Safe for concurrent use.
type Client struct {
	cfg   Config
	tr    transport.Transport
	start time.Time // the core's ticks are nanoseconds since

	mu     sync.Mutex
	core   *client.Core
	done   map[uint64]func([]byte, error) // by request number
	out    client.Output
	closed bool

	stop chan struct{}
	wg   sync.WaitGroup
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
		cfg: cfg, start: time.Now(), done: make(map[uint64]func([]byte, error)), stop: make(chan struct{}),
		core: client.New(client.Config{
			ID: cfg.ID, Session: cfg.Session, N: len(cfg.Cluster.Replicas), Quorum: cfg.Cluster.ReplyQuorum(),
			SendToAll: proto.ClientsSendToAll, Timeout: uint64(cfg.Timeout), GiveUp: uint64(cfg.GiveUp), Auth: cfg.Auth,
		}),
	}
	n := len(cfg.Cluster.Replicas)
	if cfg.Transport != nil {
		c.tr, err = cfg.Transport(c.deliver)
	} else {
		peers := make(map[keys.Principal]string, n)
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
			all := make([]keys.Principal, 0, n)
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
		c.core.Forget(seq)
		delete(c.done, seq)
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
	c.out.Reset()
	seq, err := c.core.Submit(c.now(), payload, &c.out)
	if err != nil {
		c.mu.Unlock()
		done(nil, err)
		return seq
	}
	c.done[seq] = done
	sends := slices.Clone(c.out.Sends)
	c.mu.Unlock()
	for _, m := range sends {
		c.send(m.To, m.Frame)
	}
	return seq
}

// now is the core's clock: nanoseconds since the client started.
func (c *Client) now() uint64 { return uint64(time.Since(c.start)) }

func (c *Client) send(to keys.Principal, frame []byte) {
	if c.cfg.Tap != nil {
		c.cfg.Tap.Sent(to, frame)
	}
	if err := c.tr.Send(to, frame); err != nil {
		c.cfg.Logger.Debug("send", "to", to, "err", err)
	}
}

// deliver handles a reply frame from a replica: checked to come from the
// replica it names and verified here, then judged by the core.
func (c *Client) deliver(from keys.Principal, frame []byte) {
	if c.cfg.Tap != nil {
		c.cfg.Tap.Received(from, frame)
	}
	var r wire.Reply
	ok := wire.DecodeReply(frame, &r) == nil && from.Role == keys.RoleReplica && r.Replica == from.ID && r.Client == c.cfg.ID
	if ok {
		_, signed, auth, err := wire.Open(frame)
		ok = err == nil && c.cfg.Auth.Verify(from, signed, auth) == nil
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	if !ok {
		c.core.BadReply()
		c.mu.Unlock()
		return
	}
	c.out.Reset()
	c.core.Reply(&r, &c.out)
	finished := c.finished()
	c.mu.Unlock()
	for _, f := range finished {
		f.done(f.result, f.err)
	}
}

type finished struct {
	done   func([]byte, error)
	result []byte
	err    error
}

// finished takes the callbacks of the requests c.out ended; c.mu must be held.
func (c *Client) finished() []finished {
	var fs []finished
	for _, o := range c.out.Done {
		done := c.done[o.Seq]
		delete(c.done, o.Seq)
		if done == nil {
			continue
		}
		f := finished{done: done, result: o.Result}
		if o.GaveUp {
			f.err = ErrGaveUp
		}
		fs = append(fs, f)
	}
	return fs
}

// retransmitLoop gives the core its clock: it resends requests that waited
// longer than Timeout, to every replica (so a faulty primary cannot hide
// them), and fails those past GiveUp.
func (c *Client) retransmitLoop() {
	defer c.wg.Done()
	period := max(c.cfg.Timeout/4, time.Millisecond)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			c.mu.Lock()
			c.out.Reset()
			c.core.Tick(c.now(), &c.out)
			sends := slices.Clone(c.out.Sends)
			failed := c.finished()
			c.mu.Unlock()
			for _, m := range sends {
				c.send(m.To, m.Frame)
			}
			for _, f := range failed {
				f.done(nil, f.err)
			}
		}
	}
}

// Stats returns the client's counters.
func (c *Client) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.core.Stats()
}

// Close fails outstanding requests with ErrClosed and closes the transport.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	pending := c.done
	c.done = nil
	c.mu.Unlock()
	close(c.stop)
	c.wg.Wait()
	err := c.tr.Close()
	for _, done := range pending {
		done(nil, ErrClosed)
	}
	return err
}
