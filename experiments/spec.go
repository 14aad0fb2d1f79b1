package experiments

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/replbench/replbench/keys"
	"github.com/replbench/replbench/protocols/registry"
)

// Protocol names a replication protocol.
type Protocol string

const (
	Unreplicated Protocol = "unreplicated" // one server, no agreement: the baseline
	PBFT         Protocol = "pbft"         // Castro & Liskov, n = 3f+1
	HotStuff     Protocol = "hotstuff"     // chained HotStuff, n = 3f+1
)

// Protocols lists every protocol a spec may name.
func Protocols() []Protocol {
	var out []Protocol
	for _, name := range registry.Names() {
		out = append(out, Protocol(name))
	}
	return out
}

// AppName names the replicated application.
type AppName string

const (
	AppNull AppName = "null" // executes nothing; replies with app.reply zero bytes
	AppEcho AppName = "echo" // replies with the payload (or app.reply bytes of it)
	AppKV   AppName = "kv"   // key-value store with snapshots
)

// AppNames lists every application a spec may name.
func AppNames() []AppName { return []AppName{AppNull, AppEcho, AppKV} }

// LoadMode says how load generators pace requests.
type LoadMode string

const (
	Closed LoadMode = "closed" // each client keeps load.outstanding requests in flight
	Open   LoadMode = "open"   // requests are sent on a schedule at load.rate, replies or not
)

// WorkloadKind says what the requests carry.
type WorkloadKind string

const (
	WorkloadFixed WorkloadKind = "fixed" // every request carries load.payload zero bytes
	WorkloadYCSB  WorkloadKind = "ycsb"  // gets and puts of the kv application, YCSB style
)

// KeyDistribution says how the ycsb workload draws keys.
type KeyDistribution string

const (
	Uniform KeyDistribution = "uniform" // every key equally likely
	Zipfian KeyDistribution = "zipfian" // a few keys take most requests (skew load.theta)
)

// Spec is one experiment: a base configuration and the axes it is swept
// along. Its fields hold the base values, every default filled in; Points
// resolves each point of the sweep from the parsed document, so changing a
// field of a parsed Spec does not change its points (change Point.Config).
// The yaml tags are the spec's keys: yaml.Marshal of a point's Config writes
// a valid spec.
type Spec struct {
	Name        string   `yaml:"name"`
	Description string   `yaml:"description"`
	Protocol    Protocol `yaml:"protocol"`
	// Replicas is n; BFT protocols need n = 3f+1 >= 4.
	Replicas int    `yaml:"replicas"`
	App      App    `yaml:"app"`
	Crypto   Crypto `yaml:"crypto"`
	Batch    Batch  `yaml:"batch"`
	// CheckpointInterval is the number of requests between PBFT checkpoints.
	CheckpointInterval int           `yaml:"checkpoint_interval"`
	ViewChangeTimeout  time.Duration `yaml:"view_change_timeout"`
	// Duration is how long load runs at each point. The first Warmup and the
	// last Cooldown of it are not measured (see Measured).
	Duration time.Duration `yaml:"duration"`
	Warmup   time.Duration `yaml:"warmup"`
	Cooldown time.Duration `yaml:"cooldown"`
	// Repeat is how many times each point runs.
	Repeat int `yaml:"repeat"`
	// Seed is the run seed, recorded with the results.
	Seed    uint64   `yaml:"seed"`
	Load    Workload `yaml:"load"`
	Network Network  `yaml:"network"`
	// Hosts is the hosts file to run on over SSH, relative to the spec's
	// directory; "" runs on this machine. run --hosts overrides it.
	Hosts string `yaml:"hosts"`

	// Sweep lists the axes in the order they are written: the keys of sweep
	// and the groups of zip, the section written first coming first. Empty
	// for a point.
	Sweep []Axis `yaml:"-"`
	// Figures is kept for the plotting stage; empty for a point.
	Figures []Figure `yaml:"-"`

	file string     // file name for messages
	doc  *yaml.Node // the parsed mapping, without sweep/zip/figures; nil when built in Go
}

// App selects the replicated application.
type App struct {
	Name AppName `yaml:"name"`
	// Reply is the size of every reply; for echo, 0 means echo the payload.
	Reply Size `yaml:"reply"`
}

// Crypto selects how replicas and clients authenticate messages.
type Crypto struct {
	Replicas keys.Scheme `yaml:"replicas"`
	Clients  keys.Scheme `yaml:"clients"`
	RSABits  int         `yaml:"rsa_bits"`
}

