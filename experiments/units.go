package experiments

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Size is a number of bytes. In a spec it is written as an integer (bytes) or
// as a number with a unit: B, KB, MB, GB (powers of 1000) or KiB, MiB, GiB
// (powers of 1024).
type Size int64

// sizeUnits is ordered largest first so String picks the largest exact unit,
// binary before decimal.
var sizeUnits = []struct {
	name string
	mult int64
}{
	{"GiB", 1 << 30}, {"GB", 1e9},
	{"MiB", 1 << 20}, {"MB", 1e6},
	{"KiB", 1 << 10}, {"KB", 1e3}, {"kB", 1e3},
	{"B", 1},
}

// errSizeSyntax is the error ParseSize returns for text it cannot read; the
// spec decoder turns it into a message with examples.
var errSizeSyntax = errors.New("bad size")

// ParseSize reads a size such as "100B", "4KiB", "2KB", "1MiB" or a plain
// number of bytes ("0", "512"). A space between number and unit is allowed.
func ParseSize(s string) (Size, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("%w %q", errSizeSyntax, s)
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w %q: too large", errSizeSyntax, s)
	}
	unit := strings.TrimSpace(t[i:])
	if unit == "" {
		return Size(n), nil
	}
	for _, u := range sizeUnits {
		if u.name == unit {
			if n > math.MaxInt64/u.mult {
				return 0, fmt.Errorf("%w %q: too large", errSizeSyntax, s)
			}
			return Size(n * u.mult), nil
		}
	}
	return 0, fmt.Errorf("%w %q", errSizeSyntax, s)
}

// String writes the size with the largest unit that divides it exactly, so
// that ParseSize(s.String()) == s: 1024 is "1KiB", 2000 is "2KB", 1000000 is
// "1MB", 1500 is "1500B".
func (s Size) String() string {
	if s == 0 {
		return "0B"
	}
	if s < 0 {
		return strconv.FormatInt(int64(s), 10) + "B"
	}
	for _, u := range sizeUnits {
		if int64(s)%u.mult == 0 {
			return strconv.FormatInt(int64(s)/u.mult, 10) + u.name
		}
	}
	return strconv.FormatInt(int64(s), 10) + "B" // unreachable: B divides all
}

// MarshalYAML writes the size in its String form.
func (s Size) MarshalYAML() (any, error) { return s.String(), nil }

// UnmarshalYAML reads an integer number of bytes or a size string.
func (s *Size) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a size like 100B or 4KiB, got %s", n.Line, describe(n))
	}
	v, err := ParseSize(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*s = v
	return nil
}
