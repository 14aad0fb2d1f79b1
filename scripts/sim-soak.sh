#!/usr/bin/env bash
# Nightly-style soak of the protocol simulator: many more seeds than CI runs.
#   scripts/sim-soak.sh [SEEDS] [PROTOCOL...]   (default 200000 seeds; pbft and hotstuff)
# A failure prints its seed and the replbench sim command that reproduces it.
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-200000}
shift || true
protocols=("${@:-pbft}")
[ $# -eq 0 ] && protocols=(pbft hotstuff)
for p in "${protocols[@]}"; do
  echo "== $p: $seeds seeds"
  REPLBENCH_SIM_SEEDS=$seeds go test "./protocols/$p" -run '^TestSimulation$' -count=1 -timeout 0 -v
done
