# make test: vet, staticcheck, go.mod tidiness, builds for linux, darwin
# and windows, every test, the race detector on the concurrent packages,
# and a short pass of every fuzz target.
GO ?= go
# A count, not a duration: Go 1.26's fuzz coordinator can report its own
# end-of-fuzztime deadline as a failure ("context deadline exceeded", no
# crasher; golang/go#75804, fixed in Go 1.27). A count has no deadline.
FUZZTIME ?= 2000x
RACE_PKGS ?= ./internal/stream/... ./seal/... ./replay/... ./keystore/... ./channel/... ./authority/... ./internal/pgtest/...

.PHONY: test vet lint tidy crossbuild unit race fuzz build bench

test: vet lint tidy crossbuild unit race fuzz

build:
	$(GO) build ./...

vet:
	$(GO) vet ./...

# staticcheck is pinned in go.mod (a tool directive).
lint:
	$(GO) tool staticcheck ./...

tidy:
	$(GO) mod tidy -diff

# The module builds everywhere Go does; these three are checked.
crossbuild:
	GOOS=linux $(GO) build ./...
	GOOS=darwin $(GO) build ./...
	GOOS=windows $(GO) build ./...

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