// Batch bounds how requests are grouped before ordering.
type Batch struct {
	Size    int           `yaml:"size"`
	Timeout time.Duration `yaml:"timeout"` // longest wait for a batch to fill
}

// Workload describes the offered load.
type Workload struct {
	Mode        LoadMode      `yaml:"mode"`
	Clients     int           `yaml:"clients"`
	Outstanding int           `yaml:"outstanding"` // requests in flight per client (closed loop)
	Payload     Size          `yaml:"payload"`
	Rate        float64       `yaml:"rate"`    // requests/s over all clients (open loop)
	Timeout     time.Duration `yaml:"timeout"` // per request, before it is retransmitted
	// Kind selects the payloads; with ycsb, Payload is the size of a put's
	// value and the keys below apply.
	Kind         WorkloadKind    `yaml:"workload"`
	ReadRatio    float64         `yaml:"read_ratio"` // fraction of gets, in [0, 1]
	Keys         int             `yaml:"keys"`       // size of the key space
	Distribution KeyDistribution `yaml:"distribution"`
	Theta        float64         `yaml:"theta"` // Zipfian skew, in (0, 1)
}

// Network is the link emulated inside the transport. Delay, Jitter, Loss
// and Bandwidth apply to each direction of every link, unless an entry of
// Links between the two ends' labels says otherwise.
type Network struct {
	Delay     time.Duration `yaml:"delay"`
	Jitter    time.Duration `yaml:"jitter"`    // uniform in ±Jitter; delay+jitter stays >= 0
	Loss      float64       `yaml:"loss"`      // fraction of messages dropped, in [0, 1)
	Bandwidth Bandwidth     `yaml:"bandwidth"` // per link and direction; 0 is unlimited
	// Links set the link between two labels, both ways; the first that
	// matches wins. Labels label the processes of a local run.
	Links  []Link        `yaml:"links,omitempty"`
	Labels NetworkLabels `yaml:"labels,omitempty"`
}

// Figure is one plot the plotting stage draws from the results. Its names
// are checked only for being strings: the plotting stage gives them meaning.
type Figure struct {
	X      string `yaml:"x"`
	Y      string `yaml:"y"`
	Series string `yaml:"series,omitempty"`
}

// Measured is the part of Duration that is measured: what is left after the
// warm-up and before the cool-down.
func (s *Spec) Measured() time.Duration { return s.Duration - s.Warmup - s.Cooldown }

// F is the number of faulty replicas the configuration tolerates: (n-1)/3
// for the BFT protocols, 0 for the unreplicated baseline.
func (s *Spec) F() int {
	p, err := registry.Lookup(string(s.Protocol))
	if err != nil {
		return 0
	}
	return p.Faults(s.Replicas)
}

// Load reads and validates the spec at path. Errors name path and line.
func Load(path string) (*Spec, error) {
	return LoadContext(context.Background(), path)
}

// LoadContext is Load that stops checking a large sweep's points as soon
// as ctx ends.
func LoadContext(ctx context.Context, path string) (*Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load spec: %w", err)
	}
	return ParseContext(ctx, path, data)
}

// Parse reads and validates a spec. name is the file name used in error
// messages; its base name without .yaml is the spec's default name. Every
// point of the sweep is checked too, so a spec that parses can run.
func Parse(name string, data []byte) (*Spec, error) {
	return ParseContext(context.Background(), name, data)
}

// ParseContext is Parse that stops checking a large sweep's points as soon
// as ctx ends, with ctx's error.
func ParseContext(ctx context.Context, name string, data []byte) (*Spec, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, yamlError(name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, yamlError(name, err)
		}
		return nil, ErrorList{{File: name, Line: extra.Line, Msg: "a spec is one YAML document; remove the second one (after ---)"}}
	}

	c := &errs{file: name}
	s, _ := decodeSpec(c, &doc, true)
	if s.Name == "" {
		base := filepath.Base(name)
		s.Name = strings.TrimSuffix(strings.TrimSuffix(base, ".yaml"), ".yml")
		if !validName(s.Name) {
			c.addLine(0, "name", fmt.Sprintf("the file name %q is no valid spec name (letters, digits, '.', '_', '-'); set name", s.Name))
		}
	}
	s.file = name
	if err := c.err(); err != nil {
		return nil, err
	}
	if err := s.Check(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// validName reports whether a spec name can name its results directory.
func validName(name string) bool {
	if name == "" || name[0] == '.' || len(name) > 100 {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}
