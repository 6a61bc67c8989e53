# caas-conformance: set-up, the main job, the tests, lint and benchmarks.
# Every target installs what it needs (Debian packages, Python venv, the lab's Go builds) idempotently.

SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
CAAS := $(VENV)/bin/caas
DEBIAN_PACKAGES := containerd runc containernetworking-plugins iptables ipset conntrack busybox-static iproute2 util-linux
PYTEST_ARGS ?=

.PHONY: run test lint unit lab-tests system venv lab bench clean format

## run: the main job: the whole evaluation on the embedded lab, ending with the report's path
run: system venv lab
	$(CAAS) run

## test: lint, then every project test (unit tests, real-lab tests, and `caas run` end to end)
test: system venv lab lint
	$(PY) -m pytest tests --hypothesis-profile=ci -p no:cacheprovider $(PYTEST_ARGS)

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
	@missing=$$(for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
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

bench: system venv lab
	$(PY) -m bench.lab
	$(PY) -m bench.provisioning
	$(PY) -m bench.rbac

clean: venv
	$(CAAS) clean --all
