package cryptocost

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/keys"
)

// Protocol names a protocol the model knows.
type Protocol string

const (
	PBFT     Protocol = "pbft"
	HotStuff Protocol = "hotstuff"
)

// Protocols lists the protocols the model knows.
func Protocols() []Protocol { return []Protocol{PBFT, HotStuff} }

// DefaultCheckpointInterval is PBFT's checkpoint interval in requests when
// Deployment.CheckpointInterval is zero, as in specs.
const DefaultCheckpointInterval = 1000

// Deployment is what the model needs to know about a run.
type Deployment struct {
	Protocol           Protocol    `json:"protocol"`
	Replicas           int         `json:"replicas"` // n = 3f+1
	Batch              int         `json:"batch"`    // requests per PBFT batch or HotStuff block
	Payload            int         `json:"payload"`  // bytes of a request's operation
	Reply              int         `json:"reply"`    // bytes of a reply's result
	CheckpointInterval int         `json:"checkpoint_interval"`
	ReplicaScheme      keys.Scheme `json:"replica_scheme"`     // between replicas
	ClientScheme       keys.Scheme `json:"client_scheme"`      // on requests and replies
	RSABits            int         `json:"rsa_bits,omitempty"` // 0: keys.DefaultRSABits
}

// F is the number of faults n = 3f+1 replicas tolerate.
func (d Deployment) F() int { return (d.Replicas - 1) / 3 }

// Work is one kind of authenticator operation a replica (or the clients)
// performs, with how often it happens per batch.
type Work struct {
	What   string  `json:"what"`
	Op     Op      `json:"op"`
	Client bool    `json:"client_scheme"` // under the client scheme rather than the replica scheme
	Bytes  int     `json:"bytes"`         // length of the authenticated bytes
	Count  float64 `json:"per_batch"`
	// OnCore is true for signing: the runtime seals what a core sends on
	// the core's own goroutine, so this work shares one core. Verification
	// runs on the transport's reader goroutines, on every core.
	OnCore bool `json:"on_core"`
}

// Role is the work of one replica per batch in one role.
type Role struct {
	Name     string `json:"name"`
	Replicas int    `json:"replicas"` // how many replicas play it for a given batch
	Work     []Work `json:"work"`
}

// Plan is the authenticator work a deployment does per batch: what each
// role of replica does and what the clients do.
type Plan struct {
	Deployment Deployment `json:"deployment"`
	Roles      []Role     `json:"roles"`
	// Rotates says every replica takes every role in turn (HotStuff's
	// leader rotation), so a replica's long-run load is the average over
	// roles; otherwise (PBFT's stable primary) the busiest role bounds.
	Rotates bool   `json:"rotates"`
	Clients []Work `json:"clients"`
}

// NewPlan counts the signatures and verifications of d per batch. It
// follows the code: see docs/crypto.md for each count and its reason.
func NewPlan(d Deployment) (Plan, error) {
	if d.Replicas < 1 {
		return Plan{}, fmt.Errorf("need at least one replica, got %d", d.Replicas)
	}
	if d.Batch < 1 {
		return Plan{}, fmt.Errorf("batch size must be at least 1, got %d", d.Batch)
	}
	if d.Payload < 0 || d.Reply < 0 {
		return Plan{}, fmt.Errorf("payload and reply sizes must not be negative, got %d and %d", d.Payload, d.Reply)
	}
	if d.CheckpointInterval == 0 {
		d.CheckpointInterval = DefaultCheckpointInterval
	}
	if d.CheckpointInterval < 0 {
		return Plan{}, fmt.Errorf("checkpoint interval must be positive, got %d", d.CheckpointInterval)
	}
	for _, s := range []keys.Scheme{d.ReplicaScheme, d.ClientScheme} {
		if _, err := keys.ParseScheme(string(s)); err != nil {
			return Plan{}, err
		}
	}
	m := messageSizes(d)
	b := float64(d.Batch)
	clients := []Work{
		{What: "sign requests", Op: Sign, Client: true, Bytes: m.request, Count: b},
		{What: "verify replies", Op: Verify, Client: true, Bytes: m.reply, Count: b * float64(d.Replicas)},
	}
	// Every replica checks each request's authenticator: PBFT's on arrival
	// at the primary and inside the pre-prepare at a backup; HotStuff's on
	// arrival everywhere (clients send to all replicas) and again inside
	// the proposal (see hotstuffRoles). Every replica answers each request
	// with a reply for its client alone.
	perRequest := []Work{
		{What: "verify requests", Op: Verify, Client: true, Bytes: m.request, Count: b},
		{What: "sign replies", Op: SignFor, Client: true, Bytes: m.reply, Count: b, OnCore: true},
	}
	switch d.Protocol {
	case PBFT:
		return Plan{Deployment: d, Roles: pbftRoles(d, m, perRequest), Clients: clients}, nil
	case HotStuff:
		return Plan{Deployment: d, Roles: hotstuffRoles(d, m, perRequest), Rotates: true, Clients: clients}, nil
	}
	return Plan{}, fmt.Errorf("unknown protocol %q (want pbft or hotstuff)", d.Protocol)
}

