#!/usr/bin/env bash
# L7 cost (issue #9, part 7): wrk in namespace a against nginx in namespace b (port 80, a 6-byte answer), agent off
# vs on with httpV2 (aggregation medium, HTTP parsing of port 80), in alternated rounds; requests/s and p99 latency.
# usage (root): bench/l7.sh [rounds] [seconds-per-run] [connections]      BIN=path/to/spyglass (default .build/release)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
SECS=${2:-5}
CONNS=${3:-16}
[ "$(id -u)" = 0 ] || { echo "bench/l7.sh: run as root"; exit 1; }
for t in wrk nginx; do command -v $t >/dev/null || { echo "bench/l7.sh: needs $t (apt-get install wrk nginx-light)"; exit 1; }; done
source bench/lib.sh
[ -x "$BIN" ] || { echo "bench/l7.sh: no agent binary at $BIN"; exit 1; }
CONF=/tmp/$LAB_P-nginx
trap 'lab_cleanup; rm -rf $CONF' EXIT
lab_up
mkdir -p "$CONF"
cat >"$CONF/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
pid $CONF/nginx.pid;
error_log $CONF/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $CONF; proxy_temp_path $CONF; fastcgi_temp_path $CONF; uwsgi_temp_path $CONF; scgi_temp_path $CONF;
  server { listen $LAB_IP_B:80; location / { return 200 "hello\n"; } }
}
NGINX
ip netns exec "$LAB_B" timeout $((ROUNDS * SECS * 2 + 120)) nginx -c "$CONF/nginx.conf" &
sleep 0.5
ip netns exec "$LAB_A" curl -sf "http://$LAB_IP_B/" >/dev/null || { echo "nginx did not answer"; cat "$CONF/error.log"; exit 1; }

# one wrk run → "requests/s p99_ms"
run_wrk() {
  ip netns exec "$LAB_A" timeout $((SECS + 20)) wrk -t1 -c"$CONNS" -d"${SECS}s" --latency "http://$LAB_IP_B/" | python3 -c '
import re, sys
t = sys.stdin.read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
v, unit = re.search(r"\s99%\s+([\d.]+)(us|ms|s)\b", t).groups()
print("%.0f %.3f" % (rps, float(v) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]))'
}

declare -A RPS P99
HTTP_COUNTED=""
for r in $(seq 1 "$ROUNDS"); do
  for mode in off on; do
    [ $mode = on ] && agent_start --monitor-aggregation medium --drop-events false --hubble-metrics httpV2 --http-port 80
    read -r rps p99 <<<"$(run_wrk)"
    RPS[$mode]+="$rps "; P99[$mode]+="$p99 "
    if [ $mode = on ]; then
      http=$(metric hubble_http_requests_total)
      [ "$http" -gt 0 ] || { echo "agent on but no HTTP requests counted"; exit 1; }
      HTTP_COUNTED+="$http "
      agent_stop
    fi
  done
done
python3 - "${RPS[off]}" "${RPS[on]}" "${P99[off]}" "${P99[on]}" "$HTTP_COUNTED" "$ROUNDS" "$SECS" "$CONNS" <<'PY'
import sys
ro, rn, po, pn = ([float(x) for x in a.split()] for a in sys.argv[1:5])
counted, rounds, secs, conns = sys.argv[5].split(), sys.argv[6], sys.argv[7], sys.argv[8]
avg = lambda v: sum(v) / len(v)
print(f"L7 cost: wrk -t1 -c{conns} against nginx, {rounds} alternated rounds of {secs}s; agent with httpV2 (medium)")
print(f"  agent off: {avg(ro):.0f} req/s, p99 {avg(po):.3f} ms   (raw {' '.join('%.0f' % x for x in ro)} | {' '.join('%.3f' % x for x in po)})")
print(f"  agent on:  {avg(rn):.0f} req/s, p99 {avg(pn):.3f} ms   (raw {' '.join('%.0f' % x for x in rn)} | {' '.join('%.3f' % x for x in pn)}); hubble_http_requests_total per run: {' '.join(counted)}")
print(f"RESULT l7 rps_off={avg(ro):.0f} rps_on={avg(rn):.0f} rps_ratio={avg(rn)/avg(ro):.3f} p99_off_ms={avg(po):.3f} p99_on_ms={avg(pn):.3f} p99_delta_ms={avg(pn)-avg(po):+.3f}")
PY
