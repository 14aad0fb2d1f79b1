package msgdump

import (
	"bytes"
	"encoding/binary"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/keys"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares out with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, out string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./msgdump -run %s -update to create it)", err, t.Name())
	}
	if out != string(want) {
		t.Errorf("output differs from %s (rerun with -update if the change is intended)\n--- got:\n%s--- want:\n%s", path, out, want)
	}
}

// replicaCapture is what replica 0 saw in 1.6 s: a client's handshake,
// requests from two clients with every flag, its replies, every PBFT
// message, HotStuff ones, a type this version does not know, and damage of
// every kind a capture can have.
func replicaCapture(t *testing.T, k *testKeys) []byte {
	t.Helper()
	r0, r1, r2, r3 := keys.Replica(0), keys.Replica(1), keys.Replica(2), keys.Replica(3)
	c0, c1 := keys.Client(0), keys.Client(1)
	hello, challenge, proof := k.handshake(t, c1, r0)
	digest := [wire.DigestSize]byte{0xd1, 0x9e, 0x57}
	batch := wire.AppendFrame(wire.AppendFrame(nil, k.request(t, 0, 1, 0, "put k1 v1")), k.request(t, 1, 1, 0, "get k1"))

	tampered := k.request(t, 0, 3, 0, "put k2 v2")
	tampered[len(tampered)-2-16*testReplicas-1] ^= 'x' ^ 'X' // one payload byte changed after signing
	trailing := k.request(t, 1, 9, 0, "hello")
	binary.BigEndian.PutUint32(trailing[27:], 4) // payload length one short: a trailing byte
	// 0xa5 is in the reserved range: no version of wire names it.
	u := binary.BigEndian.AppendUint32([]byte{0, 0, 0, 0, wire.Version, 0xa5}, 1) // sender: replica 1
	u = append(u, "from the future"...)
	binary.BigEndian.PutUint32(u, uint32(len(u)-4))
	unknown := k.sealed(t, 1, u)

	recs := []Record{
		{at(0), Received, c1, hello},
		{at(1), Sent, c1, challenge},
		{at(2), Received, c1, proof},
		{at(100), Received, c0, k.request(t, 0, 1, 0, "put k1 v1")},
		{at(180), Received, c1, k.request(t, 1, 1, wire.FlagReadOnly, "get k1")},
		{at(300), Sent, r1, k.sealed(t, 0, wire.AppendPrePrepare(nil, &wire.PrePrepare{Replica: 0, View: 0, Seq: 1, Digest: digest, Batch: batch}))},
		{at(310), Received, r1, k.sealed(t, 1, wire.AppendVote(nil, wire.TypePrepare, &wire.Vote{Replica: 1, View: 0, Seq: 1, Digest: digest}))},
		{at(320), Received, r2, k.sealed(t, 2, wire.AppendVote(nil, wire.TypeCommit, &wire.Vote{Replica: 2, View: 0, Seq: 1, Digest: digest}))},
		{at(330), Sent, c0, k.reply(t, 0, 0, 1, 0, "OK")},
		{at(331), Sent, c1, k.reply(t, 0, 1, 1, 0, "v1")},
		{at(500), Received, c0, k.request(t, 0, 2, wire.FlagRetransmit, "put k1 v1\x00\x01\x02\xff")},
		{at(650), Received, c0, tampered},
		{at(800), Received, c1, k.request(t, 1, 2, wire.FlagReadOnly|wire.FlagReplyToSender|0x08, "")},
		{at(900), Received, c1, trailing},
		{at(1000), Received, r2, k.sealed(t, 2, wire.AppendCheckpoint(nil, &wire.Checkpoint{Replica: 2, Seq: 100, Digest: digest}))},
		{at(1100), Received, r1, k.sealed(t, 1, wire.AppendViewChange(nil, &wire.ViewChange{Replica: 1, View: 1, Stable: 100}))},
		{at(1200), Sent, r1, k.sealed(t, 0, wire.AppendNewView(nil, &wire.NewView{Replica: 0, View: 1}))},
		{at(1300), Received, r2, k.sealed(t, 2, wire.AppendFetchState(nil, &wire.FetchState{Replica: 2, Seq: 100, View: 1}))},
		{at(1400), Sent, r2, k.sealed(t, 0, wire.AppendState(nil, &wire.State{Replica: 0, Seq: 100, Snapshot: []byte("snapshot")}))},
		{at(1450), Received, r1, k.sealed(t, 1, wire.AppendHSProposal(nil, &wire.HSProposal{Replica: 1, View: 7, Parent: digest, Justify: wire.QC{View: 6, Block: digest}, Batch: batch}))},
		{at(1460), Sent, r2, k.sealed(t, 0, wire.AppendHSVote(nil, &wire.HSVote{Replica: 0, View: 7, Block: digest}))},
		{at(1470), Received, r3, k.sealed(t, 3, wire.AppendHSNewView(nil, &wire.HSNewView{Replica: 3, View: 8, HighQC: wire.QC{View: 6, Block: digest}}))},
		{at(1500), Received, r1, unknown},
		{at(1600), Received, c0, k.request(t, 0, 5, 0, "put k3 v3")},
	}
	data := captureFile(t, r0, recs...)
	// Garbage between two records (after the one at 1300 ms), and a record
	// cut off at the end, as when a replica is killed mid-write.
	mid := bytes.Index(data, recs[17].Frame) + len(recs[17].Frame) // after the fetch-state
	data = append(data[:mid:mid], append([]byte("GARBAGE!"), data[mid:]...)...)
	last := captureFile(t, r0, Record{at(1700), Received, c1, k.request(t, 1, 3, 0, "cut short")})
	return append(data, last[captureHeaderSize+len("replbench test"):][:40]...)
}

