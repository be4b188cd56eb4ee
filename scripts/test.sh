#!/usr/bin/env bash
# The test command (make test): make sure the servers the tests talk to are up, start two
# MongoDB-wire servers (embedded FerretDB on PostgreSQL) unless MONGO_URL is given, check
# that go mod tidy leaves every module as it is, then vet and test every module with the race
# detector and lint the OpenAPI documents. Extra arguments go to `go test`; GO_TEST_FLAGS
# replaces the default flags (make bench runs benchmarks without the race detector).
#
# Two streams run side by side (docs/testing.md says where the time goes): the end-to-end tests
# (./e2e), followed by the quick modules; and pkg and the five API services, one after another.
set -euo pipefail
cd "$(dirname "$0")/.."

MODULES=(pkg auth image catalog cart orders web)
REDOCLY_VERSION=2.77.0
export TEST_REQUIRE_SERVERS=1
export GOFLAGS="${GOFLAGS:-} -buildvcs=false"
FLAGS=(${GO_TEST_FLAGS:--race -count=1 -timeout 20m})

SKIP_CHROMIUM=1 ./scripts/ensure-servers.sh

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

# Chromium installs beside the tests on a new machine: the browser stories, at the end of the
# storefront's end-to-end test, wait for CHROMIUM_INSTALL_PID to end.
chromium_pid=""
if ! command -v chromium >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) &
  chromium_pid=$!
  pids+=("$chromium_pid")
  export CHROMIUM_INSTALL_PID=$chromium_pid
fi

up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start_mongowire starts a MongoDB-wire server on port $1 over PostgreSQL database $2 and
# succeeds once it answers; it fails, showing the server's log, when the server exits (the
# port is taken) or never answers.
start_mongowire() {
  local log=.tmp/mongowire-$2.log pid
  ./bin/mongowire -addr "127.0.0.1:$1" -postgres "postgres://postgres@127.0.0.1:5432/$2?pool_max_conns=30" > "$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do
    up "$1" && { pids+=("$pid"); return 0; }
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  kill "$pid" 2>/dev/null || true
  cat "$log" >&2
  return 1
}

# mongowire_url sets url to a MongoDB-wire server (embedded FerretDB) on port $1 over
# PostgreSQL database $2. A server already answering there (a previous run's) is used as it
# is. The port is below the kernel's ephemeral range (usually 32768–60999), so an outgoing
# connection cannot be holding it; should it be taken all the same, the next ports are tried.
mongowire_url() {
  local port=$1 db=$2
  if ! up "$port"; then
    psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$db'" | grep -q 1 \
      || createdb -h 127.0.0.1 -U postgres "$db"
    go build -o bin/mongowire ./cmd/mongowire
    until start_mongowire "$port" "$db"; do
      port=$((port + 1))
      [ "$port" -lt $(($1 + 10)) ] || { echo "no port for the MongoDB-wire server" >&2; exit 1; }
    done
  fi
  url="mongodb://127.0.0.1:$port/"
}

# Two MongoDB-wire servers, one per stream of tests (below), unless MONGO_URL is given: FerretDB
# serialises every database and collection creation of a server, and every command waits
# behind them, so the end-to-end fleets starting side by side would otherwise hold up the
# services' tests. Each opens at most 30 PostgreSQL connections (PostgreSQL allows 100; a
# fault test's own server takes the next 30).
mkdir -p .tmp bin
if [ -n "${MONGO_URL:-}" ]; then
  e2e_mongo=$MONGO_URL
else
  mongowire_url 29018 ferretdb_test
  export MONGO_URL=$url
  mongowire_url 29028 ferretdb_e2e
  e2e_mongo=$url
fi
echo "MongoDB-wire servers: $MONGO_URL (pkg and services), $e2e_mongo (e2e)"

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
# tests the packages $2 (further arguments go to go test).
test_module() {
  local m=$1 pkgs=$2
  shift 2
  echo "=== module $m ($pkgs)"
  # shellcheck disable=SC2086 # the package list is words
  (cd "$m" && tidy_unchanged && go vet $pkgs && go test "${FLAGS[@]}" "$@" $pkgs)
}

# lint_openapi lints every OpenAPI document with Redocly's recommended rules; any error fails.
# (Each service's openapi.json is a copy of its deploy/openapi document, kept equal by the
# service's TestOpenAPI.) @redocly/cli is installed into .tools/ the first time.
lint_openapi() {
  local redocly=.tools/node_modules/.bin/redocly
  echo "=== OpenAPI documents (redocly lint)"
  if [ ! -x "$redocly" ]; then
    command -v npm >/dev/null || { echo "npm is missing: cannot lint the OpenAPI documents" >&2; return 1; }
    npm install --silent --no-audit --no-fund --prefix .tools "@redocly/cli@$REDOCLY_VERSION" || return 1
  fi
  NO_UPDATE_NOTIFIER=1 REDOCLY_TELEMETRY=off "$redocly" lint --format=summary deploy/openapi/*.json
}

if [ -n "${GO_TEST_FLAGS:-}" ] || [ $# -gt 0 ]; then
  # Chosen tests or flags (make hostile, make faults, make bench-go): every module in turn.
  if [ -n "$chromium_pid" ]; then wait "$chromium_pid"; fi
  status=0
  for m in "${MODULES[@]}" .; do
    test_module "$m" ./... "$@" || status=1
  done
  GOWORK=off test_module deploy/k8s ./... "$@" || status=1
  exit $status
fi

# end_to_end runs the end-to-end tests, then the quick modules: the storefront, the root
# module's tools, deploy/k8s, and the OpenAPI lint. The end-to-end tests run side by side
# (-parallel): most of their time is spent waiting on jobs, deadlines and restarts.
end_to_end() {
  local status=0
  (cd e2e && go vet .) || return 1
  MONGO_URL=$e2e_mongo go test "${FLAGS[@]}" -parallel 8 ./e2e/ || status=1
  test_module web ./... || status=1
  test_module . "$(go list ./... | grep -v '/e2e$' | tr '\n' ' ')" || status=1
  # deploy/k8s is a module outside the workspace (go.work): the Kubernetes libraries its test
  # uses would otherwise raise shared dependencies of the services in workspace builds.
  GOWORK=off test_module deploy/k8s ./... || status=1
  lint_openapi || status=1
  return $status
}

# services tests pkg and the five API services, one after another.
services() {
  local status=0
  for m in pkg auth image catalog cart orders; do
    test_module "$m" ./... || status=1
  done
  return $status
}

echo "=== e2e, then web, the root module, deploy/k8s and the OpenAPI lint (beside the services; its output follows theirs, and is in .tmp/e2e.log)"
end_to_end > .tmp/e2e.log 2>&1 &
e2e_pid=$!
pids+=("$e2e_pid")

status=0
services || status=1
wait "$e2e_pid" || status=1
echo "=== e2e, web, the root module, deploy/k8s, OpenAPI lint"
cat .tmp/e2e.log
exit $status
