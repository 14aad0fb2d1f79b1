package orchestrate

import (
	"bufio"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/replbench/replbench/analysis"
	"github.com/replbench/replbench/clients"
	"github.com/replbench/replbench/internal/hdrjs"
	"github.com/replbench/replbench/internal/node"
	"github.com/replbench/replbench/loadgen"
)

// fakeServer answers its n-th call after base + (n mod 3) ms, failing every
// 50th, on the fake clock of the synctest bubble it runs in.
type fakeServer struct {
	base  time.Duration
	calls atomic.Int64
}

func (s *fakeServer) Call(_ []byte, done func(error)) {
	n := s.calls.Add(1)
	var err error
	if n%50 == 0 {
		err = errors.New("fake failure")
	}
	time.AfterFunc(s.base+time.Duration(n%3)*time.Millisecond, func() { done(err) })
}

// loadRun is one load generator process's run and the directory holding
// its client.json and latency.hlog.
type loadRun struct {
	dir string
	res *loadgen.Result
	rep *node.ClientReport
}

// twoRuns runs two load generator processes one after the other on a fake
// clock: a with one client answered in 1-3 ms, b with four answered in
// 5-7 ms, so that they complete a similar number of requests at different
// latencies. b's cool-down is longer, as when one process takes longer to
// drain, so its timeline has one more slot.
func twoRuns(t *testing.T) (a, b loadRun) {
	t.Helper()
	a = loadRun{dir: t.TempDir()}
	b = loadRun{dir: t.TempDir()}
	synctest.Test(t, func(t *testing.T) {
		a.res, a.rep = runLoad(t, time.Millisecond, 1, 300*time.Millisecond, 1)
		b.res, b.rep = runLoad(t, 5*time.Millisecond, 4, 1200*time.Millisecond, 2)
	})
	for _, r := range []loadRun{a, b} {
		f, err := os.Create(filepath.Join(r.dir, latencyLogFile))
		if err != nil {
			t.Fatal(err)
		}
		if err := r.res.WriteHlog(f); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if err := node.WriteJSON(filepath.Join(r.dir, clientReportFile), r.rep); err != nil {
			t.Fatal(err)
		}
	}
	return a, b
}

// runLoad runs callers clients against fake servers and reports it as
// 'replbench-node client' does.
func runLoad(t *testing.T, base time.Duration, callers int, cooldown time.Duration, mismatches uint64) (*loadgen.Result, *node.ClientReport) {
	t.Helper()
	servers := make([]*fakeServer, callers)
	cs := make([]loadgen.Caller, callers)
	for i := range servers {
		servers[i] = &fakeServer{base: base}
		cs[i] = servers[i]
	}
	const phase = 300 * time.Millisecond
	res, err := loadgen.Run(context.Background(), cs, loadgen.Config{Warmup: phase, Duration: phase, Cooldown: cooldown})
	if err != nil {
		t.Fatalf("loadgen.Run: %v", err)
	}
	rep := &node.ClientReport{
		Start: res.Start, End: res.End, Measure: [2]float64{phase.Seconds(), 2 * phase.Seconds()},
		Throughput: res.Throughput, Completed: res.Completed, Errors: res.Errors,
		Latency: loadgen.Summarize(res.Latency), Uncorrected: loadgen.Summarize(res.Uncorrected),
		Timeline: res.Timeline, Mismatches: mismatches,
	}
	for _, s := range servers {
		rep.Clients = append(rep.Clients, clients.Stats{Sent: uint64(s.calls.Load())})
	}
	return res, rep
}

func sum(hs ...*hdrhistogram.Histogram) *hdrhistogram.Histogram {
	m := hs[0].Clone()
	for _, h := range hs[1:] {
		m.Merge(h)
	}
	return m
}

