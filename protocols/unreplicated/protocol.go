package unreplicated

import (
	"fmt"

	"github.com/replbench/replbench/protocols"
)

// Protocol describes the unreplicated baseline: one server, no agreement
// (protocols/registry lists it).
var Protocol = protocols.Protocol{
	Name:            "unreplicated",
	Summary:         "one server, no agreement: the baseline",
	DefaultReplicas: 1,
	CheckReplicas: func(n int) error {
		if n != 1 {
			return fmt.Errorf("needs 1 replica, got %d", n)
		}
		return nil
	},
	Faults: func(int) int { return 0 },
	New:    func(p protocols.Params) (protocols.Core, error) { return New(p.App), nil },
	SimNew: func(_ uint32, _ int, app protocols.App) (protocols.Core, error) { return New(app), nil },
}
