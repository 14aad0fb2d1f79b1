package transport

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/keys"
)

const (
	// readBufferSize is the bufio buffer per connection: many small frames
	// per read syscall.
	readBufferSize = 16 << 10
	// exactAlloc bounds the frames read straight into a slice of their exact
	// size; larger ones grow in wire.ReadFrame's chunks, so a length field
	// alone cannot make the transport allocate much.
	exactAlloc = 64 << 10
	// shrinkAbove is the write buffer capacity beyond which a mostly empty
	// buffer is let go rather than kept for the next swap, so one burst does
	// not pin its peak memory for good.
	shrinkAbove = 256 << 10
)

// conn is one TCP connection.
type conn struct {
	nc   net.Conn
	br   *bufio.Reader
	wake chan struct{} // capacity 1: frames are pending for the writer
	done chan struct{} // closed by close
	once sync.Once
}

func newConn(nc net.Conn) *conn {
	if tc, ok := nc.(*net.TCPConn); ok {
		// The writer coalesces on its own; Nagle would only add delay.
		_ = tc.SetNoDelay(true)
	}
	return &conn{
		nc:   nc,
		br:   bufio.NewReaderSize(nc, readBufferSize),
		wake: make(chan struct{}, 1),
		done: make(chan struct{}),
	}
}

func (c *conn) close() {
	c.once.Do(func() {
		close(c.done)
		c.nc.Close()
	})
}

// peer is the send side of one principal: a bounded queue of frames and the
// connection they leave on. The queue is two buffers that swap: Send appends
// to pending while the writer writes the other, so in steady state sending
// allocates nothing and everything queued during a write goes out in the
// next single write.
type peer struct {
	who    keys.Principal
	dialed bool   // this node owns the link and keeps the queue across reconnects
	addr   string // where a dialed peer is reached

	lastErr atomic.Pointer[error] // why the last dial failed, for WaitConnected's error

	mu      sync.Mutex
	out     *conn  // where frames leave; nil while the link is down
	pending []byte // frames waiting for the writer
	frames  int    // number of frames in pending
	spare   []byte // the writer's last buffer, next to become pending

	shape *shaper // the emulated link (Config.Link); nil sends frames at once
}

// enqueue appends a copy of frame to the queue and returns the channel to
// wake the writer on, if a connection is up. A frame that does not fit is
// refused unless the queue is empty, so a frame larger than the bound still
// gets through on its own.
func (p *peer) enqueue(frame []byte, limit int) (chan<- struct{}, error) {
	if p.shape != nil {
		return p.enqueueShaped(frame, limit)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.out == nil && !p.dialed:
		return nil, ErrUnknownPeer
	case len(p.pending) > 0 && len(p.pending)+len(frame) > limit:
		return nil, ErrQueueFull
	}
	p.pending = append(p.pending, frame...)
	p.frames++
	if p.out == nil {
		return nil, nil
	}
	return p.out.wake, nil
}

func (p *peer) connected() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out != nil
}

// attach makes c the connection p's frames leave on and wakes its writer
// for whatever queued up while the link was down.
func (p *peer) attach(c *conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.out = c
	if len(p.pending) > 0 {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
}

// detach takes p off c if c still carries its frames. With drop it also
// empties the queue and returns how many frames that discarded.
func (p *peer) detach(c *conn, drop bool) (dropped int, detached bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.out != c {
		return 0, false
	}
	p.out = nil
	if drop {
		dropped = p.frames
		p.pending, p.spare, p.frames = nil, nil, 0
		if p.shape != nil {
			p.shape.reset()
		}
	}
	return dropped, true
}

// take hands the writer of c everything queued (possibly nothing); ok is
// false once c no longer carries p's frames.
func (p *peer) take(c *conn) (buf []byte, frames int, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.out != c {
		return nil, 0, false
	}
	if p.frames == 0 {
		return nil, 0, true
	}
	buf, frames = p.pending, p.frames
	p.pending, p.spare, p.frames = p.spare[:0], nil, 0
	return buf, frames, true
}

// recycle returns a written buffer for the next swap.
func (p *peer) recycle(buf []byte) {
	if cap(buf) > shrinkAbove && len(buf) < cap(buf)/4 {
		return
	}
	p.mu.Lock()
	p.spare = buf[:0]
	p.mu.Unlock()
}

// run serves an authenticated connection: a writer goroutine if frames to
// p leave on c, and the reader here, until either fails or c is closed.
func (t *TCP) run(c *conn, p *peer, sends bool) error {
	var written chan struct{}
	if sends {
		written = make(chan struct{})
		go func() {
			defer close(written)
			if p.shape != nil {
				t.writeShaped(c, p)
			} else {
				t.writeLoop(c, p)
			}
		}()
	}
	err := t.readLoop(c, p.who)
	c.close()
	if written != nil {
		<-written
	}
	return err
}

// writeLoop writes everything queued in one syscall each time it wakes, so
// frames queued during a write are coalesced into the next one.
func (t *TCP) writeLoop(c *conn, p *peer) {
	for {
		select {
		case <-c.done:
			return
		case <-c.wake:
		}
		for {
			buf, frames, ok := p.take(c)
			if !ok {
				return
			}
			if frames == 0 {
				break
			}
			if !t.write(c, p, buf, frames) {
				return
			}
		}
	}
}

// write writes frames frames in buf to c, counts them and recycles buf. It
// reports false, with c closed, when the write fails.
func (t *TCP) write(c *conn, p *peer, buf []byte, frames int) bool {
	if _, err := c.nc.Write(buf); err != nil {
		c.close()
		if t.ctx.Err() == nil {
			t.log.Info("write failed, frames lost", "peer", p.who.String(), "frames", frames, "err", err)
		}
		return false
	}
	t.c.flushes.Add(1)
	t.c.framesOut.Add(uint64(frames))
	t.c.bytesOut.Add(uint64(len(buf)))
	p.recycle(buf)
	return true
}

// readLoop hands every frame from c to the handler until c fails. A
// malformed frame closes the connection and is counted; an ordinary
// disconnect is not.
func (t *TCP) readLoop(c *conn, from keys.Principal) error {
	for {
		frame, err := readFrame(c.br, t.maxFrame)
		if err != nil {
			var fe *wire.FrameError
			if errors.As(err, &fe) && !errors.Is(err, io.ErrUnexpectedEOF) && t.ctx.Err() == nil {
				t.c.badFrames.Add(1)
				t.log.Warn("bad frame, closing connection", "peer", from.String(), "remote", c.nc.RemoteAddr().String(), "err", err)
			}
			return err
		}
		t.c.framesIn.Add(1)
		t.c.bytesIn.Add(uint64(len(frame)))
		t.cfg.Handler(from, frame)
	}
}

// readFrame reads one frame into a slice of its own, which the handler
// keeps. A small frame costs one allocation of its exact size.
func readFrame(br *bufio.Reader, limit int) ([]byte, error) {
	var buf []byte
	if hdr, err := br.Peek(4); err == nil {
		if n := binary.BigEndian.Uint32(hdr); n <= exactAlloc {
			buf = make([]byte, 0, max(4+int(n), wire.HeaderSize))
		}
	}
	return wire.ReadFrame(br, buf, limit)
}
