package cryptocost

import (
	"math"
	"testing"

	"github.com/replbench/replbench/keys"
)

// counts sums a role's work by kind: replica-scheme signs and verifies,
// client-scheme signs and verifies.
func counts(r Role) (signs, verifies, clientSigns, clientVerifies float64) {
	for _, w := range r.Work {
		switch {
		case w.Client && w.Op == Verify:
			clientVerifies += w.Count
		case w.Client:
			clientSigns += w.Count
		case w.Op == Verify:
			verifies += w.Count
		default:
			signs += w.Count
		}
	}
	return
}

func TestPlanCounts(t *testing.T) {
	tests := []struct {
		d     Deployment
		roles []roleCounts
	}{
		// n = 4, f = 1, batch 1, a checkpoint every 1000 batches.
		{Deployment{Protocol: PBFT, Replicas: 4, Batch: 1},
			[]roleCounts{{"primary", 1, 2.001, 4.003, 1, 1}, {"backup", 3, 2.001, 4.003, 1, 1}}},
		// n = 7, f = 2, batch 10: a checkpoint every 100 batches, 6 others' checkpoints to verify.
		{Deployment{Protocol: PBFT, Replicas: 7, Batch: 10},
			[]roleCounts{{"primary", 1, 2.01, 8.06, 10, 10}, {"backup", 6, 2.01, 8.06, 10, 10}}},
		// batch 100 with an interval that is not a multiple: ceil(150/100) = 2 batches per checkpoint.
		{Deployment{Protocol: PBFT, Replicas: 4, Batch: 100, CheckpointInterval: 150},
			[]roleCounts{{"primary", 1, 2.5, 5.5, 100, 100}, {"backup", 3, 2.5, 5.5, 100, 100}}},
		{Deployment{Protocol: PBFT, Replicas: 1, Batch: 1, CheckpointInterval: 1},
			[]roleCounts{{"primary", 1, 3, 0, 1, 1}}},
		{Deployment{Protocol: HotStuff, Replicas: 4, Batch: 10},
			[]roleCounts{{"leader", 1, 2, 0, 10, 10}, {"next leader", 1, 1, 7, 10, 20}, {"other", 2, 1, 4, 10, 20}}},
		{Deployment{Protocol: HotStuff, Replicas: 7, Batch: 1},
			[]roleCounts{{"leader", 1, 2, 0, 1, 1}, {"next leader", 1, 1, 12, 1, 2}, {"other", 5, 1, 6, 1, 2}}},
	}
	for _, tt := range tests {
		tt.d.ReplicaScheme, tt.d.ClientScheme = keys.Ed25519, keys.HMAC
		p, err := NewPlan(tt.d)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Roles) != len(tt.roles) {
			t.Fatalf("%s n=%d: %d roles, want %d", tt.d.Protocol, tt.d.Replicas, len(p.Roles), len(tt.roles))
		}
		total := 0
		for i, r := range p.Roles {
			w := tt.roles[i]
			s, v, cs, cv := counts(r)
			got := roleCounts{r.Name, r.Replicas, s, v, cs, cv}
			if !got.near(w) {
				t.Errorf("%s n=%d batch %d: role %+v, want %+v", tt.d.Protocol, tt.d.Replicas, tt.d.Batch, got, w)
			}
			total += r.Replicas
		}
		if total != tt.d.Replicas {
			t.Errorf("%s n=%d: roles cover %d replicas", tt.d.Protocol, tt.d.Replicas, total)
		}
		if p.Rotates != (tt.d.Protocol == HotStuff) {
			t.Errorf("%s: rotates %v", tt.d.Protocol, p.Rotates)
		}
	}
}

func (a roleCounts) near(b roleCounts) bool {
	return a.name == b.name && a.replicas == b.replicas && near(a.signs, b.signs) &&
		near(a.verifies, b.verifies) && near(a.clientSigns, b.clientSigns) && near(a.clientVerif, b.clientVerif)
}

