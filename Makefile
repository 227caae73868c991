# The two commands of the README. Everything else here serves them.
#   make run   — build and start the app on http://127.0.0.1:3000 (SQLite under ./data/)
#   make test  — formatting, lints, unit and integration tests (SQLite and PostgreSQL),
#                browser tests
SHELL := /bin/bash
.DEFAULT_GOAL := run
.PHONY: run test release setup-run setup-test fmt-check clippy wasm-deps unit e2e

# cargo-leptos bakes LEPTOS_OUTPUT_NAME into leptos_config; plain cargo must see the same
# value or it rebuilds half the dependency tree after every cargo-leptos build.
export LEPTOS_OUTPUT_NAME := shopmarkets
# wasm-opt (npm binaryen) and the pinned tools installed by .ci/setup.
export PATH := $(CURDIR)/end2end/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)
export TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres

TARGET_DIR := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
SITE_ADDR ?= 127.0.0.1:3000

run: setup-run
	cargo leptos build
	@echo
	@echo "  ShopMarkets is starting at http://$(SITE_ADDR)  (SQLite under ./data/, Ctrl-C stops)"
	@echo
	LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_ADDR=$(SITE_ADDR) $(TARGET_DIR)/debug/shopmarkets serve

test: setup-test fmt-check clippy wasm-deps unit e2e
	@echo "make test: all green"

# A release build with the size-optimised wasm (wasm-opt from npm binaryen).
release: setup-test
	cargo leptos build --release

setup-run:
	@.ci/setup run

setup-test:
	@.ci/setup test

fmt-check:
	cargo fmt --all -- --check

clippy:
	cargo clippy --workspace --exclude shopmarkets-frontend --all-targets -- -D warnings
	cargo clippy -p shopmarkets-frontend -p shopmarkets-app --target wasm32-unknown-unknown -- -D warnings

wasm-deps:
	@.ci/check-wasm-deps

unit:
	@.ci/services-check
	cargo test --workspace --exclude shopmarkets-frontend

e2e:
	cargo leptos build
	cd end2end && SHOPMARKETS_BIN=$(TARGET_DIR)/debug/shopmarkets \
		LEPTOS_SITE_ROOT=$(CURDIR)/target/site npx playwright test
