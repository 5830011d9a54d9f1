# The two set-up commands: `make run` and `make test`. Both install what they need themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
APT_PACKAGES := redis-server chromium postgresql nginx
SOCKETIO_CLIENT_VERSION := 4.8.1
AXE_CORE_VERSION := 4.14.1

.PHONY: run test lint typecheck pytest deps system-deps vendor clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

deps: $(STAMP)

run: deps
	$(BIN)/twinrooms serve

# Debian packages the tests start for real: redis-server, chromium for the web client,
# PostgreSQL (its initdb and pg_ctl live in /usr/lib/postgresql/<version>/bin, off PATH), and
# nginx in front of the cluster tests' two nodes (in /usr/sbin).
system-deps:
	@missing=""; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || command -v pg_ctl >/dev/null \
		|| missing="$$missing postgresql"; \
	command -v nginx >/dev/null || test -x /usr/sbin/nginx || missing="$$missing nginx"; \
	if [ -n "$$missing" ]; then \
		echo "installing$$missing"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi

lint: deps
	$(BIN)/ruff check server rooms media tests bench
	$(BIN)/ruff format --check server rooms media tests bench

typecheck: deps
	$(BIN)/mypy

pytest: deps system-deps
	$(BIN)/pytest -q

test: lint typecheck pytest

# Refreshes the vendored Socket.IO client from the npm registry (with its licence), and
# axe-core, the accessibility checker the browser tests inject (a test tool, never served).
vendor:
	tmp=$$(mktemp -d) && cd $$tmp && npm pack --silent socket.io-client@$(SOCKETIO_CLIENT_VERSION) >/dev/null \
		&& tar xzf socket.io-client-$(SOCKETIO_CLIENT_VERSION).tgz \
		&& cp package/dist/socket.io.esm.min.js $(CURDIR)/static/vendor/socket.io.esm.min.js \
		&& cp package/LICENSE $(CURDIR)/static/vendor/socket.io-client.LICENSE \
		&& rm -rf $$tmp
	tmp=$$(mktemp -d) && cd $$tmp && npm pack --silent axe-core@$(AXE_CORE_VERSION) >/dev/null \
		&& tar xzf axe-core-$(AXE_CORE_VERSION).tgz \
		&& cp package/axe.min.js $(CURDIR)/tests/e2e/vendor/axe.min.js \
		&& cp package/LICENSE $(CURDIR)/tests/e2e/vendor/axe-core.LICENSE \
		&& cp package/LICENSE-3RD-PARTY.txt $(CURDIR)/tests/e2e/vendor/axe-core.LICENSE-3RD-PARTY.txt \
		&& rm -rf $$tmp

clean:
	rm -rf $(VENV) build *.egg-info
