# Nacre: two commands.
#   make test   installs missing Debian packages (as root), builds, runs the test suite
#   make run    builds and runs nacre
SHELL := /bin/bash
DEB_PACKAGES := libpng-dev libzstd-dev libsqlite3-dev libdnnl-dev libssl-dev zstd pkg-config
# Only for benchmarks (`nacre bench report`: reference codecs and the headless screenshot).
BENCH_DEB_PACKAGES := libjpeg-turbo-progs webp libavif-bin chromium
SWIFT ?= swift
SWIFT_TEST_FLAGS ?=

PREFIX ?= /usr/local
DESTDIR ?=

.PHONY: deps bench-deps build test run release install clean

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

## The benchmark tools (root): reference codecs for `nacre bench report`, Chromium for its screenshot.
bench-deps:
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(BENCH_DEB_PACKAGES)

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product nacre

# The daemon's socket and process tests measure timeouts; they run on their own after the
# CPU-heavy suites (engine, codec) so those cannot starve the in-process server's threads.
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --skip NacreDaemonTests $(SWIFT_TEST_FLAGS)
	$(SWIFT) test --skip-build --filter NacreDaemonTests $(SWIFT_TEST_FLAGS)

## Start the daemon in the foreground on ./var with the development config and the built-in base
## model (Ctrl-C stops it gracefully). README.md "The whole loop" shows what to do next.
run: release
	mkdir -p var/inbox var/archives var/restore var/quarantine var/state
	.build/release/nacre daemon --config Config/nacre.yaml

## Install the binary, the systemd units and a default config (see systemd/).
install: release
	install -D -m 0755 .build/release/nacre $(DESTDIR)$(PREFIX)/bin/nacre
	install -D -m 0644 Sources/NacreStore/Resources/base.nxcm $(DESTDIR)$(PREFIX)/share/nacre/base.nxcm
	install -D -m 0644 Sources/NacreStore/Resources/base.nxdn $(DESTDIR)$(PREFIX)/share/nacre/base.nxdn
	install -D -m 0644 bench/plot_rd.py $(DESTDIR)$(PREFIX)/share/nacre/plot_rd.py
	install -D -m 0644 systemd/nacre.service $(DESTDIR)/etc/systemd/system/nacre.service
	install -D -m 0644 systemd/nacre.sysusers.conf $(DESTDIR)/usr/lib/sysusers.d/nacre.conf
	install -D -m 0644 systemd/nacre.tmpfiles.conf $(DESTDIR)/usr/lib/tmpfiles.d/nacre.conf
	if [ ! -e $(DESTDIR)/etc/nacre/nacre.yaml ]; then install -D -m 0640 systemd/nacre.yaml $(DESTDIR)/etc/nacre/nacre.yaml; fi
	install -d $(DESTDIR)$(PREFIX)/share/doc/nacre
	install -m 0644 README.md docs/*.md $(DESTDIR)$(PREFIX)/share/doc/nacre/

clean:
	rm -rf .build
