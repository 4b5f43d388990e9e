#!/usr/bin/env bash
# The shipped sbatch script on a real Slurm: install Slurm and MUNGE from the distribution's
# packages (when missing), start a one-node cluster in a scratch directory (munged,
# slurmctld and slurmd in the background, a generated slurm.conf), submit an array of 4
# shards over 2,000 seeds, wait, merge, and check the merged results equal a local sweep of
# the same seeds, seed for seed (verdict and trace hash). Run by .ci/run and `just slurm-test`.
set -euo pipefail
cd "$(dirname "$0")/../.."
SEEDS="${SEEDS:-2000}"
SHARDS="${SHARDS:-4}"

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  if [ "$(id -u)" != 0 ]; then
    echo "slurm-test: Slurm is not installed and this is not root: apt-get install slurm-wlm munge" >&2
    exit 2
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge >/dev/null
fi
cargo build --release -q
KSIM="$PWD/target/release/ksim"

T="$(mktemp -d /tmp/ksim-slurm.XXXXXX)"
pids=()
ok=0
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  # Kept for a look when the test failed.
  if [ "$ok" = 1 ]; then rm -rf "$T"; else echo "slurm-test: logs kept in $T" >&2; fi
}
trap cleanup EXIT
host="$(hostname -s)"
mkdir -p "$T/state" "$T/spool" "$T/results"

# MUNGE authenticates Slurm's daemons and clients to each other: a key of our own, a socket
# of our own, so nothing of the machine's is touched.
mungekey --create --keyfile "$T/munge.key" >/dev/null 2>&1 \
  || dd if=/dev/urandom of="$T/munge.key" bs=1024 count=1 status=none
chmod 400 "$T/munge.key"
munged --foreground --force --key-file="$T/munge.key" --socket="$T/munge.sock" \
  --pid-file="$T/munged.pid" --log-file="$T/munged.log" --seed-file="$T/munged.seed" \
  >>"$T/munged.out" 2>&1 &
pids+=($!)

cat > "$T/slurm.conf" <<CONF
ClusterName=ksim
SlurmctldHost=$host
SlurmUser=$(id -un)
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$T/munge.sock
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
SlurmctldPort=${SLURMCTLD_PORT:-16817}
SlurmdPort=${SLURMD_PORT:-16818}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
NodeName=$host CPUs=$(nproc) State=UNKNOWN
PartitionName=ksim Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$T/slurm.conf"
slurmctld -D -f "$SLURM_CONF" >>"$T/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -f "$SLURM_CONF" >>"$T/slurmd.out" 2>&1 &
pids+=($!)
for _ in $(seq 60); do
  state="$(sinfo -h -o %T 2>/dev/null || true)"
  [ "$state" = idle ] && break
  sleep 1
done
if [ "${state:-}" != idle ]; then
  echo "slurm-test: the node never came up (state '${state:-}'); logs in $T" >&2
  tail -5 "$T"/slurmctld.log "$T"/slurmd.log >&2 || true
  exit 1
fi

echo "slurm-test: sbatch --array=1-$SHARDS over $SEEDS seeds"
sbatch --wait --array="1-$SHARDS" --chdir="$T" --output="$T/task-%a.log" \
  --export="ALL,KSIM=$KSIM,SEEDS=$SEEDS,OUT=$T/results" deploy/slurm/sweep.sbatch >/dev/null
code=0
"$KSIM" merge "$T/results" --out "$T/merged.jsonl" | tee "$T/merged.txt" || code=$?
[ "$code" = 2 ] && { echo "slurm-test: merge refused the shards" >&2; exit 1; }

echo "slurm-test: the same seeds as one local sweep"
"$KSIM" sweep default --seeds "$SEEDS" --jobs "$(nproc)" --out "$T/local.jsonl" >/dev/null || true
key() { sed -E 's/^\{"seed":([0-9]+),.*"verdict":"([a-z]+)".*"trace_hash":"([0-9a-f]+)".*/\1 \2 \3/' "$1" | sort -n; }
if ! diff <(key "$T/merged.jsonl") <(key "$T/local.jsonl") >"$T/diff.txt"; then
  echo "slurm-test: the merged shards differ from the local sweep:" >&2
  head -20 "$T/diff.txt" >&2
  exit 1
fi
echo "slurm-test: $(key "$T/merged.jsonl" | wc -l) seeds, merged shards equal the local sweep seed for seed (verdict and trace hash)"
ok=1
