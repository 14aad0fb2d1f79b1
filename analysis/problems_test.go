package analysis

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestDamagedResults damages one file of the fixture at a time: the report
// names the file and what is wrong with it, in one line, and the figures
// that do not need it are still drawn.
func TestDamagedResults(t *testing.T) {
	const p1 = "points/p001-protocol=unreplicated-replicas=1-load.clients=4"
	const p3 = "points/p003-protocol=pbft-replicas=4-load.clients=1"
	rewrite := func(name string, f func(string) string) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			path := filepath.Join(dir, name)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(f(string(data))), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	remove := func(name string) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	// lines rewrites a file line by line; i counts from 0.
	lines := func(edit func(i int, line string) string) func(string) string {
		return func(s string) string {
			ls := strings.Split(s, "\n")
			for i := range ls {
				ls[i] = edit(i, ls[i])
			}
			return strings.Join(ls, "\n")
		}
	}
	tests := []struct {
		name    string
		damage  func(t *testing.T, dir string)
		problem string   // a regexp the report must match, after the results directory
		drawn   []string // figures still there
		absent  []string // figures left out
	}{
		{
			name:    "summary.csv missing",
			damage:  remove("summary.csv"),
			problem: `^summary\.csv: missing; reading points/\*/rep-\*/summary\.json instead$`,
			drawn:   []string{"throughput-vs-load.clients-by-protocol", "rss-per-replica", "latency-dist-protocol=pbft"},
		},
		{
			name: "summary.csv row cut short",
			damage: rewrite("summary.csv", lines(func(i int, l string) string {
				if i == 3 {
					return l[:len(l)-40]
				}
				return l
			})),
			problem: `^summary\.csv:4: \d+ fields, the header has 29; row skipped$`,
			drawn:   []string{"throughput-vs-load.clients-by-protocol", "timelines/p001-protocol=unreplicated-replicas=1-load.clients=4"},
		},
		{
			name: "summary.csv quote left open",
			damage: rewrite("summary.csv", lines(func(i int, l string) string {
				if i == 3 {
					return l[:40]
				}
				return l
			})),
			problem: `^summary\.csv:4-5: extraneous or missing " in quoted-field; rows skipped$`,
			drawn:   []string{"throughput-vs-load.clients-by-protocol", "timelines/p002-protocol=unreplicated-replicas=1-load.clients=16"},
			absent:  []string{"timelines/p001-protocol=unreplicated-replicas=1-load.clients=4"}, // both its rows were lost
		},
		{
			name:    "summary.csv number garbled",
			damage:  rewrite("summary.csv", func(s string) string { return strings.Replace(s, ",152.0,", ",15x2,", 1) }),
			problem: `^summary\.csv:2: column p99_us: "15x2" is not a number; left out$`,
			drawn:   []string{"latency-p99-vs-load.clients-by-protocol"},
		},
		{
			name:    "summary.csv header lost",
			damage:  rewrite("summary.csv", func(s string) string { return strings.Replace(s, "throughput_ops", "tput", 1) }),
			problem: `^summary\.csv: the header has no column "throughput_ops"; reading points/\*/rep-\*/summary\.json instead$`,
			drawn:   []string{"throughput-vs-load.clients-by-protocol"},
		},
		{
			name:    "latency.hlog missing",
			damage:  remove(p3 + "/rep-1/latency.hlog"),
			problem: `^` + regexp.QuoteMeta(p3) + `/rep-1/latency\.hlog: missing; the repeat is left out of the latency distribution$`,
			drawn:   []string{"latency-dist-protocol=pbft", "latency-dist-protocol=unreplicated"},
		},
		{
			name: "latency.hlog corrupt",
			damage: rewrite(p3+"/rep-2/latency.hlog", lines(func(i int, l string) string {
				if strings.HasPrefix(l, "Tag=measure,") {
					return l[:len(l)-30] + "!!!!not base64!!!!"
				}
				return l
			})),
			problem: `^` + regexp.QuoteMeta(p3) + `/rep-2/latency\.hlog: interval \d+ cannot be decoded: .+; the repeat is left out of the latency distribution$`,
			drawn:   []string{"latency-dist-protocol=pbft"},
		},
		{
			name: "latency.hlog truncated",
			damage: rewrite(p3+"/rep-2/latency.hlog", func(s string) string {
				return s[:strings.LastIndex(s, "Tag=measure,")]
			}),
			problem: `^` + regexp.QuoteMeta(p3) + `/rep-2/latency\.hlog: its measure intervals hold \d+ latencies but summary\.csv counts 978 completions: lines are missing or damaged; the repeat is left out of the latency distribution$`,
			drawn:   []string{"latency-dist-protocol=pbft"},
		},
		{
			name:    "timeline.csv missing",
			damage:  remove(p1 + "/rep-2/timeline.csv"),
			problem: `^` + regexp.QuoteMeta(p1) + `/rep-2/timeline\.csv: missing$`,
			drawn:   []string{"timelines/p001-protocol=unreplicated-replicas=1-load.clients=4"},
		},
		{
			name:    "timeline.csv garbled",
			damage:  rewrite(p1+"/rep-1/timeline.csv", func(s string) string { return strings.Replace(s, "measure,", "measure,x", 1) }),
			problem: `^` + regexp.QuoteMeta(p1) + `/rep-1/timeline\.csv:3: column ops: "x\d+" is not a number$`,
			drawn:   []string{"timelines/p001-protocol=unreplicated-replicas=1-load.clients=4"},
		},
		{
			name:    "spec.yaml not YAML",
			damage:  rewrite("spec.yaml", func(s string) string { return s + "\n  - {x: [\n" }),
			problem: `^spec\.yaml: not valid YAML: .+$`,
			// The default figures pick the same keys as the spec did.
			drawn: []string{"throughput-vs-load.clients-by-protocol", "latency-vs-throughput-by-protocol"},
		},
		{
			name:    "figure with an unknown metric",
			damage:  rewrite("spec.yaml", func(s string) string { return strings.Replace(s, "y: latency.p99", "y: latency.p98", 1) }),
			problem: `^spec\.yaml: figures\[1\]: y "latency\.p98" is not a metric \(want one of latency, throughput, .+\); figure left out$`,
			drawn:   []string{"throughput-vs-load.clients-by-protocol"},
			absent:  []string{"latency-p98-vs-load.clients-by-protocol"},
		},
		{
			name: "figure over a key not swept",
			damage: rewrite("spec.yaml", func(s string) string {
				return strings.Replace(s, "x: load.clients, y: throughput", "x: batch.size, y: throughput", 1)
			}),
			problem: `^spec\.yaml: figures\[0\]: x "batch\.size" is neither a swept key \(protocol, replicas, load\.clients\) nor a metric; figure left out$`,
			drawn:   []string{"latency-p99-vs-load.clients-by-protocol"},
		},
		{
			name:    "expanded.yaml missing",
			damage:  remove("expanded.yaml"),
			problem: `^expanded\.yaml: missing$`,
			// Point directories are found by their index, CPU per second by completions / throughput.
			drawn: []string{"timelines/p005-protocol=pbft-replicas=4-load.clients=16", "cpu-per-replica", "latency-dist-protocol=pbft"},
		},
		{
			name:    "meta.json not JSON",
			damage:  rewrite("meta.json", func(s string) string { return s[:len(s)/2] }),
			problem: `^meta\.json: not valid JSON: .+$`,
			drawn:   []string{"throughput-vs-load.clients-by-protocol"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyFixture(t)
			tc.damage(t, dir)
			out := t.TempDir()
			rep, err := Draw([]string{dir}, Options{Out: out, Formats: []string{"svg"}})
			if err != nil {
				t.Fatalf("Draw gave up: %v", err)
			}
			re := regexp.MustCompile(tc.problem)
			found := false
			for _, p := range rep.Problems {
				msg := p.Error()
				if strings.Contains(msg, "\n") {
					t.Errorf("problem spans lines: %q", msg)
				}
				found = found || re.MatchString(strings.TrimPrefix(msg, dir+string(filepath.Separator)))
			}
			if !found {
				t.Errorf("no problem matches %s; got %q", tc.problem, rep.Problems)
			}
			for _, name := range tc.drawn {
				if _, err := os.Stat(filepath.Join(out, name+".svg")); err != nil {
					t.Errorf("not drawn: %v", err)
				}
			}
			for _, name := range tc.absent {
				if _, err := os.Stat(filepath.Join(out, name+".svg")); err == nil {
					t.Errorf("%s drawn from data that could not be read", name)
				}
			}
			md, err := os.ReadFile(filepath.Join(out, "summary.md"))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(md), "## Problems") {
				t.Error("summary.md does not list the problems")
			}
		})
	}
}

