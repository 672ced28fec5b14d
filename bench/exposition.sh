#!/usr/bin/env bash
# Exposition (issue #9, part 4): starts Debian's prometheus-pushgateway (client_golang) on a loopback port, without
# persistence, for at most 15 minutes, and runs `spyglass-bench exposition` against it.
# usage: bench/exposition.sh [scrapes]          BENCH=.build/release/spyglass-bench
set -euo pipefail
cd "$(dirname "$0")/.."
SCRAPES=${1:-20}
BENCH=${BENCH:-.build/release/spyglass-bench}
command -v prometheus-pushgateway >/dev/null || { echo "bench/exposition.sh: needs prometheus-pushgateway (apt-get install prometheus-pushgateway)"; exit 1; }
[ -x "$BENCH" ] || { echo "bench/exposition.sh: no $BENCH (swift build -c release --product spyglass-bench)"; exit 1; }
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
timeout 900 prometheus-pushgateway --web.listen-address="127.0.0.1:$PORT" --log.level=warn >/tmp/spyb-pushgateway-$PORT.log 2>&1 &
PGW=$!
trap 'kill $PGW 2>/dev/null || true; wait $PGW 2>/dev/null || true; rm -f /tmp/spyb-pushgateway-$PORT.log' EXIT
for _ in $(seq 1 50); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/-/ready" && break; sleep 0.1; done
echo "client_golang server: $(prometheus-pushgateway --version 2>&1 | head -1)"
"$BENCH" exposition --pushgateway "http://127.0.0.1:$PORT" --scrapes "$SCRAPES"