// pbftRoles: a replica never verifies its own broadcasts (the runtime hands
// them back unverified), and pbft.Gate drops votes for a slot that already
// prepared or committed before they are verified. A slot prepares with the
// pre-prepare and 2f prepares (the primary sends none) and commits with
// 2f+1 commits, own votes included. Checkpoints are not gated: a replica
// verifies the other n-1 of every checkpoint, taken every
// ceil(interval/batch) batches.
func pbftRoles(d Deployment, m sizes, perRequest []Work) []Role {
	f, n := float64(d.F()), float64(d.Replicas)
	period := math.Ceil(float64(d.CheckpointInterval) / float64(d.Batch))
	common := []Work{
		{What: "sign commit", Op: Sign, Bytes: m.vote, Count: 1, OnCore: true},
		{What: "verify commits", Op: Verify, Bytes: m.vote, Count: 2 * f},
		{What: "sign checkpoint", Op: Sign, Bytes: m.checkpoint, Count: 1 / period, OnCore: true},
		{What: "verify checkpoints", Op: Verify, Bytes: m.checkpoint, Count: (n - 1) / period},
	}
	primary := Role{Name: "primary", Replicas: 1, Work: join(
		[]Work{
			{What: "sign pre-prepare", Op: Sign, Bytes: m.prePrepare, Count: 1, OnCore: true},
			{What: "verify prepares", Op: Verify, Bytes: m.vote, Count: 2 * f},
		}, common, perRequest)}
	if d.Replicas == 1 {
		return []Role{primary}
	}
	backup := Role{Name: "backup", Replicas: d.Replicas - 1, Work: join(
		[]Work{
			{What: "verify pre-prepare", Op: Verify, Bytes: m.prePrepare, Count: 1},
			{What: "sign prepare", Op: Sign, Bytes: m.vote, Count: 1, OnCore: true},
			{What: "verify prepares", Op: Verify, Bytes: m.vote, Count: max(0, 2*f-1)}, // own prepare counts
		}, common, perRequest)}
	return []Role{primary, backup}
}