// TestUnreadableDirectory: one directory that cannot be read does not
// stop the others from being drawn.
func TestUnreadableDirectory(t *testing.T) {
	out := t.TempDir()
	missing := filepath.Join(t.TempDir(), "gone")
	rep, err := Draw([]string{missing, fixture}, Options{Out: out, Formats: []string{"svg"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0].Error(), "gone: missing") {
		t.Errorf("problems %v", rep.Problems)
	}
	if _, err := os.Stat(filepath.Join(out, "throughput-vs-load.clients-by-protocol.svg")); err != nil {
		t.Error(err)
	}
	if _, err := Draw([]string{missing}, Options{Out: out}); err == nil {
		t.Error("nothing to draw, yet no error")
	}
}

// TestUnwrittenFiles: a figure and a table that cannot be written (their
// names lead to a full device) are reported in Unwritten, one line each
// naming the file and the cause, and the other files are still written.
func TestUnwrittenFiles(t *testing.T) {
	const full = "/dev/full"
	if _, err := os.Stat(full); err != nil {
		t.Skipf("no %s on this system, so writes to a full disk are untested here: %v", full, err)
	}
	out := t.TempDir()
	figure := filepath.Join(out, "rss-per-replica.svg")
	table := filepath.Join(out, "aggregate.csv")
	for _, p := range []string{figure, table} {
		if err := os.Symlink(full, p); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := Draw([]string{fixture}, Options{Out: out, Formats: []string{"svg"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range rep.Unwritten {
		got = append(got, e.Error())
	}
	want := []string{"write " + figure + ": no space left on device", "write " + table + ": no space left on device"}
	if !slices.Equal(got, want) {
		t.Errorf("unwritten %q, want %q", got, want)
	}
	for _, e := range rep.Unwritten {
		if !slices.Contains(rep.Problems, e) {
			t.Errorf("%v is not among the problems (summary.md lists those)", e)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "cpu-per-replica.svg")); err != nil {
		t.Errorf("the other figures should still be written: %v", err)
	}
}
