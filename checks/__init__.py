"""The check engines, one folder per area (network, privileged, rbac, storage) plus tenancy: each
observes into four-state cells and decides through the one verdict rule (verdicts), attaching its
evidence (evidence). Steps call them; they call provisioning; the pytest plugin lives in fixtures/."""
