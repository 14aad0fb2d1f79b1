package msgdump

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/keys"
)

// cutStream runs a framer over data pushed in the given chunks and returns
// what it found, one string per frame or problem.
func cutStream(data []byte, chunks ...int) []string {
	var out []string
	f := newFramer(wire.DefaultMaxFrame, true,
		func(off int64, b []byte) { out = append(out, fmt.Sprintf("frame %d %x", off, b)) },
		func(off int64, msg string) { out = append(out, fmt.Sprintf("problem %d %s", off, msg)) })
	for _, n := range chunks {
		n = min(n, len(data))
		f.push(data[:n])
		data = data[n:]
	}
	f.push(data)
	f.end()
	return out
}

func testStream(t *testing.T) []byte {
	k := fixedKeys(t, keys.HMAC)
	h, c, p := k.handshake(t, keys.Client(0), keys.Replica(1))
	var s []byte
	for _, f := range [][]byte{h, c, p, k.request(t, 0, 1, 0, "a"), k.request(t, 0, 2, 0, ""), k.reply(t, 1, 0, 1, 0, "b")} {
		s = append(s, f...)
	}
	return s
}

func TestFramerEverySplit(t *testing.T) {
	data := testStream(t)
	whole := cutStream(data)
	if len(whole) != 6 || strings.HasPrefix(strings.Join(whole, ""), "problem") {
		t.Fatalf("whole stream: %q", whole)
	}
	for i := range len(data) {
		for _, j := range []int{1, 7, 100} {
			if got := cutStream(data, i, j); !slices.Equal(got, whole) {
				t.Fatalf("chunks %d, %d, rest: %q, want %q", i, j, got, whole)
			}
		}
	}
	// One byte at a time.
	ones := make([]int, len(data))
	for i := range ones {
		ones[i] = 1
	}
	if got := cutStream(data, ones...); !slices.Equal(got, whole) {
		t.Fatalf("byte by byte: %q", got)
	}
}

func TestFramerDamage(t *testing.T) {
	k := fixedKeys(t, keys.None)
	a, b := k.request(t, 0, 1, 0, "first"), k.request(t, 0, 2, 0, "second")
	join := func(parts ...[]byte) []byte { return slices.Concat(parts...) }
	for _, tc := range []struct {
		name     string
		data     []byte
		frames   int
		problems []string
	}{
		{"empty", nil, 0, nil},
		{"garbage only", []byte("this is not a replbench stream at all"), 0,
			[]string{"problem 0 oversized frame (length 1952999795, limit 16777216); no frame after it (skipped 37 bytes to the end)"}},
		{"garbage first", join([]byte("junk!"), a, b), 2,
			[]string{"problem 0 oversized frame (length 1786080875, limit 16777216); skipped 5 bytes to the next frame at offset 5"}},
		{"garbage between", join(a, []byte{0, 0, 0, 0, 0xff}, b), 2,
			[]string{fmt.Sprintf("problem %d invalid frame length 0 (minimum 2: version and type); skipped 5 bytes to the next frame at offset %d", len(a), len(a)+5)}},
		{"oversized length", join(a, []byte{0xff, 0xff, 0xff, 0xff, 1, 0x10}, b), 2,
			[]string{fmt.Sprintf("problem %d oversized frame (length 4294967295, limit 16777216); skipped 6 bytes", len(a))}},
		{"wrong version", join(a, []byte{0, 0, 0, 2, 1, 0x10}, b), 2,
			[]string{fmt.Sprintf("problem %d unsupported version 1 (want 2); skipped 6 bytes", len(a))}},
		{"ends in a header", join(a, b[:3]), 1,
			[]string{fmt.Sprintf("problem %d stream ends inside a frame (3 bytes of it, header incomplete)", len(a))}},
		{"ends in a body", join(a, b[:30]), 1,
			[]string{fmt.Sprintf("problem %d stream ends inside a frame (need %d bytes, have 30)", len(a), len(b))}},
		// A header that looks right but promises more than is left: not
		// waited for at the end, and the bytes after it are found.
		{"false header then frame", join([]byte{0, 0, 0, 0}, []byte{0, 0, 0, 40, wire.Version, 0x10}, a), 1,
			[]string{"problem 0 invalid frame length 0 (minimum 2: version and type); skipped 10 bytes to the next frame at offset 10"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := cutStream(tc.data)
			var frames int
			var problems []string
			for _, g := range got {
				if strings.HasPrefix(g, "frame") {
					frames++
				} else {
					problems = append(problems, g)
				}
			}
			if frames != tc.frames || len(problems) != len(tc.problems) {
				t.Fatalf("got %d frames and problems %q; want %d frames and %q", frames, problems, tc.frames, tc.problems)
			}
			for i, p := range problems {
				if !strings.HasPrefix(p, tc.problems[i]) {
					t.Errorf("problem %q, want it to start %q", p, tc.problems[i])
				}
			}
		})
	}
}

func TestFramerGap(t *testing.T) {
	k := fixedKeys(t, keys.None)
	a, b, c := k.request(t, 0, 1, 0, "first"), k.request(t, 0, 2, 0, "second"), k.request(t, 0, 3, 0, "third")
	for _, tc := range []struct {
		name    string
		before  []byte // pushed before the gap
		gap     int64
		after   []byte
		frames  int
		problem string
	}{
		{"at a frame boundary", a, int64(len(b)), c, 2,
			fmt.Sprintf("problem %d %d bytes missing from the capture; frames resume at offset %d", len(a), len(b), len(a)+len(b))},
		{"inside a frame", slices.Concat(a, b[:10]), int64(len(b) - 10), c, 2,
			fmt.Sprintf("problem %d %d bytes missing from the capture; dropped the 10 bytes of the frame they cut short at offset %d; frames resume", len(a)+10, len(b)-10, len(a))},
		{"into the next frame", a, int64(len(b) + 5), slices.Concat(c[5:], a), 2,
			fmt.Sprintf("problem %d %d bytes missing from the capture; skipped %d bytes to the next frame", len(a), len(b)+5, len(c)-5)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			f := newFramer(0, true,
				func(off int64, b []byte) { got = append(got, fmt.Sprintf("frame %d", off)) },
				func(off int64, msg string) { got = append(got, fmt.Sprintf("problem %d %s", off, msg)) })
			f.push(tc.before)
			f.gap(tc.gap)
			f.push(tc.after)
			f.end()
			frames := 0
			var problems []string
			for _, g := range got {
				if strings.HasPrefix(g, "frame") {
					frames++
				} else {
					problems = append(problems, g)
				}
			}
			if frames != tc.frames || len(problems) != 1 || !strings.HasPrefix(problems[0], tc.problem) {
				t.Errorf("got %q; want %d frames and a problem starting %q", got, tc.frames, tc.problem)
			}
		})
	}
}