type roleCounts struct {
	name                     string
	replicas                 int
	signs, verifies          float64
	clientSigns, clientVerif float64
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// flat is a cost with no per-byte part: one sample per op.
func flat(s keys.Scheme, sign, signFor, verify float64) *Cost {
	c := &Cost{Scheme: s, Samples: []Sample{{Op: Sign, NsPerOp: sign}, {Op: Verify, NsPerOp: verify}}}
	if signFor > 0 {
		c.Samples = append(c.Samples, Sample{Op: SignFor, NsPerOp: signFor})
	}
	return c
}

func TestLine(t *testing.T) {
	c := &Cost{Samples: []Sample{
		{Op: Sign, Size: 100, NsPerOp: 1100}, {Op: Sign, Size: 16384, NsPerOp: 17384},
		{Op: Verify, Size: 100, NsPerOp: 50}, {Op: Verify, Size: 16384, NsPerOp: 40}, // noise: a falling line
	}}
	for _, tt := range []struct {
		op         Op
		size       int
		want       float64
		fixed, per float64
	}{
		{Sign, 70, 1070, 1000, 1},
		{SignFor, 1000, 2000, 1000, 1}, // SignFor is Sign when not measured apart
		{Verify, 70, 50, 50, 0},
	} {
		fixed, per := c.Line(tt.op)
		if got := c.At(tt.op, tt.size); !near(got, tt.want) || !near(fixed, tt.fixed) || !near(per, tt.per) {
			t.Errorf("%s at %d B: %g ns (line %g + %g/B), want %g (%g + %g/B)", tt.op, tt.size, got, fixed, per, tt.want, tt.fixed, tt.per)
		}
	}
}

func TestPredict(t *testing.T) {
	replica := flat(keys.Ed25519, 1000, 0, 100)
	client := flat(keys.HMAC, 10, 5, 2)
	plan, err := NewPlan(Deployment{Protocol: PBFT, Replicas: 4, Batch: 1, ReplicaScheme: keys.Ed25519, ClientScheme: keys.HMAC})
	if err != nil {
		t.Fatal(err)
	}
	p, err := Predict(plan, replica, client, 2)
	if err != nil {
		t.Fatal(err)
	}
	// Per replica and batch: 2.001 signs and 4.003 verifies under ed25519,
	// one request verified (2 ns) and one reply signed for its client (5 ns).
	replicaNs := 2.001*1000 + 4.003*100 + 2 + 5
	coreNs := 2.001*1000 + 5
	hostNs := 4*replicaNs + 10 + 4*2 // the client signs the request and verifies 4 replies
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"signs", p.Signs, 2.001}, {"verifies", p.Verifies, 4.003},
		{"replica ns", p.ReplicaNs, replicaNs}, {"core ns", p.CoreNs, coreNs},
		{"replicas ns", p.ReplicasNs, 4 * replicaNs}, {"host ns", p.HostNs, hostNs},
		// Signing runs on the core's one goroutine: that bounds before 2 cores of everything do.
		{"per replica", float64(p.PerReplica), 1e9 / coreNs},
		{"one host", float64(p.OneHost), 2e9 / hostNs},
	} {
		if !near(c.got, c.want) {
			t.Errorf("%s = %g, want %g", c.name, c.got, c.want)
		}
	}

	// HotStuff's roles rotate: the bound is the average replica.
	plan, err = NewPlan(Deployment{Protocol: HotStuff, Replicas: 4, Batch: 10, ReplicaScheme: keys.Ed25519, ClientScheme: keys.HMAC})
	if err != nil {
		t.Fatal(err)
	}
	p, err = Predict(plan, replica, client, 2)
	if err != nil {
		t.Fatal(err)
	}
	// Requests are verified on arrival at all 4 replicas and again inside
	// the proposal at the 3 that did not propose it.
	avg := ((1.25*1000+3.75*100)*4 + (4+3)*10*2 + 4*10*5) / 4 / 10
	if !near(p.Signs, 1.25) || !near(p.Verifies, 3.75) || !near(p.ReplicaNs, avg) {
		t.Errorf("hotstuff: %g signs, %g verifies, %g ns per request; want 1.25, 3.75, %g", p.Signs, p.Verifies, p.ReplicaNs, avg)
	}

	// A cost for the wrong scheme is refused rather than silently used.
	if _, err := Predict(plan, client, client, 2); err == nil {
		t.Error("Predict accepted an hmac cost for ed25519 replicas")
	}
}

func TestPredictNoWork(t *testing.T) {
	none := flat(keys.None, 0, 0, 0)
	plan, err := NewPlan(Deployment{Protocol: PBFT, Replicas: 4, Batch: 10, ReplicaScheme: keys.None, ClientScheme: keys.None})
	if err != nil {
		t.Fatal(err)
	}
	p, err := Predict(plan, none, none, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsInf(float64(p.PerReplica), 1) {
		t.Errorf("no work: per replica %g, want +Inf", p.PerReplica)
	}
	if b, err := p.OneHost.MarshalJSON(); err != nil || string(b) != "null" {
		t.Errorf("unbounded rate as JSON: %s, %v", b, err)
	}
}

func TestPlanRejects(t *testing.T) {
	for _, d := range []Deployment{
		{Protocol: "raft", Replicas: 4, Batch: 1, ReplicaScheme: keys.HMAC, ClientScheme: keys.HMAC},
		{Protocol: PBFT, Replicas: 0, Batch: 1, ReplicaScheme: keys.HMAC, ClientScheme: keys.HMAC},
		{Protocol: PBFT, Replicas: 4, Batch: 0, ReplicaScheme: keys.HMAC, ClientScheme: keys.HMAC},
		{Protocol: PBFT, Replicas: 4, Batch: 1, ReplicaScheme: "dsa", ClientScheme: keys.HMAC},
		{Protocol: PBFT, Replicas: 4, Batch: 1, Payload: -1, ReplicaScheme: keys.HMAC, ClientScheme: keys.HMAC},
	} {
		if _, err := NewPlan(d); err == nil {
			t.Errorf("NewPlan(%+v) accepted", d)
		}
	}
}

// TestMessageSizes pins the authenticated lengths to the wire format
// (docs/wire.md): what a request, vote, checkpoint and reply sign, a
// pre-prepare that embeds each sealed request with a 4-byte length, and a
// proposal that also embeds a QC of sealed votes.
func TestMessageSizes(t *testing.T) {
	d := Deployment{Protocol: PBFT, Replicas: 4, Batch: 10, Payload: 100, Reply: 8, ReplicaScheme: keys.Ed25519, ClientScheme: keys.HMAC}
	m := messageSizes(d)
	sealedReq := 4 + 127 + 4*keys.MACSize + 2 // length field, signed bytes, hmac vector, its length
	batch := 4 + 10*(4+sealedReq)             // length, then each sealed request with its length
	qc := 8 + 32 + 4 + 3*(4+4+46+64+2)        // view, block, and 2f+1 sealed ed25519 votes with lengths
	want := sizes{request: 2 + 25 + 100, reply: 2 + 37 + 8, vote: 2 + 52, checkpoint: 2 + 44,
		prePrepare: 2 + 52 + batch, hsVote: 2 + 44, proposal: 2 + 44 + qc + batch}
	if m != want {
		t.Errorf("sizes %+v, want %+v", m, want)
	}
}