func TestMergeClientRuns(t *testing.T) {
	a, b := twoRuns(t)
	out := filepath.Join(t.TempDir(), latencyLogFile)
	m, err := MergeClientRuns([]string{a.dir, b.dir}, out)
	if err != nil {
		t.Fatal(err)
	}

	if m.Completed != a.rep.Completed+b.rep.Completed || m.Errors != a.rep.Errors+b.rep.Errors || m.Mismatches != 3 {
		t.Errorf("completed %d, errors %d, mismatches %d; want %d+%d, %d+%d, 1+2", m.Completed, m.Errors, m.Mismatches,
			a.rep.Completed, b.rep.Completed, a.rep.Errors, b.rep.Errors)
	}
	if a.rep.Errors == 0 || b.rep.Errors == 0 {
		t.Errorf("errors %d and %d: every 50th request should fail", a.rep.Errors, b.rep.Errors)
	}
	if m.Throughput != a.rep.Throughput+b.rep.Throughput {
		t.Errorf("throughput %g, want %g+%g", m.Throughput, a.rep.Throughput, b.rep.Throughput)
	}
	if !m.Start.Equal(a.rep.Start) || !m.End.Equal(b.rep.End) || m.Measure != a.rep.Measure {
		t.Errorf("start %v, end %v, measure %v; want %v (a's start), %v (b's end), %v", m.Start, m.End, m.Measure,
			a.rep.Start, b.rep.End, a.rep.Measure)
	}
	if got, want := m.Clients, append(append([]clients.Stats(nil), a.rep.Clients...), b.rep.Clients...); !reflect.DeepEqual(got, want) {
		t.Errorf("clients %v, want %v", got, want)
	}

	// The merged summaries are those of the two processes' latencies pooled.
	if want := loadgen.Summarize(sum(a.res.Latency, b.res.Latency)); m.Latency != want || m.Latency.Count != m.Completed {
		t.Errorf("latency %+v, want %+v with count %d", m.Latency, want, m.Completed)
	}
	if want := loadgen.Summarize(sum(a.res.Uncorrected, b.res.Uncorrected)); m.Uncorrected != want {
		t.Errorf("uncorrected %+v, want %+v", m.Uncorrected, want)
	}
	if lo, hi := a.rep.Latency.P50, b.rep.Latency.P50; !(lo < m.Latency.P50 && m.Latency.P50 < hi) {
		t.Errorf("merged p50 %gµs, want strictly between %gµs and %gµs", m.Latency.P50, lo, hi)
	}

	// The timeline runs as long as the longest, taking a's slot times.
	if len(a.rep.Timeline) != 3 || len(b.rep.Timeline) != 4 {
		t.Fatalf("timelines of %d and %d slots, want 3 and 4", len(a.rep.Timeline), len(b.rep.Timeline))
	}
	if len(m.Timeline) != len(b.rep.Timeline) {
		t.Fatalf("%d slots, want %d", len(m.Timeline), len(b.rep.Timeline))
	}
	for i, s := range m.Timeline {
		var want loadgen.Second
		for _, tl := range [][]loadgen.Second{b.rep.Timeline, a.rep.Timeline} {
			if i < len(tl) {
				want.T, want.Phase = tl[i].T, tl[i].Phase
				want.Length = max(want.Length, tl[i].Length)
				want.Ops += tl[i].Ops
				want.Errors += tl[i].Errors
				want.Throughput += tl[i].Throughput
			}
		}
		got := s
		got.Mean, got.P50, got.P90, got.P99, got.Max = 0, 0, 0, 0, 0
		if got != want {
			t.Errorf("slot %d: %+v, want %+v", i, got, want)
		}
		if s.Phase == "measure" && (s.P50 != m.Latency.P50 || s.Max != m.Latency.Max) {
			t.Errorf("measure slot %d: p50 %g max %g, want the measure phase's %g and %g", i, s.P50, s.Max, m.Latency.P50, m.Latency.Max)
		}
	}
	if end := m.Timeline[len(m.Timeline)-1]; math.Abs(end.T+end.Length-b.rep.End.Sub(b.rep.Start).Seconds()) > 1e-9 {
		t.Errorf("timeline ends at %gs, want b's end", end.T+end.Length)
	}

	// analysis reads the merged log as one process's.
	rp := analysis.Repeat{N: 1, Dir: filepath.Dir(out), Completed: float64(m.Completed)}
	h, err := rp.Histogram()
	if err != nil {
		t.Fatalf("analysis cannot read the merged log: %v", err)
	}
	if got := loadgen.Summarize(h); got != m.Latency {
		t.Errorf("re-read measure histogram %+v, want %+v", got, m.Latency)
	}

	// Both runs started in the same second, so the merged log's header is
	// theirs line for line, and its intervals come in the same order.
	want, got := hlogLines(t, filepath.Join(a.dir, latencyLogFile)), hlogLines(t, out)
	if !reflect.DeepEqual(got.header, want.header) {
		t.Errorf("header\n%s\nwant\n%s", strings.Join(got.header, "\n"), strings.Join(want.header, "\n"))
	}
	var tags []string
	for _, s := range m.Timeline {
		tags = append(tags, s.Phase, s.Phase+"-uncorrected")
	}
	if !reflect.DeepEqual(got.tags, tags) {
		t.Errorf("interval tags %v, want %v", got.tags, tags)
	}

	// HdrHistogram's own reader finds in the merged log what the report says.
	t.Run("hdr-histogram-js", func(t *testing.T) {
		hdrjs.Need(t)
		js := hdrjs.Read(t, out, "measure", "measure"+loadgen.UncorrectedSuffix)
		for i, s := range []loadgen.Summary{m.Latency, m.Uncorrected} {
			ours := hdrjs.Summary{Tag: js[i].Tag, Intervals: js[i].Intervals, Count: int64(s.Count), P50: int64(s.P50),
				P90: int64(s.P90), P99: int64(s.P99), P999: int64(s.P999), Max: int64(s.Max)}
			if ours != js[i] {
				t.Errorf("replbench:       %v\nhdr-histogram-js: %v", ours, js[i])
			}
		}
	})
}

