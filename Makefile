# The two commands: `make run` starts the whole shop on embedded defaults; `make test` runs every
# test against real servers.
.PHONY: run test bench vet

run:
	go run ./cmd/ecommerce

test:
	./scripts/test.sh

bench:
	./scripts/test.sh -run '^$$' -bench . -benchtime 2s

vet:
	go vet ./... && for m in pkg auth image catalog cart orders; do (cd $$m && go vet ./...); done
