package app

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func get(k string) []byte        { return AppendGet(nil, []byte(k)) }
func put(k, v string) []byte     { return AppendPut(nil, []byte(k), []byte(v)) }
func del(k string) []byte        { return AppendDelete(nil, []byte(k)) }
func ok(v string) []byte         { return append([]byte{StatusOK}, v...) }
func status(b byte) []byte       { return []byte{b} }
func raw(parts ...string) []byte { return []byte(strings.Join(parts, "")) }
func uv(n uint64) string         { return string(binary.AppendUvarint(nil, n)) }

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestKVExecute(t *testing.T) {
	steps := []struct {
		name string
		op   []byte
		want []byte
	}{
		{"get absent", get("a"), status(StatusNotFound)},
		{"put", put("a", "one"), ok("")},
		{"get", get("a"), ok("one")},
		{"overwrite same size", put("a", "uno"), ok("")},
		{"get same size", get("a"), ok("uno")},
		{"overwrite longer", put("a", "eins-zwei"), ok("")},
		{"overwrite shorter, reusing memory", put("a", "un-deux"), ok("")},
		{"overwrite much shorter", put("a", "x"), ok("")},
		{"get shorter", get("a"), ok("x")},
		{"empty key and value", put("", ""), ok("")},
		{"get empty value", get(""), ok("")},
		{"binary key", put("\x00\xff", "v"), ok("")},
		{"get binary key", get("\x00\xff"), ok("v")},
		{"delete", del("a"), ok("")},
		{"get deleted", get("a"), status(StatusNotFound)},
		{"delete absent", del("a"), status(StatusNotFound)},
		{"empty op", nil, status(StatusBadOp)},
		{"unknown code", raw("X", uv(1), "a"), status(StatusBadOp)},
		{"lower-case code", raw("g", uv(1), "a"), status(StatusBadOp)},
		{"no key length", raw("G"), status(StatusBadOp)},
		{"key overruns op", raw("P", uv(5), "abc"), status(StatusBadOp)},
		{"huge key length", raw("G", uv(1<<63), "a"), status(StatusBadOp)},
		{"unterminated varint", raw("G", "\xff\xff"), status(StatusBadOp)},
		{"get with trailing bytes", raw("G", uv(1), "bx"), status(StatusBadOp)},
		{"delete with trailing bytes", raw("D", uv(0), "x"), status(StatusBadOp)},
		{"bad ops changed nothing", get("b"), status(StatusNotFound)},
	}
	s := NewKV()
	for _, st := range steps {
		got := s.Execute([]byte("prefix:"), st.op)
		if want := append([]byte("prefix:"), st.want...); !bytes.Equal(got, want) {
			t.Fatalf("%s: Execute(%q) = %q, want %q", st.name, st.op, got, want)
		}
	}
	if s.Len() != 2 {
		t.Errorf("Len = %d, want 2 (empty and binary key)", s.Len())
	}
}

func TestKVFromNew(t *testing.T) {
	a, err := New("kv", 100)
	if err != nil {
		t.Fatal(err)
	}
	a.Execute(nil, put("k", "v"))
	if got := a.Execute(nil, get("k")); !bytes.Equal(got, ok("v")) {
		t.Errorf("get = %q: the reply size must not change kv results", got)
	}
	if !slices.Contains(Names(), "kv") {
		t.Errorf("Names() = %v lacks kv", Names())
	}
}

// TestKVDigestIgnoresHistory builds the same contents along different
// paths: the digests agree, and differ from those of other contents.
func TestKVDigestIgnoresHistory(t *testing.T) {
	build := func(ops ...[]byte) [32]byte {
		s := NewKV()
		for _, op := range ops {
			s.Execute(nil, op)
		}
		return s.Digest()
	}
	same := [][32]byte{
		build(put("a", "1"), put("b", "2")),
		build(put("b", "2"), put("a", "1")),
		build(put("a", "x"), put("b", "2"), put("c", "3"), put("a", "1"), del("c")),
		build(put("b", "22222222"), put("a", "1"), put("b", "2"), del("nothing"), raw("junk")),
	}
	for i, d := range same[1:] {
		if d != same[0] {
			t.Errorf("history %d: digest differs for equal contents", i+1)
		}
	}
	different := map[string][32]byte{
		"empty":                build(),
		"one pair":             build(put("a", "1")),
		"other value":          build(put("a", "1"), put("b", "3")),
		"key/value boundary":   build(put("a", "1"), put("b2", "")),
		"value moved to a key": build(put("a1", ""), put("b", "2")),
	}
	for name, d := range different {
		if d == same[0] {
			t.Errorf("%s: digest equals that of different contents", name)
		}
	}
	if build(put("a", "1"), del("a")) != build() {
		t.Error("put then delete does not give the empty digest")
	}
}

