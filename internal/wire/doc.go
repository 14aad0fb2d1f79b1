// Package wire is the one place where replbench's messages meet bytes: frames
// (length, version, type), client requests and replies, the transport
// handshake and protocol messages. Decoding works in place, rejects oversized
// or truncated input with an error and never panics. docs/wire.md is the
// byte-by-byte description of what this package writes.
package wire
