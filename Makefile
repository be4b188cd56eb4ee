# The two commands: `make run` starts the whole shop on embedded defaults; `make test` runs every
# test against real servers. `make bench` measures.
.PHONY: run test bench bench-go vet

run:
	go run ./cmd/ecommerce

test:
	./scripts/test.sh

# One report (cmd/bench): wrk against a bare net/http ceiling and each read endpoint, the store
# round trips of a checkout, the history table (fresh vs 100k stock moves and 10k orders) and a
# 30-second load run of 16 shoppers; printed, and written to bench/report.json and report.md.
# Needs wrk (apt-get install wrk). `make bench-go` runs the Go benchmarks of every module.
bench:
	go run ./cmd/bench

bench-go:
	GO_TEST_FLAGS="-count=1 -run ^$$ -bench . -benchmem -benchtime 2s" ./scripts/test.sh

vet:
	go vet ./... && for m in pkg auth image catalog cart orders; do (cd $$m && go vet ./...); done
