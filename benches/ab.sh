#!/usr/bin/env bash
# A/B of two echoctl server builds under the same bench binary: the idle and steady scenarios,
# alternating which goes first, printing peak RSS (kB), CPU ticks, context switches and p99s.
# The free port is picked, then released, before the server binds it: a rare race, on loopback.
# usage: benches/ab.sh OLD_ECHOCTL NEW_ECHOCTL BENCH_ECHOCTL [RUNS]   (Linux; loopback only)
set -u
old=$1 new=$2 bench=$3 runs=${4:-3}
port_of() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
one() { # label bin scenario
  local label=$1 bin=$2 sc=$3 port; port=$(port_of)
  "$bin" serve -q --listen 127.0.0.1:$port --mode concurrent --delay 1s 2>/dev/null & local pid=$!
  # Ready when the port answers (with -q there is no start-up log line to wait for).
  for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.05; done
  local args
  if [ "$sc" = steady ]; then args="-c 10000 -n 10 -i 1s -d 1s --ramp-up 5s"; else args="-c 10000 -n 0 --duration 4s --ramp-up 1s"; fi
  local json; json=$("$bench" bench 127.0.0.1:$port $args --json 2>/dev/null)
  local hwm; hwm=$(awk '/VmHWM/{print $2}' /proc/$pid/status)
  local ticks; ticks=$(awk '{print $14+$15}' /proc/$pid/stat)
  # Voluntary and involuntary switches of the threads still alive, summed.
  local cs; cs=$(awk '/voluntary_ctxt_switches/{s+=$2} END{print s}' /proc/$pid/task/*/status 2>/dev/null)
  kill -INT $pid; wait $pid 2>/dev/null
  local p99; p99=$(echo "$json" | python3 -c 'import sys,json
d=json.load(sys.stdin); l=d.get("lateness",{})
def g(k):
  v=l.get(k) or {}
  return v.get("p99_ms","-")
print(" ".join(str(g(k)) for k in ("upper","original","lower")), "missing", d.get("echo_lines",{}).get("missing","?"))' 2>/dev/null)
  echo "$sc $label rss_kb=$hwm cpu_ticks=$ticks ctxsw=$cs p99=$p99"
}
for r in $(seq $runs); do
  for sc in idle steady; do
    if [ $((r % 2)) = 1 ]; then one old "$old" $sc; one new "$new" $sc; else one new "$new" $sc; one old "$old" $sc; fi
  done
done