// hotstuffRoles follows protocols/hotstuff: per block the leader
// broadcasts a proposal carrying the batch and the QC of the previous
// block (its own copy comes back unverified); every replica, the leader
// included, signs a vote for the next leader with Sign, not SignFor, since
// a QC embeds it and under hmac each replica checks its own MAC in it. The
// next leader verifies every vote that arrives, n-1 of them (its own comes
// back unverified; HotStuff has no gate like PBFT's, so votes past the
// quorum are verified too); every other replica verifies the proposal, the
// 2f+1 votes of the QC inside it and the requests of its batch, which it
// also verified when they arrived: HotStuff clients send every request to
// every replica.
func hotstuffRoles(d Deployment, m sizes, perRequest []Work) []Role {
	f, n := float64(d.F()), float64(d.Replicas)
	vote := Work{What: "sign vote", Op: Sign, Bytes: m.hsVote, Count: 1, OnCore: true}
	checkProposal := []Work{
		{What: "verify proposal", Op: Verify, Bytes: m.proposal, Count: 1},
		{What: "verify QC", Op: Verify, Bytes: m.hsVote, Count: 2*f + 1},
		{What: "verify requests in the proposal", Op: Verify, Client: true, Bytes: m.request, Count: float64(d.Batch)},
	}
	leader := Role{Name: "leader", Replicas: 1, Work: join(
		[]Work{{What: "sign proposal", Op: Sign, Bytes: m.proposal, Count: 1, OnCore: true}, vote}, perRequest)}
	if d.Replicas == 1 {
		return []Role{leader}
	}
	next := Role{Name: "next leader", Replicas: 1, Work: join(
		[]Work{vote, {What: "verify votes", Op: Verify, Bytes: m.hsVote, Count: n - 1}}, checkProposal, perRequest)}
	roles := []Role{leader, next}
	if d.Replicas > 2 {
		roles = append(roles, Role{Name: "other", Replicas: d.Replicas - 2, Work: join([]Work{vote}, checkProposal, perRequest)})
	}
	return roles
}

