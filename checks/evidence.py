"""Evidence attached to the Allure report: tables, timings, API answers, pod logs and events.

Pod logs and events are attached when a scenario fails (`fixtures.plugin`); API answers of refused
requests by the checks that observe them (`attach_api_answer`). Every attachment goes through the
redacting Allure file logger (`fixtures.redacting_allure`); these helpers redact first as well.
"""

from __future__ import annotations

import html
from collections.abc import Mapping

import allure

from harness.redaction import redact
from provisioning.kube import diagnostics
from provisioning.tenancy import ProvisionedTenancy


def attach_text(body: str, name: str) -> None:
    allure.attach(redact(body), name=name, attachment_type=allure.attachment_type.TEXT)


def attach_html(body: str, name: str) -> None:
    allure.attach(redact(body), name=name, attachment_type=allure.attachment_type.HTML)


FIGURE_LABEL = "figure"  # read by reports.records: what a verdict rests on, measured, with its unit


def record_figure(text: str) -> None:
    """Label the running scenario with a measurement its verdict rests on (the reports show it beside the
    verdict), e.g. "time to enforce: median 2.6 s, worst 2.9 s (relabel a pod) over 6 changes"."""
    allure.dynamic.label(FIGURE_LABEL, redact(text))


def timings_table(timings: Mapping[str, float]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(step)}</td><td style='text-align:right'>{seconds:.1f} s</td></tr>"
        for step, seconds in timings.items()
    )
    total = sum(timings.values())
    return (
        "<table border='1' cellpadding='4' style='border-collapse:collapse'>"
        f"<tr><th>step</th><th>time</th></tr>{rows}<tr><th>total</th><th>{total:.1f} s</th></tr></table>"
    )


def attach_timings(timings: Mapping[str, float], name: str) -> None:
    """The Provisioner's timings (cluster creation, onboarding) as an HTML table."""
    if timings:
        attach_html(timings_table(timings), name)


def attach_api_answer(failure: object, name: str = "API answer") -> None:
    """An API server's answer to a refused request (status, reason, body), e.g. a 403 or an admission denial."""
    status = getattr(failure, "status", "")
    reason = getattr(failure, "reason", "")
    body = getattr(failure, "body", "") or str(failure)
    attach_text(f"HTTP {status} {reason}\n\n{body}", name)


def attach_cluster_diagnostics(tenancy: ProvisionedTenancy) -> None:
    """Every tenant namespace's events and pod logs, read as the cluster admin (on failure only)."""
    for provisioned in tenancy.clusters:
        try:
            api = tenancy.admin_client(provisioned)
        except Exception as exc:  # diagnostics never hide the failure they explain
            attach_text(f"no admin client for {provisioned.handle.name}: {exc}", "diagnostics")
            continue
        for tenant in provisioned.tenants:
            attach_text(diagnostics.namespace_events(api, tenant.namespace), f"events {tenant.namespace}")
            attach_text(diagnostics.pod_logs(api, tenant.namespace), f"pod logs {tenant.namespace}")
