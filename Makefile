# The two commands: `make run` starts the whole shop on embedded defaults; `make test` runs every
# test against real servers. `make bench` measures.
.PHONY: run test bench vet faults

run:
	go run ./cmd/ecommerce

test:
	./scripts/test.sh

# Benchmarks (no race detector), then a 30-second load run of the whole fleet.
bench:
	GO_TEST_FLAGS="-count=1 -run ^$$ -bench . -benchmem -benchtime 2s" ./scripts/test.sh
	go run ./cmd/load -users 8 -duration 30s

# The multi-instance and fault tests at full size (E2E_LONG=1): two processes of every service,
# 200-order checkout streams, 200 sign-outs, each fault longer. `make test` runs short versions.
faults:
	E2E_LONG=1 GO_TEST_FLAGS="-count=1 -timeout 40m -v -run TestManyInstances|TestFault" ./scripts/test.sh

vet:
	go vet ./... && for m in pkg auth image catalog cart orders; do (cd $$m && go vet ./...); done
	cd deploy/k8s && GOWORK=off go vet ./...
