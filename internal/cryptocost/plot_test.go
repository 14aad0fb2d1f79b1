package cryptocost

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/replbench/replbench/keys"
)

func testFigure(t *testing.T) Figure {
	t.Helper()
	costs := []Cost{*flat(keys.Ed25519, 23e3, 0, 53e3), *flat(keys.HMAC, 800, 200, 200)}
	var preds []Prediction
	for _, proto := range Protocols() {
		for _, b := range []int{1, 10, 100} {
			for i := range costs {
				plan, err := NewPlan(Deployment{Protocol: proto, Replicas: 4, Batch: b, Payload: 100,
					ReplicaScheme: costs[i].Scheme, ClientScheme: keys.HMAC})
				if err != nil {
					t.Fatal(err)
				}
				p, err := Predict(plan, &costs[i], &costs[1], 2)
				if err != nil {
					t.Fatal(err)
				}
				preds = append(preds, p)
			}
		}
	}
	return Figure{Costs: costs, Predictions: preds, OneHost: true,
		Measured: []Measured{{Protocol: PBFT, Scheme: keys.Ed25519, Batch: 1, Throughput: 1500}, {Protocol: PBFT, Scheme: keys.Ed25519, Batch: 10, Throughput: 9000}}}
}

func TestPlotFormats(t *testing.T) {
	fig := testFigure(t)
	dir := t.TempDir()
	for _, tt := range []struct {
		file  string
		check func([]byte) bool
	}{
		{"f.png", func(b []byte) bool { _, err := png.Decode(bytes.NewReader(b)); return err == nil }},
		{"f.svg", func(b []byte) bool { return bytes.Contains(b, []byte("<svg")) }},
		{"f.pdf", func(b []byte) bool { return bytes.HasPrefix(b, []byte("%PDF-")) }},
	} {
		path := filepath.Join(dir, tt.file)
		if err := Plot(path, fig); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !tt.check(data) {
			t.Errorf("%s does not decode as its format", tt.file)
		}
	}
	if err := Plot(filepath.Join(dir, "f.jpg"), fig); err == nil || !strings.Contains(err.Error(), "unknown format") {
		t.Errorf("plot to .jpg: %v", err)
	}
	if err := Plot(filepath.Join(dir, "empty.png"), Figure{}); err == nil {
		t.Error("an empty figure was drawn")
	}
	if err := Plot(filepath.Join(dir, "f.png"), Figure{Costs: fig.Costs, Size: 4096}); err == nil {
		t.Error("plotted costs at a size never measured")
	}
}

func TestFormat(t *testing.T) {
	for _, tt := range []struct {
		got, want string
	}{
		{FormatNs(0), "0 ns"}, {FormatNs(3.04), "3.04 ns"}, {FormatNs(812), "812 ns"}, {FormatNs(23_150), "23.1 µs"}, {FormatNs(2_210_000), "2.21 ms"},
		{FormatRate(452.4), "452"}, {FormatRate(17_240), "17.2k"}, {FormatRate(1_234_000), "1.23M"}, {FormatRate(3e9), "3.00G"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestParseSummary(t *testing.T) {
	csv := "point,repeat,label,protocol,crypto.replicas,batch.size,throughput_ops,completed,cpu_s_total\n" +
		"0,1,x,pbft,rsa,1,100.0,100,0.1\n" +
		"0,2,x,pbft,rsa,1,300.0,300,0.6\n" +
		"1,1,y,unreplicated,rsa,1,900.0,900,0.1\n" + // not modelled: skipped
		"2,1,z,hotstuff,hmac,100,50000.5,0,0\n" // nothing completed: no CPU per request
	got, err := parseSummary(strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	want := []Measured{
		{Protocol: PBFT, Scheme: keys.RSA, Batch: 1, Throughput: 200, Min: 100, Max: 300, Repeats: 2, CPUPerRequest: 1.5e6},
		{Protocol: HotStuff, Scheme: keys.HMAC, Batch: 100, Throughput: 50000.5, Min: 50000.5, Max: 50000.5, Repeats: 1},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("row %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	for _, bad := range []string{
		"",
		"point,protocol,batch.size,throughput_ops\n0,pbft,1,5\n", // crypto.replicas not swept
		"protocol,crypto.replicas,batch.size,throughput_ops\npbft,dsa,1,5\n",
		"protocol,crypto.replicas,batch.size,throughput_ops\npbft,rsa,ten,5\n",
	} {
		if _, err := parseSummary(strings.NewReader(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// The plot is drawn by the figures' shared style: 7 in wide at 150 dpi,
// 9.1 in high for three stacked panels, the same fonts (with the SVG
// fallbacks analysis names), and every legend beside its panel.
func TestPlotSharedStyle(t *testing.T) {
	dir := t.TempDir()
	png1, svg1 := filepath.Join(dir, "f.png"), filepath.Join(dir, "f.svg")
	for _, p := range []string{png1, svg1} {
		if err := Plot(p, testFigure(t)); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(png1)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 1050 || b.Dy() != 1365 {
		t.Errorf("plot is %dx%d px, want 1050x1365 as analysis draws three panels", b.Dx(), b.Dy())
	}
	svg, err := os.ReadFile(svg1)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"Arimo", ">sign<", ">verify<", ">ed25519<", ">hmac<", "pbft: ceiling on one host"} {
		if !bytes.Contains(svg, []byte(s)) {
			t.Errorf("the SVG lacks %q", s)
		}
	}
}
