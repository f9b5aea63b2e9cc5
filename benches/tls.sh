#!/usr/bin/env bash
# TLS beside plaintext, in one sitting: each scenario run against a fresh server, `echoctl serve
# -q` over TCP and over TLS and the book's reverb2 with Go's crypto/tls (benches/go/reverb.go
# -tls, built with the machine's `go`), in turn, the first one changing from run to run; driven
# by `echoctl bench --json` (with --tls --insecure for the TLS servers: the servers' costs are
# measured, and both make the same certificate); each server's peak RSS (VmHWM) and CPU time
# read from /proc. Prints one line per run and the medians. Linux only; release build.
#
#   benches/tls.sh [RUNS]        # default 3
#
# Scenarios: idle1k and idle10k (connections held open, no shout), handshakes (5,000 connects
# as fast as the bench makes them, 256 at once; the server on CPU 0 and the bench on CPU 1, so
# server CPU per handshake is one core's), steady (10,000 connections, a shout a second each,
# delay 1 s, connects over 5 s: the reverb harness's steady load), and floor (the steady load
# against echoctl over TCP with --delay 0: what machine and bench resolve).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
bin=${ECHOCTL:-target/release/echoctl}
[[ -x $bin ]] || { echo "build first: cargo build --release" >&2; exit 1; }
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
(cd "$scratch" && go build -o reverb-go "$OLDPWD/benches/go/reverb.go")
go_bin=$scratch/reverb-go

declare -A bench_args=(
    [idle1k]="-c 1000 -n 0 --duration 10s --ramp-up 5s"
    [idle10k]="-c 10000 -n 0 --duration 10s --ramp-up 5s"
    [handshakes]="-c 5000 -n 0 --duration 3s --ramp-up 0s"
    [steady]="-c 10000 -n 10 -i 1s -d 1s --ramp-up 5s"
    [floor]="-c 10000 -n 10 -i 1s -d 0 --ramp-up 5s"
)
declare -A serve_args=(
    [idle1k]="" [idle10k]="" [handshakes]="" [steady]="--delay 1s" [floor]="--delay 0"
)

# One run of `scenario` against `server` (echoctl-tcp, echoctl-tls or go-tls): prints "scenario
# server peak_rss_kb server_cpu_s p99_upper p99_original p99_lower hs_p50 hs_p99 hs_max made
# missing".
run() {
    local scenario=$1 server=$2
    local dir=$scratch/$scenario-$server-$RANDOM
    mkdir -p "$dir"
    local tls_bench=() pin_server=() pin_bench=()
    [[ $server == *-tls ]] && tls_bench=(--tls --insecure)
    if [[ $scenario == handshakes ]]; then
        pin_server=(taskset -c 0)
        pin_bench=(taskset -c 1)
    fi
    local port
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    local pid
    case $server in
        echoctl-tcp | echoctl-tls)
            local tls_serve=()
            [[ $server == echoctl-tls ]] && tls_serve=(--tls)
            # shellcheck disable=SC2086
            "${pin_server[@]}" "$bin" serve -q --listen "127.0.0.1:$port" ${serve_args[$scenario]} \
                "${tls_serve[@]}" 2> "$dir/serve.log" &
            pid=$!
            until grep -qs listening "$dir/serve.log"; do sleep 0.05; done
            ;;
        go-tls)
            # shellcheck disable=SC2086
            "${pin_server[@]}" "$go_bin" -listen "127.0.0.1:$port" -tls \
                $(echo ${serve_args[$scenario]} | sed 's/--delay/-delay/') 2> "$dir/serve.log" &
            pid=$!
            until python3 -c "import socket; socket.create_connection(('127.0.0.1', $port)).close()" 2> /dev/null; do
                sleep 0.05
            done
            ;;
    esac
    local addr=127.0.0.1:$port
    local ticks_before ticks_after
    ticks_before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    # shellcheck disable=SC2086
    "${pin_bench[@]}" "$bin" bench -q --json ${bench_args[$scenario]} "${tls_bench[@]}" "$addr" \
        > "$dir/report.json" 2> /dev/null || true
    ticks_after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    local hwm
    hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
    kill "$pid"
    wait "$pid" || true
    python3 - "$dir/report.json" "$scenario" "$server" "$hwm" \
        "$(( ticks_after - ticks_before ))" "$(getconf CLK_TCK)" <<'EOF'
import json, sys
report = json.load(open(sys.argv[1]))
scenario, server, hwm, ticks, hz = sys.argv[2:7]
lat = report["lateness"]
hs = report["handshake_time"]
print(scenario, server, hwm, "%.2f" % (int(ticks) / int(hz)),
      "%.2f" % lat["upper"]["p99_ms"], "%.2f" % lat["original"]["p99_ms"],
      "%.2f" % lat["lower"]["p99_ms"],
      "%.2f" % hs["p50_ms"], "%.2f" % hs["p99_ms"], "%.2f" % hs["max_ms"],
      report["connections"]["made"], report["echo_lines"]["missing"])
EOF
}

echo "# $(date -u +%FT%TZ) $(git rev-parse --short HEAD) runs=$runs load=$(cut -d' ' -f1-3 /proc/loadavg)"
echo "# scenario server peak_rss_kb server_cpu_s p99_upper p99_original p99_lower hs_p50 hs_p99 hs_max made missing"
results=$scratch/results
servers=(echoctl-tcp echoctl-tls go-tls)
for scenario in idle1k idle10k handshakes steady; do
    for ((i = 0; i < runs; i++)); do
        # Each run starts with another server, so all meet the same noise.
        for ((k = 0; k < ${#servers[@]}; k++)); do
            run "$scenario" "${servers[(i + k) % ${#servers[@]}]}" | tee -a "$results"
        done
    done
done
for ((i = 0; i < runs; i++)); do
    run floor echoctl-tcp | tee -a "$results"
done
echo "# medians"
python3 - "$results" <<'EOF'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    f = line.split()
    rows.setdefault((f[0], f[1]), []).append(f[2:])
for (scenario, server), runs in rows.items():
    cols = list(zip(*runs))
    med = [statistics.median(float(x) for x in c) for c in cols]
    # Handshakes per second of one server core: connections made per server CPU second.
    per_core = statistics.median(float(r[8]) / max(float(r[1]), 1e-9) for r in runs)
    print(scenario, server, " ".join("%g" % m for m in med), "per_core_conn_s=%.0f" % per_core)
EOF
