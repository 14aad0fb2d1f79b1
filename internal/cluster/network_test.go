package cluster

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/replbench/replbench/keys"
)

func ms(n int) Duration { return Duration{time.Duration(n) * time.Millisecond} }

// regions: replicas 0, 1 in eu, 2 in us, 3 in both; clients 0-1 in eu, 2 in ap.
var regions = &Network{
	Default: Link{Delay: ms(20)},
	Links: []PairLink{
		{Between: [2]string{"eu", "us"}, Link: Link{Delay: ms(40), Loss: 0.01}},
		{Between: [2]string{"eu", "eu"}, Link: Link{Delay: ms(1)}},
		{Between: [2]string{"us", "eu"}, Link: Link{Delay: ms(99)}}, // shadowed by the first
	},
	ReplicaLabels: [][]string{{"eu"}, {"eu"}, {"us"}, {"us", "eu"}},
	ClientLabels:  []ClientGroup{{First: 0, Count: 2, Labels: []string{"eu"}}, {First: 2, Count: 1, Labels: []string{"ap"}}},
}

func TestBetween(t *testing.T) {
	r, c := keys.Replica, keys.Client
	for _, tt := range []struct {
		name     string
		n        *Network
		from, to keys.Principal
		want     Link
	}{
		{"pair", regions, r(0), r(2), Link{Delay: ms(40), Loss: 0.01}},
		{"pair reversed", regions, r(2), r(0), Link{Delay: ms(40), Loss: 0.01}},
		{"same label", regions, r(0), r(1), Link{Delay: ms(1)}},
		{"first match wins", regions, r(3), r(2), Link{Delay: ms(40), Loss: 0.01}},
		{"client in a group", regions, c(1), r(2), Link{Delay: ms(40), Loss: 0.01}},
		{"label no link names", regions, c(2), r(0), Link{Delay: ms(20)}},
		{"no labels", regions, c(7), r(9), Link{Delay: ms(20)}},
		{"nil network", nil, r(0), r(1), Link{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.n.Between(tt.from, tt.to); got != tt.want {
				t.Errorf("Between(%v, %v) = %+v, want %+v", tt.from, tt.to, got, tt.want)
			}
		})
	}
}

func TestShaper(t *testing.T) {
	for _, tt := range []struct {
		name string
		n    *Network
		want bool
	}{
		{"nil", nil, false},
		{"all zero", &Network{Links: []PairLink{{Between: [2]string{"a", "b"}}}}, false},
		{"default", &Network{Default: Link{Bandwidth: 1e6}}, true},
		{"one link", &Network{Links: []PairLink{{Between: [2]string{"a", "b"}, Link: Link{Jitter: ms(1)}}}}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.n.Shaper(keys.Replica(0)) != nil; got != tt.want {
				t.Errorf("Shaper is set: %v, want %v", got, tt.want)
			}
		})
	}
	l := regions.Shaper(keys.Client(0))(keys.Replica(2))
	if l.Delay != 40*time.Millisecond || l.Loss != 0.01 {
		t.Errorf("client-0 to replica-2: %+v, want the eu-us link", l)
	}
}

func TestNetworkValidate(t *testing.T) {
	for _, tt := range []struct {
		name string
		edit func(n *Network)
		want string // "" for valid
	}{
		{"valid", func(*Network) {}, ""},
		{"negative delay", func(n *Network) { n.Default.Delay = ms(-1) }, "delay must be >= 0, got -1ms"},
		{"loss 1", func(n *Network) { n.Links[0].Loss = 1 }, "links[0] eu-us: loss must be in [0, 1), got 1"},
		{"negative bandwidth", func(n *Network) { n.Default.Bandwidth = -1 }, "bandwidth must be a finite number of bits/s >= 0, got -1"},
		{"empty label", func(n *Network) { n.Links[1].Between[1] = "" }, `links[1]: between needs two labels, got ["eu" ""]`},
		{"replica labels short", func(n *Network) { n.ReplicaLabels = n.ReplicaLabels[:3] }, "replica_labels has 3 entries for 4 replicas"},
		{"clients out of range", func(n *Network) { n.ClientLabels[1].Count = 2 }, "client_labels[1]: clients 2 to 3 are not all among the 3 clients"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := clone(t, regions)
			tt.edit(n)
			err := n.Validate(4, 3)
			if got := errText(err); got != tt.want {
				t.Errorf("Validate: %q, want %q", got, tt.want)
			}
		})
	}
}

// The cluster file carries the network and Load reads it back the same.
func TestNetworkInClusterFile(t *testing.T) {
	c := Config{Protocol: "pbft", Replicas: []string{"a:1", "b:1", "c:1", "d:1"}, Clients: 3,
		ReplicaScheme: keys.None, ClientScheme: keys.None, Network: regions}
	path := t.TempDir() + "/cluster.json"
	if err := c.Write(path); err != nil {
		t.Fatal(err)
	}
	back, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Network, regions) {
		t.Errorf("network read back as %+v, want %+v", back.Network, regions)
	}
	c.Network = &Network{Default: Link{Loss: 2}}
	if err := c.Validate(); err == nil || !strings.HasPrefix(err.Error(), "network: loss") {
		t.Errorf("Validate with loss 2: %v, want a network error", err)
	}
}

func clone(t *testing.T, n *Network) *Network {
	t.Helper()
	data, err := json.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	var c Network
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	return &c
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
