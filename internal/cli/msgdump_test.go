package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/replbench/replbench/internal/wire"
	"github.com/replbench/replbench/keys"
	"github.com/replbench/replbench/msgdump"
)

// runMsgdump executes the msgdump command with stdin and args.
func runMsgdump(stdin []byte, args ...string) (stdout, stderr string, err error) {
	cmd := newMsgdumpCmd()
	var out, errOut bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetIn(bytes.NewReader(stdin))
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SilenceUsage = true
	cmd.SilenceErrors = true
	err = cmd.Execute()
	return out.String(), errOut.String(), err
}

// signedRequest builds a request sealed by a.
func signedRequest(t *testing.T, a keys.Authenticator, seq uint64, payload string) []byte {
	t.Helper()
	f := wire.AppendRequest(nil, &wire.Request{Client: a.Self().ID, Session: 7, Seq: seq, Payload: []byte(payload)})
	auth, err := a.Sign(nil, wire.SignedBytes(f))
	if err != nil {
		t.Fatal(err)
	}
	return wire.Seal(f, auth)
}

func TestMsgdumpVerifiesCapture(t *testing.T) {
	dir := t.TempDir()
	keyDir := filepath.Join(dir, "keys")
	if _, err := runKeygen("ed25519", "4", "--clients", "2", "--out", keyDir); err != nil {
		t.Fatal(err)
	}
	client, err := keys.Load(keys.Ed25519, keyDir, keys.Client(1), 4, 2)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "client-1.rbcap")
	w, err := msgdump.CreateCapture(path, msgdump.CaptureHeader{Self: keys.Client(1), Tool: "replbench test"})
	if err != nil {
		t.Fatal(err)
	}
	w.Sent(keys.Replica(0), signedRequest(t, client, 1, "good"))
	forged := signedRequest(t, client, 2, "good")
	copy(forged[bytes.Index(forged, []byte("good")):], "evil") // the payload, after signing
	w.Sent(keys.Replica(0), forged)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	out, stderr, err := runMsgdump(nil, "--keys", keyDir, path)
	var pf problemsFound
	if !errors.As(err, &pf) || pf.ExitCode() != 2 || err.Error() != "1 authenticator did not verify" {
		t.Fatalf("err = %v, want the exit-2 error for one bad authenticator", err)
	}
	if !strings.Contains(stderr, "verifying ed25519 authenticators with the public keys from "+keyDir+" (4 replicas, 2 clients)") {
		t.Errorf("stderr %q does not say what it verifies with", stderr)
	}
	for _, want := range []string{
		"# " + path + ": replbench capture v1 of client-1 by replbench test, started ",
		" client-1>replica-0 request client=1 session=7 seq=1 flags=- payload=4 auth=64 ok 67 6f 6f 64 |good|\n",
		" client-1>replica-0 request client=1 session=7 seq=2 flags=- payload=4 auth=64 BAD 65 76 69 6c |evil|\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	// Without verification the same capture is clean.
	if _, _, err := runMsgdump(nil, path); err != nil {
		t.Errorf("without --keys: %v", err)
	}
	// Filters and stats.
	out, _, err = runMsgdump(nil, "--stats", "--type", "request,0x11", "--client", "1", path)
	if err != nil || !strings.Contains(out, "request            2") {
		t.Errorf("--stats: %v\n%s", err, out)
	}
}

func TestMsgdumpStdin(t *testing.T) {
	auths, err := keys.GenerateInMemory(keys.HMAC, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	frames := append(signedRequest(t, auths[keys.Client(0)], 7, "x"), 0, 0, 0, 1) // and a frame cut short
	out, _, err := runMsgdump(frames, "--json", "-")
	var pf problemsFound
	if !errors.As(err, &pf) || err.Error() != "1 problem in the input" {
		t.Errorf("err = %v, want one problem", err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want a frame and a problem, got:\n%s", out)
	}
	var req struct {
		Input string `json:"input"`
		Type  string `json:"type"`
		Seq   uint64 `json:"seq"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &req); err != nil || req.Input != "-" || req.Type != "request" || req.Seq != 7 {
		t.Errorf("first line %s (%v)", lines[0], err)
	}
	if !strings.Contains(lines[1], `"problem":"invalid frame length 1`) {
		t.Errorf("second line %s", lines[1])
	}
}

func TestMsgdumpErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--type", "bogus"}, `--type "bogus": not a frame type`},
		{[]string{"--verify"}, "--verify needs the keys: --keys DIR"},
		{[]string{"--keys", dir}, "no replica keys"},
		{[]string{"--keys", dir, "--as", "leader"}, `--as: bad principal "leader"`},
		{[]string{"--bytes", "-1"}, "--bytes must not be negative"},
		{[]string{"--port", "70000"}, "--port 70000: ports are 16-bit"},
		{[]string{filepath.Join(dir, "missing.pcap")}, "no such file"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, _, err := runMsgdump(nil, tc.args...)
			var pf problemsFound
			if err == nil || errors.As(err, &pf) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want a failure containing %q", err, tc.want)
			}
		})
	}
}
