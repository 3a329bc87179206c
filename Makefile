# weir: the two commands of the README are `make demo` and `make test`.
CARGO ?= cargo

.PHONY: demo test setup setup-test build edge check lint unit e2e wasm-check purity bench

EDGE_WASM = target/wasm32-wasip2/edge/edge_wasm.wasm

demo: setup build edge
	scripts/demo.sh

test: setup-test lint edge unit wasm-check purity

setup:
	scripts/setup.sh

setup-test:
	scripts/setup.sh --test

build:
	$(CARGO) build --release -p weir

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --exclude edge-wasm --all-targets -- -D warnings
	$(CARGO) clippy -p edge-wasm --target wasm32-wasip2 -- -D warnings

# The edge component (wasm32-wasip2), size-optimised; its size is reported.
edge:
	$(CARGO) build -p edge-wasm --target wasm32-wasip2 --profile edge
	@echo "edge component: $(EDGE_WASM) $$(stat -c %s $(EDGE_WASM)) bytes"

# Every test: unit, golden, origin integration, and end to end with real ffmpeg.
unit:
	$(CARGO) test --workspace --exclude edge-wasm

# The pure crates must build for the Wasm edge target.
wasm-check:
	$(CARGO) check -p timeline -p manifest --target wasm32-wasip2

# Layering guard: renderers and the timeline never depend on I/O or MP4 crates.
purity:
	@if $(CARGO) tree -p timeline -p manifest -e normal --prefix none | grep -E '^(tokio|hyper|cmaf|mp4|origin) '; then \
	  echo "purity: timeline/manifest must not depend on the crates above"; exit 1; fi
	@echo "purity: ok"

# Benchmarks (not part of `make test`): figures and references for BENCHMARKS.md.
bench: build edge
	scripts/setup.sh --bench
	$(CARGO) run --release -p weir-tests --bin bench-ingest
	$(CARGO) run --release -p weir-tests --bin bench-edge
	ulimit -n 20000 2>/dev/null; $(CARGO) run --release -p weir-tests --bin bench-llhls
