"""Benchmark of provider scale (issue 23): the whole `caas run` (every area) on one shared `pks` lab
cluster at N tenants, plans mixed (the example's pks plans cycled: small, medium, large). Per area it
prints its time (the scenarios' own start/stop from the run's Allure results), its work (scenarios, and
what the engines' evidence counts: probes, access questions, pods created) and, between two sizes, the
ratio per tenant (<= 1: the area grows at most linearly), plus the lab's peak memory (the summed RSS of
the lab's processes, sampled during the run) and the time before the first scenario (onboarding).

    python -m bench.scale [--tenants 5,10] [--nodes auto|N] [--keyword EXPR] [--json FILE] [--keep-runs DIR]
    python -m bench.scale --runs DIR5 DIR10     # the table of run folders measured before (no memory)

The first size is the baseline of the ratios. `--nodes auto` (the default) gives each size the fewest lab
workers whose CPU the scheduler can hand to its pods (`workers_for`): a lab node advertises the machine's
cores, so at 50 m a pod three workers of a 2-core machine hold 120 pods, full at 25 tenants.
The targets file of each size is generated from
targets.example.yaml (its pks product, plans and expectations; one shared cluster, N tenants).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "targets.example.yaml"
PRODUCT = "pks"
SAMPLE_SECONDS = 2.0


def tenant_names(count: int) -> list[str]:
    """`count` tenant names, `t001`..: DNS labels that sort in creation order."""
    return [f"t{i:03d}" for i in range(1, count + 1)]


def scale_targets(example: Mapping[str, Any], tenants: int, nodes: int, product: str = PRODUCT) -> dict[str, Any]:
    """A targets file (as data) of one product of `example` (a parsed targets file) with `nodes` lab
    workers and `tenants` tenants on its one shared cluster, the product's plans cycled in their order;
    the example's expectations of that product are kept. Raises ValueError for a product the example
    does not have, one without plans, or fewer than one tenant."""
    if tenants < 1:
        raise ValueError(f"tenants: {tenants} (fix: at least 1)")
    found = [p for p in example.get("products", []) if p.get("name") == product]
    if not found:
        raise ValueError(f"product {product!r} is not in the example (fix: name one of its products)")
    spec = dict(found[0])
    plans = [p["name"] for p in spec.get("plans", [])]
    if not plans:
        raise ValueError(f"product {product!r} has no plans (fix: give it at least one)")
    if "lab" in spec:
        spec["lab"] = {**spec["lab"], "nodes": nodes}
    spec["plans"] = [_lab_request(plan) for plan in spec.get("plans", [])]
    cycle = itertools.cycle(plans)
    return {
        "version": example.get("version", 1),
        "products": [spec],
        "tenancy": [{"product": product, "tenants": [{"name": n, "plan": next(cycle)} for n in tenant_names(tenants)]}],
        "expectations": [e for e in example.get("expectations") or [] if e.get("product") == product],
    }


# The plans' LimitRange default CPU request in the bench (the example's is 50 m), which every suite pod gets. A lab
# node advertises the machine's cores (2 here), so at 50 m it holds 40 pods: at 50 tenants on 5 workers the
# privileged case pods, which run on one node a plan, stayed Pending (Insufficient cpu) and the check was
# ERROR. At 10 m a node holds 200; the plans' other fences (quota, limits, pod security) are the example's.
REQUEST_MILLICORES = 10
CASE_PODS = 100  # pods beside the probe pods at their peak: the privileged case matrices of a few plans, storage
MIN_WORKERS = 3  # cross-node flows and a node a plan's case pods can have to themselves


def _lab_request(plan: Mapping[str, Any]) -> dict[str, Any]:
    """`plan` (targets-file data) with its quota's default CPU request set to REQUEST_MILLICORES."""
    quota = plan.get("quota")
    if not isinstance(quota, Mapping) or "default_requests" not in quota:
        return dict(plan)
    requests = {**quota["default_requests"], "cpu": f"{REQUEST_MILLICORES}m"}
    return {**plan, "quota": {**quota, "default_requests": requests}}


