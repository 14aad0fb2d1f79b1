// Package msgdump decodes captured replbench traffic, capture files written
// with --capture, pcap and pcapng files from tcpdump (TCP streams
// reassembled) and raw frame streams, into text or JSON lines, verifies
// authenticators and summarises; it also defines and writes the capture format.
//
// Input is untrusted: every read is bounded, and malformed input becomes a
// reported problem with its byte offset, never a panic. docs/msgdump.md
// describes the capture format and the output.
package msgdump
