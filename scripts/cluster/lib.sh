# shellcheck shell=bash
# What scripts/cluster-check.sh and scripts/cluster/rebuild-figures.sh share, sourced after they set
# CONVOSTORE, OUT (made, absolute) and NAME (their name: log prefix, work directory): a work directory
# killed and removed on exit (KEEP=1 keeps it), timing helpers, and three JetStream servers on free
# loopback ports with the cluster created on them.

NATS_SERVER=$(command -v nats-server || echo /usr/sbin/nats-server)
[ -x "$NATS_SERVER" ] || { echo "error: nats-server is not installed (make cluster-check installs it)" >&2; exit 2; }
WORK=$(mktemp -d "/tmp/convostore-$NAME-XXXXXX")
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "${KEEP:-0}" = 1 ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 2))" "$1" "$2"; }
say() { echo "[$NAME $(date +%H:%M:%S)] $*"; }

# start_cluster PARTITIONS LEASE_SECONDS: three JetStream servers clustered on free loopback ports (client
# and route ports), their client URLs in URLS, then `convostore cluster create` once JetStream has
# elected its leader.
start_cluster() {
  local ports routes="" i attempt
  read -r -a ports <<<"$(python3 scripts/cluster/free_ports.py 6)"
  for i in 0 1 2; do routes+="\"nats-route://127.0.0.1:${ports[$((i + 3))]}\","; done
  for i in 0 1 2; do
    cat >"$WORK/nats$i.conf" <<EOF
server_name: n$i
listen: 127.0.0.1:${ports[$i]}
jetstream { store_dir: "$WORK/js$i" }
cluster { name: convo-$NAME, listen: 127.0.0.1:${ports[$((i + 3))]}, routes: [${routes%,}] }
EOF
    "$NATS_SERVER" -c "$WORK/nats$i.conf" >"$OUT/logs/nats$i.log" 2>&1 &
    PIDS+=($!)
  done
  URLS="nats://127.0.0.1:${ports[0]},nats://127.0.0.1:${ports[1]},nats://127.0.0.1:${ports[2]}"
  for attempt in $(seq 1 60); do
    if "$CONVOSTORE" cluster create --nats "$URLS" --partitions "$1" --lease-seconds "$2" >"$OUT/logs/create.log" 2>&1; then break; fi
    [ "$attempt" = 60 ] && { cat "$OUT/logs/create.log" >&2; echo "error: JetStream never came up" >&2; exit 1; }
    sleep 1
  done
  say "nats-server x3 on $URLS; $(cat "$OUT/logs/create.log")"
}