def workers_for(tenants: int, node_millicores: int) -> int:
    """The fewest lab workers (at least MIN_WORKERS, at most provisioning.lab.layout.MAX_WORKERS) on which
    the run's peak of pods fits: two probe pods a tenant and CASE_PODS more, each requesting
    REQUEST_MILLICORES of a node's `node_millicores` (provisioning.lab.sizing.pods_that_fit)."""
    from provisioning.lab.layout import MAX_WORKERS
    from provisioning.lab.sizing import pods_that_fit

    wanted = 2 * tenants + CASE_PODS
    for workers in range(MIN_WORKERS, MAX_WORKERS + 1):
        if pods_that_fit(workers, node_millicores, REQUEST_MILLICORES) >= wanted:
            return workers
    return MAX_WORKERS


@dataclass
class AreaFigures:
    """One area's figures in one run: seconds inside its scenarios and the work counted."""

    seconds: float = 0.0
    scenarios: int = 0
    work: dict[str, int] = field(default_factory=dict)


def growth(small: float, large: float, tenants_small: int, tenants_large: int) -> float | None:
    """The ratio per tenant between two sizes: (large / tenants_large) / (small / tenants_small).
    1.0 is linear growth, above 1 superlinear, below 1 sublinear; None when the small figure is 0."""
    if not small:
        return None
    return (large / tenants_large) / (small / tenants_small)


def exponent(small: float, large: float, tenants_small: int, tenants_large: int) -> float | None:
    """The fitted power k of figure ~ tenants**k between two sizes (1 linear, 2 quadratic); None when
    either figure is 0 or the sizes are equal."""
    import math

    if small <= 0 or large <= 0 or tenants_small == tenants_large:
        return None
    return math.log(large / small) / math.log(tenants_large / tenants_small)


def render(
    sizes: Sequence[int], runs: Sequence[Mapping[str, AreaFigures]], totals: Sequence[Mapping[str, float]]
) -> str:
    """The scale table: one row per area and figure, one column per size, then the ratio per tenant and
    the fitted exponent of the last size against the first (the baseline)."""
    names = [k for r in runs for f in r.values() for k in f.work] + [k for t in totals for k in t]
    width = max([26, *(len(name) for name in names)])  # the figure column holds the longest figure's name
    head = f"{'area':<14} {'figure':<{width}}" + "".join(f" {f'N={n}':>10}" for n in sizes)
    head += f" {'per tenant':>11} {'exponent':>9}" if len(sizes) > 1 else ""
    lines = [head, "-" * len(head)]

    def row(area: str, figure: str, values: Sequence[float]) -> None:
        text = f"{area:<14} {figure:<{width}}" + "".join(f" {v:>10.1f}" if v % 1 else f" {v:>10.0f}" for v in values)
        if len(sizes) > 1:
            ratio = growth(values[0], values[-1], sizes[0], sizes[-1])
            power = exponent(values[0], values[-1], sizes[0], sizes[-1])
            text += f" {'' if ratio is None else f'{ratio:.2f}x':>11} {'' if power is None else f'{power:.2f}':>9}"
        lines.append(text)

    areas = sorted({a for r in runs for a in r})
    for area in areas:
        figures = [r.get(area, AreaFigures()) for r in runs]
        row(area, "seconds", [f.seconds for f in figures])
        row(area, "scenarios", [f.scenarios for f in figures])
        for name in sorted({k for f in figures for k in f.work}):
            row(area, name, [f.work.get(name, 0) for f in figures])
    for name in sorted({k for t in totals for k in t}):
        row("run", name, [t.get(name, 0.0) for t in totals])
    return "\n".join(lines)


_SAMPLE = re.compile(r"^apiserver_request_total\{(?P<labels>[^}]*)\} (?P<value>[0-9.e+]+)$")
_LABEL = re.compile(r'(\w+)="([^"]*)"')


def request_counts(metrics_text: str) -> dict[str, float]:
    """The API server's requests so far by kind, from its /metrics text (Prometheus exposition):
    `all`, and per "VERB resource[/subresource]" (e.g. "POST pods", "POST subjectaccessreviews",
    "CONNECT pods/exec"), summed over codes, groups and versions."""
    counts: dict[str, float] = {"all": 0.0}
    for line in metrics_text.splitlines():
        matched = _SAMPLE.match(line)
        if not matched:
            continue
        labels = dict(_LABEL.findall(matched["labels"]))
        value = float(matched["value"])
        counts["all"] += value
        resource = labels.get("resource", "") + (f"/{labels['subresource']}" if labels.get("subresource") else "")
        if resource:
            key = f"{labels.get('verb', '')} {resource}"
            counts[key] = counts.get(key, 0.0) + value
    return counts


