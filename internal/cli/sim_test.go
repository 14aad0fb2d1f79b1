package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/protocols"
	"github.com/replbench/replbench/protocols/registry"
)

func runSim(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newSimCmd()
	var out, progress bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&progress)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestSimUnreplicatedPasses(t *testing.T) {
	args := []string{"--protocol", "unreplicated", "--seed", "100", "--seeds", "40", "--requests", "5"}
	out, err := runSim(t, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"seeds 100..139\n", "faults all", "seeds run:          40\n",
		"safety violations:  0\n", "liveness failures:  0\n", "requests completed: 600 "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !strings.HasPrefix(out, "seeds 100..139\n") {
		t.Errorf("output does not start with the seeds:\n%s", out)
	}
	again, _ := runSim(t, args...)
	if again != out {
		t.Errorf("same seeds, different output:\n%s\n---\n%s", out, again)
	}
}

// silentCore executes but never replies: a liveness failure every time.
type silentCore struct {
	app  protocols.App
	seqs uint64
	last map[uint32]uint64
}

func (c *silentCore) Request(r *wire.Request, out *protocols.Effects) {
	if r.Seq <= c.last[r.Client] {
		return
	}
	c.last[r.Client] = r.Seq
	c.seqs++
	c.app.Execute(nil, r.Payload)
	out.Executed = append(out.Executed, protocols.Execution{Seq: c.seqs, Request: protocols.IDOf(r), Payload: r.Payload})
}
func (c *silentCore) Message(uint32, []byte, *protocols.Effects) {}
func (c *silentCore) Tick(*protocols.Effects)                    {}

func TestSimFailureStopsWithRepro(t *testing.T) {
	silent := &protocols.Protocol{Name: "silent", DefaultReplicas: 1,
		CheckReplicas: func(int) error { return nil },
		SimNew: func(_ uint32, _ int, app protocols.App) (protocols.Core, error) {
			return &silentCore{app: app, last: map[uint32]uint64{}}, nil
		}}
	lookupProtocol = func(name string) (*protocols.Protocol, error) {
		if name == "silent" {
			return silent, nil
		}
		return registry.Lookup(name)
	}
	t.Cleanup(func() { lookupProtocol = registry.Lookup })
	out, err := runSim(t, "--protocol", "silent", "--seed", "5", "--seeds", "3", "--faults", "none",
		"--requests", "2", "--liveness-ticks", "300")
	repro := "replbench sim --protocol silent --seed 5 --faults none --requests 2 --liveness-ticks 300"
	if err == nil || !strings.Contains(err.Error(), "seed 5: liveness failure") || !strings.Contains(err.Error(), repro) {
		t.Fatalf("error %v, want seed 5's liveness failure with %q", err, repro)
	}
	for _, want := range []string{"seeds run:          1 of 3", "liveness failures:  1", "c0 #1 outstanding since", "reproduce: " + repro} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out, err = runSim(t, "--protocol", "silent", "--seed", "5", "--seeds", "3", "--faults", "none",
		"--requests", "2", "--liveness-ticks", "300", "--keep-going")
	if err == nil || !strings.Contains(out, "seeds run:          3\n") || !strings.Contains(out, "other failures:\n  seed 6:") {
		t.Fatalf("--keep-going: %v\n%s", err, out)
	}
}

func TestSimBadFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{}, "--protocol is required"},
		{[]string{"--protocol", "raft"}, `unknown protocol "raft"`},
		{[]string{"--protocol", "unreplicated", "--faults", "loss,fire"}, `unknown fault "fire"`},
		{[]string{"--protocol", "unreplicated", "--replicas", "4"}, "unreplicated needs 1 replica, got 4"},
		{[]string{"--protocol", "unreplicated", "--seeds", "0"}, "must be positive"},
		{[]string{"--protocol", "unreplicated", "--loss", "1.5"}, "must lie in [0, 1)"},
	}
	for _, tt := range tests {
		_, err := runSim(t, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("sim %v: error %v, want one containing %q", tt.args, err, tt.want)
		}
	}
}
