package cryptocost

import (
	"fmt"
	"io"
	"math"
	"runtime"
	"strings"
	"text/tabwriter"

	"github.com/replbench/replbench/experiments"
	"github.com/replbench/replbench/internal/procstat"
	"github.com/replbench/replbench/keys"
)

// Machine describes where costs were measured.
type Machine struct {
	CPU   string `json:"cpu"`
	Cores int    `json:"cores"`
	OS    string `json:"os"`
	Arch  string `json:"arch"`
	Go    string `json:"go"`
	Clock string `json:"clock"` // what the measurements time
}

// ThisMachine describes the machine the process runs on.
func ThisMachine() Machine {
	return Machine{CPU: procstat.CPUModel(), Cores: runtime.NumCPU(), OS: runtime.GOOS, Arch: runtime.GOARCH,
		Go: runtime.Version(), Clock: CPUClock}
}

// WriteCosts prints one row per scheme and size: sign and verify cost per
// operation, operations per second on one core, the runs' spread, and the
// sizes of a public key and an authenticator. Notes below the table give
// hmac's single MAC and the per-KiB cost of longer messages.
func WriteCosts(w io.Writer, costs []Cost, sizes []int) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scheme\tmessage\tsign\tsigns/s/core\tverify\tverifies/s/core\tspread\tpublic key\tauthenticator")
	var notes []string
	for _, c := range costs {
		for _, size := range sizes {
			sign, ok1 := c.Sample(Sign, size)
			verify, ok2 := c.Sample(Verify, size)
			if !ok1 || !ok2 {
				return fmt.Errorf("no %s measurement at %d bytes", c.Scheme, size)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.Scheme, experiments.Size(size),
				FormatNs(sign.NsPerOp), FormatRate(sign.OpsPerSecond()),
				FormatNs(verify.NsPerOp), FormatRate(verify.OpsPerSecond()),
				fmt.Sprintf("%.0f%%", 100*max(sign.Spread(), verify.Spread())),
				keySize(c), authSizeText(c))
		}
		if c.Scheme == keys.HMAC {
			one, _ := c.Sample(SignFor, sizes[0])
			notes = append(notes, fmt.Sprintf("hmac signs a broadcast with one MAC per replica (%d here); one MAC for a single receiver costs %s at %s.",
				c.Replicas, FormatNs(one.NsPerOp), experiments.Size(sizes[0])))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var per []string
	for _, c := range costs {
		if c.Scheme == keys.None {
			continue
		}
		_, s := c.Line(Sign)
		_, v := c.Line(Verify)
		per = append(per, fmt.Sprintf("%s %s/%s", c.Scheme, FormatNs(1024*s), FormatNs(1024*v)))
	}
	if len(per) > 0 {
		notes = append(notes, fmt.Sprintf("Each KiB more to sign/verify adds (hashing, from %s and %s): %s.",
			experiments.Size(minSize(costs)), experiments.Size(FitSize), strings.Join(per, ", ")))
	}
	for _, n := range notes {
		if _, err := fmt.Fprintln(w, n); err != nil {
			return err
		}
	}
	return nil
}

func minSize(costs []Cost) int {
	m := FitSize
	for _, c := range costs {
		for _, s := range c.Samples {
			m = min(m, s.Size)
		}
	}
	return m
}

func keySize(c Cost) string {
	switch c.Scheme {
	case keys.HMAC:
		return fmt.Sprintf("%d B secret", c.PublicKey)
	}
	return fmt.Sprintf("%d B", c.PublicKey)
}

func authSizeText(c Cost) string {
	switch {
	case c.Scheme == keys.ECDSA:
		return fmt.Sprintf("≤%d B", c.Auth)
	case c.Vector != c.Auth:
		return fmt.Sprintf("%d B (vector %d × %d B)", c.Auth, c.Replicas, c.Auth)
	}
	return fmt.Sprintf("%d B", c.Auth)
}

// WritePredictions prints one row per prediction: the replica-scheme
// signatures and verifications per batch at the bounding replica, its CPU
// time of authentication per request, and the two ceilings. A ceiling
// marked * is bound by signing on the core's one goroutine.
func WritePredictions(w io.Writer, preds []Prediction) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "protocol\tbatch\tscheme\tsigns/batch\tverifies/batch\tCPU/request\tper replica\tone host")
	core := false
	for _, p := range preds {
		d := p.Deployment
		fmt.Fprintf(tw, "%s\t%d\t%s\t%.2f\t%.2f\t%s\t%s\t%s\n", d.Protocol, d.Batch, d.ReplicaScheme,
			p.Signs, p.Verifies, FormatNs(p.ReplicaNs),
			ceiling(p.PerReplica, p.CoreNs, &core), ceiling(p.OneHost, p.CoreNs, &core))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if core {
		_, err := fmt.Fprintln(w, "* bound by signing, which runs on the replica core's one goroutine")
		return err
	}
	return nil
}