type hlogText struct{ header, tags []string }

func hlogLines(t *testing.T, name string) hlogText {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var h hlogText
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if tag, ok := strings.CutPrefix(sc.Text(), "Tag="); ok {
			h.tags = append(h.tags, tag[:strings.IndexByte(tag, ',')])
		} else {
			h.header = append(h.header, sc.Text())
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return h
}

// One process's outputs pass through unchanged, also onto themselves.
func TestMergeClientRunsSingle(t *testing.T) {
	a, _ := twoRuns(t)
	in := filepath.Join(a.dir, latencyLogFile)
	log, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	want, err := readClientReport(filepath.Join(a.dir, clientReportFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{filepath.Join(t.TempDir(), latencyLogFile), in} {
		rep, err := MergeClientRuns([]string{a.dir}, out)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(rep, want) {
			t.Errorf("report %+v, want client.json's %+v", rep, want)
		}
		if got, err := os.ReadFile(out); err != nil || string(got) != string(log) {
			t.Errorf("%s differs from %s (err %v)", out, in, err)
		}
	}
}

func TestMergeClientRunsDamaged(t *testing.T) {
	a, b := twoRuns(t)
	pristine := map[string][]byte{}
	for _, dir := range []string{a.dir, b.dir} {
		for _, name := range []string{clientReportFile, latencyLogFile} {
			p := filepath.Join(dir, name)
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			pristine[p] = data
		}
	}
	bJSON, bLog := filepath.Join(b.dir, clientReportFile), filepath.Join(b.dir, latencyLogFile)
	write := func(name string, data []byte) {
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	report := func(edit func(*node.ClientReport)) func() {
		return func() {
			rep := *b.rep
			rep.Timeline = append([]loadgen.Second(nil), b.rep.Timeline...)
			edit(&rep)
			if err := node.WriteJSON(bJSON, &rep); err != nil {
				t.Fatal(err)
			}
		}
	}
	lines := strings.SplitAfter(string(pristine[bLog]), "\n")
	q := regexp.QuoteMeta

	tests := []struct {
		name   string
		damage func()
		out    string // "" means a fresh file in a temporary directory
		want   string // regexp of the error
	}{{
		name:   "client.json missing",
		damage: func() { os.Remove(bJSON) },
		want:   q(bJSON) + `: missing$`,
	}, {
		name:   "client.json corrupt",
		damage: func() { write(bJSON, pristine[bJSON][:len(pristine[bJSON])/2]) },
		want:   q(bJSON) + `: unexpected end of JSON input$`,
	}, {
		name:   "latency.hlog missing",
		damage: func() { os.Remove(bLog) },
		want:   q(bLog) + `: missing$`,
	}, {
		name:   "latency.hlog loses its last line",
		damage: func() { write(bLog, []byte(strings.Join(lines[:len(lines)-2], ""))) },
		want:   q(bLog) + `: ends after \d+ intervals, but client.json's timeline of \d+ slots needs \d+: the file is truncated or damaged$`,
	}, {
		name:   "latency.hlog cut mid-line",
		damage: func() { write(bLog, pristine[bLog][:len(pristine[bLog])-40]) },
		want:   q(bLog) + `: interval \d+ cannot be decoded: .+$`,
	}, {
		name: "latency.hlog of another run",
		damage: func() {
			write(bLog, pristine[filepath.Join(a.dir, latencyLogFile)])
		},
		want: q(bLog) + `: interval "warmup" of slot 0 holds \d+ latencies, but client.json counts \d+ completions$`,
	}, {
		name:   "latency.hlog with an extra interval",
		damage: func() { write(bLog, []byte(strings.Join(lines, "")+lines[len(lines)-2])) },
		want:   q(bLog) + `: has more intervals than client.json's timeline of \d+ slots accounts for$`,
	}, {
		name: "an extra measure slot",
		damage: report(func(r *node.ClientReport) {
			r.Timeline = append(r.Timeline[:2], append([]loadgen.Second{{T: 0.6, Length: 0.3, Phase: "measure"}}, r.Timeline[2:]...)...)
		}),
		want: q(bJSON) + `: timeline slot 2 is measure, but in ` + q(filepath.Join(a.dir, clientReportFile)) + ` it is cooldown: the load generators ran different phases$`,
	}, {
		name:   "no measure slot",
		damage: report(func(r *node.ClientReport) { r.Timeline = r.Timeline[:1]; r.Completed = 0 }),
		want:   q(bJSON) + `: its timeline has 1 warmup and 0 measure slots, ` + q(filepath.Join(a.dir, clientReportFile)) + ` has 1 and 1: the load generators ran different phases$`,
	}, {
		name:   "unknown phase",
		damage: report(func(r *node.ClientReport) { r.Timeline[0].Phase = "ramp" }),
		want:   q(bJSON) + `: timeline slot 0 has unknown phase "ramp"$`,
	}, {
		name:   "completions do not add up",
		damage: report(func(r *node.ClientReport) { r.Completed++ }),
		want:   q(bJSON) + `: its measure slots count \d+ completions, its total \d+$`,
	}, {
		name:   "output directory missing",
		damage: func() {},
		out:    filepath.Join(t.TempDir(), "gone", latencyLogFile),
		want:   `: write .*/gone/latency\.hlog: .+$`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for p, data := range pristine {
				write(p, data)
			}
			tt.damage()
			out := tt.out
			if out == "" {
				out = filepath.Join(t.TempDir(), latencyLogFile)
			}
			_, err := MergeClientRuns([]string{a.dir, b.dir}, out)
			if err == nil || !regexp.MustCompile(tt.want).MatchString(err.Error()) {
				t.Fatalf("error %v, want one matching %s", err, tt.want)
			}
			if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a failed merge left %s (%v)", out, err)
			}
		})
	}
}

// Whatever is left of a truncated or scrambled log, merging fails with an
// error naming it, or, for a scramble that still decodes to the right
// counts, succeeds; it never panics.
func TestMergeClientRunsBrokenLog(t *testing.T) {
	a, b := twoRuns(t)
	bLog := filepath.Join(b.dir, latencyLogFile)
	log, err := os.ReadFile(bLog)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), latencyLogFile)
	merge := func(data []byte) error {
		if err := os.WriteFile(bLog, data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := MergeClientRuns([]string{a.dir, b.dir}, out)
		return err
	}
	step := max(len(log)/60, 1)
	for n := 0; n < len(log)-1; n += step {
		if err := merge(log[:n]); err == nil || !strings.Contains(err.Error(), bLog+":") {
			t.Errorf("cut to %d of %d bytes: error %v, want one naming %s", n, len(log), err, bLog)
		}
	}
	for i := 0; i < len(log); i += step {
		scrambled := append([]byte(nil), log...)
		scrambled[i] ^= 0x55
		if err := merge(scrambled); err != nil && !strings.Contains(err.Error(), bLog+":") {
			t.Errorf("byte %d scrambled: error %v, want one naming %s", i, err, bLog)
		}
	}
}