// TestKVSnapshotRestore checks snapshots against a model map over random
// operations: a snapshot is canonical (equal contents give equal bytes),
// restores to equal contents and digest, and the restored store keeps
// working, including writes into its shared arrays.
func TestKVSnapshotRestore(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	s, model := NewKV(), map[string]string{}
	for round := range 20 {
		for range 200 {
			k := fmt.Sprintf("k%d", rng.IntN(60))
			switch rng.IntN(3) {
			case 0:
				v := strings.Repeat("v", rng.IntN(20))
				s.Execute(nil, put(k, v))
				model[k] = v
			case 1:
				s.Execute(nil, del(k))
				delete(model, k)
			default:
				s.Execute(nil, get(k))
			}
		}
		snap := s.Snapshot()
		r := NewKV()
		r.Execute(nil, put("stale", "state"))
		must(t, r.Restore(snap))
		if r.Digest() != s.Digest() {
			t.Fatalf("round %d: restored digest differs", round)
		}
		if !bytes.Equal(fromModel(model).Snapshot(), snap) {
			t.Fatalf("round %d: snapshot differs from that of the same contents built in key order", round)
		}
		if fromModel(model).Digest() != s.Digest() {
			t.Fatalf("round %d: incremental digest differs from one computed afresh", round)
		}
		// Writes of every size into the restored arrays must not disturb
		// neighbouring values.
		for k, v := range model {
			r.Execute(nil, put(k, strings.Repeat("w", len(v)/2)))
		}
		for k, v := range model {
			if got := r.Execute(nil, get(k)); !bytes.Equal(got, ok(strings.Repeat("w", len(v)/2))) {
				t.Fatalf("round %d: after rewrite, get %s = %q", round, k, got)
			}
		}
		if r.Len() != len(model) {
			t.Fatalf("round %d: restored %d keys, want %d", round, r.Len(), len(model))
		}
	}
}

// fromModel builds a store by putting the model's pairs in key order.
func fromModel(model map[string]string) *KV {
	s := NewKV()
	keys := make([]string, 0, len(model))
	for k := range model {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		s.Execute(nil, put(k, model[k]))
	}
	return s
}

