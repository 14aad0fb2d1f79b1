package sim

import (
	"errors"
	"strings"
	"testing"

	"github.com/replbench/replbench/protocols"
	"github.com/replbench/replbench/protocols/unreplicated"
)

func toyConfig(core string, seed uint64, faults Faults) Config {
	return Config{
		Seed: seed, N: 4, New: toyCores[core], Clients: 3, Requests: 6,
		Faults: faults, FaultTicks: 400, LivenessTicks: 600, Protocol: "toy",
	}
}

func unreplicatedCore(_ uint32, app protocols.App) protocols.Core { return unreplicated.New(app) }

// TestCorrectCoresPass runs cores that are correct under the given faults
// over many seeds: nothing may be reported, and every request completes.
func TestCorrectCoresPass(t *testing.T) {
	tests := []struct {
		name   string
		cfg    func(seed uint64) Config
		faults Faults
		seeds  uint64
	}{
		{"order without faults", func(seed uint64) Config { return toyConfig("order", seed, NoFaults) }, NoFaults, 300},
		{"order under dup and reorder", func(seed uint64) Config { return toyConfig("order", seed, Dup|Reorder) }, Dup | Reorder, 200},
		{"unreplicated under all faults", func(seed uint64) Config {
			return Config{Seed: seed, N: 1, New: unreplicatedCore, Clients: 3, Requests: 6,
				Faults: AllFaults, FaultTicks: 400, LivenessTicks: 2000}
		}, AllFaults, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var retransmits, dropped uint64
			for seed := uint64(1); seed <= tt.seeds; seed++ {
				rep, err := Run(tt.cfg(seed))
				if err != nil {
					var f *Failure
					if errors.As(err, &f) {
						t.Fatalf("%v\n%s", err, f.Details())
					}
					t.Fatal(err)
				}
				if want := uint64(3 * 6); rep.Completed != want {
					t.Fatalf("seed %d: %d requests completed, want %d", seed, rep.Completed, want)
				}
				if rep.Unchecked != 0 {
					t.Fatalf("seed %d: %d accepted results unchecked", seed, rep.Unchecked)
				}
				retransmits += rep.Retransmits
				dropped += rep.Dropped
			}
			if tt.faults.Has(Loss) && (dropped == 0 || retransmits == 0) {
				t.Fatalf("loss injected but %d frames dropped and %d retransmissions", dropped, retransmits)
			}
		})
	}
}

// TestCheckersCatchBrokenCores runs cores broken on purpose: each failure
// must be found, of the right kind, within a few seeds.
func TestCheckersCatchBrokenCores(t *testing.T) {
	tests := []struct {
		core   string
		faults Faults
		kind   Kind
		what   string // in the failure's message
	}{
		{"arrival", Reorder, Safety, "but r"},
		{"silent", NoFaults, Liveness, "requests incomplete"},
		{"bad-ckpt", NoFaults, Safety, "checkpoint at seq"},
		{"wrong-result", NoFaults, Safety, "but the application returned"},
		{"reexecute", Dup, Safety, "executed seq"},
	}
	for _, tt := range tests {
		t.Run(tt.core, func(t *testing.T) {
			for seed := uint64(1); seed <= 10; seed++ {
				cfg := toyConfig(tt.core, seed, tt.faults)
				cfg.ReproArgs = []string{"--replicas", "4"}
				_, err := Run(cfg)
				if err == nil {
					continue
				}
				var f *Failure
				if !errors.As(err, &f) {
					t.Fatalf("seed %d: error %v is not a *Failure", seed, err)
				}
				if f.Kind != tt.kind || !strings.Contains(f.What, tt.what) {
					t.Fatalf("seed %d: got %v, want a %s containing %q", seed, err, tt.kind, tt.what)
				}
				want := "replbench sim --protocol toy --seed " + uitoa(seed) + " --faults " + tt.faults.String() + " --replicas 4"
				if f.Repro != want {
					t.Fatalf("repro %q, want %q", f.Repro, want)
				}
				if len(f.Trace) == 0 || !strings.Contains(f.Details(), "reproduce: "+want) {
					t.Fatalf("failure details lack the trace or the repro:\n%s", f.Details())
				}
				if tt.kind == Liveness && !strings.Contains(f.Detail, "toy order core") {
					t.Fatalf("liveness failure does not show the replicas' status:\n%s", f.Detail)
				}
				return
			}
			t.Fatalf("no failure in 10 seeds")
		})
	}
}

