# Plaza: `make run` starts a server with embedded defaults; `make test` runs every test.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: run test lint test-rust bench

run:
	$(CARGO) run --release -p net --bin plaza -- serve

test: lint test-rust

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	RUSTDOCFLAGS=-Dwarnings $(CARGO) doc --workspace --no-deps --quiet

test-rust:
	$(CARGO) test --workspace

bench:
	$(CARGO) bench -p benches
