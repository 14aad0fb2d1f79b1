// Package registry lists the protocols replbench runs: the one place that
// names them. Everything else looks a protocol up here and reads its
// protocols.Protocol descriptor.
package registry

import (
	"fmt"
	"strings"

	"github.com/replbench/replbench/protocols"
	"github.com/replbench/replbench/protocols/hotstuff"
	"github.com/replbench/replbench/protocols/pbft"
	"github.com/replbench/replbench/protocols/unreplicated"
)

// all is every protocol, in the order help texts list them.
var all = []*protocols.Protocol{&unreplicated.Protocol, &pbft.Protocol, &hotstuff.Protocol}

// All returns every protocol.
func All() []*protocols.Protocol { return all }

// Names returns the protocols' names, in order.
func Names() []string {
	names := make([]string, len(all))
	for i, p := range all {
		names[i] = p.Name
	}
	return names
}

// Lookup returns the protocol called name.
func Lookup(name string) (*protocols.Protocol, error) {
	for _, p := range all {
		if p.Name == name {
			return p, nil
		}
	}
	return nil, fmt.Errorf("unknown protocol %q (want %s)", name, strings.Join(Names(), ", "))
}
