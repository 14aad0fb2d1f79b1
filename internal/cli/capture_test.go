package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/replbench/replbench/internal/cluster"
	"github.com/replbench/replbench/keys"
)

type reqID struct {
	Client uint32
	Seq    uint64
}

// requestsIn runs msgdump --json over files and returns the requests it
// found (client, number), failing the test on any problem it reports.
func requestsIn(t *testing.T, files ...string) map[reqID]bool {
	t.Helper()
	found, stderr, err := requestsFound(t, files...)
	if err != nil {
		t.Fatalf("msgdump %v: %v\n%s", files, err, stderr)
	}
	return found
}

// requestsFound is requestsIn for a file still being written: it returns
// what it found together with msgdump's complaints.
func requestsFound(t *testing.T, files ...string) (map[reqID]bool, string, error) {
	t.Helper()
	out, stderr, err := runCLI(context.Background(), append([]string{"msgdump", "--json", "--type", "request"}, files...)...)
	found := make(map[reqID]bool)
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var rec struct {
			Type   string `json:"type"`
			Client uint32 `json:"client"`
			Seq    uint64 `json:"seq"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("msgdump line %q: %v", sc.Text(), err)
		}
		if rec.Type == "request" {
			found[reqID{rec.Client, rec.Seq}] = true
		}
	}
	return found, stderr, err
}

// captureCluster writes keys and a cluster file for one unreplicated echo
// replica with hmac-authenticated clients.
func captureCluster(t *testing.T, clients int) (dir, cfgPath, addr string) {
	t.Helper()
	dir = t.TempDir()
	kd := filepath.Join(dir, "keys")
	if err := keys.Generate(keys.HMAC, kd, 1, clients, keys.GenOptions{}); err != nil {
		t.Fatal(err)
	}
	addr = freeAddr(t)
	cfg := &cluster.Config{Protocol: "unreplicated", Replicas: []string{addr}, Clients: clients,
		ReplicaScheme: keys.HMAC, ClientScheme: keys.HMAC, ReplicaKeys: kd, ClientKeys: kd, App: "echo"}
	cfgPath = filepath.Join(dir, "cluster.json")
	if err := cfg.Write(cfgPath); err != nil {
		t.Fatal(err)
	}
	return dir, cfgPath, addr
}

func runLoadWithCapture(t *testing.T, dir, cfgPath string) map[reqID]bool {
	t.Helper()
	capDir := filepath.Join(dir, "client-capture")
	// Open loop at a modest rate: enough requests to split across TCP
	// segments and interleave two connections, few enough for tcpdump.
	_, stderr, err := runCLI(context.Background(), "client", "--config", cfgPath, "--clients", "2", "--mode", "open", "--rate", "4000",
		"--warmup", "0s", "--duration", "400ms", "--cooldown", "0s", "--out", filepath.Join(dir, "out"), "--capture", capDir)
	if err != nil {
		t.Fatalf("client: %v\n%s", err, stderr)
	}
	sent := requestsIn(t, filepath.Join(capDir, "client-0.rbcap"), filepath.Join(capDir, "client-1.rbcap"))
	if len(sent) < 10 {
		t.Fatalf("the clients' captures hold %d requests; the run sent more", len(sent))
	}
	return sent
}

// TestCaptureAndDecode: the client captures what it sends, the replica what
// it receives, and msgdump finds every request the clients sent in the
// replica's capture.
func TestCaptureAndDecode(t *testing.T) {
	dir, cfgPath, _ := captureCluster(t, 2)
	repDir := filepath.Join(dir, "replica-capture")
	stop := startReplica(t, cfgPath, 0, "--capture-dir", repDir)
	sent := runLoadWithCapture(t, dir, cfgPath)
	stop() // closes the replica's capture file
	received := requestsIn(t, filepath.Join(repDir, "replica-0.rbcap"))
	for id := range sent {
		if !received[id] {
			t.Errorf("request %+v sent by a client is missing from the replica's capture", id)
		}
	}
}

// TestTcpdumpCapture records the replica's port with tcpdump during a short
// run and decodes the pcap with msgdump: every request a client sent is in it.
func TestTcpdumpCapture(t *testing.T) {
	tcpdump, err := exec.LookPath("tcpdump")
	if err != nil {
		if os.Getenv("REPLBENCH_REQUIRE_TCPDUMP") == "1" {
			t.Fatal("tcpdump is required (REPLBENCH_REQUIRE_TCPDUMP=1) but not installed")
		}
		t.Skip("tcpdump is not installed; scripts/install-test-deps.sh installs it and CI requires it")
	}
	dir, cfgPath, addr := captureCluster(t, 2)
	_, port, _ := strings.Cut(addr, ":")
	pcap := filepath.Join(dir, "replica.pcap")
	cmd := exec.Command(tcpdump, "-i", "lo", "-n", "-U", "-s", "0", "-B", "65536", "-w", pcap, "tcp", "port", port)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	// tcpdump says when it listens; traffic before that would be missed.
	lines := bufio.NewScanner(stderr)
	listening := false
	var said bytes.Buffer
	for !listening && lines.Scan() {
		fmt.Fprintln(&said, lines.Text())
		listening = strings.Contains(lines.Text(), "listening on")
	}
	if !listening {
		if os.Getenv("REPLBENCH_REQUIRE_TCPDUMP") == "1" {
			t.Fatalf("tcpdump did not start capturing:\n%s", said.String())
		}
		t.Skipf("tcpdump cannot capture here (needs root or CAP_NET_RAW):\n%s", said.String())
	}
	drained := make(chan string)
	go func() { // keep draining tcpdump's stderr so it never blocks; keep its final counts
		var tail bytes.Buffer
		for lines.Scan() {
			fmt.Fprintln(&tail, lines.Text())
		}
		drained <- tail.String()
	}()
	stop := startReplica(t, cfgPath, 0)
	sent := runLoadWithCapture(t, dir, cfgPath)
	stop()
	// tcpdump writes each packet as it processes it (-U) but drops what it
	// has not processed yet when interrupted: wait until the pcap holds
	// every request, or give up after a while and report what is missing.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	waitFor(t, ctx, func() bool {
		got, _, _ := requestsFound(t, pcap)
		for id := range sent {
			if !got[id] {
				return false
			}
		}
		return true
	})
	_ = cmd.Process.Signal(syscall.SIGINT)
	counts := <-drained
	if err := cmd.Wait(); err != nil {
		t.Fatalf("tcpdump: %v\n%s", err, counts)
	}
	if m := regexp.MustCompile(`(\d+) packets? dropped by kernel`).FindStringSubmatch(counts); m != nil && m[1] != "0" {
		t.Fatalf("tcpdump lost packets, so the capture is incomplete:\n%s", counts)
	}
	inPcap := requestsIn(t, pcap)
	for id := range sent {
		if !inPcap[id] {
			t.Errorf("request %+v sent by a client is missing from the tcpdump capture", id)
		}
	}
	t.Logf("%d requests sent, %d found in the pcap", len(sent), len(inPcap))
}
