package wire_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"

	"github.com/replbench/replbench/internal/wire"
)

// A client encodes a request, authenticates the signed bytes and seals the
// frame; a replica opens it, verifies the authenticator and decodes it.
func Example() {
	key := []byte("pairwise secret")
	mac := func(dst, msg []byte) []byte {
		m := hmac.New(sha256.New, key)
		m.Write(msg)
		return m.Sum(dst)
	}

	// Client side: the MAC is written into the frame's spare capacity.
	buf := make([]byte, 0, 256)
	frame := wire.AppendRequest(buf, &wire.Request{Client: 7, Seq: 1, Payload: []byte("hello")})
	frame = wire.Seal(frame, mac(frame[len(frame):], wire.SignedBytes(frame)))

	// Replica side.
	sender, signed, auth, err := wire.Open(frame)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("sender", sender, "authentic:", hmac.Equal(auth, mac(nil, signed)))
	var r wire.Request
	if err := wire.DecodeRequest(frame, &r); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("seq %d payload %q\n", r.Seq, r.Payload)

	// A frame cut short says where it broke.
	fmt.Println(wire.DecodeRequest(frame[:20], &r))
	// Output:
	// sender 7 authentic: true
	// seq 1 payload "hello"
	// offset 20: truncated frame (need 70 bytes, have 20)
}
