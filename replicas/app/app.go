// Package app holds the applications replicas execute: null (fixed-size
// reply, no state), echo (returns the payload) and, for the BFT protocols,
// a key-value store. All are deterministic protocols.App implementations.
package app

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/replbench/replbench/protocols"
)

// Names lists the applications New accepts, for help text and validation.
func Names() []string { return []string{"null", "echo", "kv"} }

// New returns the application called name; reply is the reply size in
// bytes (for echo, 0 means return the payload as it came; kv ignores it,
// since its results are its replies).
func New(name string, reply int) (protocols.App, error) {
	if reply < 0 {
		return nil, fmt.Errorf("app %s: negative reply size %d", name, reply)
	}
	switch name {
	case "null":
		return &Null{reply: reply}, nil
	case "echo":
		return &Echo{reply: reply}, nil
	case "kv":
		return NewKV(), nil
	}
	return nil, fmt.Errorf("unknown app %q (want one of %v)", name, Names())
}

// counter is the state both stateless apps keep: how many operations ran,
// so replicas that executed different numbers of operations differ in Digest.
type counter struct{ ops uint64 }

func (c *counter) Snapshot() []byte { return binary.BigEndian.AppendUint64(nil, c.ops) }

func (c *counter) Restore(s []byte) error {
	if len(s) != 8 {
		return errors.New("app: snapshot must be 8 bytes")
	}
	c.ops = binary.BigEndian.Uint64(s)
	return nil
}

func (c *counter) Digest() [32]byte { return sha256.Sum256(c.Snapshot()) }

// Null ignores the operation and returns reply zero bytes.
type Null struct {
	counter
	reply int
}

func (n *Null) Execute(dst, _ []byte) []byte {
	n.ops++
	return appendZeros(dst, n.reply)
}

// Echo returns the operation, cut or zero-padded to reply bytes when reply > 0.
type Echo struct {
	counter
	reply int
}

func (e *Echo) Execute(dst, op []byte) []byte {
	e.ops++
	if e.reply == 0 {
		return append(dst, op...)
	}
	if len(op) >= e.reply {
		return append(dst, op[:e.reply]...)
	}
	return appendZeros(append(dst, op...), e.reply-len(op))
}

func appendZeros(dst []byte, n int) []byte {
	for i := 0; i < n; i++ {
		dst = append(dst, 0)
	}
	return dst
}
