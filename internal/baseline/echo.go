// Package baseline is the yardstick for the request path: a raw TCP echo
// server speaking replbench's framing, with no authentication, no core and
// no queues. What it reaches on a machine is the ceiling a one-round-trip
// protocol can approach there; benchmarks report replbench relative to it.
package baseline

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"

	"github.com/replbench/replbench/internal/wire"
)

// Echo is a TCP server that writes every frame back to its sender.
type Echo struct {
	ln net.Listener
	wg sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]bool
}

// StartEcho listens on addr (e.g. "127.0.0.1:0") and serves until Close.
func StartEcho(addr string) (*Echo, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("echo baseline: %w", err)
	}
	e := &Echo{ln: ln, conns: make(map[net.Conn]bool)}
	e.wg.Add(1)
	go e.accept()
	return e, nil
}

// Addr is the address the server listens on.
func (e *Echo) Addr() string { return e.ln.Addr().String() }

func (e *Echo) accept() {
	defer e.wg.Done()
	for {
		c, err := e.ln.Accept()
		if err != nil {
			return
		}
		e.mu.Lock()
		e.conns[c] = true
		e.mu.Unlock()
		e.wg.Add(1)
		go e.serve(c)
	}
}

// serve echoes frames: one read into a buffered reader, one write back.
func (e *Echo) serve(c net.Conn) {
	defer e.wg.Done()
	defer func() {
		e.mu.Lock()
		delete(e.conns, c)
		e.mu.Unlock()
		c.Close()
	}()
	r := bufio.NewReaderSize(c, 64<<10)
	var buf []byte
	for {
		frame, err := wire.ReadFrame(r, buf[:0], wire.DefaultMaxFrame)
		if err != nil {
			return
		}
		buf = frame
		if _, err := c.Write(frame); err != nil {
			return
		}
	}
}

// Close stops the server and waits for its goroutines.
func (e *Echo) Close() error {
	err := e.ln.Close()
	e.mu.Lock()
	for c := range e.conns {
		c.Close()
	}
	e.mu.Unlock()
	e.wg.Wait()
	return err
}

// Client is one closed-loop connection to an echo server.
type Client struct {
	c     net.Conn
	r     *bufio.Reader
	frame []byte
	buf   []byte
}

// Dial connects to an echo server; each round trip sends a request frame
// with a payload of the given size, as a replbench client would.
func Dial(addr string, payload int) (*Client, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("echo baseline: %w", err)
	}
	frame := wire.Seal(wire.AppendRequest(nil, &wire.Request{Client: 1, Seq: 1, Payload: make([]byte, payload)}), nil)
	return &Client{c: c, r: bufio.NewReaderSize(c, 64<<10), frame: frame}, nil
}

// RoundTrip sends one frame and waits for it to come back.
func (c *Client) RoundTrip() error {
	if _, err := c.c.Write(c.frame); err != nil {
		return err
	}
	got, err := wire.ReadFrame(c.r, c.buf[:0], wire.DefaultMaxFrame)
	if err != nil {
		return err
	}
	c.buf = got
	if len(got) != len(c.frame) {
		return errors.New("echo baseline: reply differs from request")
	}
	return nil
}

// Close closes the connection.
func (c *Client) Close() error {
	err := c.c.Close()
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}