func ceiling(r Rate, coreNs float64, marked *bool) string {
	s := FormatRate(float64(r))
	if coreNs > 0 && float64(r) >= 1e9/coreNs*(1-1e-9) {
		*marked = true
		return s + "*"
	}
	return s
}

// FormatNs writes nanoseconds with three significant digits in a fitting unit.
func FormatNs(ns float64) string {
	switch {
	case ns == 0:
		return "0 ns"
	case ns >= 1e6:
		return sig3(ns/1e6) + " ms"
	case ns >= 1e3:
		return sig3(ns/1e3) + " µs"
	}
	return sig3(ns) + " ns"
}

// FormatRate writes a rate per second with three significant digits: 452,
// 17.2k, 1.23M; +Inf is "unbounded".
func FormatRate(r float64) string {
	switch {
	case math.IsInf(r, 1):
		return "unbounded"
	case r >= 1e9:
		return sig3(r/1e9) + "G"
	case r >= 1e6:
		return sig3(r/1e6) + "M"
	case r >= 1e4:
		return sig3(r/1e3) + "k"
	}
	return fmt.Sprintf("%.0f", r)
}

func sig3(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// WriteComparison prints each measured point (the mean over its repeats,
// with the lowest and highest) next to the ceiling predicted for it (one
// host or per replica) and the fraction of it the mean reached; and, where
// the run recorded CPU time, the replicas' CPU per request against the
// part the model attributes to authentication.
func WriteComparison(w io.Writer, measured []Measured, preds []Prediction, oneHost bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "protocol\tbatch\tscheme\tmeasured\trepeats\tceiling\tof ceiling\treplica CPU/request\tauthentication")
	for _, m := range measured {
		got := FormatRate(m.Throughput)
		if m.Repeats > 1 {
			got = fmt.Sprintf("%s (%s–%s)", got, FormatRate(m.Min), FormatRate(m.Max))
		}
		ceil, frac, cpu, auth := "—", "—", "—", "—"
		if m.CPUPerRequest > 0 {
			cpu = FormatNs(m.CPUPerRequest)
		}
		for _, p := range preds {
			d := p.Deployment
			if d.Protocol != m.Protocol || d.Batch != m.Batch || d.ReplicaScheme != m.Scheme {
				continue
			}
			r := float64(p.PerReplica)
			if oneHost {
				r = float64(p.OneHost)
			}
			ceil = FormatRate(r)
			if !math.IsInf(r, 0) && r > 0 {
				frac = fmt.Sprintf("%.0f%%", 100*m.Throughput/r)
			}
			if m.CPUPerRequest > 0 {
				auth = fmt.Sprintf("%s (%.0f%%)", FormatNs(p.ReplicasNs), 100*p.ReplicasNs/m.CPUPerRequest)
			}
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", m.Protocol, m.Batch, m.Scheme, got, m.Repeats, ceil, frac, cpu, auth)
	}
	return tw.Flush()
}
