# Participation Ledger — the two commands a newcomer needs are `make run` and `make test`.
GO      ?= go
BIN     := bin/ledger
DATA    ?= ./data
ADDR    ?= 127.0.0.1:8080
# The development OpenID provider (demo people, loopback only) for signing in.
DEV_OIDC ?= 127.0.0.1:8081
STATICCHECK_VERSION := v0.8.2

.PHONY: run build test check bench reliability fuzz fmt vet staticcheck race clean

# `ledger --version` (and /healthz, ledger_build_info) report these; a plain
# go build falls back to what the toolchain stamps (VCS revision and time).
VERSION    ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
COMMIT     ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
BUILD_TIME ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS    := -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.buildTime=$(BUILD_TIME)

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/ledger

# Build, seed demo data into an empty data directory, and serve on localhost.
# A fresh directory gets the demo (its tokens are printed, the admin token
# last); an existing one gets a new admin token, since secrets are shown once.
run: build
	@if [ ! -d "$(DATA)" ] || [ -z "$$(ls -A $(DATA) 2>/dev/null)" ]; then \
		$(BIN) demo --data $(DATA) --url http://$(ADDR) || exit 1; \
	else \
		echo "$(DATA) already holds a ledger (remove it for a fresh demo); a new admin token:"; \
		$(BIN) token create --data $(DATA) --role admin --name make-run | tail -n 1 || exit 1; \
	fi
	@echo "open http://$(ADDR)/ (sign in: http://$(ADDR)/signin; API: http://$(ADDR)/v1/openapi.json; stop with Ctrl-C)"
	$(BIN) serve --data $(DATA) --addr $(ADDR) --dev-oidc $(DEV_OIDC)

test:
	$(GO) test -count=1 -timeout 30m ./...

check: fmt vet staticcheck race

fmt:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

staticcheck:
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

race:
	$(GO) test -race -count=1 ./...

# Reproducible benchmark harness: prints ratios against baselines measured in the same run.
bench: build
	$(BIN) bench $(BENCHFLAGS)

# The long fault suites: 1 000 kill -9 cycles and 500 power cuts under
# concurrent HTTP writers (make test runs 25 of each). Needs root and FUSE.
reliability:
	$(GO) test -count=1 -timeout 180m -v -run 'TestKill|TestPowerLoss' ./reliability/ \
		-reliability.kills 1000 -reliability.cuts 500

# Every fuzz target (decoders of outside input: HTTP bodies, Polis CSV,
# canonical events, checkpoints, receipts, DSA statements, store keys) for
# FUZZTIME each; CI runs it briefly, longer runs find more.
FUZZTIME ?= 10s
fuzz:
	@for f in $$(grep -rl --include='*_test.go' '^func Fuzz' . | sort); do \
		pkg=$$(dirname $$f); \
		for fn in $$(grep -o '^func Fuzz[A-Za-z0-9_]*' $$f | cut -d' ' -f2); do \
			echo "fuzz $$pkg $$fn ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) $$pkg >/tmp/fuzz.out 2>&1 || { cat /tmp/fuzz.out; exit 1; }; \
		done; \
	done

clean:
	rm -rf bin
