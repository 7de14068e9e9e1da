# Nacre: two commands.
#   make test   installs missing Debian packages (as root), builds, runs the test suite
#   make run    builds and runs nacre
SHELL := /bin/bash
DEB_PACKAGES := libpng-dev libzstd-dev libsqlite3-dev libdnnl-dev zstd pkg-config
SWIFT ?= swift
SWIFT_TEST_FLAGS ?=

.PHONY: deps build test run release clean

## Install any missing Debian package (root), or print the exact command (non-root).
deps:
	@missing=""; \
	for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "make deps: installing$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	  else \
	    echo "make deps: missing Debian packages. Run:"; \
	    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends$$missing"; \
	    exit 1; \
	  fi; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product nacre

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build $(SWIFT_TEST_FLAGS)

run: release
	.build/release/nacre --help

clean:
	rm -rf .build
