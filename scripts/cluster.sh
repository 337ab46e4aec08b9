#!/usr/bin/env bash
# Starts three Octo nodes on loopback (http://127.0.0.1:8081, :8082, :8083)
# sharing the local PostgreSQL and NATS, as a cluster behind a load balancer
# would. Ctrl-C stops all three.
#
#   OCTO_CLUSTER_DATABASE  PostgreSQL URL (default postgres://postgres@127.0.0.1:5432/postgres)
#   OCTO_CLUSTER_SCHEMA    schema for Octo's tables (default octo_cluster)
#   OCTO_CLUSTER_BROKER    NATS URL (default nats://127.0.0.1:4222)
#   OCTO_CLUSTER_PORTS     the nodes' ports (default "8081 8082 8083")
#   OCTO_CLUSTER_PROFILE   cargo profile to build (default release; "dev" for debug)
set -euo pipefail
cd "$(dirname "$0")/.."

database="${OCTO_CLUSTER_DATABASE:-postgres://postgres@127.0.0.1:5432/postgres}"
schema="${OCTO_CLUSTER_SCHEMA:-octo_cluster}"
broker="${OCTO_CLUSTER_BROKER:-nats://127.0.0.1:4222}"
ports="${OCTO_CLUSTER_PORTS:-8081 8082 8083}"
profile="${OCTO_CLUSTER_PROFILE:-release}"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
if [ "$profile" = "dev" ]; then
  cargo build --locked -p octo
  bin="$CARGO_TARGET_DIR/debug/octo"
else
  cargo build --locked --profile "$profile" -p octo
  bin="$CARGO_TARGET_DIR/$profile/octo"
fi

data_root="$(mktemp -d -t octo-cluster.XXXXXX)"
pids=()
stop() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait || true
  rm -rf "$data_root"
}
trap stop EXIT INT TERM

n=0
for port in $ports; do
  n=$((n + 1))
  mkdir -p "$data_root/node$n"
  "$bin" serve --listen "127.0.0.1:$port" --data "$data_root/node$n" \
    --database "$database" --database-schema "$schema" --broker "$broker" &
  pids+=("$!")
done
echo "three nodes up; schema $schema on $database, fan-out over $broker (Ctrl-C stops)"
wait -n || true
echo "a node exited; stopping the others" >&2
