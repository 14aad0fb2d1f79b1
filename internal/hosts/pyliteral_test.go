package hosts

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"reflect"
	"testing"

	"gopkg.in/yaml.v3"
)

// needPython returns python3's path, or skips: it comes with ansible-core.
func needPython(t *testing.T) string {
	t.Helper()
	exe, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("REPLBENCH_REQUIRE_ANSIBLE") == "1" {
			t.Fatalf("python3 not on PATH, and REPLBENCH_REQUIRE_ANSIBLE=1: %v", err)
		}
		t.Skip("python3 not on PATH, so values are not compared with Python's own reading (set REPLBENCH_REQUIRE_ANSIBLE=1 to fail instead)")
	}
	return exe
}

// python runs a script that reads JSON strings on stdin and prints JSON.
func python(t *testing.T, script string, in []string) []json.RawMessage {
	t.Helper()
	data, _ := json.Marshal(in)
	cmd := exec.Command(needPython(t), "-c", script)
	cmd.Stdin = bytes.NewReader(data)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if bytes.Contains(stderr.Bytes(), []byte("ModuleNotFoundError")) && os.Getenv("REPLBENCH_REQUIRE_ANSIBLE") != "1" {
			t.Skipf("python3 lacks a module: %s", stderr.String())
		}
		t.Fatalf("python3: %v: %s", err, stderr.String())
	}
	var res []json.RawMessage
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("python3 output %s: %v", out, err)
	}
	return res
}

// sameAsPython compares a value with Python's reading, given as JSON (null
// for what JSON cannot hold, which is skipped).
func sameAsPython(t *testing.T, what, in string, got any, raw json.RawMessage) {
	t.Helper()
	if string(raw) == `"<unsupported>"` {
		return
	}
	want, err := jsonValue(raw)
	if err != nil {
		t.Fatal(err)
	}
	if f, ok := got.(float64); ok && math.IsNaN(f) {
		if w, ok := want.(float64); ok && math.IsNaN(w) {
			return
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s(%q) = %#v, Python reads %#v", what, in, got, want)
	}
}

// TestPyValueMatchesPython checks pyValue against Ansible's own
// _parse_value: ast.literal_eval, else the text as it is.
func TestPyValueMatchesPython(t *testing.T) {
	inputs := []string{
		"22", "022", "0", "00", "-5", "+7", "1_000", "0x50", "0o17", "0b101", "1.5", ".5", "1.", "1e3", "1_0.2_5",
		"10.0.0.1", "host.example", "eu,us", "'eu', 'us'", "['eu', 'us']", "('a',)", "()", "[]", "[1, [2, 'x']]",
		"{'k': 'v', 'n': 1}", "True", "False", "None", "true", "'a' 'b'", `"a\tb"`, `'\x41\101\u00e9'`, `r'a\b'`, `u'x'`,
		`'it''s'`, "'unterminated", "'a' # comment", "22 # comment", "bench # comment", "bench ; comment", "2200;x",
		"- 3", "--3", "1 2", "[1,]", "[,]", "(1)", "((2))", "-(1)", "'a'.upper()", "'\\q'", "", "   ", "# only", `"\N{BULLET}"`,
		"1j", "b'x'", "{1, 2}", "'''x'''", "9223372036854775808",
	}
	const script = `
import ast, json, sys
def parse(v):
    try:
        v = ast.literal_eval(v)
    except (ValueError, SyntaxError):
        pass
    return v
def plain(v):
    if isinstance(v, tuple) or isinstance(v, list):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, (str, int, float, bool)) or v is None:
        if isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 2**63:
            raise TypeError
        return v
    raise TypeError
out = []
for s in json.load(sys.stdin):
    try:
        out.append(plain(parse(s)))
    except (TypeError, ValueError):
        out.append("<unsupported>")
print(json.dumps(out))
`
	want := python(t, script, inputs)
	for i, in := range inputs {
		got := pyValue(in)
		if in == "1j" || in == "b'x'" || in == "{1, 2}" || in == "'''x'''" || in == `"\N{BULLET}"` || in == "9223372036854775808" {
			// Not evaluated here: kept as text, where Python makes a value
			// no replbench setting accepts.
			if got != in {
				t.Errorf("pyValue(%q) = %#v, want the text kept", in, got)
			}
			continue
		}
		sameAsPython(t, "pyValue", in, got, want[i])
	}
}

// TestYAMLValueMatchesPyYAML checks the YAML 1.1 typing of plain scalars
// against PyYAML, which Ansible reads YAML inventories with.
func TestYAMLValueMatchesPyYAML(t *testing.T) {
	inputs := []string{
		"22", "022", "0x1F", "0b11", "1_000", "1:20", "-1:20", "1.5", "1e3", "1.0e+3", ".5", ".inf", "-.Inf", ".nan",
		"yes", "No", "on", "OFF", "true", "y", "n", "~", "null", "", "2200", "+12", "'22'", `"yes"`, "!!str 22",
		"10.0.0.1", "eu,us", "[a, 1, yes]", "{k: 010}", "08", "0o17",
	}
	const script = `
import json, math, sys, yaml
out = []
for s in json.load(sys.stdin):
    v = yaml.safe_load("v: " + s)["v"]
    if isinstance(v, float) and math.isnan(v):
        v = "<unsupported>"
    elif isinstance(v, float) and math.isinf(v):
        v = "<unsupported>"
    out.append(v)
print(json.dumps(out))
`
	want := python(t, script, inputs)
	for i, in := range inputs {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte("v: "+in), &doc); err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		budget := maxNodes
		sameAsPython(t, "yamlValue", in, yamlValue(doc.Content[0].Content[1], &budget), want[i])
	}
}

