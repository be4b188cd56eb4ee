# The two commands: `make run` starts the whole shop on embedded defaults; `make test` runs every
# test against real servers. `make bench` measures.
.PHONY: run test bench bench-go lighthouse vet hostile faults

run:
	go run ./cmd/ecommerce

test:
	./scripts/test.sh

# One report per backend (cmd/bench): wrk against a bare net/http ceiling and each read endpoint,
# the store round trips of a checkout, the history table (fresh vs 100k stock moves and 10k
# orders) and a 30-second load run of 16 shoppers; printed, and written to bench/report.{json,md}
# (the embedded default) and bench/report-servers.{json,md} (FerretDB on this machine's
# PostgreSQL, its RabbitMQ and Redis). Needs wrk (apt-get install wrk). `make bench-go` runs the
# Go benchmarks of every module.
bench:
	command -v wrk >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null)
	go run ./cmd/bench
	go run ./cmd/bench -backend servers

# Lighthouse's four scores (performance, accessibility, best practices, SEO) of the catalog, an
# article and the cart, as a phone and as a desktop, median of 3 runs, in Debian's headless
# Chromium (cmd/lighthouse): printed and written to bench/lighthouse.md. Lighthouse comes from
# npm into .tools (not in git).
LIGHTHOUSE_VERSION = 12.8.2
lighthouse:
	command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)
	command -v npm >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null)
	[ -x .tools/node_modules/.bin/lighthouse ] || npm install --prefix .tools --no-audit --no-fund --loglevel=error lighthouse@$(LIGHTHOUSE_VERSION)
	CHROME_PATH=/usr/bin/chromium go run ./cmd/lighthouse

bench-go:
	GO_TEST_FLAGS="-count=1 -run ^$$ -bench . -benchmem -benchtime 2s" ./scripts/test.sh

# The standing hostile suite at full size (docs/security.md): 12,000 generated bad requests,
# floods past every quota, password guessing, pages, text and redirects, the largest checkouts
# on both backends, and 16 parallel worst-case image uploads under the memory bound. Each prints
# its figures.
hostile:
	HOSTILE_LONG=1 GO_TEST_FLAGS="-count=1 -timeout 30m -v -run TestHostile|TestLargestCheckouts|TestParallelUploadsStayWithinMemory" ./scripts/test.sh

# The multi-instance and fault tests at full size (E2E_LONG=1): two processes of every service,
# 200-order checkout streams, 200 sign-outs, each fault longer. `make test` runs short versions.
faults:
	E2E_LONG=1 GO_TEST_FLAGS="-count=1 -timeout 40m -v -run TestManyInstances|TestFault" ./scripts/test.sh

vet:
	go vet ./... && for m in pkg auth image catalog cart orders web; do (cd $$m && go vet ./...); done
	cd deploy/k8s && GOWORK=off go vet ./...
