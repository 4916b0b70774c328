#!/usr/bin/env bash
# A real single-node SLURM cluster on this machine, for as long as one command runs:
#
#   bash .ci/slurm_cluster.sh -- python -m pytest -q tests/test_slurm_cluster.py
#
# Installs Debian's slurmctld, slurmd, slurm-client and munge (if missing), writes a private
# slurm.conf + gres.conf (one node "localhost" with this machine's CPUs, most of its memory and
# one fake GPU; partitions "cpu" (default) and "gpu", as profiles/slurm expects), starts its own
# munged, slurmctld and slurmd listening on loopback only, waits until the node is idle, runs the
# command with SLURM_CONF exported, then stops exactly the daemons it started (by their PIDs) and
# removes its state. Exit status: the command's (or 1 if the cluster did not come up).
# Needs root (apt, daemons). Job status without slurmdbd: squeue (MinJobAge below).
set -euo pipefail

[[ ${1:-} == -- ]] && shift
if [[ $# -eq 0 ]]; then
    echo "usage: $0 -- <command> [args...]" >&2
    exit 2
fi
if [[ $EUID -ne 0 ]]; then
    echo "slurm_cluster.sh: needs root (installs packages, runs slurmctld/slurmd)" >&2
    exit 2
fi

log() { echo "[slurm_cluster] $*" >&2; }
T0=$SECONDS

# --- packages (idempotent; no daemon is started by the packages themselves)
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sinfo >/dev/null \
    || ! command -v munged >/dev/null; then
    log "installing slurmctld slurmd slurm-client munge"
    no_start=0
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then # keep the packages' init scripts from starting daemons
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        no_start=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
    [[ $no_start -eq 1 ]] && rm -f /usr/sbin/policy-rc.d
fi

# --- loopback only: the names the daemons use must resolve to 127.x
for name in localhost "$(hostname)"; do
    addr=$(getent ahostsv4 "$name" | awk 'NR == 1 {print $1}')
    if [[ $addr != 127.* ]]; then
        log "'$name' resolves to '${addr:-nothing}', not a loopback address: refusing to start (add it to /etc/hosts)"
        exit 1
    fi
done

# --- private state
STATE=$(mktemp -d /tmp/slurm_cluster.XXXXXX)
chmod 711 "$STATE" # munged wants its socket directory traversable
mkdir -p "$STATE/ctld" "$STATE/spool" "$STATE/munge"
CONF=$STATE/slurm.conf
PIDS=() # daemons we started, in start order
NAMES=()
RC=1

dump_logs() {
    local name f
    for name in slurmctld slurmd munged; do
        f=$STATE/$name.log
        [[ -s $f ]] || f=$STATE/$name.out # failed before opening its log file (or munged)
        echo "----- $(basename "$f") (last 80 lines)" >&2
        tail -n 80 "$f" >&2
    done
}

cleanup() {
    local status=$?
    [[ $RC -eq 0 && $status -ne 0 ]] && RC=$status
    set +e
    if [[ ${#PIDS[@]} -gt 0 ]] && [[ -n ${SLURMCTLD_PID:-} ]] && kill -0 "$SLURMCTLD_PID" 2>/dev/null; then
        # jobs still queued or running (a command that timed out): cancel them on this cluster only
        if [[ -n $(SLURM_CONF=$CONF squeue -h -t PD,R,CG,S 2>/dev/null) ]]; then
            log "cancelling jobs left on the cluster"
            SLURM_CONF=$CONF scancel --user="$(id -un)" 2>/dev/null
            for _ in $(seq 30); do
                [[ -z $(SLURM_CONF=$CONF squeue -h -t PD,R,CG,S 2>/dev/null) ]] && break
                sleep 1
            done
        fi
    fi
    [[ $RC -ne 0 ]] && dump_logs
    local i pid
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do # slurmd, slurmctld, munged
        pid=${PIDS[i]}
        kill -0 "$pid" 2>/dev/null || continue
        kill -TERM "$pid" 2>/dev/null
        for _ in $(seq 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "${NAMES[i]} (pid $pid) ignored SIGTERM for 10 s: SIGKILL"
            kill -KILL "$pid" 2>/dev/null
        fi
        wait "$pid" 2>/dev/null
        log "stopped ${NAMES[i]} (pid $pid)"
    done
    rm -rf "$STATE"
    exit "$RC"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start() { # name, command...: start a foreground daemon in the background, record its PID
    local name=$1
    shift
    "$@" >"$STATE/$name.out" 2>&1 &
    PIDS+=("$!")
    NAMES+=("$name")
    log "started $name (pid $!)"
}

# --- munge: a private key and socket (a system munged, if any, is left alone)
dd if=/dev/urandom of="$STATE/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$STATE/munge/munge.key"
SOCK=$STATE/munge/munge.socket
start munged munged --foreground --force --socket="$SOCK" --key-file="$STATE/munge/munge.key" \
    --pid-file="$STATE/munge/munged.pid" --log-file="$STATE/munged.log" \
    --seed-file="$STATE/munge/munged.seed"
for _ in $(seq 50); do [[ -S $SOCK ]] && break; sleep 0.1; done
[[ -S $SOCK ]] || { log "munged did not create its socket"; exit 1; }

# --- two free loopback ports for slurmctld and slurmd
read -r CTLD_PORT SLURMD_PORT < <(python3 - <<'EOF'
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
EOF
)

# --- configuration: this machine's CPUs, 80 % of its memory, one fake GPU
CPUS=$(nproc)
MEM_MB=$(awk '/MemTotal/ {printf "%d", $2 / 1024 * 0.8}' /proc/meminfo)
cat >"$CONF" <<EOF
# single-node test cluster written by .ci/slurm_cluster.sh
ClusterName=ppferci
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCK
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# no systemd, no cgroups
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
MpiDefault=none
MailProg=/bin/true
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
GresTypes=gpu
ReturnToService=2
KillWait=5
# no slurmdbd: job status comes from squeue, which needs finished jobs kept this long (seconds);
# more than the executor plugin's 3 x initial status wait and its longest poll interval (180 s)
MinJobAge=3600
NodeName=localhost NodeHostname=localhost NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB Gres=gpu:1 State=UNKNOWN
PartitionName=cpu Nodes=localhost Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=localhost MaxTime=INFINITE State=UP
EOF
# a GPU without a device file drains the node; /dev/null stands in for one
echo "NodeName=localhost Name=gpu File=/dev/null" >"$STATE/gres.conf"
export SLURM_CONF=$CONF
# Client commands find this private configuration through SLURM_CONF. Inside each job, the executor
# plugin's job step (snakemake-executor-plugin-slurm-jobstep 0.6.x) removes SLURM_* variables,
# SLURM_CONF included, from the environment of the srun it starts; on a usual cluster that srun
# then reads /etc/slurm/slurm.conf, here it gets this cluster's file from a wrapper first on PATH.
mkdir "$STATE/bin"
cat >"$STATE/bin/srun" <<EOF
#!/bin/sh
export SLURM_CONF="\${SLURM_CONF:-$CONF}"
exec $(command -v srun) "\$@"
EOF
chmod 755 "$STATE/bin/srun"
export PATH=$STATE/bin:$PATH

start slurmctld slurmctld -D -i -f "$CONF"
start slurmd slurmd -D -N localhost -f "$CONF"

# --- wait (bounded) for the node to be idle
state=""
resumed=0
for _ in $(seq 60); do
    state=$(sinfo -h -N -n localhost -o '%t' 2>/dev/null | head -n 1 || true)
    [[ $state == idle ]] && break
    if [[ $state == drain* || $state == drng ]] && [[ $resumed -eq 0 ]]; then
        log "node is $state ($(sinfo -h -N -n localhost -o '%E' | head -n 1)); resuming it"
        scontrol update nodename=localhost state=resume || true
        resumed=1
    fi
    for i in "${!PIDS[@]}"; do
        kill -0 "${PIDS[i]}" 2>/dev/null || { log "${NAMES[i]} exited during start-up"; exit 1; }
    done
    sleep 1
done
if [[ $state != idle ]]; then
    log "node not idle after 60 s (state: '${state:-none}')"
    exit 1
fi
log "cluster up in $((SECONDS - T0)) s: $(sinfo -h -o '%P %D %c %m %G %t' | tr '\n' ';')"

# --- the command
set +e
T1=$SECONDS
"$@"
RC=$?
set -e
log "command exited with $RC after $((SECONDS - T1)) s"
exit "$RC"
