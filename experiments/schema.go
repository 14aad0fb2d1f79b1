package experiments

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/keys"
)

// field is one settable key of a spec. The table below is the single list of
// keys: decoding, defaults, bounds, encoding and the documentation test all
// read it. Bounds and defaults are written as they would be in a spec.
type field struct {
	path   string
	def    string   // default as YAML text; "" when computed (name, replicas)
	enum   []string // allowed values of a string key
	ge, gt string   // lower bound, inclusive or exclusive
	lt, le string   // upper bound, exclusive or inclusive
	why    string   // reason for the upper bound, shown in the message

	index    []int // into Spec, by reflection over the yaml tags
	typ      reflect.Type
	defVal   reflect.Value
	lo, hi   reflect.Value
	loIsOpen bool
	hiIsOpen bool
}

var frameLimit = Size(wire.DefaultMaxFrame).String()

var fields = []*field{
	{path: "name"},
	{path: "description", def: `""`},
	{path: "protocol", def: string(Unreplicated), enum: names(Protocols())},
	{path: "replicas", ge: "1"},
	{path: "app.name", def: string(AppNull), enum: names(AppNames())},
	{path: "app.reply", def: "0B", ge: "0B", lt: frameLimit, why: "the wire frame limit"},
	{path: "crypto.replicas", def: string(keys.Ed25519), enum: keys.SchemeNames()},
	{path: "crypto.clients", def: string(keys.HMAC), enum: keys.SchemeNames()},
	{path: "crypto.rsa_bits", def: "2048", ge: "1024", lt: "16385", why: "RSA keys are 1024 to 16384 bits"},
	{path: "batch.size", def: "10", ge: "1"},
	{path: "batch.timeout", def: "1ms", ge: "0s"},
	{path: "checkpoint_interval", def: "1000", ge: "1"},
	{path: "view_change_timeout", def: "1s", gt: "0s"},
	{path: "duration", def: "10s", gt: "0s"},
	{path: "warmup", def: "2s", ge: "0s"},
	{path: "cooldown", def: "1s", ge: "0s"},
	{path: "repeat", def: "1", ge: "1"},
	{path: "seed", def: "1"},
	{path: "load.mode", def: string(Closed), enum: []string{string(Closed), string(Open)}},
	{path: "load.clients", def: "1", ge: "1"},
	{path: "load.outstanding", def: "1", ge: "1"},
	{path: "load.payload", def: "100B", ge: "0B", lt: frameLimit, why: "the wire frame limit"},
	{path: "load.rate", def: "0", ge: "0"},
	{path: "load.timeout", def: "1s", gt: "0s"},
	{path: "load.workload", def: string(WorkloadFixed), enum: names([]WorkloadKind{WorkloadFixed, WorkloadYCSB})},
	{path: "load.read_ratio", def: "0.5", ge: "0", le: "1", why: "a fraction of requests"},
	{path: "load.keys", def: "1000", ge: "1"},
	{path: "load.distribution", def: string(Zipfian), enum: names([]KeyDistribution{Uniform, Zipfian})},
	{path: "load.theta", def: "0.99", gt: "0", lt: "1", why: "the zipfian generator needs theta < 1"},
	{path: "network.delay", def: "0ms", ge: "0s"},
	{path: "network.jitter", def: "0ms", ge: "0s"},
	{path: "network.loss", def: "0", ge: "0", lt: "1", why: "a fraction of messages"},
	{path: "network.bandwidth", def: "0", ge: "0"},
	{path: "hosts", def: `""`},
}

// groups are the keys whose value is a mapping of fields. shorthand names the
// field a plain scalar stands for: "app: echo" means "app: {name: echo}".
var groups = map[string]string{"app": "name", "crypto": "", "batch": "", "load": "", "network": ""}

// structured keys hold lists or mappings of their own, each read by its own
// decoder (network.go) rather than through the table; they cannot be swept.
var structured = map[string]func(*decoder, *yaml.Node){
	"network.links":  (*decoder).networkLinks,
	"network.labels": (*decoder).networkLabels,
}

// special keys are top-level keys that are not configuration.
var special = []string{"sweep", "zip", "figures"}

var (
	fieldByPath = map[string]*field{}
	leafPaths   []string
	topKeys     []string // every key allowed at the top level, for suggestions
)

