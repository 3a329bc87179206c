#!/usr/bin/env bash
# Installs what weir needs on a fresh Debian 12 machine with rustup, skipping what is
# already there. `scripts/setup.sh` = what `make demo` needs; `--test` adds what the
# test suite needs (tools it drives as real peers, independent parsers).
set -euo pipefail
cd "$(dirname "$0")/.."

# --test: what the tests need; --bench: that plus the reference servers and load tools.
want_test=0; want_bench=0
for a in "$@"; do
  case "$a" in
    --test) want_test=1 ;;
    --bench) want_test=1; want_bench=1 ;;
  esac
done

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Rust: the edge component and the pure crates' portability check need wasm32-wasip2.
if ! rustup target list --installed | grep -qx wasm32-wasip2; then
  rustup target add wasm32-wasip2
fi

# Debian packages: ffmpeg (encoder, ffprobe), fonts for the demo clock overlay,
# xmllint (DASH MPD schema validation), python venv for the HLS parser.
pkgs=()
command -v ffmpeg >/dev/null || pkgs+=(ffmpeg)
command -v npm >/dev/null || pkgs+=(nodejs npm)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || pkgs+=(fonts-dejavu-core)
if [ "$want_test" = 1 ]; then
  command -v xmllint >/dev/null || pkgs+=(libxml2-utils)
  [ -x /usr/lib/chromium/chromium ] || pkgs+=(chromium)
fi
if [ "$want_bench" = 1 ]; then
  command -v nginx >/dev/null || pkgs+=(nginx-light)
  [ -x /usr/sbin/varnishd ] || pkgs+=(varnish)
  command -v wrk >/dev/null || pkgs+=(wrk)
  command -v curl >/dev/null || pkgs+=(curl)
  python3 -c 'import ensurepip, venv' 2>/dev/null || pkgs+=(python3-venv)
fi
if [ "${#pkgs[@]}" -gt 0 ]; then
  echo "setup: installing ${pkgs[*]}"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${pkgs[@]}"
fi

# The player page's players (hls.js, dash.js, Shaka), served by weir from web/node_modules.
if [ ! -f web/node_modules/hls.js/dist/hls.min.js ] || [ ! -f web/node_modules/shaka-player/dist/shaka-player.compiled.js ] \
  || [ ! -f web/node_modules/dashjs/dist/modern/umd/dash.all.min.js ]; then
  (cd web && npm install --no-audit --no-fund --loglevel=error)
fi

# Browser automation for tests: playwright-core drives Debian's Chromium (no download).
if [ "$want_test" = 1 ] && [ ! -d tests/browser/node_modules/playwright-core ]; then
  (cd tests/browser && npm install --no-audit --no-fund --loglevel=error)
fi

# wasmtime-cli, pinned (48.0.8 is the newest that builds with Rust 1.95), project-local:
# the tests run the edge component under `wasmtime serve` to prove it is host-agnostic.
if [ "$want_test" = 1 ] && [ ! -x .tools/bin/wasmtime ]; then
  echo "setup: building wasmtime-cli 48.0.8 into .tools (about 10 minutes, once)"
  cargo install wasmtime-cli --version 48.0.8 --locked --root .tools
fi

# cargo-fuzz, pinned (0.13.2 builds with Rust 1.95), project-local: `make fuzz` runs the
# libFuzzer targets of fuzz/ on stable Rust (RUSTC_BOOTSTRAP=1 for its -Z flags).
if [ "$want_test" = 1 ] && [ ! -x .tools/bin/cargo-fuzz ]; then
  echo "setup: building cargo-fuzz 0.13.2 into .tools (about a minute, once)"
  cargo install cargo-fuzz --version 0.13.2 --locked --root .tools
fi

# Python packages for tests, in a project-local venv (.venv, git-ignored).
if [ "$want_test" = 1 ]; then
  [ -x .venv/bin/python3 ] || python3 -m venv .venv
  .venv/bin/python3 -c 'import m3u8' 2>/dev/null || .venv/bin/pip install -q --disable-pip-version-check 'm3u8==6.*'
  .venv/bin/python3 -c 'import jsonschema' 2>/dev/null || .venv/bin/pip install -q --disable-pip-version-check 'jsonschema==4.*'
fi
echo "setup: ok"
