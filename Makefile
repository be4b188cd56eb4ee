# The two commands: `make run` starts the whole shop on embedded defaults; `make test` runs every
# test against real servers. `make bench` measures.
.PHONY: run test bench vet

run:
	go run ./cmd/ecommerce

test:
	./scripts/test.sh

# Benchmarks (no race detector), then a 30-second load run of the whole fleet.
bench:
	GO_TEST_FLAGS="-count=1 -run ^$$ -bench . -benchmem -benchtime 2s" ./scripts/test.sh
	go run ./cmd/load -users 8 -duration 30s

vet:
	go vet ./... && for m in pkg auth image catalog cart orders web; do (cd $$m && go vet ./...); done