func TestKVRestoreRejects(t *testing.T) {
	pair := func(k, v string) string { return uv(uint64(len(k))) + k + uv(uint64(len(v))) + v }
	tests := []struct {
		name, snap, want string
	}{
		{"empty", "", "header"},
		{"other app's snapshot", "\x00\x00\x00\x00\x00\x00\x00\x01", "header"},
		{"no count", kvMagic, "unreadable pair count"},
		{"count too large", kvMagic + uv(1000) + pair("a", "b"), "1000 pairs cannot fit"},
		{"count too small", kvMagic + uv(1) + pair("a", "b") + pair("c", "d"), "bytes after the last pair"},
		{"truncated key", kvMagic + uv(1) + uv(5) + "ab", "key length 5 overruns"},
		{"truncated value", kvMagic + uv(1) + uv(1) + "a" + uv(9) + "b", "value length 9 overruns"},
		{"overlong length", kvMagic + uv(1) + "\x81\x00" + "a" + uv(0), "unreadable key length"},
		{"overlong count", kvMagic + "\x80\x00", "unreadable pair count"},
		{"missing value length", kvMagic + uv(1) + uv(1) + "a", "unreadable value length"},
		{"keys out of order", kvMagic + uv(2) + pair("b", "1") + pair("a", "2"), "pair 1: keys must strictly increase"},
		{"key repeated", kvMagic + uv(2) + pair("a", "1") + pair("a", "2"), "pair 1: keys must strictly increase"},
	}
	s := NewKV()
	s.Execute(nil, put("keep", "me"))
	before := s.Digest()
	for _, tt := range tests {
		err := s.Restore([]byte(tt.snap))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Restore = %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
	if s.Digest() != before || !bytes.Equal(s.Execute(nil, get("keep")), ok("me")) {
		t.Error("a rejected snapshot changed the store")
	}
	must(t, s.Restore([]byte(kvMagic+uv(0))))
	if s.Len() != 0 || s.Digest() != NewKV().Digest() {
		t.Error("the empty snapshot does not give the empty store")
	}
}

// TestKVAllocs pins the hot paths of a benchmark run: gets and same-size
// overwrites allocate nothing.
func TestKVAllocs(t *testing.T) {
	s := NewKV()
	s.Execute(nil, put("user1", strings.Repeat("x", 100)))
	getOp, putOp := get("user1"), put("user1", strings.Repeat("y", 100))
	dst := make([]byte, 0, 256)
	for name, op := range map[string][]byte{"get": getOp, "put": putOp} {
		if n := testing.AllocsPerRun(100, func() { dst = s.Execute(dst[:0], op) }); n != 0 {
			t.Errorf("%s allocates %v times per op, want 0", name, n)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = s.Digest() }); n != 0 {
		t.Errorf("Digest allocates %v times, want 0", n)
	}
}

// FuzzKV runs arbitrary operations against the store and a model map:
// results agree, nothing panics, and the incremental digest always equals
// the digest of the store rebuilt from its snapshot.
func FuzzKV(f *testing.F) {
	f.Add([]byte("P\x01aone"))
	f.Add(slices.Concat(put("a", "1"), []byte{0}, get("a"), []byte{0}, del("a")))
	f.Add([]byte("G\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, model := NewKV(), map[string]string{}
		// A zero byte separates operations.
		for op := range bytes.SplitSeq(data, []byte{0}) {
			got := s.Execute(nil, op)
			if want := modelExecute(model, op); !bytes.Equal(got, want) {
				t.Fatalf("Execute(%q) = %q, model says %q", op, got, want)
			}
		}
		r := NewKV()
		if err := r.Restore(s.Snapshot()); err != nil {
			t.Fatalf("Restore(Snapshot()): %v", err)
		}
		if r.Digest() != s.Digest() || r.Digest() != fromModel(model).Digest() {
			t.Fatal("digests of equal contents differ")
		}
	})
}

// modelExecute is the specification of Execute, written plainly.
func modelExecute(m map[string]string, op []byte) []byte {
	if len(op) == 0 {
		return status(StatusBadOp)
	}
	n, k := binary.Uvarint(op[1:])
	if k <= 0 || n > uint64(len(op)-1-k) {
		return status(StatusBadOp)
	}
	key, rest := string(op[1+k:1+k+int(n)]), string(op[1+k+int(n):])
	v, found := m[key]
	switch {
	case op[0] == OpPut:
		m[key] = rest
		return ok("")
	case rest != "" || op[0] != OpGet && op[0] != OpDelete:
		return status(StatusBadOp)
	case !found:
		return status(StatusNotFound)
	case op[0] == OpDelete:
		delete(m, key)
		return ok("")
	}
	return ok(v)
}

// FuzzKVRestore feeds arbitrary snapshots: Restore never panics, and what
// it accepts is a canonical snapshot, written back byte for byte.
func FuzzKVRestore(f *testing.F) {
	s := NewKV()
	s.Execute(nil, put("a", "1"))
	s.Execute(nil, put("bb", ""))
	f.Add(s.Snapshot())
	f.Add([]byte(kvMagic + "\x00"))
	f.Add([]byte(kvMagic + "\x02\x01a\x00\x01a\x00"))
	f.Fuzz(func(t *testing.T, snap []byte) {
		r := NewKV()
		if r.Restore(snap) != nil {
			return
		}
		if !bytes.Equal(r.Snapshot(), snap) {
			t.Fatalf("Restore accepted %q but snapshots it as %q", snap, r.Snapshot())
		}
	})
}

// BenchmarkKV measures the operations of a YCSB run on a store of 100k keys
// with 100-byte values, and a checkpoint's Digest and Snapshot of it.
func BenchmarkKV(b *testing.B) {
	const keys = 100_000
	value := bytes.Repeat([]byte("v"), 100)
	s := NewKV()
	ops := make([][2][]byte, keys) // get and put of each key
	for i := range keys {
		k := fmt.Appendf(nil, "user%d", i)
		ops[i] = [2][]byte{AppendGet(nil, k), AppendPut(nil, k, value)}
		s.Execute(nil, ops[i][1])
	}
	dst := make([]byte, 0, 256)
	for _, bm := range []struct {
		name string
		op   int
	}{{"get", 0}, {"put", 1}} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				dst = s.Execute(dst[:0], ops[i][bm.op])
				if i++; i == keys {
					i = 0
				}
			}
		})
	}
	b.Run("digest", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = s.Digest()
		}
	})
	b.Run("snapshot", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = s.Snapshot()
		}
	})
	snap := s.Snapshot()
	b.Run("restore", func(b *testing.B) {
		b.ReportAllocs()
		r := NewKV()
		for b.Loop() {
			must(b, r.Restore(snap))
		}
	})
}
