#!/usr/bin/env bash
# Nightly-style soak of the protocol simulator: many more seeds than CI runs.
#   scripts/sim-soak.sh [SEEDS]     (default 200000)
# A failure prints its seed and the replbench sim command that reproduces it.
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-200000}
REPLBENCH_SIM_SEEDS=$seeds go test ./protocols/pbft -run '^TestSimulation$' -count=1 -timeout 0 -v