func TestGoldenText(t *testing.T) {
	k := fixedKeys(t, keys.HMAC)
	data := replicaCapture(t, k)
	out, sum := dump(t, Options{Preview: 16, Verifier: k.auths[keys.Replica(0)]}, namedInput{"replica-0.rbcap", data})
	golden(t, "replica-0.txt", out)
	want := Summary{Inputs: 1, Frames: 24, Shown: 24, Problems: 3, Verified: 5, BadAuth: 1}
	if sum != want {
		t.Errorf("summary %+v, want %+v", sum, want)
	}
}

func TestGoldenJSON(t *testing.T) {
	k := fixedKeys(t, keys.HMAC)
	out, _ := dump(t, Options{JSON: true, Preview: 16, Verifier: k.auths[keys.Replica(0)]}, namedInput{"replica-0.rbcap", replicaCapture(t, k)})
	golden(t, "replica-0.jsonl", out)
}

func TestGoldenStats(t *testing.T) {
	k := fixedKeys(t, keys.HMAC)
	data := replicaCapture(t, k)
	v := k.auths[keys.Replica(0)]
	out, _ := dump(t, Options{Stats: true, Verifier: v}, namedInput{"replica-0.rbcap", data})
	golden(t, "replica-0.stats.txt", out)
	out, _ = dump(t, Options{Stats: true, JSON: true, Verifier: v}, namedInput{"replica-0.rbcap", data})
	golden(t, "replica-0.stats.json", out)
}

func TestGoldenFilters(t *testing.T) {
	k := fixedKeys(t, keys.HMAC)
	out, sum := dump(t, Options{Clients: []uint32{1}, Types: []wire.Type{wire.TypeRequest, wire.TypeHello}}, namedInput{"replica-0.rbcap", replicaCapture(t, k)})
	golden(t, "replica-0.client-1.txt", out)
	if sum.Shown != 4 {
		t.Errorf("%d frames shown, want client 1's hello and 3 requests, one of them malformed", sum.Shown)
	}
}

// TestGoldenRaw decodes a bare stream of frames, as written by
// 'xxd -r -p' from docs/wire.md, with noise between frames and a frame cut
// short at the end.
func TestGoldenRaw(t *testing.T) {
	k := fixedKeys(t, keys.Ed25519)
	var data []byte
	data = append(data, k.request(t, 2, 1, 0, "first")...)
	data = append(data, 0, 0, 0, 1, 1, 0x10, 0xee) // length 1: impossible
	data = append(data, k.request(t, 2, 2, 0, "second")...)
	over := k.request(t, 2, 3, 0, "third")
	data = append(data, 0x7f, 0xff, 0xff, 0xff, 1, 0x10) // oversized
	data = append(data, over...)
	data = append(data, k.request(t, 2, 4, 0, "fourth")[:30]...)
	out, sum := dump(t, Options{Preview: 8}, namedInput{"frames.bin", data})
	golden(t, "frames.txt", out)
	if sum.Frames != 3 || sum.Problems != 3 {
		t.Errorf("summary %+v, want 3 frames and 3 problems", sum)
	}
}
