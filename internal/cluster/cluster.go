// Package cluster describes one deployed cluster: the file the orchestrator
// writes for every point and that replica and client processes read. It holds
// addresses, schemes and protocol parameters, never key material.
package cluster

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/replbench/replbench/keys"
	"github.com/replbench/replbench/protocols/registry"
)

// Config is what every process of a cluster agrees on.
type Config struct {
	Protocol string   `json:"protocol"` // a name in protocols/registry
	Replicas []string `json:"replicas"` // replica i listens on Replicas[i]
	Clients  int      `json:"clients"`  // client ids are 0..Clients-1

	ReplicaScheme keys.Scheme `json:"replica_scheme"` // replica <-> replica
	ClientScheme  keys.Scheme `json:"client_scheme"`  // client <-> replica
	ReplicaKeys   string      `json:"replica_keys"`   // key directory for ReplicaScheme
	ClientKeys    string      `json:"client_keys"`    // key directory for ClientScheme

	App      string `json:"app"`       // null | echo | kv
	AppReply int    `json:"app_reply"` // reply size in bytes (echo: 0 echoes the payload)

	BatchSize          int      `json:"batch_size"`
	BatchTimeout       Duration `json:"batch_timeout"`
	CheckpointInterval int      `json:"checkpoint_interval"`
	ViewChangeTimeout  Duration `json:"view_change_timeout"`
	Tick               Duration `json:"tick"` // the cores' clock granularity

	MaxFrame int `json:"max_frame"`

	Network *Network `json:"network,omitempty"` // emulated links; nil: none
}

// Duration is a time.Duration written as a string ("10ms") in JSON.
type Duration struct{ time.Duration }

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: want a string like \"10ms\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// F is the number of faulty replicas the cluster tolerates (0 for an
// unknown protocol, which Validate refuses).
func (c *Config) F() int {
	p, err := registry.Lookup(c.Protocol)
	if err != nil {
		return 0
	}
	return p.Faults(len(c.Replicas))
}

// ReplyQuorum is how many matching replies a client waits for.
func (c *Config) ReplyQuorum() int { return c.F() + 1 }

// Validate reports the first inconsistency in c.
func (c *Config) Validate() error {
	p, err := registry.Lookup(c.Protocol)
	if err != nil {
		return err
	}
	if err := p.CheckReplicas(len(c.Replicas)); err != nil {
		return fmt.Errorf("%s %w", p.Name, err)
	}
	if c.Clients < 1 {
		return fmt.Errorf("clients must be >= 1, got %d", c.Clients)
	}
	if _, err := keys.ParseScheme(string(c.ReplicaScheme)); err != nil {
		return fmt.Errorf("replica scheme: %w", err)
	}
	if _, err := keys.ParseScheme(string(c.ClientScheme)); err != nil {
		return fmt.Errorf("client scheme: %w", err)
	}
	if c.Network != nil {
		if err := c.Network.Validate(len(c.Replicas), c.Clients); err != nil {
			return fmt.Errorf("network: %w", err)
		}
	}
	return nil
}

// Load reads and validates a cluster file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cluster config: %w", err)
	}
	var c Config
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("cluster config %s: %w", path, err)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("cluster config %s: %w", path, err)
	}
	return &c, nil
}

// Write stores c as indented JSON.
func (c *Config) Write(path string) error {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

// ReplicaAuth loads the authenticators a replica needs: one for its peers
// and one for clients (the same value when both use one scheme and key set).
func (c *Config) ReplicaAuth(id uint32) (peers, clients keys.Authenticator, err error) {
	self := keys.Replica(id)
	peers, err = keys.Load(c.ReplicaScheme, c.ReplicaKeys, self, len(c.Replicas), 0)
	if err != nil {
		return nil, nil, err
	}
	clients, err = keys.Load(c.ClientScheme, c.ClientKeys, self, len(c.Replicas), c.Clients)
	if err != nil {
		return nil, nil, err
	}
	return peers, clients, nil
}

// ClientAuth loads client id's authenticator.
func (c *Config) ClientAuth(id uint32) (keys.Authenticator, error) {
	return keys.Load(c.ClientScheme, c.ClientKeys, keys.Client(id), len(c.Replicas), c.Clients)
}
