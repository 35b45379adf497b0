# make test: vet, every test, the race detector on the concurrent
# packages, and a short pass of every fuzz target.
GO ?= go
FUZZTIME ?= 3s
RACE_PKGS ?= ./internal/stream/... ./seal/... ./replay/... ./keystore/...

.PHONY: test vet unit race fuzz build bench

test: vet unit race fuzz

build:
	$(GO) build ./...

vet:
	$(GO) vet ./...

unit:
	$(GO) test ./...

race:
	$(GO) test -race -short $(RACE_PKGS)

# Every Fuzz target of every package, one at a time.
fuzz:
	@set -e; for file in $$(grep -rl --include='*_test.go' '^func Fuzz' .); do \
		dir=$$(dirname $$file); \
		for target in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$file); do \
			echo "fuzz $$dir $$target ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) $$dir; \
		done; \
	done

bench:
	$(GO) test -run '^$$' -bench . -benchtime 3x ./...
