package analysis

import (
	"bytes"
	"encoding/csv"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// figureKinds lists the fixture's figures with their height in pixels:
// every figure is 7 in wide at 150 dpi, 4.6 in high with one panel, 6.3
// with two and 9.1 with three.
var figureKinds = map[string]int{
	"throughput-vs-load.clients-by-protocol":                         690, // the spec's figures
	"latency-p99-vs-load.clients-by-protocol":                        690,
	"latency-vs-load.clients-by-protocol":                            945, // p50 and p99 over the same keys
	"latency-vs-throughput-by-protocol":                              945, // the hockey stick
	"latency-dist-protocol=unreplicated":                             690, // HDR histograms on a nines axis
	"latency-dist-protocol=pbft":                                     690,
	"rss-per-replica":                                                690,
	"cpu-per-replica":                                                690,
	"timelines/p000-protocol=unreplicated-replicas=1-load.clients=1": 1365,
	"timelines/p005-protocol=pbft-replicas=4-load.clients=16":        1365,
}

func TestDrawEveryFigureKind(t *testing.T) {
	out := t.TempDir()
	rep, err := Draw([]string{fixture}, Options{Out: out, Formats: []string{"png"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) > 0 {
		t.Errorf("problems drawing the fixture: %v", rep.Problems)
	}
	if want := 8 + 6 + 3; len(rep.Files) != want { // figures, timelines, tables
		t.Errorf("%d files written, want %d: %v", len(rep.Files), want, rep.Files)
	}
	for name, height := range figureKinds {
		img := decodePNG(t, filepath.Join(out, name+".png"))
		if b := img.Bounds(); b.Dx() != 1050 || b.Dy() != height {
			t.Errorf("%s is %dx%d px, want 1050x%d", name, b.Dx(), b.Dy(), height)
		}
	}
	// Data was drawn: both protocols' colours, on a white page.
	img := decodePNG(t, filepath.Join(out, "throughput-vs-load.clients-by-protocol.png"))
	for i, c := range palette[:2] {
		if n := countColour(img, c); n < 200 {
			t.Errorf("series %d's colour covers %d pixels; its line is missing", i, n)
		}
	}
	if n := countColour(img, color.White); n < 1050*690/2 {
		t.Errorf("only %d white pixels: the page is not white", n)
	}
	bars := decodePNG(t, filepath.Join(out, "rss-per-replica.png"))
	for i, c := range palette[:4] {
		if n := countColour(bars, c); n < 1000 {
			t.Errorf("replica %d's bars cover %d pixels", i, n)
		}
	}
}

func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

func countColour(img image.Image, c color.Color) int {
	r0, g0, b0, _ := c.RGBA()
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if r, g, b, _ := img.At(x, y).RGBA(); r>>8 == r0>>8 && g>>8 == g0>>8 && b>>8 == b0>>8 {
				n++
			}
		}
	}
	return n
}

// TestDrawSVGAndPDF checks the other formats and, through the SVG's text,
// that figures carry their labels, units and legends.
func TestDrawSVGAndPDF(t *testing.T) {
	out := t.TempDir()
	rep, err := Draw([]string{fixture}, Options{Out: out, Formats: []string{"svg", "pdf"}})
	if err != nil || len(rep.Problems) > 0 {
		t.Fatalf("err %v, problems %v", err, rep.Problems)
	}
	for name := range figureKinds {
		pdf, err := os.ReadFile(filepath.Join(out, name+".pdf"))
		if err != nil || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
			t.Errorf("%s.pdf: %v, starts %q", name, err, pdf[:min(len(pdf), 8)])
		}
	}
	for name, texts := range map[string][]string{
		"throughput-vs-load.clients-by-protocol": {"Throughput vs load.clients", "throughput (ops/s)", "load.clients",
			"protocol=unreplicated", "protocol=pbft", "bars ±1 standard deviation", "100k", ">16<"},
		"latency-vs-throughput-by-protocol":                       {"p50 latency (µs)", "p99 latency (µs)", "throughput (ops/s)", "points labelled with load.clients"},
		"latency-dist-protocol=pbft":                              {"latency (ms)", "percentile", "99.9%", "load.clients=16"},
		"cpu-per-replica":                                         {"CPU (cores busy)", "replica 3", "protocol, load.clients"},
		"timelines/p005-protocol=pbft-replicas=4-load.clients=16": {"throughput (ops/s)", "RSS (MiB)", "measure", "cool-down", "p99"},
	} {
		svg, err := os.ReadFile(filepath.Join(out, name+".svg"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(svg, []byte("<svg")) {
			t.Errorf("%s.svg is no SVG", name)
		}
		for _, s := range texts {
			if !bytes.Contains(svg, []byte(s)) {
				t.Errorf("%s.svg lacks %q", name, s)
			}
		}
	}
}

// TestTablesCarryFixtureNumbers checks aggregate.csv and summary.md
// against numbers worked out by hand from the fixture's summary.csv.
func TestTablesCarryFixtureNumbers(t *testing.T) {
	out := t.TempDir()
	if _, err := Draw([]string{fixture}, Options{Out: out, Formats: []string{"svg"}}); err != nil {
		t.Fatal(err)
	}
	rows := readCSV(t, filepath.Join(out, "aggregate.csv"))
	if len(rows) != 7 {
		t.Fatalf("aggregate.csv has %d rows, want a header and 6 points", len(rows))
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	cell := func(point int, c string) string {
		i, ok := col[c]
		if !ok {
			t.Fatalf("aggregate.csv has no column %s", c)
		}
		return rows[point+1][i]
	}
	for _, tc := range []struct {
		point int
		col   string
		want  string
	}{
		{0, "protocol", "unreplicated"},
		{0, "load.clients", "1"},
		{0, "repeats", "2"},
		{0, "throughput_ops_mean", "13253"},      // (12337.3 + 14168.7) / 2
		{0, "throughput_ops_sd", "1294.9954"},    // |14168.7 - 12337.3| / √2
		{0, "throughput_ops_ci95", "11634.8842"}, // t(0.975, 1) · sd / √2
		{3, "p99_us_mean", "2539"},               // (2357 + 2721) / 2
		{5, "cpu_cores_mean", "1.7127"},          // (2.561 + 2.577) / 2 / 1.5 s
		{3, "rss_peak_mib_r3_mean", "13.405"},    // (13.15 + 13.66) / 2
		{0, "rss_peak_mib_r1_mean", ""},          // the unreplicated point has one replica
		{4, "cpu_cores_r0_mean", strconv.FormatFloat((0.655+0.675)/2/1.5, 'f', 4, 64)},
	} {
		if got := cell(tc.point, tc.col); got != tc.want {
			t.Errorf("aggregate.csv point %d %s = %q, want %q", tc.point, tc.col, got, tc.want)
		}
	}

	md, err := os.ReadFile(filepath.Join(out, "summary.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		"# fixture, run 20261121-052407",
		"| point | protocol | replicas | load.clients | n | throughput (ops/s) |",
		"| 0 | unreplicated | 1 | 1 | 2 | 13253 ± 1295 | 63.0 ± 7.1 | 144 ± 11 |",
		"| 3 | pbft | 4 | 1 | 2 | 698 ± 66 |",
		"| commit | bc70acbe00ac |",
		"[Latency (p50, p99) vs throughput](latency-vs-throughput-by-protocol.svg)",
	} {
		if !bytes.Contains(md, []byte(s)) {
			t.Errorf("summary.md lacks %q", s)
		}
	}
	if bytes.Contains(md, []byte("## Problems")) {
		t.Errorf("summary.md lists problems for an intact fixture")
	}

	dist := readCSV(t, filepath.Join(out, "latency-dist.csv"))
	last := map[string]string{}
	for _, r := range dist[1:] {
		if r[1] == "5" {
			last[r[3]] = r[4]
		}
	}
	// The merged repeats' maximum is the larger repeat's max_us.
	if last["100"] != "8807" {
		t.Errorf("latency-dist.csv: point 5 at 100%% is %q µs, want 8807", last["100"])
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

// TestOverlay draws two results directories together, labelled.
func TestOverlay(t *testing.T) {
	out := t.TempDir()
	other := copyFixture(t)
	rep, err := Draw([]string{fixture, other}, Options{Out: out, Formats: []string{"svg"}, Labels: []string{"before", "after"}})
	if err != nil || len(rep.Problems) > 0 {
		t.Fatalf("err %v, problems %v", err, rep.Problems)
	}
	svg, err := os.ReadFile(filepath.Join(out, "latency-vs-throughput-by-protocol.svg"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"before: protocol=pbft", "after: protocol=unreplicated", "before (solid) vs after (dashed)"} {
		if !bytes.Contains(svg, []byte(s)) {
			t.Errorf("overlaid figure lacks %q", s)
		}
	}
	for _, name := range []string{"before/rss-per-replica.svg", "after/cpu-per-replica.svg",
		"after/timelines/p003-protocol=pbft-replicas=4-load.clients=1.svg", "latency-dist-protocol=pbft.svg"} {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Errorf("overlay: %v", err)
		}
	}
	rows := readCSV(t, filepath.Join(out, "aggregate.csv"))
	var runs []string
	for _, r := range rows[1:] {
		runs = append(runs, r[0])
	}
	if len(runs) != 12 || !slices.Contains(runs, "before") || !slices.Contains(runs, "after") {
		t.Errorf("aggregate.csv runs %v", runs)
	}
	md, _ := os.ReadFile(filepath.Join(out, "summary.md"))
	if !strings.Contains(string(md), "Labelled **after**") {
		t.Errorf("summary.md does not name the second run")
	}

	if _, err := Draw([]string{fixture, other}, Options{Out: out, Labels: []string{"one"}}); err == nil {
		t.Errorf("one label for two directories was accepted")
	}
}

func TestDrawOptions(t *testing.T) {
	if _, err := Draw(nil, Options{}); err == nil {
		t.Error("no directories: no error")
	}
	if _, err := Draw([]string{fixture}, Options{Out: t.TempDir(), Formats: []string{"gif"}}); err == nil || !strings.Contains(err.Error(), `"gif"`) {
		t.Errorf("format gif: err = %v", err)
	}
	for s, want := range map[string]ErrorBars{"sd": SD, "ci95": CI95} {
		if got, err := ParseErrorBars(s); err != nil || got != want {
			t.Errorf("ParseErrorBars(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := ParseErrorBars("minmax"); err == nil {
		t.Error("ParseErrorBars accepted minmax")
	}
}

// A run resumed with --resume names its sessions in summary.md.
func TestSummaryNamesSessions(t *testing.T) {
	dir := copyFixture(t)
	meta := `{"spec":"fixture","git_commit":"aaaaaaaaaaaaaaaa","start":"2026-11-21T05:24:07Z","end":"2026-11-21T06:00:00Z","finished":true,` +
		`"sessions":[{"start":"2026-11-21T05:24:07Z","end":"2026-11-21T05:30:00Z","git_commit":"aaaaaaaaaaaaaaaa"},` +
		`{"start":"2026-11-21T05:50:00Z","end":"2026-11-21T06:00:00Z","git_commit":"bbbbbbbbbbbbbbbb","git_dirty":true}]}`
	if err := os.WriteFile(filepath.Join(dir, "meta.json"), []byte(meta), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if _, err := Draw([]string{dir}, Options{Out: out, Formats: []string{"svg"}}); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(out, "summary.md"))
	if err != nil {
		t.Fatal(err)
	}
	want := "| sessions | 2, resumed with --resume: 2026-11-21 05:24:07 UTC (commit aaaaaaaaaaaa); 2026-11-21 05:50:00 UTC (commit bbbbbbbbbbbb (with uncommitted changes)) |"
	if !strings.Contains(string(md), want) {
		t.Errorf("summary.md lacks\n%s\n%s", want, md)
	}
}
