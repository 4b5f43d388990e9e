# Short names for the common commands. Nothing here is needed: each recipe is one cargo line.

# Run the default scenario for one seed (a random one unless given).
run scenario="default" *args="":
    cargo run --release -- run {{scenario}} {{args}}

# The test suite (what CI runs).
test:
    cargo test --workspace

# List the scenario gallery.
scenarios:
    cargo run --release -- scenarios

# Sweep seeds of a scenario on all cores, e.g. `just sweep acks-all-leader-crash 1000`;
# running it again continues where it stopped.
sweep scenario="acks-all-leader-crash" seeds="1000":
    cargo run --release -- sweep {{scenario}} --seeds {{seeds}} --resume

# The coverage sweep CI runs: 1,000 swarm seeds of `default` must have no finding and reach
# every coverage mark `[expect.swarm] sweep_marks` names (the table shows seeds per mark).
coverage seeds="1000":
    rm -f reports/sweeps/coverage-{{seeds}}.jsonl
    cargo run --release -- sweep default --set faults.random.swarm=true --seeds {{seeds}} --out reports/sweeps/coverage-{{seeds}}.jsonl

# Mutation testing of model/ with cargo-mutants (`cargo install cargo-mutants`; settings in
# .cargo/mutants.toml, results in reports/mutants/, figures in MUTANTS.md): every mutant against
# model/'s own tests, then the survivors against the simulator's gate (planted flaws, stories,
# a short swarm sweep) in the optimized test profile. Pass 1 exits 2 when a mutant survives
# (the leading `-` lets pass 2 go on).
mutants:
    -cargo mutants --no-shuffle -j 2 -o reports/mutants
    cargo mutants --no-config --iterate -f 'model/src/**/*.rs' -E '::describe -> ' -E 'impl Display' -E '::check_invariants' --test-workspace=true --profile fast --no-shuffle -j 2 -o reports/mutants -- --test gate --test trust --test expect --test stories --test producer --test consumer

# Mutation testing of the simulated disk (sim/src/cluster/disk.rs): every mutant against the disk's
# unit tests (the page cache, flushes, truncation, power loss, recovery) and the planted-flaw
# tests of sim/tests/trust.rs, in the dev profile. Results in reports/mutants-disk/.
mutants-disk:
    cargo mutants --no-config -f sim/src/cluster/disk.rs --test-package ksim --no-shuffle -j 2 -o reports/mutants-disk -- --lib --test trust

# Mutation testing of the checkers (sim/src/check/, sim/src/observer/) against the
# library's tests, chiefly the verdict table (sim/src/verdict_table.rs): built with the library
# alone, about 6 s a mutant, 499 mutants in about an hour. In place (the tree is mutated and
# restored: do not edit it meanwhile). Extra arguments go to cargo mutants, e.g. `--iterate`.
mutants-checkers *args="":
    cargo mutants --no-config --in-place -f 'sim/src/check/*.rs' -f 'sim/src/observer/*.rs' --test-package ksim --test-tool nextest --cargo-arg=--lib --timeout 90 --build-timeout 180 --no-shuffle -o reports/mutants-checkers {{args}}

# The trace hashes a refactor must keep: seeds 1..3 of every gallery and found scenario and
# 200 `default` swarm seeds, one `scenario seed hash` line each, into FILE. Record before a
# change, again after, and diff the two files.
trace-hashes file="target/trace-hashes.txt" bin="target/release/ksim":
    #!/usr/bin/env bash
    set -euo pipefail
    [ "{{bin}}" != target/release/ksim ] || cargo build --release -q
    dir=$(mktemp -d)
    run() { "{{bin}}" sweep "$@" --jobs 2 --determinism-sample 0 --out "$dir/out.jsonl" >/dev/null || [ $? -ne 2 ]; }
    hashes() { sed -E 's/.*"seed":([0-9]+),"scenario":"([^"]*)".*"trace_hash":"([0-9a-f]*)".*/\2 \1 \3/' "$dir/out.jsonl" | sort -k2n; rm "$dir/out.jsonl"; }
    : > "{{file}}"
    for s in scenarios/*.toml scenarios/found/*.toml; do run "$s" --seeds 3; hashes >> "{{file}}"; done
    run default --set faults.random.swarm=true --seeds 200
    hashes | sed 's/^default /default-swarm /' >> "{{file}}"
    rm -r "$dir"
    echo "$(wc -l < "{{file}}") trace hashes in {{file}}"

# ksim against madsim's floor: messages/s, seeds/s, simulated/wall time, memory, scaling.
bench *args="":
    cargo run --release -- bench {{args}}

# How fast the random swarm finds each historical switch: 5 campaigns per switch (BENCHMARKS.md).
bench-search *args="":
    cargo run --release -- bench --search --campaigns 5 --budget 60 --jobs 2 {{args}}

# Run one seed twice and compare the trace hashes.
determinism scenario="default" seed="1":
    cargo run --release -- run {{scenario}} --seed {{seed}} --check-determinism

# The curated replication tradeoff report in reports/tradeoffs/ (README.md, index.html,
# cells.json): acks x min.insync.replicas x unclean election x flush, 200 seeds each of the
# default scenario. sim/tests/tradeoffs.rs checks that the code still gives its numbers.
tradeoffs:
    cargo run --release -- tradeoffs default --seeds 200 --out reports/tradeoffs

# The coordinator comparison in reports/coordinator/: KRaft and ZooKeeper mode at 1, 100 and
# 1,000 partitions, 20 seeds each of coordinator-failover (about 6 minutes on two cores).
coordinator:
    cargo run --release -- tradeoffs --coordinator --seeds 20 --out reports/coordinator

# Regenerate story 3's run report (a failing run) and screenshot its page with headless
# Chromium, to look at the timeline, the faults and the violation marks: reports/report-check.png.
report-check:
    cargo run --release -- run kip-101-truncate-to-hw --seed 3 || test $? -eq 1
    chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking --disable-component-update --disable-sync --user-data-dir="$(mktemp -d)" --window-size=1400,2000 --screenshot="$PWD/reports/report-check.png" "file://$PWD/reports/kip-101-truncate-to-hw/3/index.html"

# Sweeps on a real Slurm (installed from the distribution's packages when missing, which
# needs root): a one-node cluster, the shipped sbatch script as an array of 4 shards over
# 2,000 seeds, merged and compared seed for seed with a local sweep. .ci/run runs it too.
slurm-test:
    deploy/slurm/test.sh
