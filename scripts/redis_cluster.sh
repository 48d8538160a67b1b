#!/usr/bin/env bash
# A local Redis Cluster of 3 masters (no replicas) on loopback, for development and CI.
#
#   scripts/redis_cluster.sh start DIR [PORT]   # masters on PORT, PORT+1, PORT+2 (default 7101)
#   scripts/redis_cluster.sh stop DIR
#
# Then: REDIS_URL=redis://127.0.0.1:PORT/0 ARENA_REDIS_CLUSTER=true arena serve
# DIR holds the nodes' config, logs and pid files; `stop` shuts down the nodes started there.
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR [PORT]" >&2; exit 2; }
[ $# -ge 2 ] || usage
command=$1 dir=$2 base=${3:-7101}
ports=("$base" "$((base + 1))" "$((base + 2))")

start() {
  for tool in redis-server redis-cli; do
    command -v "$tool" >/dev/null || { echo "$tool is not installed (apt-get install redis-server)" >&2; exit 1; }
  done
  mkdir -p "$dir"
  for port in "${ports[@]}"; do
    if redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1; then
      echo "port $port is taken: pick another base port ($0 start $dir PORT)" >&2; exit 1
    fi
  done
  for port in "${ports[@]}"; do
    rm -f "$dir/nodes-$port.conf"
    redis-server --cluster-enabled yes --cluster-config-file "$dir/nodes-$port.conf" \
      --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
      --dir "$dir" --pidfile "$dir/redis-$port.pid" --logfile "$dir/redis-$port.log"
  done
  for port in "${ports[@]}"; do
    for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
    redis-cli -p "$port" ping >/dev/null || { echo "node $port did not start: $dir/redis-$port.log" >&2; exit 1; }
  done
  redis-cli --cluster create "${ports[@]/#/127.0.0.1:}" --cluster-replicas 0 --cluster-yes >"$dir/create.log"
  for _ in $(seq 100); do
    ok=0
    for port in "${ports[@]}"; do
      redis-cli -p "$port" cluster info | grep -q '^cluster_state:ok' && ok=$((ok + 1))
    done
    [ "$ok" -eq 3 ] && { echo "Redis Cluster up: 3 masters on 127.0.0.1:${ports[*]}"; return; }
    sleep 0.1
  done
  echo "the cluster did not reach cluster_state:ok; see $dir/create.log" >&2; exit 1
}

stop() {
  for pidfile in "$dir"/redis-*.pid; do
    [ -e "$pidfile" ] || continue
    port=${pidfile##*/redis-}; port=${port%.pid}
    redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || kill "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
  done
}

case $command in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac
