#!/usr/bin/env bash
# Regenerate the figures that reproduce published results (Themis, Oskr):
#   scripts/regenerate-figures.sh [--quick] [SPEC...]
# Builds replbench once, runs each spec (default: themis-throughput,
# themis-crypto, themis-memory and oskr-table) into
# results/<spec>/<run id>/, and copies the chosen PNG figures and summary.md
# into docs/figures/<spec>/; oskr-table also gets table.md, the maximum
# throughput and minimum median latency per protocol and batch size.
# --quick shortens every point (1s warm-up, 2s measured, 0.5s cool-down, one
# repeat) so that the whole regeneration takes minutes, not half an hour;
# without it each spec runs with its own durations and repeats.
set -euo pipefail
cd "$(dirname "$0")/.."

invocation="scripts/regenerate-figures.sh${*:+ $*}"
quick=0
specs=()
for arg in "$@"; do
  case $arg in
    --quick) quick=1 ;;
    -h|--help) sed -n '2,11s/^# \{0,1\}//p' "$0"; exit 0 ;;
    -*) echo "regenerate-figures: unknown flag $arg" >&2; exit 2 ;;
    *) specs+=("$arg") ;;
  esac
done
[ ${#specs[@]} -gt 0 ] || specs=(themis-throughput themis-crypto themis-memory oskr-table)

# The figures worth committing for each spec; the rest stay in the run's
# figures/ directory.
figures_for() {
  case $1 in
    themis-throughput) echo throughput-vs-load.clients-by-batch.size.png latency-p50-vs-load.clients-by-batch.size.png latency-vs-throughput-by-batch.size.png ;;
    themis-crypto) echo throughput-vs-load.clients-by-crypto.replicas.png latency-p50-vs-load.clients-by-crypto.replicas.png ;;
    themis-memory) echo rss-per-replica.png ;;
    oskr-table) echo latency-p50-vs-throughput-by-protocol.png ;;
    *) echo "regenerate-figures: no figures chosen for spec $1" >&2; return 1 ;;
  esac
}

# oskr_table SUMMARY_CSV writes, as Markdown, each protocol and batch size's
# largest throughput and smallest median latency over its load levels, each
# point's repeats averaged first. Columns are found by header name; the
# label column is quoted and holds commas, so lines are split by a small CSV
# reader rather than by FS.
oskr_table() {
  awk '
    function csv(line, f,    n, i, c, q, s) {
      n = 0; s = ""; q = 0
      for (i = 1; i <= length(line); i++) {
        c = substr(line, i, 1)
        if (q) {
          if (c != "\"") s = s c
          else if (substr(line, i + 1, 1) == "\"") { s = s c; i++ }
          else q = 0
        } else if (c == "\"") q = 1
        else if (c == ",") { f[++n] = s; s = "" }
        else s = s c
      }
      f[++n] = s
      return n
    }
    NR == 1 {
      n = csv($0, h)
      for (i = 1; i <= n; i++) col[h[i]] = i
      split("point protocol batch.size throughput_ops p50_us", need, " ")
      for (i = 1; i in need; i++)
        if (!(need[i] in col)) { printf "oskr-table: summary.csv has no column %s\n", need[i] > "/dev/stderr"; bad = 1; exit 1 }
      next
    }
    {
      csv($0, f)
      p = f[col["point"]]
      if (!(p in reps)) {
        order[++points] = p
        group[p] = f[col["protocol"]] SUBSEP f[col["batch.size"]]
        load[p] = ""
        if ("load.clients" in col) load[p] = f[col["load.clients"]] (f[col["load.clients"]] == 1 ? " client" : " clients")
        if ("load.outstanding" in col) load[p] = load[p] (load[p] == "" ? "" : " × ") f[col["load.outstanding"]] " in flight"
      }
      reps[p]++
      tput[p] += f[col["throughput_ops"]]
      p50[p] += f[col["p50_us"]]
    }
    END {
      if (bad) exit 1
      for (k = 1; k <= points; k++) {
        p = order[k]; g = group[p]
        t = tput[p] / reps[p]; l = p50[p] / reps[p]
        if (!(g in best)) { groups[++ngroups] = g; best[g] = -1; low[g] = -1 }
        if (t > best[g]) { best[g] = t; bestAt[g] = load[p] }
        if (low[g] < 0 || l < low[g]) { low[g] = l; lowAt[g] = load[p] }
        if (reps[p] > nrep) nrep = reps[p]
      }
      print "| protocol | batch size | max throughput (K ops/s) | at | min median latency (µs) | at |"
      print "|---|---:|---:|---|---:|---|"
      for (k = 1; k <= ngroups; k++) {
        g = groups[k]; split(g, pb, SUBSEP)
        printf "| %s | %s | %.3f | %s | %.0f | %s |\n", pb[1], pb[2], best[g] / 1000, bestAt[g], low[g], lowAt[g]
      }
      if (nrep == 1) print "\nOne run of each load level; maximum and minimum over the load levels."
      else printf "\nMeans over %d repeats of each load level; maximum and minimum over the load levels.\n", nrep
    }
  ' "$1"
}

