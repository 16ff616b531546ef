# Participation Ledger — the two commands a newcomer needs are `make run` and `make test`.
GO      ?= go
BIN     := bin/ledger
DATA    ?= ./data
ADDR    ?= 127.0.0.1:8080
STATICCHECK_VERSION := v0.8.2

.PHONY: run build test check bench fmt vet staticcheck race clean

build:
	$(GO) build -o $(BIN) ./cmd/ledger

# Build, seed demo data into an empty data directory, and serve on localhost.
run: build
	@if [ ! -d "$(DATA)" ] || [ -z "$$(ls -A $(DATA) 2>/dev/null)" ]; then $(BIN) demo --data $(DATA); fi
	$(BIN) serve --data $(DATA) --addr $(ADDR)

test:
	$(GO) test -count=1 ./...

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

clean:
	rm -rf bin
