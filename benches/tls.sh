#!/usr/bin/env bash
# TLS beside plaintext, in one sitting: the TLS scenarios of the reverb harness
# (benches/reverb.rs, whose docs say what each measures) with their plaintext counterparts, and
# the book's reverb2 on Go's crypto/tls (benches/go/reverb.go -tls) in the same runs. Linux only.
#
#   benches/tls.sh [RUNS [HARNESS OPTIONS...]]    # default 3 runs; e.g. benches/tls.sh 3 --connections 1000
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
shift || true
exec cargo bench --bench reverb -- --go --runs "$runs" \
    --only idle,tls-idle,handshakes,tls-handshakes,steady,tls-steady,floor "$@"