@dataclass
class Sampler:
    """Samples, every SAMPLE_SECONDS while the run goes, the summed RSS and PSS (KiB) of the processes of
    lab cluster `name` (its daemons and containers: provisioning.lab.host.processes_of) and the cluster's
    API request counters (cumulative, API server restarts bridged); writes both to `out` as JSON."""

    home: Path
    name: str
    out: Path
    memory: list[tuple[float, int, int, int]] = field(default_factory=list)  # (time, processes, RSS, PSS)
    suite: list[tuple[float, int]] = field(default_factory=list)  # (time, RSS of caas run and pytest, the lab's aside)
    root: int = 0  # the caas run process (0: not sampled)
    requests: list[tuple[float, dict[str, float]]] = field(default_factory=list)
    cpu: list[tuple[float, float, float, float]] = field(default_factory=list)  # (time, busy, all, suite) CPU s
    # the last CPU seconds seen of every suite process, by (pid, start): a process that ended keeps its share
    _suite_cpu: dict[tuple[int, int], float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=60)
        self.out.write_text(
            json.dumps({"memory": self.memory, "suite": self.suite, "requests": self.requests, "cpu": self.cpu})
        )

    def _loop(self) -> None:
        from provisioning.kube import client as kube
        from provisioning.lab import host

        directory = self.home / "clusters" / self.name
        kubeconfig = directory / "kubeconfigs" / "admin.kubeconfig"
        api: Any = None
        base: dict[str, float] = {}  # counts before the API server's last restart
        last: dict[str, float] = {}
        while not self._stop.wait(SAMPLE_SECONDS):
            now = time.time()
            pids = host.processes_of(directory, lambda top: top.startswith(f"caas-{self.name}-"))
            rss = pss = 0
            for pid in pids:
                rss_kib, pss_kib = _memory_kib(pid)
                rss, pss = rss + rss_kib, pss + pss_kib
            if pids:
                self.memory.append((now, len(pids), rss, pss))
            if self.root:
                lab = set(pids)  # the lab's daemons are the run's children too: counted once, as the lab's
                own = [p for p in descendants(self.root) if p not in lab]
                self.suite.append((now, sum(_memory_kib(p)[0] for p in own)))
                self.cpu.append((now, *machine_cpu_seconds(), remember_cpu(self._suite_cpu, own)))
            if api is None and kubeconfig.exists():
                try:
                    api = kube.from_kubeconfig(kubeconfig, timeout=10)
                except Exception:  # the kubeconfig may be half written; next sample tries again
                    api = None
            if api is None:
                continue
            try:
                counts = request_counts(kube.request(api, "GET", "/metrics", raw=True))
            except kube.ApiFailure:
                continue  # starting, restarting or gone: the next sample bridges it
            if counts.get("all", 0) < last.get("all", 0):  # restarted: keep what it had counted
                base = {k: base.get(k, 0) + last.get(k, 0) for k in base.keys() | last.keys()}
            last = counts
            self.requests.append((now, {k: base.get(k, 0) + counts.get(k, 0) for k in base.keys() | counts.keys()}))


def descendants(root: int) -> list[int]:
    """`root` and every process below it (from /proc/PID/stat's parent pids)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    found, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        found += frontier
    return found


def machine_cpu_seconds(stat: Path = Path("/proc/stat")) -> tuple[float, float]:
    """(busy, all) CPU seconds of the whole machine since boot, every core summed (proc(5): the "cpu"
    line of /proc/stat in USER_HZ ticks; idle and iowait are not busy)."""
    ticks = [int(x) for x in stat.read_text().splitlines()[0].split()[1:]]
    hertz = os.sysconf("SC_CLK_TCK")
    return (sum(ticks) - ticks[3] - ticks[4]) / hertz, sum(ticks) / hertz


def remember_cpu(seen: dict[tuple[int, int], float], pids: Iterable[int]) -> float:
    """Record in `seen` the CPU seconds of each of `pids` still running (`process_cpu`) and return the sum
    over every process seen so far, in seconds: one that ended counts with its last reading."""
    for pid in pids:
        if (reading := process_cpu(pid)) is not None:
            seen[reading[0]] = reading[1]
    return sum(seen.values())


def process_cpu(pid: int) -> tuple[tuple[int, int], float] | None:
    """((pid, start time in clock ticks after boot), user and system CPU seconds) of `pid` itself, None
    when it is gone (proc(5): /proc/PID/stat utime, stime and starttime; not cutime and cstime: the lab's
    daemons are the run's children, and their CPU joins the run's cutime when they end). The start time
    tells a reused pid from the process that had it."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (pid, int(fields[19])), sum(int(x) for x in fields[11:13]) / os.sysconf("SC_CLK_TCK")


