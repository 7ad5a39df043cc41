# Plaza: `make run` starts a server with embedded defaults; `make test` runs every test.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: check-schema fuzz run test lint test-rust bench web-client test-web screenshot capacity-check

run: web-client
	$(CARGO) run --release -p net --bin plaza -- serve

test: check-schema lint test-rust test-web

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	RUSTDOCFLAGS=-Dwarnings $(CARGO) doc --workspace --no-deps --quiet

test-rust:
	$(CARGO) test --workspace

# Criterion suite, server-tick samples + docs/scaling.svg, a short bot run against a release
# server, and the figures into benches/README.md (scripts/bench.sh; ~15 min).
bench:
	CARGO="$(CARGO)" bash scripts/bench.sh

# Issue 9's capacity check: 2 cluster nodes under an uneven bot load, `plaza capacity` on the
# recording, its placement applied live, predicted vs measured tick per node (needs Redis and
# PostgreSQL; ~5 min; not part of `make test`). scripts/capacity_check.sh.
capacity-check:
	CARGO="$(CARGO)" bash scripts/capacity_check.sh

# The browser client: npm ci + vite build into web-client/dist (served by `plaza serve`).
web-client:
	cd web-client && npm ci --no-audit --no-fund --loglevel=error && npm run build

# vitest unit tests + Playwright e2e in Debian's Chromium (installed with apt when missing)
# against a real `plaza serve`.
test-web:
	CARGO="$(CARGO)" bash web-client/scripts/test-web.sh

# The browser tests, also copying their office screenshot to docs/screenshot.png (README).
screenshot:
	UPDATE_SCREENSHOT=1 CARGO="$(CARGO)" bash web-client/scripts/test-web.sh

# Fails when the checked-in FlatBuffers code (schema/src/generated, web-client/src/generated)
# differs from what the pinned flatc generates from schema/fbs.
check-schema:
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	schema/regen.sh "$$tmp/rs" "$$tmp/ts" && \
	diff -r schema/src/generated "$$tmp/rs" && diff -r web-client/src/generated "$$tmp/ts" \
	  || { echo "check-schema: generated code is stale: run schema/regen.sh and commit" >&2; exit 1; }

# Short fuzz run of every schema target (cargo-fuzz, nightly); FUZZ_SECONDS per target.
FUZZ_SECONDS ?= 60
fuzz:
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz
	for t in client server cluster; do \
	  cargo +nightly fuzz run $$t -- -max_total_time=$(FUZZ_SECONDS) || exit 1; \
	done
