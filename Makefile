# The two commands: `make run` starts the whole shop on embedded defaults; `make test` runs every
# test against real servers. `make bench` measures.
.PHONY: run test bench vet hostile

run:
	go run ./cmd/ecommerce

test:
	./scripts/test.sh

# Benchmarks (no race detector), then a 30-second load run of the whole fleet.
bench:
	GO_TEST_FLAGS="-count=1 -run ^$$ -bench . -benchmem -benchtime 2s" ./scripts/test.sh
	go run ./cmd/load -users 8 -duration 30s

# The long hostile-input runs: 12,000 generated bad requests against the fleet, and 16 parallel
# worst-case image uploads under the memory bound (README, "Security").
hostile:
	HOSTILE_LONG=1 TEST_REQUIRE_SERVERS=1 go test -count=1 -v -run TestHostileInputs ./e2e/
	cd image && HOSTILE_LONG=1 TEST_REQUIRE_SERVERS=1 go test -count=1 -v -run TestParallelUploadsStayWithinMemory .

vet:
	go vet ./... && for m in pkg auth image catalog cart orders; do (cd $$m && go vet ./...); done