func join(parts ...[]Work) []Work {
	var out []Work
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// sizes are the lengths of the authenticated bytes of each message.
type sizes struct {
	request, reply               int
	vote, checkpoint, prePrepare int // PBFT
	hsVote, proposal             int // HotStuff
}

// messageSizes encodes each message as the runtime would, so the model
// prices the bytes the code authenticates: a pre-prepare or a proposal
// embeds the sealed requests of its batch, and a proposal the QC of 2f+1
// sealed votes.
func messageSizes(d Deployment) sizes {
	replicaAuth := vectorSize(d.ReplicaScheme, d.Replicas, d.RSABits)
	clientAuth := vectorSize(d.ClientScheme, d.Replicas, d.RSABits)
	req := wire.AppendRequest(nil, &wire.Request{Payload: make([]byte, d.Payload)})
	sealedReq := wire.Seal(req, make([]byte, clientAuth))
	var batch []byte
	for range d.Batch {
		batch = wire.AppendFrame(batch, sealedReq)
	}
	hsVote := wire.AppendHSVote(nil, &wire.HSVote{})
	sealedHSVote := wire.Seal(slices.Clone(hsVote), make([]byte, replicaAuth))
	var votes []byte
	for range 2*d.F() + 1 {
		votes = wire.AppendFrame(votes, sealedHSVote)
	}
	signed := func(frame []byte) int { return len(wire.SignedBytes(frame)) }
	return sizes{
		request:    signed(req),
		reply:      signed(wire.AppendReply(nil, &wire.Reply{Result: make([]byte, d.Reply)})),
		vote:       signed(wire.AppendVote(nil, wire.TypePrepare, &wire.Vote{})),
		checkpoint: signed(wire.AppendCheckpoint(nil, &wire.Checkpoint{})),
		prePrepare: signed(wire.AppendPrePrepare(nil, &wire.PrePrepare{Batch: batch})),
		hsVote:     signed(hsVote),
		proposal:   signed(wire.AppendHSProposal(nil, &wire.HSProposal{Justify: wire.QC{Votes: votes}, Batch: batch})),
	}
}

// vectorSize is the length of what Sign appends under scheme for n
// replicas, without generating keys (Cost.Vector measures it).
func vectorSize(s keys.Scheme, n, rsaBits int) int {
	switch s {
	case keys.RSA:
		if rsaBits == 0 {
			rsaBits = keys.DefaultRSABits
		}
		return (rsaBits + 7) / 8
	case keys.ECDSA:
		return 72 // at most: an ASN.1 pair of 33-byte integers
	case keys.Ed25519:
		return 64
	case keys.HMAC:
		return n * keys.MACSize
	}
	return 0
}

// Prediction is the request rate authentication alone allows a deployment.
type Prediction struct {
	Deployment Deployment `json:"deployment"`
	Cores      float64    `json:"cores"`
	// Signs and Verifies count the operations under the replica scheme per
	// batch at the replica that bounds (the busiest, or the average one
	// when roles rotate); client-scheme work is in the CPU times only.
	Signs    float64 `json:"signs_per_batch"`
	Verifies float64 `json:"verifies_per_batch"`
	// ReplicaNs is the CPU time of authentication per request at that
	// replica; CoreNs the part of it that runs on the core's goroutine.
	ReplicaNs float64 `json:"replica_ns_per_request"`
	CoreNs    float64 `json:"core_ns_per_request"`
	// ReplicasNs adds up every replica; HostNs adds the clients too: the
	// machine's work per request when they all share it, as in a local run.
	ReplicasNs float64 `json:"replicas_ns_per_request"`
	HostNs     float64 `json:"host_ns_per_request"`
	// PerReplica is the rate one replica can sustain with Cores cores to
	// itself: min(Cores / ReplicaNs, 1 s / CoreNs). OneHost is the rate of
	// the whole deployment on one machine of Cores cores.
	PerReplica Rate `json:"per_replica"`
	OneHost    Rate `json:"one_host"`
}

// Rate is requests per second; +Inf (no authentication work at all) is
// written to JSON as null.
type Rate float64

func (r Rate) MarshalJSON() ([]byte, error) {
	if math.IsInf(float64(r), 0) || math.IsNaN(float64(r)) {
		return []byte("null"), nil
	}
	return json.Marshal(float64(r))
}

// Predict prices plan with the measured costs of its schemes on a machine
// of cores cores (for PerReplica: cores per replica).
func Predict(plan Plan, replica, client *Cost, cores float64) (Prediction, error) {
	d := plan.Deployment
	if replica == nil || replica.Scheme != d.ReplicaScheme {
		return Prediction{}, fmt.Errorf("predict: no measured cost for replica scheme %s", d.ReplicaScheme)
	}
	if client == nil || client.Scheme != d.ClientScheme {
		return Prediction{}, fmt.Errorf("predict: no measured cost for client scheme %s", d.ClientScheme)
	}
	if cores <= 0 {
		return Prediction{}, fmt.Errorf("predict: cores must be positive, got %g", cores)
	}
	price := func(w Work) float64 {
		c := replica
		if w.Client {
			c = client
		}
		return w.Count * c.At(w.Op, w.Bytes)
	}
	type load struct{ ns, core, signs, verifies float64 }
	roleLoad := func(r Role) load {
		var l load
		for _, w := range r.Work {
			ns := price(w)
			l.ns += ns
			if w.OnCore {
				l.core += ns
			}
			if !w.Client && w.Op == Verify {
				l.verifies += w.Count
			} else if !w.Client {
				l.signs += w.Count
			}
		}
		return l
	}
	var bound, total load
	for _, r := range plan.Roles {
		l := roleLoad(r)
		k := float64(r.Replicas)
		total.ns += k * l.ns
		if plan.Rotates {
			share := k / float64(d.Replicas)
			bound.ns += share * l.ns
			bound.core += share * l.core
			bound.signs += share * l.signs
			bound.verifies += share * l.verifies
		} else {
			bound.core = max(bound.core, l.core)
			if l.ns > bound.ns {
				bound.ns, bound.signs, bound.verifies = l.ns, l.signs, l.verifies
			}
		}
	}
	replicas := total.ns
	for _, w := range plan.Clients {
		total.ns += price(w)
	}
	b := float64(d.Batch)
	p := Prediction{
		Deployment: d, Cores: cores, Signs: bound.signs, Verifies: bound.verifies,
		ReplicaNs: bound.ns / b, CoreNs: bound.core / b, ReplicasNs: replicas / b, HostNs: total.ns / b,
	}
	p.PerReplica = Rate(min(rate(cores, p.ReplicaNs), rate(1, p.CoreNs)))
	p.OneHost = Rate(min(rate(cores, p.HostNs), rate(1, p.CoreNs)))
	return p, nil
}

// rate is how many requests per second cores cores complete at ns each.
func rate(cores, ns float64) float64 {
	if ns <= 0 {
		return math.Inf(1)
	}
	return cores * 1e9 / ns
}
