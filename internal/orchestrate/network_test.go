package orchestrate

import (
	"reflect"
	"testing"
	"time"

	"github.com/replbench/replbench/experiments"
	"github.com/replbench/replbench/internal/cluster"
)

func TestClusterNetwork(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	cms := func(n int) cluster.Duration { return cluster.Duration{Duration: ms(n)} }
	d40, loss := ms(40), 0.0
	for _, tt := range []struct {
		name string
		in   experiments.Network
		want *cluster.Network
	}{
		{"nothing", experiments.Network{}, nil},
		{"zero links", experiments.Network{Links: []experiments.Link{{Between: [2]string{"a", "b"}, Loss: &loss}}}, nil},
		{"default only", experiments.Network{Delay: ms(20), Bandwidth: 1e8},
			&cluster.Network{Default: cluster.Link{Delay: cms(20), Bandwidth: 1e8}}},
		{"links inherit what they leave out", experiments.Network{
			Delay: ms(20), Jitter: ms(2), Loss: 0.01,
			Links: []experiments.Link{
				{Between: [2]string{"eu", "us"}, Delay: &d40},
				{Between: [2]string{"eu", "eu"}, Loss: &loss},
			},
			Labels: experiments.NetworkLabels{Replicas: []string{"eu", "us"}, Clients: []string{"eu", "rack1"}},
		}, &cluster.Network{
			Default: cluster.Link{Delay: cms(20), Jitter: cms(2), Loss: 0.01},
			Links: []cluster.PairLink{
				{Between: [2]string{"eu", "us"}, Link: cluster.Link{Delay: cms(40), Jitter: cms(2), Loss: 0.01}},
				{Between: [2]string{"eu", "eu"}, Link: cluster.Link{Delay: cms(20), Jitter: cms(2)}},
			},
			ReplicaLabels: [][]string{{"eu"}, {"us"}},
			ClientLabels:  []cluster.ClientGroup{{First: 0, Count: 3, Labels: []string{"eu", "rack1"}}},
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := clusterNetwork(tt.in, 2, 3)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
			if got != nil {
				if err := got.Validate(2, 3); err != nil {
					t.Errorf("Validate: %v", err)
				}
			}
		})
	}
}
