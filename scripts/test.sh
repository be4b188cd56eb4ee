#!/usr/bin/env bash
# The test command (make test): make sure the servers the tests talk to are up, start a
# MongoDB-wire server (embedded FerretDB on PostgreSQL) unless MONGO_URL already answers, then
# vet and test every module with the race detector. Extra arguments go to `go test`;
# GO_TEST_FLAGS replaces the default flags (make bench runs benchmarks without the race detector).
set -euo pipefail
cd "$(dirname "$0")/.."

MODULES=(pkg auth image catalog cart orders web .)
export TEST_REQUIRE_SERVERS=1
export GOFLAGS="${GOFLAGS:-} -buildvcs=false"

./scripts/ensure-servers.sh

mongowire_pid=""
cleanup() { [ -n "$mongowire_pid" ] && kill "$mongowire_pid" 2>/dev/null || true; }
trap cleanup EXIT

# start_mongowire starts the test's MongoDB-wire server on port $1 and succeeds once it answers;
# it fails, showing the server's log, when the server exits (the port is taken) or never answers.
start_mongowire() {
  ./bin/mongowire -addr "127.0.0.1:$1" -postgres "$pg" > .mongowire.log 2>&1 &
  mongowire_pid=$!
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    kill -0 "$mongowire_pid" 2>/dev/null || break
    sleep 0.2
  done
  kill "$mongowire_pid" 2>/dev/null || true
  mongowire_pid=""
  cat .mongowire.log >&2
  return 1
}

# The server's port is below the kernel's ephemeral range (usually 32768–60999), so an outgoing
# connection cannot be holding it; should it be taken all the same, the next ports are tried. A
# server already answering on the first port (a previous run's) is used as it is.
if [ -z "${MONGO_URL:-}" ]; then
  port=29018
  if ! (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
    pg="postgres://postgres@127.0.0.1:5432/ferretdb_test"
    psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='ferretdb_test'" | grep -q 1 \
      || createdb -h 127.0.0.1 -U postgres ferretdb_test
    mkdir -p bin
    go build -o bin/mongowire ./cmd/mongowire
    until start_mongowire "$port"; do
      port=$((port + 1))
      [ "$port" -le 29028 ] || { echo "no port for the MongoDB-wire server" >&2; exit 1; }
    done
  fi
  export MONGO_URL="mongodb://127.0.0.1:$port/"
fi
echo "MongoDB-wire server: $MONGO_URL"

# tidy_unchanged fails, showing the change, when go mod tidy changes the module in the current
# folder. (go mod tidy -diff is not used: it reports go.sum lines it would only reorder.)
tidy_unchanged() {
  local before
  before=$(cat go.mod go.sum 2>/dev/null | sha256sum)
  go mod tidy || return 1
  [ "$before" = "$(cat go.mod go.sum 2>/dev/null | sha256sum)" ] && return 0
  echo "go mod tidy changed $(pwd):" >&2
  git diff -- go.mod go.sum >&2
  return 1
}

# test_module checks that go mod tidy leaves the module in folder $1 as it is, vets it and
# tests it (further arguments go to go test).
test_module() {
  local m=$1
  shift
  # shellcheck disable=SC2086 # the flags are words
  (cd "$m" && tidy_unchanged && go vet ./... && go test ${GO_TEST_FLAGS:--race -count=1 -timeout 20m} "$@" ./...)
}

status=0
for m in "${MODULES[@]}"; do
  echo "=== module $m"
  test_module "$m" "$@" || status=1
done
# deploy/k8s is a module outside the workspace (go.work): the Kubernetes libraries its test uses
# would otherwise raise shared dependencies of the services in workspace builds.
echo "=== module deploy/k8s"
GOWORK=off test_module deploy/k8s "$@" || status=1
exit $status
