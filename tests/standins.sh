#!/usr/bin/env bash
# Sourced by tests/run and tests/figures: fetches (once, into a cache outside the checkout)
# and starts the AWS stand-ins on loopback -- Amazon's DynamoDB Local for the store, moto for
# SQS and Secrets Manager -- exports the AWS variables that point the SDK at them, and stops
# them when the calling script exits.

# shellcheck source=tests/tools.sh
source "$(dirname "${BASH_SOURCE[0]}")/tools.sh"
DYNAMODB_LOCAL_PACKAGE="amplify-dynamodb-simulator@2.9.30"   # ships DynamoDB Local 1.25.1

# -- fetch the stand-ins once -------------------------------------------------------------
if [ ! -f "$CACHE/dynamodb-local/DynamoDBLocal.jar" ]; then
  log "fetching DynamoDB Local ($DYNAMODB_LOCAL_PACKAGE) into $CACHE"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "$DYNAMODB_LOCAL_PACKAGE" >/dev/null && tar xzf ./*.tgz package/emulator)
  rm -rf "$CACHE/dynamodb-local"
  mv "$tmp/package/emulator" "$CACHE/dynamodb-local"
  rm -rf "$tmp"
fi

# -- start them ---------------------------------------------------------------------------
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
MOTO_PORT=$(free_port)
LOGS=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$LOGS"
}
trap cleanup EXIT

"$PY" -m moto.server -H 127.0.0.1 -p "$MOTO_PORT" >"$LOGS/moto.log" 2>&1 &
pids+=($!)

wait_for() { # port name
  for _ in $(seq 1 240); do
    if "$PY" -c "import socket,sys; socket.create_connection(('127.0.0.1', $1), 0.5)" 2>/dev/null; then return 0; fi
    sleep 0.25
  done
  echo "$2 did not start on port $1:" >&2; cat "$LOGS/$2.log" >&2; exit 1
}

start_dynamodb() {
  DDB_PORT=$(free_port)
  # Started from the log folder: DynamoDB Local writes its install id file where it runs.
  (cd "$LOGS" && exec java -Djava.library.path="$CACHE/dynamodb-local/DynamoDBLocal_lib" \
       -jar "$CACHE/dynamodb-local/DynamoDBLocal.jar" \
       -inMemory -port "$DDB_PORT" -disableTelemetry) >"$LOGS/dynamodb.log" 2>&1 &
  DDB_PID=$!
  pids+=("$DDB_PID")
  wait_for "$DDB_PORT" dynamodb
  export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$DDB_PORT"
  export AWS_ENDPOINT_URL_DYNAMODB_STREAMS="http://127.0.0.1:$DDB_PORT"
}

# A fresh, empty DynamoDB Local on a new port. One that has held a whole suite's tables and
# streams answers many times slower (a 100,000-entry import: 85 s fresh, over 10 minutes
# after the suite).
restart_dynamodb() {
  kill "$DDB_PID" 2>/dev/null || true
  wait "$DDB_PID" 2>/dev/null || true
  start_dynamodb
  log "DynamoDB Local restarted, empty, on :$DDB_PORT"
}

start_dynamodb
wait_for "$MOTO_PORT" moto
log "DynamoDB Local on :$DDB_PORT, moto (SQS, Secrets Manager) on :$MOTO_PORT"

export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
export AWS_ENDPOINT_URL_SQS="http://127.0.0.1:$MOTO_PORT"
export AWS_ENDPOINT_URL_SECRETS_MANAGER="http://127.0.0.1:$MOTO_PORT"
export WALLETPAY_REQUIRE_STANDINS=1
# The pinned Python, for the benchmark that compares itself with a pandas script.
export WALLETPAY_PYTHON="$PY"

