# weir: the two commands of the README are `make demo` and `make test`.
CARGO ?= cargo

.PHONY: demo test setup setup-test build edge check lint unit e2e wasm-check purity fuzz bench soak

EDGE_WASM = target/wasm32-wasip2/edge/edge_wasm.wasm

demo: setup build edge
	scripts/demo.sh

test: setup-test lint edge unit wasm-check purity fuzz

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

# Every test: unit, golden, origin integration, and end to end with real ffmpeg. The
# `weir` binary is built first: tests run it as separate origin and edge processes.
unit:
	$(CARGO) build -p weir
	$(CARGO) test --workspace --exclude edge-wasm

# The pure crates must build for the Wasm edge target.
wasm-check:
	$(CARGO) check -p timeline -p manifest --target wasm32-wasip2

# Layering guard: renderers and the timeline never depend on I/O or MP4 crates.
purity:
	@if $(CARGO) tree -p timeline -p manifest -e normal --prefix none | grep -E '^(tokio|hyper|cmaf|mp4|origin) '; then \
	  echo "purity: timeline/manifest must not depend on the crates above"; exit 1; fi
	@echo "purity: ok"

# Fuzzing (fuzz/, cargo-fuzz + libFuzzer, README "Fuzzing"): each target first replays
# its committed corpus (fuzz/corpus/<target>), then fuzzes for FUZZ_SECONDS; any crash,
# panic, timeout or out-of-memory fails. New inputs go to $(FUZZ_TARGET_DIR)/corpus,
# never into the committed seeds. Stable Rust: RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass
# its -Z flags. No sanitizer: the parsers are safe Rust, and it halves the run time.
FUZZ_SECONDS ?= 45
FUZZ_TARGETS = demux directives
FUZZ_TARGET_DIR ?= $(CURDIR)/fuzz/target
FUZZ = RUSTC_BOOTSTRAP=1 PATH="$(CURDIR)/.tools/bin:$$PATH" $(CARGO) fuzz
FUZZ_FLAGS = --fuzz-dir fuzz -s none --target-dir $(FUZZ_TARGET_DIR)

fuzz:
	@start=$$(date +%s); \
	$(FUZZ) build $(FUZZ_FLAGS) || exit 1; \
	for t in $(FUZZ_TARGETS); do \
	  log=$(FUZZ_TARGET_DIR)/fuzz-$$t.log; mkdir -p $(FUZZ_TARGET_DIR)/corpus/$$t; \
	  if ! ( $(FUZZ) run $(FUZZ_FLAGS) $$t fuzz/corpus/$$t -- -runs=0 && \
	         $(FUZZ) run $(FUZZ_FLAGS) $$t $(FUZZ_TARGET_DIR)/corpus/$$t fuzz/corpus/$$t -- \
	           -max_total_time=$(FUZZ_SECONDS) -timeout=10 ) >$$log 2>&1; then \
	    tail -n 60 $$log; echo "fuzz: $$t failed (full log: $$log)"; exit 1; \
	  fi; \
	  echo "fuzz: $$t: $$(grep -E '^#[0-9]+.*DONE' $$log | tail -n 1)"; \
	done; \
	echo "fuzz: ok in $$(( $$(date +%s) - start )) s"

# Benchmarks (not part of `make test`): figures and references for BENCHMARKS.md.
bench: build edge
	scripts/setup.sh --bench
	$(CARGO) run --release -p weir-tests --bin bench-ingest
	$(CARGO) run --release -p weir-tests --bin bench-edge
	ulimit -n 20000 2>/dev/null; $(CARGO) run --release -p weir-tests --bin bench-llhls
	ulimit -n 20000 2>/dev/null; $(CARGO) run --release -p weir-tests --bin bench-lldash
	$(CARGO) run --release -p weir-tests --bin bench-chunks
	$(CARGO) run --release -p weir-tests --bin bench-hesp
	$(CARGO) run --release -p weir-tests --bin bench-dvr
	ulimit -n 20000 2>/dev/null; $(CARGO) run --release -p weir-tests --bin bench-edge-cache

# The soak run (BENCHMARKS.md "Soak"): weir up for SOAK_MINUTES under 100 LL-HLS and
# 20 LL-DASH viewers; RSS slope, 5xx, wake-up spread over time. Not part of make bench.
SOAK_MINUTES ?= 30
soak: build edge
	scripts/setup.sh --bench
	ulimit -n 20000 2>/dev/null; $(CARGO) run --release -p weir-tests --bin soak -- $(SOAK_MINUTES) 100 20
