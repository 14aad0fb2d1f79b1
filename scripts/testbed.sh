#!/usr/bin/env bash
# A multi-host testbed on one machine: N network namespaces on a bridge, each
# running its own OpenSSH server, so `replbench run SPEC --hosts FILE` can be
# tested across "hosts" without a cluster. Needs root. Run with no arguments
# for usage.
set -euo pipefail

STATE=${REPLBENCH_TESTBED_DIR:-/var/lib/replbench-testbed}
# sshd changes to / before it reads its key files, so every path must be absolute.
[[ $STATE == /* ]] || STATE=$PWD/$STATE
readonly STATE
readonly BRIDGE=rbtb0
readonly SUBNET=10.77.0
readonly MAX_HOSTS=50
# Written first into the state dir; `down` removes only a dir that has it, so a
# mistyped REPLBENCH_TESTBED_DIR can never make it delete something else.
readonly MARKER=.replbench-testbed
readonly SSHD=/usr/sbin/sshd
# Namespaces, links and sysctls are machine-wide, so at most one testbed is up.
# This dir records where its state lives (whatever REPLBENCH_TESTBED_DIR says
# later) and the sysctl values that `down` restores.
readonly RUNDIR=/run/replbench-testbed
# The bridge-netfilter switches: while one is 1, bridged frames pass through
# the host's iptables/arptables rules, which may drop testbed traffic.
readonly BRNF_SYSCTLS=(bridge-nf-call-iptables bridge-nf-call-ip6tables bridge-nf-call-arptables)

usage() {
  cat <<EOF
usage: $(basename "$0") COMMAND

  up N          start N hosts (2..$MAX_HOSTS), rbtb-h1..rbtb-hN at $SUBNET.1..N: each a
                network namespace running sshd; replaces a testbed already
                up, and prints the hosts file's path as its last line
  down          stop every process on the hosts; remove namespaces, links, state
  status        list hosts, their sshd and the hosts file; exit status 1 if down
  kill-sshd I   kill every process on host I (sshd and all it started), as if
                the host lost power; the other hosts keep running
  help          show this message

State lives in \$REPLBENCH_TESTBED_DIR, now $STATE:
hosts.yaml and inventory.ini (the same hosts for replbench and for Ansible), the
client key id_ed25519, known_hosts, and per host hI/ with its sshd_config, host
key, sshd.log, work/ directory and home/ (root's home directory on that host,
empty, so sessions run none of this machine's shell start-up files). Hosts
h1..h(N-1) are replicas and hN is the client; odd hosts are labelled zone-a,
even ones zone-b.

  ssh -F /dev/null -i $STATE/id_ed25519 \\
    -o UserKnownHostsFile=$STATE/known_hosts \\
    root@$SUBNET.1 hostname
EOF
}

log() { echo "testbed: $*" >&2; }
die() { echo "testbed: $*" >&2; exit 1; }

require_root() {
  [ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces and sshd need it)"
}

# ensure_tools installs, from the distribution's packages, only what is missing.
ensure_tools() {
  local missing=()
  [ -x "$SSHD" ] || missing+=(openssh-server)
  { command -v ssh && command -v ssh-keygen; } >/dev/null || missing+=(openssh-client)
  command -v ip >/dev/null || missing+=(iproute2)
  command -v unshare >/dev/null || missing+=(util-linux)
  command -v hostname >/dev/null || missing+=(hostname)
  [ ${#missing[@]} -eq 0 ] && return
  command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get to install them"
  log "installing ${missing[*]}"
  # Keep the package from starting a system-wide sshd on port 22: the testbed
  # wants sshd only inside its namespaces.
  local policy=/usr/sbin/policy-rc.d added_policy=
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 0755 "$policy" && added_policy=1
  fi
  local rc=0 out
  out=$(mktemp)
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      --no-install-recommends "${missing[@]}"; } >"$out" 2>&1 || rc=$?
  if [ -n "$added_policy" ]; then rm -f "$policy"; fi
  if [ "$rc" -ne 0 ]; then
    tail -n 5 "$out" >&2
    rm -f "$out"
    die "apt-get install ${missing[*]} failed (exit $rc)"
  fi
  rm -f "$out"
}

require_netns() {
  ip netns list >/dev/null 2>&1 || die "'ip netns' does not work here (iproute2 too old, or no network namespace support)"
  ip netns add rbtb-probe 2>/dev/null \
    || die "cannot create network namespaces here (kernel without CONFIG_NET_NS, or a container without CAP_SYS_ADMIN)"
  ip netns del rbtb-probe
}

# namespaces lists the testbed's namespaces, whether or not its state dir is left.
namespaces() {
  ip netns list 2>/dev/null | awk '$1 ~ /^rbtb-h[0-9]+$/ { print $1 }' | sort -V
}

# testbed_links lists the testbed's links in the root namespace: veths and bridge.
testbed_links() {
  ip -o link show 2>/dev/null | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' \
    | grep -E "^(rbtb-v[0-9]+|$BRIDGE)\$" || true
}

# kill_ns kills every process in the namespaces named by its arguments and
# waits (5 s at most) until none is left.
kill_ns() {
  local ns pids tries
  for ((tries = 0; tries < 50; tries++)); do
    pids=$(for ns in "$@"; do ip netns pids "$ns" 2>/dev/null || true; done)
    [ -z "$pids" ] && return 0
    # shellcheck disable=SC2086 # one pid per word
    kill -KILL $pids 2>/dev/null || true
    sleep 0.1
  done
  die "processes still running in $*: ${pids//$'\n'/ }"
}

# up_state prints the state dir of the testbed that is up.
up_state() {
  cat "$RUNDIR/state_dir" 2>/dev/null || echo "$STATE"
}

testbed_exists() {
  [ -n "$(namespaces)" ] || [ -n "$(testbed_links)" ] || [ -e "$RUNDIR" ] || [ -e "$STATE/$MARKER" ]
}

# remove_state removes dir $1 if it is a testbed's state dir.
remove_state() {
  if [ -e "$1/$MARKER" ]; then
    rm -rf "$1"
  elif [ -d "$1" ] && [ -n "$(ls -A "$1")" ]; then
    log "left $1 alone: it has files but is not a testbed state dir"
  fi
}

cmd_down() {
  local ns link name value active
  active=$(up_state)
  # shellcheck disable=SC2046 # namespace names have no spaces
  kill_ns $(namespaces)
  # Deleting the root side of a veth pair deletes both ends, at once; a
  # namespace's own links go only when the kernel frees the namespace.
  for link in $(testbed_links); do ip link del "$link" 2>/dev/null || true; done
  for ns in $(namespaces); do ip netns del "$ns"; done
  if [ -f "$RUNDIR/sysctl.saved" ]; then
    while read -r name value; do
      if [ -w "/proc/sys/net/bridge/$name" ]; then echo "$value" >"/proc/sys/net/bridge/$name"; fi
    done <"$RUNDIR/sysctl.saved"
  fi
  remove_state "$active"
  if [ "$STATE" != "$active" ]; then remove_state "$STATE"; fi
  rm -rf "$RUNDIR"
}

# disable_bridge_netfilter makes the kernel forward bridged frames without
# passing them through iptables, saving the old values for `down` to restore.
disable_bridge_netfilter() {
  local name f changed=()
  for name in "${BRNF_SYSCTLS[@]}"; do
    f=/proc/sys/net/bridge/$name
    [ -e "$f" ] || continue # br_netfilter not loaded: nothing filters bridged frames
    echo "$name $(cat "$f")" >>"$RUNDIR/sysctl.saved"
    if [ "$(cat "$f")" != 0 ]; then
      echo 0 >"$f"
      changed+=("net.bridge.$name")
    fi
  done
  if [ ${#changed[@]} -gt 0 ]; then
    log "br_netfilter filtered bridged traffic; set ${changed[*]} to 0 until down"
  fi
}

# start_host creates namespace rbtb-h$1 on the bridge and starts its sshd.
start_host() {
  local i=$1 ns=rbtb-h$1 addr=$SUBNET.$1 dir=$STATE/h$1
  mkdir -p "$dir/work"
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  # The peer is created straight inside the namespace, so its name cannot
  # clash with the root namespace's own eth0.
  ip link add "rbtb-v$i" type veth peer name eth0 netns "$ns"
  ip link set "rbtb-v$i" master "$BRIDGE" up
  ip -n "$ns" addr add "$addr/24" dev eth0
  ip -n "$ns" link set eth0 up

  ssh-keygen -q -t ed25519 -N '' -C "$ns" -f "$dir/ssh_host_ed25519_key"
  cat >"$dir/sshd_config" <<EOF
# sshd of testbed host $ns (written by scripts/testbed.sh)
ListenAddress $addr
Port 22
HostKey $dir/ssh_host_ed25519_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $STATE/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
UseDNS no
PrintMotd no
PrintLastLog no
# The state dir may sit under a world-writable dir such as /tmp; its files are
# root's alone either way.
StrictModes no
# An orchestrator opens many sessions at once: processes, uploads, polls.
MaxSessions 64
MaxStartups 100:30:200
Subsystem sftp /usr/lib/openssh/sftp-server
EOF
  # Its own UTS namespace gives the host its own hostname, and its own mount
  # namespace its own (empty) home directory for root: sessions must not run
  # this machine's shell start-up files, which all hosts would share (one
  # host killed mid-way through, say, a tool's rehash could leave a lock that
  # stalls every other host's sessions). sshd daemonizes, and every session
  # it forks inherits the namespaces.
  local home
  home=$(getent passwd root | cut -d: -f6)
  mkdir -p "$dir/home"
  case "$STATE/" in
    "${home%/}/"*) log "state dir $STATE is under $home: hosts keep this machine's home for root"; home= ;;
  esac
  # shellcheck disable=SC2016 # expanded by the inner sh, from its arguments
  ip netns exec "$ns" unshare --uts --mount sh -c \
    'hostname "$1" && { [ -z "$6" ] || mount --bind "$5" "$6"; } && exec "$2" -f "$3" -E "$4"' \
    sh "$ns" "$SSHD" "$dir/sshd_config" "$dir/sshd.log" "$dir/home" "$home" \
    || die "sshd of $ns did not start; see $dir/sshd.log"
  echo "$addr $(cut -d' ' -f1,2 "$dir/ssh_host_ed25519_key.pub")" >>"$STATE/known_hosts"
}

# testbed_ssh runs ssh with the testbed's key and host keys only, whatever the
# user's ~/.ssh holds.
testbed_ssh() {
  ssh -F /dev/null -i "$STATE/id_ed25519" -o IdentitiesOnly=yes -o BatchMode=yes \
    -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$STATE/known_hosts" \
    -o GlobalKnownHostsFile=/dev/null -o ConnectTimeout=2 "$@"
}

# wait_host polls host $1 until its sshd accepts the client key (10 s at most).
wait_host() {
  local deadline=$((SECONDS + 10))
  until testbed_ssh "root@$SUBNET.$1" true 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

# wait_ssh waits for every host, eight at a time: an SSH handshake costs a
# good part of a second on a small machine, too much for fifty in a row, and
# fifty at once would starve each other past their deadline.
wait_ssh() {
  local n=$1 first i pids=() down=()
  for ((first = 1; first <= n; first += 8)); do
    for ((i = first; i < first + 8 && i <= n; i++)); do
      wait_host "$i" &
      pids[i]=$!
    done
    for ((i = first; i < first + 8 && i <= n; i++)); do
      wait "${pids[i]}" || down+=("rbtb-h$i")
    done
  done
  [ ${#down[@]} -eq 0 ] \
    || die "sshd does not accept connections on ${down[*]}; see $STATE/hI/sshd.log"
}

zone() { if (($1 % 2)); then echo zone-a; else echo zone-b; fi; }

# ini_host prints host $1's line of the Ansible inventory.
ini_host() {
  echo "h$1 ansible_host=$SUBNET.$1 replbench_labels=$(zone "$1") replbench_dir=$STATE/h$1/work"
}

# write_hosts_files writes the same N hosts as a replbench hosts file and as an
# Ansible inventory; paths are absolute except those next to hosts.yaml.
write_hosts_files() {
  local n=$1 i role
  {
    echo "# replbench testbed: $n hosts in network namespaces (scripts/testbed.sh up $n)"
    echo "known_hosts: known_hosts"
    echo "defaults:"
    echo "  user: root"
    echo "  port: 22"
    echo "  identity_file: id_ed25519"
    echo "hosts:"
    for ((i = 1; i <= n; i++)); do
      role=replica
      if [ "$i" -eq "$n" ]; then role=client; fi
      echo "  - name: h$i"
      echo "    address: $SUBNET.$i"
      echo "    role: $role"
      echo "    labels: [$(zone "$i")]"
      echo "    dir: $STATE/h$i/work"
    done
  } >"$STATE/hosts.yaml"
  {
    echo "# replbench testbed: $n hosts in network namespaces (scripts/testbed.sh up $n)"
    echo "# Host keys are in $STATE/known_hosts."
    echo "[all:vars]"
    echo "ansible_user=root"
    echo "ansible_port=22"
    echo "ansible_ssh_private_key_file=$STATE/id_ed25519"
    echo "ansible_ssh_common_args='-o UserKnownHostsFile=$STATE/known_hosts'"
    echo
    echo "[replicas]"
    for ((i = 1; i < n; i++)); do ini_host "$i"; done
    echo
    echo "[clients]"
    ini_host "$n"
  } >"$STATE/inventory.ini"
}

cmd_up() {
  local n=${1:-}
  if ! [[ $n =~ ^[0-9]{1,3}$ ]] || ((10#$n < 2 || 10#$n > MAX_HOSTS)); then
    die "up needs a number of hosts from 2 to $MAX_HOSTS, not '$n'"
  fi
  n=$((10#$n))
  require_root
  ensure_tools
  require_netns
  if testbed_exists; then
    log "tearing down the testbed already up"
    cmd_down
  fi
  if [ -d "$STATE" ] && [ -n "$(ls -A "$STATE")" ]; then
    die "$STATE has files but is not a testbed state dir; remove it or set REPLBENCH_TESTBED_DIR"
  fi
  trap 'log "up failed; the half-built testbed is left for inspection and \"$0 down\" removes it"' EXIT

  mkdir -p "$STATE" "$RUNDIR"
  touch "$STATE/$MARKER"
  echo "$STATE" >"$RUNDIR/state_dir"
  install -d -m 0755 /run/sshd # sshd's privilege-separation dir
  ssh-keygen -q -t ed25519 -N '' -C replbench-testbed -f "$STATE/id_ed25519"
  chmod 0600 "$STATE/id_ed25519"
  install -m 0600 "$STATE/id_ed25519.pub" "$STATE/authorized_keys"
  : >"$STATE/known_hosts"

  log "bridge $BRIDGE at $SUBNET.254/24"
  disable_bridge_netfilter
  ip link add "$BRIDGE" type bridge forward_delay 0
  ip addr add "$SUBNET.254/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up

  log "starting $n hosts rbtb-h1..rbtb-h$n"
  local i
  for ((i = 1; i <= n; i++)); do start_host "$i"; done
  write_hosts_files "$n"
  wait_ssh "$n"
  trap - EXIT
  log "up: $n hosts, each reachable as root@$SUBNET.I with $STATE/id_ed25519"
  echo "$STATE/hosts.yaml"
}

cmd_status() {
  local ns i pid state dir up=''
  dir=$(up_state)
  for ns in $(namespaces); do
    up=1
    i=${ns#rbtb-h}
    state="sshd not running"
    pid=$(cat "$dir/h$i/sshd.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && grep -qx "$pid" <<<"$(ip netns pids "$ns")"; then
      state="sshd pid $pid"
    fi
    printf '%-9s %-12s %s\n' "$ns" "$SUBNET.$i" "$state"
  done
  [ -n "$up" ] || { echo "testbed: down"; return 1; }
  echo "hosts file: $dir/hosts.yaml"
}

cmd_kill_sshd() {
  local i=${1:-}
  [[ $i =~ ^[0-9]{1,3}$ ]] || die "kill-sshd needs a host number, not '$i'"
  i=$((10#$i))
  grep -qx "rbtb-h$i" <<<"$(namespaces)" || die "no testbed host rbtb-h$i"
  kill_ns "rbtb-h$i"
  rm -f "$(up_state)/h$i/sshd.pid"
  log "killed every process on rbtb-h$i"
}

# args checks that a command got $2 arguments ($1 is how many it got); $3 is
# its synopsis.
args() {
  [ "$1" -eq "$2" ] || die "usage: $(basename "$0") $3"
}

main() {
  local cmd=${1:-help}
  if [ $# -gt 0 ]; then shift; fi
  case $cmd in
  up) args $# 1 "up N" && cmd_up "$1" ;;
  down) args $# 0 down && require_root && cmd_down ;;
  status) args $# 0 status && require_root && cmd_status ;;
  kill-sshd) args $# 1 "kill-sshd I" && require_root && cmd_kill_sshd "$1" ;;
  help | -h | --help) usage ;;
  *) die "unknown command '$cmd'; see '$(basename "$0") help'" ;;
  esac
}

main "$@"
