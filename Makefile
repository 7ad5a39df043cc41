# Plaza: `make run` starts a server with embedded defaults; `make test` runs every test.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: run test lint test-rust bench web-client test-web

run: web-client
	$(CARGO) run --release -p net --bin plaza -- serve

test: lint test-rust test-web

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	RUSTDOCFLAGS=-Dwarnings $(CARGO) doc --workspace --no-deps --quiet

test-rust:
	$(CARGO) test --workspace

bench:
	$(CARGO) bench -p benches

# The browser client: npm ci + vite build into web-client/dist (served by `plaza serve`).
web-client:
	cd web-client && npm ci --no-audit --no-fund --loglevel=error && npm run build

# vitest unit tests + Playwright e2e in Debian's Chromium (installed with apt when missing)
# against a real `plaza serve`.
test-web:
	CARGO="$(CARGO)" bash web-client/scripts/test-web.sh