func TestExpandHostPattern(t *testing.T) {
	tests := []struct {
		in    string
		names []string
		port  int64
		err   string
	}{
		{"r1", []string{"r1"}, 0, ""},
		{"r1:2222", []string{"r1"}, 2222, ""},
		{"10.0.0.1:22", []string{"10.0.0.1"}, 22, ""},
		{"[::1]:22", []string{"::1"}, 22, ""},
		{"fe80::1", []string{"fe80::1"}, 0, ""},
		{"r[1:3]", []string{"r1", "r2", "r3"}, 0, ""},
		{"r[:2]", []string{"r0", "r1", "r2"}, 0, ""},
		{"r[01:10:4].x:2200", []string{"r01.x", "r05.x", "r09.x"}, 2200, ""},
		{"[a:c]", []string{"a", "b", "c"}, 0, ""},
		{"[y:B]", []string{"y", "z", "A", "B"}, 0, ""},
		{"d[1:2]-[a:b]", []string{"d1-a", "d1-b", "d2-a", "d2-b"}, 0, ""},
		{"10.0.[1:2].1", []string{"10.0.1.1", "10.0.2.1"}, 0, ""},
		{"r[3:1]", nil, 0, ""},
		{"r[1:]", nil, 0, "[1:] has no end"},
		{"r[1:2:0]", nil, 0, `step "0": want a positive number`},
		{"r[1:2:3:4]", nil, 0, "want [begin:end] or [begin:end:step], got [1:2:3:4]"},
		{"r[c:a]", nil, 0, "[c:a]: begin must not come after end"},
		{"r[1", nil, 0, "want [begin:end] or [begin:end:step]"},
		{"r[0:100000]", nil, 0, "more than 10000 hosts"},
		{"", nil, 0, "empty host name"},
	}
	for _, tt := range tests {
		names, port, err := expandHostPattern(tt.in)
		switch {
		case tt.err != "":
			if err == nil || !bytes.Contains([]byte(err.Error()), []byte(tt.err)) {
				t.Errorf("expandHostPattern(%q) = %v, %v; want error %q", tt.in, names, err, tt.err)
			}
		case err != nil || !reflect.DeepEqual(names, tt.names) || port != tt.port:
			t.Errorf("expandHostPattern(%q) = %v, %d, %v; want %v, %d", tt.in, names, port, err, tt.names, tt.port)
		}
	}
}
