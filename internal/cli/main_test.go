package cli_test

import (
	"os"
	"testing"

	"github.com/replbench/replbench/internal/cli"
)

// childEnv makes the test binary act as replbench: 'run' starts replica and
// client processes from os.Executable(), which in tests is this binary.
const childEnv = "REPLBENCH_TEST_AS_CLI"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(cli.Main(os.Args[1:]))
	}
	os.Setenv(childEnv, "1") // inherited by the processes tests start
	if self, err := os.Executable(); err == nil {
		os.Setenv("REPLBENCH_BINARY", self) // replicas and clients run from this test binary
	}
	code := m.Run()
	testbedDown()
	os.Exit(code)
}