func init() {
	st := reflect.TypeOf(Spec{})
	for _, f := range fields {
		f.index, f.typ = bind(st, f.path)
		fieldByPath[f.path] = f
		leafPaths = append(leafPaths, f.path)
		if !strings.Contains(f.path, ".") {
			topKeys = append(topKeys, f.path)
		}
	}
	for g := range groups {
		topKeys = append(topKeys, g)
	}
	topKeys = append(topKeys, special...)
	slices.Sort(topKeys)
	// Bounds are parsed by the same code as values, once.
	for _, f := range fields {
		lo := f.ge
		if f.gt != "" {
			lo, f.loIsOpen = f.gt, true
		}
		if lo != "" {
			f.lo = mustParse(f, lo)
		}
		hi := f.le
		if f.lt != "" {
			hi, f.hiIsOpen = f.lt, true
		}
		if hi != "" {
			f.hi = mustParse(f, hi)
		}
		if f.def != "" {
			f.defVal = mustParse(f, f.def)
		}
	}
}

// bind finds the struct field a key path names, by the yaml tags.
func bind(t reflect.Type, path string) ([]int, reflect.Type) {
	var index []int
	for _, key := range strings.Split(path, ".") {
		found := false
		for i := range t.NumField() {
			sf := t.Field(i)
			if strings.Split(sf.Tag.Get("yaml"), ",")[0] == key {
				index, t, found = append(index, i), sf.Type, true
				break
			}
		}
		if !found {
			panic("experiments: schema key " + path + " has no Spec field") // programming error, caught by every test
		}
	}
	return index, t
}

// mustParse reads a default or bound from the table; a failure is a bug in
// the table, caught by every test.
func mustParse(f *field, text string) reflect.Value {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil || len(doc.Content) != 1 {
		panic(fmt.Sprintf("experiments: schema value %q of %s is not one YAML scalar", text, f.path))
	}
	v, msg := f.parse(doc.Content[0])
	if msg != "" {
		panic("experiments: schema bound of " + f.path + ": " + msg)
	}
	return v
}

func names[T ~string](xs []T) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = string(x)
	}
	return out
}

var (
	sizeType      = reflect.TypeOf(Size(0))
	durationType  = reflect.TypeOf(time.Duration(0))
	bandwidthType = reflect.TypeOf(Bandwidth(0))
)

// want describes the values a field takes, for wrong-type messages.
func (f *field) want() string {
	switch {
	case f.enum != nil:
		return "one of " + strings.Join(f.enum, ", ")
	case f.typ == sizeType:
		return "a size like 100B or 4KiB"
	case f.typ == durationType:
		return "a duration like 10s"
	case f.typ == bandwidthType:
		return "a bandwidth like 100Mbit"
	}
	switch f.typ.Kind() {
	case reflect.Int, reflect.Uint64:
		return "an integer"
	case reflect.Float64:
		return "a number"
	}
	return "a string"
}