def _memory_kib(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of `pid` in KiB from /proc/PID/smaps_rollup ((0, 0) when it is gone)."""
    rss = pss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
    except (OSError, ValueError):
        return 0, 0
    return rss, pss


def count_at(series: Sequence[tuple[float, Mapping[str, float]]], moment: float, key: str) -> float:
    """The cumulative counter `key` at `moment` (epoch seconds), linear between the samples around it,
    the first or last sample outside them; 0 without samples."""
    if not series:
        return 0.0
    if moment <= series[0][0]:
        return series[0][1].get(key, 0.0)
    for (t0, c0), (t1, c1) in itertools.pairwise(series):
        if t0 <= moment <= t1:
            share = (moment - t0) / (t1 - t0) if t1 > t0 else 1.0
            return c0.get(key, 0.0) + share * (c1.get(key, 0.0) - c0.get(key, 0.0))
    return series[-1][1].get(key, 0.0)


REVIEWS = ("subjectaccessreviews", "selfsubjectaccessreviews", "localsubjectaccessreviews", "selfsubjectrulesreviews")
BENCH_FILE = "bench-scale.json"  # what this bench adds to a run folder: sizes, wall clock, samples


def work_of(counts_between: Mapping[str, float]) -> dict[str, int]:
    """The work figures of a window from the API request counts it saw (keys as request_counts)."""
    return {
        "API requests": round(counts_between.get("all", 0)),
        "access reviews": round(sum(counts_between.get(f"POST {r}", 0) for r in REVIEWS)),
        "pods created": round(counts_between.get("POST pods", 0)),
        "pod execs": round(counts_between.get("CONNECT pods/exec", 0) + counts_between.get("GET pods/exec", 0)),
    }


@dataclass(frozen=True)
class Window:
    """One scenario's part of the run: from the previous scenario's stop (its fixtures' setup and the
    previous teardown included) to its own stop, epoch seconds."""

    area: str
    check: str
    begin: float
    start: float
    stop: float


def windows(results: Sequence[tuple[str, str, float, float]], run_start: float) -> list[Window]:
    """The scenarios' windows in start order from (area, check, start, stop) in epoch seconds; the
    first begins at its own start (what came before is the run's onboarding, reported apart)."""
    ordered = sorted(results, key=lambda r: r[2])
    found = []
    previous = ordered[0][2] if ordered else run_start
    for area, check, start, stop in ordered:
        found.append(Window(area or "(none)", check, min(previous, start), start, stop))
        previous = max(previous, stop)
    return found


_PROBES = re.compile(r"observed in \d+ attempt\(s\), [\d.]+s, (\d+) probes")  # checks.network.reachability
_PAIRS = re.compile(r"^tenant pairs observed both ways: (\d+) of (\d+)$", re.M)  # reachability.tenant_pairs
_CELLS = re.compile(r"^cells: (.*)$", re.MULTILINE)  # checks.rbac.access.Observation.counts
_WAY = re.compile(r"(\S+) (\d+) asked(?:, (\d+) inferred from (\d+) SelfSubjectRulesReviews)?")
# checks.rbac.design.coverage: the access matrix's covering design (or every cell) and the model's agreement
_DESIGN = re.compile(
    r"^covering design \(seed (\d+)\): (\d+) of (\d+) cells asked .*; (\d+) inferred from the model", re.M
)
_EVERY = re.compile(r"^every cell asked \(([\d,]+), within the budget\)", re.M)
_AGREE = re.compile(r"^model vs (\S+): ([\d,]+) of ([\d,]+) answered cells agree", re.M)


_PROVISIONING = re.compile(r"<th>total</th><th>([\d.]+) s</th>")  # the run's "provisioning timings (PRODUCT)"


def provisioning_seconds(html: str) -> float:
    """The total of a "provisioning timings" attachment (fixtures: cluster and onboarding), 0.0 without one."""
    matched = _PROVISIONING.search(html)
    return float(matched[1]) if matched else 0.0


def evidence_work(texts: Sequence[str]) -> dict[str, int]:
    """Work the engines' text evidence of one area states: network probes (each verdict's "observed in K
    attempt(s), S s, P probes"; the matrices of tenant pairs, and those where a pair was not observed both
    ways), access-matrix cells asked and inferred (the observer's "cells: WAY N
    asked[, M inferred from R SelfSubjectRulesReviews]; ...") and the access matrix's covering split
    (checks.rbac.design.coverage): its cells, those asked and those only the model answered ("model-only
    cells"), and over the ways the cells answered and those where the model and the API server disagree.
    The same observation attached by several scenarios (one observation, several scopes judged) counts
    once: identical lines are one."""
    work: dict[str, int] = {}
    pairs = [(int(m[1]), int(m[2])) for text in texts for m in _PAIRS.finditer(text)]
    if pairs:  # the matrices that probe tenant pairs: how many, and how many left a pair unprobed a way
        work["pair matrices"] = len(pairs)
        work["pair matrices missing a pair"] = sum(1 for both, every in pairs if both < every)
        work["tenant pairs (largest matrix)"] = max(every for _, every in pairs)

    def add(name: str, value: int) -> None:
        work[name] = work.get(name, 0) + value

    lines: set[str] = set()
    designs: set[tuple[str, ...]] = set()
    for text in texts:
        for matched in _PROBES.finditer(text):
            add("probes", int(matched[1]))
        lines.update(_CELLS.findall(text))
        agreed = tuple(x for m in _AGREE.finditer(text) for x in m.groups())
        designs.update((*d.groups(), *agreed) for d in _DESIGN.finditer(text))
        designs.update(("", e[1], e[1], "0", *agreed) for e in _EVERY.finditer(text))
    for found in designs:
        figures = [int(x.replace(",", "")) for x in found[1:4]]
        add("matrix cells asked", figures[0])
        add("matrix cells", figures[1])
        add("matrix cells inferred from the model", figures[2])
        for way in range(4, len(found), 3):
            agree, answered = int(found[way + 1].replace(",", "")), int(found[way + 2].replace(",", ""))
            add("answered (model vs API)", answered)
            add("model-API disagreements", answered - agree)
    for line in lines:
        for way in _WAY.finditer(line):
            add("cells asked", int(way[2]))
            if way[3]:
                add("cells inferred from rules reviews", int(way[3]))
                add("rules reviews", int(way[4]))
    return work


def _texts(results_dir: Path, result: Mapping[str, Any], kind: str = "text/plain") -> list[str]:
    """The attachments of one Allure result (its steps' included) of MIME type `kind`."""
    found: list[str] = []
    nodes = [result]
    while nodes:
        node = nodes.pop()
        nodes += node.get("steps", [])
        for attachment in node.get("attachments", []):
            path = results_dir / attachment.get("source", "")
            if attachment.get("type", "text/plain") == kind and path.is_file():
                found.append(path.read_text(errors="replace"))
    return found


def analyse(run_dir: Path) -> tuple[dict[str, AreaFigures], dict[str, float]]:
    """(per area figures, run totals) of a run folder this bench wrote (its Allure results and, where
    present, the samples of BENCH_FILE)."""
    from reports.records import read_allure_results

    results = read_allure_results(run_dir / "allure-results")
    extra = json.loads((run_dir / BENCH_FILE).read_text()) if (run_dir / BENCH_FILE).exists() else {}
    series = [(t, c) for t, c in extra.get("requests", [])]
    rows = [  # a scenario skipped before its first step has no start or stop: it took no time
        (r.area, r.check, r.start_ms / 1000, (r.start_ms + r.duration_ms) / 1000)
        for r in results
        if r.start_ms > 0 and r.duration_ms >= 0
    ]
    run_start = float(extra.get("started", min((r[2] for r in rows), default=0.0)))
    run_stop = float(extra.get("stopped", max((r[3] for r in rows), default=0.0)))
    spans = windows(rows, run_start)
    areas: dict[str, AreaFigures] = {}
    keys = {k for _, c in series for k in c}
    for window in spans:
        figures = areas.setdefault(window.area, AreaFigures())
        figures.seconds += window.stop - window.begin
        figures.scenarios += 1
        if series:
            between = {k: count_at(series, window.stop, k) - count_at(series, window.begin, k) for k in keys}
            for name, value in work_of(between).items():
                figures.work[name] = figures.work.get(name, 0) + value
    for figures in areas.values():  # the pace, which the machine's load sets: compare seconds at equal pace
        if figures.seconds > 0 and "API requests" in figures.work:
            figures.work["API requests/s"] = round(figures.work["API requests"] / figures.seconds)
    texts: dict[str, list[str]] = {}
    provisioning = 0.0
    for path in sorted((run_dir / "allure-results").glob("*-result.json")):
        data = json.loads(path.read_text())
        area = next((x["value"] for x in data.get("labels", []) if x.get("name") == "epic"), "(none)")
        texts.setdefault(area, []).extend(_texts(path.parent, data))
        provisioned = sum(provisioning_seconds(h) for h in _texts(path.parent, data, "text/html"))
        if provisioned:  # the tenancy is provisioned inside the first scenario that asks for it: not its area's
            areas.setdefault(area, AreaFigures()).seconds -= provisioned
            provisioning += provisioned
    for area, found in texts.items():
        for name, value in evidence_work(found).items():
            areas.setdefault(area, AreaFigures()).work[name] = value
    totals: dict[str, float] = {}
    if spans:
        totals["seconds before 1st scenario"] = spans[0].begin - run_start
        totals["seconds after last scenario"] = run_stop - max(w.stop for w in spans)
    totals["seconds wall"] = run_stop - run_start
    if "nodes" in extra:
        totals["lab workers"] = float(extra["nodes"])
    totals["seconds provisioning"] = provisioning
    memory = extra.get("memory", [])
    if memory:
        totals["lab peak RSS MiB"] = max(m[2] for m in memory) / 1024
        totals["lab peak PSS MiB"] = max(m[3] for m in memory) / 1024
        totals["lab peak processes"] = max(m[1] for m in memory)
    if extra.get("suite"):
        totals["suite peak RSS MiB"] = max(m[1] for m in extra["suite"]) / 1024
    totals.update(cpu_totals(extra.get("cpu", [])))
    if series:
        totals["API requests"] = series[-1][1].get("all", 0.0)
    return areas, totals


def cpu_totals(cpu: Sequence[Sequence[float]]) -> dict[str, float]:
    """From the (time, machine busy, machine all, suite) CPU-second samples: the machine's busy share over
    the run in percent and the CPU seconds the suite's own processes used, those that ended before the
    run included ({} with fewer than two)."""
    if len(cpu) < 2:
        return {}
    (_, busy0, all0, _), (_, busy1, all1, _) = cpu[0], cpu[-1]
    return {
        "machine CPU busy %": 100 * (busy1 - busy0) / max(all1 - all0, 1e-9),
        "suite CPU seconds": max(c[3] for c in cpu),
    }


def measure(
    tenants: int,
    nodes: int,
    output: Path,
    prefix: str,
    checkout: Path = ROOT,
    keyword: str = "",
    pytest_args: Sequence[str] = (),
) -> Path:
    """One `caas run` of the whole suite of `checkout` at `tenants` tenants into `output`; returns its run
    folder (with BENCH_FILE: the wall clock and the samples)."""
    example = yaml.safe_load(EXAMPLE.read_text())
    run_id = f"{prefix}scale-{tenants}-{int(time.time()) % 100000}"
    targets = output / f"targets-{tenants}.yaml"
    targets.write_text(yaml.safe_dump(scale_targets(example, tenants, nodes), sort_keys=False))
    from harness.settings import lab_home

    sampler = Sampler(lab_home(dict(os.environ)), f"{prefix}{PRODUCT}-shared", output / f"samples-{tenants}.json")
    started = time.time()
    command = [sys.executable, "-m", "harness.cli.main", "run", "--targets", str(targets), "--output", str(output)]
    command += ["-k", keyword] if keyword else []
    with (
        (output / f"caas-run-{tenants}.log").open("wb") as log,
        subprocess.Popen(
            [*command, "--run-id", run_id, *(["--", *pytest_args] if pytest_args else [])],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=checkout,
        ) as done,
    ):
        sampler.root = done.pid
        sampler.start()
        done.wait(timeout=4 * 3600)
    stopped = time.time()
    sampler.stop()
    run_dir = output / run_id
    samples = json.loads(sampler.out.read_text())
    (run_dir / BENCH_FILE).write_text(
        json.dumps(
            {
                "tenants": tenants,
                "nodes": nodes,
                "exit": done.returncode,
                "started": started,
                "stopped": stopped,
                **samples,
            }
        )
    )
    print(
        f"N={tenants}: caas run exit {done.returncode}, {stopped - started:.0f}s, run folder {run_dir}",
        file=sys.stderr,
        flush=True,
    )
    return run_dir


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", default="5,10", help="sizes, comma-separated; the first is the baseline")
    parser.add_argument(
        "--nodes",
        default="auto",
        help="workers of the shared lab cluster (1..12, provisioning.lab.layout.MAX_WORKERS), or auto: per size",
    )
    parser.add_argument("--keep-runs", help="write the run folders here (default: a temporary folder)")
    parser.add_argument("--runs", nargs="+", help="only tabulate these run folders of earlier measurements")
    parser.add_argument("--checkout", default=str(ROOT), help="the suite checkout whose caas run is measured")
    parser.add_argument("--keyword", default="", help="only the scenarios of this pytest -k expression")
    parser.add_argument("--pytest-args", default="", help='passed to pytest after "--", e.g. "-n 2 --dist loadfile"')
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    prefix = os.environ.get("CAAS_CLUSTER_PREFIX", "")
    if args.runs:
        run_dirs = [Path(r) for r in args.runs]
    else:
        sizes = [int(n) for n in args.tenants.split(",")]
        keep = Path(args.keep_runs) if args.keep_runs else Path(tempfile.mkdtemp(prefix="caas-bench-scale-"))
        keep.mkdir(parents=True, exist_ok=True)
        cores = (os.cpu_count() or 1) * 1000
        nodes = [workers_for(n, cores) if args.nodes == "auto" else int(args.nodes) for n in sizes]
        checkout, extra = Path(args.checkout), args.pytest_args.split()
        run_dirs = [
            measure(n, w, keep, prefix, checkout, args.keyword, extra) for n, w in zip(sizes, nodes, strict=True)
        ]
    measured = [analyse(d) for d in run_dirs]
    sizes = [_tenants_of(d) for d in run_dirs]
    print(render(sizes, [m[0] for m in measured], [m[1] for m in measured]))
    if args.json:
        Path(args.json).write_text(json.dumps(figures_json(sizes, measured)))
    return 0


def _tenants_of(run_dir: Path) -> int:
    extra = run_dir / BENCH_FILE
    if extra.exists():
        return int(json.loads(extra.read_text())["tenants"])
    from harness.run_targets import RUN_TARGETS  # the run's own copy of its targets file

    data = yaml.safe_load((run_dir / RUN_TARGETS).read_text())
    return sum(len(t.get("tenants", [])) for t in data.get("tenancy", []))


def figures_json(
    sizes: Sequence[int], measured: Sequence[tuple[Mapping[str, AreaFigures], Mapping[str, float]]]
) -> list[dict[str, object]]:
    """bench.table's rows: each area's seconds at the largest size beside the baseline size scaled
    linearly to it (ratio baseline/figure >= 1: at most linear)."""
    if len(sizes) < 2:
        return []
    first, last = measured[0], measured[-1]
    rows: list[dict[str, object]] = []
    for area in sorted(last[0]):
        base = first[0].get(area, AreaFigures()).seconds * sizes[-1] / sizes[0]
        rows.append(
            {
                "figure": f"scale: {area} at {sizes[-1]} tenants",
                "seconds": last[0][area].seconds,
                "baseline": f"{sizes[0]} tenants x {sizes[-1] / sizes[0]:g}",
                "baseline_seconds": base,
            }
        )
    return rows


if __name__ == "__main__":
    raise SystemExit(main())
