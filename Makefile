# caas-conformance: set-up, the main job, the tests, lint and benchmarks.
# Every target installs what it needs (Debian packages, Python venv, the lab's Go builds) idempotently.

SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
CAAS := $(VENV)/bin/caas
DEBIAN_PACKAGES := containerd runc containernetworking-plugins iptables ipset conntrack busybox-static iproute2 util-linux tinyproxy docker-registry skopeo apache2-utils
# the Allure 3 report (npm package, see package.json) and the headless browser the report tests open it with
DEBIAN_PACKAGES += chromium
# node and npm may come from Debian or from a NodeSource nodejs (which bundles npm): checked as commands
DEBIAN_COMMANDS := node:nodejs npm:npm
PYTEST_ARGS ?=


.PHONY: nightly
.PHONY: run test lint unit lab-tests system venv lab bench clean format npm broker

## run: the main job: the whole evaluation on the embedded lab, ending with the report's path
run: system venv lab npm
	$(CAAS) run

## test: lint, then every project test (unit tests, real-lab tests, and `caas run` end to end)
test: system venv lab npm lint
	$(PY) -m pytest tests -m "not nightly" --hypothesis-profile=ci -p no:cacheprovider --durations=25 $(PYTEST_ARGS)

## nightly: the slow project tests (every mutation, more generated policies), as the nightly job runs them
nightly: system venv lab npm
	CAAS_HYPOTHESIS_EXAMPLES=$${CAAS_HYPOTHESIS_EXAMPLES:-50} $(PY) -m pytest tests -m nightly -p no:cacheprovider $(PYTEST_ARGS)

## unit: the tests that need no cluster
unit: venv
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

system:
	@missing=$$(for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done; \
	  for c in $(DEBIAN_COMMANDS); do command -v $${c%%:*} >/dev/null 2>&1 || echo $${c##*:}; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

lab: venv system
	$(CAAS) lab build

## broker: the lab's identity broker (Keycloak from Maven Central, built once into the lab home; not yet in `lab`)
broker: venv
	$(PY) -m provisioning.lab.keycloak install

## bench: every benchmark of bench/, then one table (each figure beside its same-run baseline and target)
bench: system venv lab npm
	$(PY) -m bench.table $(BENCH_ARGS)

clean: venv
	$(CAAS) clean --all

## npm: the Allure 3 CLI, installed exactly as package-lock.json pins it
npm: node_modules/.installed

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@