// parse reads a scalar node as the field's type and checks its bounds. It
// returns a message (without file, line or path) when the value is bad.
func (f *field) parse(n *yaml.Node) (reflect.Value, string) {
	if n.Kind != yaml.ScalarNode {
		return reflect.Value{}, fmt.Sprintf("wrong type: want %s, got %s", f.want(), describe(n))
	}
	tag := n.ShortTag()
	v := reflect.New(f.typ).Elem()
	switch {
	case f.typ == sizeType:
		if tag == "!!int" {
			var i int64
			if err := n.Decode(&i); err != nil {
				return v, fmt.Sprintf("bad size %q (use e.g. 100B, 4KiB, 1MiB)", n.Value)
			}
			v.SetInt(i)
			break
		}
		if tag != "!!str" {
			return v, fmt.Sprintf("wrong type: want %s, got %s", f.want(), describe(n))
		}
		sz, err := ParseSize(n.Value)
		if err != nil {
			return v, fmt.Sprintf("bad size %q (use e.g. 100B, 4KiB, 1MiB)", n.Value)
		}
		v.SetInt(int64(sz))
	case f.typ == durationType:
		if tag == "!!int" || tag == "!!float" {
			return v, fmt.Sprintf("bare number %s has no unit (write e.g. %ss or %sms)", n.Value, n.Value, n.Value)
		}
		if tag != "!!str" {
			return v, fmt.Sprintf("wrong type: want %s, got %s", f.want(), describe(n))
		}
		d, err := time.ParseDuration(n.Value)
		if err != nil {
			return v, fmt.Sprintf("bad duration %q (use e.g. 500ms, 10s, 1m30s)", n.Value)
		}
		v.SetInt(int64(d))
	case f.typ == bandwidthType:
		switch tag {
		case "!!int", "!!float":
			// Only 0 (unlimited) goes without a unit: bits or bytes would be a guess.
			var x float64
			if n.Decode(&x) != nil || x != 0 {
				return v, fmt.Sprintf("bare number %s has no unit (write e.g. %sMbit or %skbit)", n.Value, n.Value, n.Value)
			}
		case "!!str":
			b, err := ParseBandwidth(n.Value)
			if err != nil {
				return v, fmt.Sprintf("bad bandwidth %q (use e.g. 100Mbit, 1Gbit, 500kbit)", n.Value)
			}
			v.SetFloat(float64(b))
		default:
			return v, fmt.Sprintf("wrong type: want %s, got %s", f.want(), describe(n))
		}
	case f.typ.Kind() == reflect.String && f.enum == nil:
		// Free text: a name like 2024 is a string too; an empty value is "".
		if tag != "!!null" {
			v.SetString(n.Value)
		}
	case f.typ.Kind() == reflect.String:
		// The enum check alone decides: "app: null" is YAML's null, and
		// means the null application.
		if !slices.Contains(f.enum, n.Value) {
			msg := fmt.Sprintf("unknown value %q (want one of %s)", n.Value, strings.Join(f.enum, ", "))
			if s := suggest(n.Value, f.enum); s != "" {
				msg = fmt.Sprintf("unknown value %q (did you mean %s? want one of %s)", n.Value, s, strings.Join(f.enum, ", "))
			}
			return v, msg
		}
		v.SetString(n.Value)
	case f.typ.Kind() == reflect.Int:
		var i int
		if tag != "!!int" || n.Decode(&i) != nil {
			return v, fmt.Sprintf("wrong type: want %s, got %s", f.want(), describe(n))
		}
		v.SetInt(int64(i))
	case f.typ.Kind() == reflect.Uint64:
		var u uint64
		if tag != "!!int" || n.Decode(&u) != nil {
			return v, fmt.Sprintf("wrong type: want a non-negative integer, got %s", describe(n))
		}
		v.SetUint(u)
	case f.typ.Kind() == reflect.Float64:
		var x float64
		if (tag != "!!int" && tag != "!!float") || n.Decode(&x) != nil {
			return v, fmt.Sprintf("wrong type: want %s, got %s", f.want(), describe(n))
		}
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return v, fmt.Sprintf("must be a finite number, got %s", n.Value)
		}
		v.SetFloat(x)
	default:
		panic("experiments: no parser for " + f.typ.String()) // programming error
	}
	if f.lo.IsValid() {
		c := compare(v, f.lo)
		if c < 0 || c == 0 && f.loIsOpen {
			op, bound := ">=", f.ge
			if f.loIsOpen {
				op, bound = ">", f.gt
			}
			return v, fmt.Sprintf("must be %s %s, got %s", op, bound, n.Value)
		}
	}
	if f.hi.IsValid() {
		c := compare(v, f.hi)
		if c > 0 || c == 0 && f.hiIsOpen {
			op, bound := "<=", f.le
			if f.hiIsOpen {
				op, bound = "<", f.lt
			}
			return v, fmt.Sprintf("must be %s %s (%s), got %s", op, bound, f.why, n.Value)
		}
	}
	return v, ""
}

func compare(a, b reflect.Value) int {
	switch a.Kind() {
	case reflect.Int, reflect.Int64:
		return cmpOrdered(a.Int(), b.Int())
	case reflect.Uint64:
		return cmpOrdered(a.Uint(), b.Uint())
	case reflect.Float64:
		return cmpOrdered(a.Float(), b.Float())
	}
	return 0
}

func cmpOrdered[T int64 | uint64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// format writes a field's value as a spec would, so that parse(format(v))
// gives v back.
func format(v reflect.Value) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode}
	switch {
	case v.Type() == sizeType:
		n.Value = Size(v.Int()).String()
	case v.Type() == durationType:
		n.Value = time.Duration(v.Int()).String()
	case v.Type() == bandwidthType:
		n.Value = Bandwidth(v.Float()).String()
	case v.Kind() == reflect.String:
		n.Value, n.Tag = v.String(), "!!str"
	case v.Kind() == reflect.Int:
		n.Value = strconv.FormatInt(v.Int(), 10)
	case v.Kind() == reflect.Uint64:
		n.Value = strconv.FormatUint(v.Uint(), 10)
	case v.Kind() == reflect.Float64:
		n.Value = strconv.FormatFloat(v.Float(), 'g', -1, 64)
	}
	return n
}