# copy_summary SPEC SRC DST copies summary.md, keeping only the figure links
# whose files were copied next to it, and says how the run was made.
copy_summary() {
  local spec=$1 src=$2 dst=$3 line target
  {
    while IFS= read -r line; do
      if [[ $line =~ ^-\ \[.*\]\((.*)\)$ ]]; then
        target=${BASH_REMATCH[1]}
        [ -f "$(dirname "$dst")/$target" ] || continue
      fi
      printf '%s\n' "$line"
    done < "$src"
    printf '\nProduced by `%s`: `%s`.\n' "$invocation" "replbench run experiments/$spec.yaml${overrides_text}"
  } > "$dst"
}

overrides=()
[ $quick = 0 ] || overrides=(--duration 3500ms --warmup 1s --cooldown 500ms --repeat 1)
overrides_text=""
[ ${#overrides[@]} -eq 0 ] || overrides_text=" ${overrides[*]}"

bin=$(mktemp -d)/replbench
trap 'rm -rf "$(dirname "$bin")"' EXIT
echo "== building replbench"
go build -o "$bin" ./cmd/replbench

start=$SECONDS
failed=0
written=()
for spec in "${specs[@]}"; do
  file=experiments/$spec.yaml
  [ -f "$file" ] || { echo "regenerate-figures: no spec $file" >&2; exit 2; }
  chosen=$(figures_for "$spec")
  name=$(sed -n 's/^name: *//p' "$file")
  echo "== $spec: replbench run $file${overrides_text}"
  t0=$SECONDS
  "$bin" run "$file" "${overrides[@]}"
  run=$(find "results/$name" -mindepth 1 -maxdepth 1 -type d | sort | tail -n 1)
  out=docs/figures/$spec
  rm -rf "$out"
  mkdir -p "$out"
  for fig in $chosen; do
    if [ -f "$run/figures/$fig" ]; then
      cp "$run/figures/$fig" "$out/"
    else
      echo "regenerate-figures: $run/figures/$fig was not drawn" >&2
      failed=1
    fi
  done
  copy_summary "$spec" "$run/figures/summary.md" "$out/summary.md"
  if [ "$spec" = oskr-table ]; then
    oskr_table "$run/summary.csv" > "$out/table.md"
    cat "$out/table.md"
  fi
  written+=("$out")
  echo "== $spec: $((SECONDS - t0))s, results in $run"
done

echo "== wrote, in $((SECONDS - start))s:"
for out in "${written[@]}"; do
  ls -l "$out" | awk 'NR > 1 { printf "  %8d  %s\n", $5, dir "/" $NF }' dir="$out"
done
exit $failed