func uitoa(n uint64) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// TestSameSeedSameRun checks determinism: equal seeds give equal reports,
// trace hashes included; different seeds give different traces.
func TestSameSeedSameRun(t *testing.T) {
	configs := map[string]func(seed uint64) Config{
		"order": func(seed uint64) Config { return toyConfig("order", seed, AllFaults) },
		"unreplicated": func(seed uint64) Config {
			return Config{Seed: seed, N: 1, New: unreplicatedCore, Clients: 4, Requests: 10, Faults: AllFaults}
		},
	}
	for name, cfg := range configs {
		t.Run(name, func(t *testing.T) {
			seen := map[uint64]uint64{}
			for seed := uint64(1); seed <= 20; seed++ {
				a, errA := Run(cfg(seed))
				b, errB := Run(cfg(seed))
				if a == nil || b == nil {
					t.Fatalf("seed %d: no report: %v %v", seed, errA, errB)
				}
				if *a != *b || (errA == nil) != (errB == nil) || errA != nil && errA.Error() != errB.Error() {
					t.Fatalf("seed %d ran differently:\n%+v %v\n%+v %v", seed, *a, errA, *b, errB)
				}
				if other, dup := seen[a.TraceHash]; dup {
					t.Fatalf("seeds %d and %d have the same trace hash", other, seed)
				}
				seen[a.TraceHash] = seed
			}
		})
	}
}

// TestFaultPlanBound drives the fault schedule alone and checks that it
// never makes more than F replicas faulty, yet does crash and partition.
func TestFaultPlanBound(t *testing.T) {
	for _, n := range []int{4, 7, 10} {
		cfg := Config{Seed: uint64(n), N: n, New: toyCores["order"], Faults: Crash | Partition, FaultTicks: 5000}
		s, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		f := s.cfg.F
		plan := newFaultPlan(s)
		for s.now < s.cfg.FaultTicks {
			plan.step(s)
			s.step()
			faulty := 0
			for i := range s.replicas {
				if !s.replicas[i].up || s.replicas[i].group != 0 {
					faulty++
				}
			}
			if faulty > f {
				t.Fatalf("n=%d t=%d: %d faulty replicas, at most %d allowed", n, s.now, faulty, f)
			}
		}
		plan.end(s)
		if s.stats.Crashes == 0 || s.stats.Partitions == 0 {
			t.Fatalf("n=%d: %d crashes, %d partitions: the plan did not exercise both", n, s.stats.Crashes, s.stats.Partitions)
		}
		for i := range s.replicas {
			if !s.replicas[i].up || s.replicas[i].group != 0 {
				t.Fatalf("n=%d: replica %d still faulty after the fault phase", n, i)
			}
		}
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no replicas", Config{New: toyCores["order"]}, "at least 1 replica"},
		{"too many faults", Config{N: 4, F: 4, New: toyCores["order"]}, "faults out of range"},
		{"no factory", Config{N: 4}, "no core factory"},
		{"loss", Config{N: 4, New: toyCores["order"], Network: Network{Delay: 1, Loss: 1}}, "must lie in [0, 1)"},
		{"nil core", Config{N: 1, New: func(uint32, protocols.App) protocols.Core { return nil }}, "returned nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestParseFaults(t *testing.T) {
	tests := []struct {
		in   string
		want Faults
		str  string
	}{
		{"all", AllFaults, "all"},
		{"none", NoFaults, "none"},
		{"", NoFaults, "none"},
		{"loss", Loss, "loss"},
		{"crash, loss", Loss | Crash, "loss,crash"},
		{"loss,dup,reorder,partition,crash", AllFaults, "all"},
		{"partition,all", AllFaults, "all"},
	}
	for _, tt := range tests {
		got, err := ParseFaults(tt.in)
		if err != nil || got != tt.want || got.String() != tt.str {
			t.Errorf("ParseFaults(%q) = %v (%q), %v; want %v (%q)", tt.in, got, got, err, tt.want, tt.str)
		}
	}
	if _, err := ParseFaults("loss,flood"); err == nil || !strings.Contains(err.Error(), `"flood"`) {
		t.Errorf("ParseFaults of an unknown name: %v", err)
	}
}
