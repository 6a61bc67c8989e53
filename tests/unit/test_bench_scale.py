"""bench/scale.py's pure parts: the generated targets file, the growth figures, the API request
counters and their attribution to the scenarios' windows."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from bench import scale
from bench.scale import (
    AreaFigures,
    count_at,
    evidence_work,
    exponent,
    growth,
    provisioning_seconds,
    render,
    request_counts,
    scale_targets,
    tenant_names,
    windows,
    work_of,
)
from harness.targets import load_targets
from tests.support import ROOT

EXAMPLE = ROOT / "targets.example.yaml"


def test_generated_targets_cycle_the_plans_on_one_shared_cluster_and_load(tmp_path: Path) -> None:
    example = yaml.safe_load(EXAMPLE.read_text())
    data = scale_targets(example, 7, 2)
    assert [p["name"] for p in data["products"]] == ["pks"]
    assert data["products"][0]["lab"]["nodes"] == 2
    tenants = data["tenancy"][0]["tenants"]
    assert [t["name"] for t in tenants] == tenant_names(7) == [f"t00{i}" for i in range(1, 8)]
    assert [t["plan"] for t in tenants] == ["small", "medium", "large"] * 2 + ["small"]
    assert all("placement" not in t for t in tenants)  # shared: the default placement
    assert data["expectations"]
    assert {e["product"] for e in data["expectations"]} == {"pks"}
    path = tmp_path / "targets.yaml"
    path.write_text(yaml.safe_dump(data))
    loaded = load_targets(path)
    assert len(loaded.model.tenants["pks"]) == 7


@pytest.mark.parametrize(
    ("tenants", "product", "problem"),
    [(0, "pks", "tenants: 0"), (3, "nope", "'nope' is not in the example")],
)
def test_generated_targets_refuse_what_cannot_be_generated(tenants: int, product: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        scale_targets(yaml.safe_load(EXAMPLE.read_text()), tenants, 1, product)


def test_growth_per_tenant_and_exponent() -> None:
    assert growth(10.0, 20.0, 5, 10) == pytest.approx(1.0)  # linear
    assert growth(10.0, 40.0, 5, 10) == pytest.approx(2.0)  # quadratic: per tenant doubles
    assert growth(0.0, 40.0, 5, 10) is None
    assert exponent(10.0, 40.0, 5, 10) == pytest.approx(2.0)
    assert exponent(10.0, 10.0, 5, 10) == pytest.approx(0.0)
    assert exponent(0.0, 10.0, 5, 10) is None
    assert exponent(1.0, 10.0, 5, 5) is None


_LINE = (
    'apiserver_request_total{{code="{code}",component="apiserver",dry_run="",group="{group}",resource="{resource}",'
    'scope="resource",subresource="{sub}",verb="{verb}",version="v1"}} {value}'
)
METRICS = "\n".join(
    [
        "# HELP apiserver_request_total [STABLE] Counter of apiserver requests",
        "# TYPE apiserver_request_total counter",
        _LINE.format(code=201, group="", resource="pods", sub="", verb="POST", value="12"),
        _LINE.format(code=403, group="", resource="pods", sub="", verb="POST", value="3"),
        _LINE.format(
            code=201,
            group="authorization.k8s.io",
            resource="subjectaccessreviews",
            sub="",
            verb="POST",
            value="1e+03",
        ),
        _LINE.format(code=101, group="", resource="pods", sub="exec", verb="CONNECT", value="4"),
        _LINE.format(code=200, group="", resource="", sub="/healthz", verb="GET", value="5"),
        'apiserver_request_duration_seconds_count{verb="GET"} 99',
    ]
)


def test_request_counts_sum_codes_and_name_verb_and_resource() -> None:
    counts = request_counts(METRICS)
    assert counts["all"] == 1024
    assert counts["POST pods"] == 15
    assert counts["CONNECT pods/exec"] == 4
    assert work_of(counts) == {"API requests": 1024, "access reviews": 1000, "pods created": 15, "pod execs": 4}


def test_count_at_interpolates_between_samples() -> None:
    series = [(10.0, {"all": 100.0}), (20.0, {"all": 200.0})]
    assert count_at(series, 15.0, "all") == pytest.approx(150.0)
    assert count_at(series, 5.0, "all") == 100.0
    assert count_at(series, 25.0, "all") == 200.0
    assert count_at([], 1.0, "all") == 0.0


def test_windows_give_each_scenario_the_gap_before_it() -> None:
    found = windows([("rbac", "c2", 30.0, 40.0), ("network", "c1", 10.0, 20.0), ("rbac", "c3", 45.0, 50.0)], 0.0)
    assert [(w.area, w.begin, w.stop) for w in found] == [
        ("network", 10.0, 20.0),
        ("rbac", 20.0, 40.0),
        ("rbac", 40.0, 50.0),
    ]


def test_render_prints_each_size_and_the_ratio_per_tenant() -> None:
    runs = [
        {"rbac": AreaFigures(10.0, 2, {"access reviews": 100})},
        {"rbac": AreaFigures(40.0, 2, {"access reviews": 400})},
    ]
    text = render([5, 10], runs, [{"peak RSS MiB": 900.0}, {"peak RSS MiB": 1000.0}])
    line = next(x for x in text.splitlines() if "access reviews" in x)
    assert line.split()[-4:] == ["100", "400", "2.00x", "2.00"]
    assert "peak RSS MiB" in text


def test_evidence_work_counts_probes_and_each_observation_once() -> None:
    cells = (
        "the three ways agree on every cell\ncells: request 100 asked; selfsubjectaccessreview 40 asked, "
        "60 inferred from 6 SelfSubjectRulesReviews; subjectaccessreview 100 asked"
    )
    texts = [
        "PASS\nobserved in 2 attempt(s), 4.3s, 270 probes",
        "observed in 1 attempt(s), 0.0s, 4 probes",
        cells,
        cells,
    ]
    assert evidence_work(texts) == {
        "probes": 274,
        "cells asked": 240,
        "cells inferred from rules reviews": 60,
        "rules reviews": 6,
    }
    assert evidence_work(["nothing counted here"]) == {}


def test_provisioning_seconds_read_the_timings_total() -> None:
    html = "<table><tr><td>cluster x</td><td>13.5 s</td></tr><tr><th>total</th><th>13.5 s</th></tr></table>"
    assert provisioning_seconds(html) == 13.5
    assert provisioning_seconds("<table></table>") == 0.0


def test_evidence_work_reads_the_covering_split_and_the_models_agreement_once_per_observation() -> None:
    from checks.matrix import Cell, Matrix
    from checks.rbac.access import Observation
    from checks.rbac.covering import Design
    from checks.rbac.design import coverage

    class Asked:
        def __init__(self, column: str, expected: Cell) -> None:
            self.probe = type("P", (), {"row": "a", "column": column})()
            self.expected = expected

    questions = [Asked("c1", Cell.ALLOWED), Asked("c2", Cell.DENIED), Asked("c3", Cell.DENIED)]
    cells = {("a", "c1"): Cell.ALLOWED, ("a", "c2"): Cell.ALLOWED, ("a", "c3"): Cell.ERROR}
    ways = {w: Matrix.build(["a"], ["c1", "c2", "c3"], cells) for w in ("request", "subjectaccessreview")}
    observation = Observation(ways, (), {})
    design = Design(77, 1, 1234567, ((0, 0, 0, 0), (0, 0, 0, 1), (0, 0, 0, 2)), {"tenant x tenant": 2})
    text = coverage(design, questions, observation)  # type: ignore[arg-type]
    work = evidence_work([text, f"PASS\n{text}"])
    assert work == {
        "matrix cells asked": 3,
        "matrix cells": 1234567,
        "matrix cells inferred from the model": 1234564,
        "answered (model vs API)": 4,
        "model-API disagreements": 2,
    }
    every = evidence_work([coverage(None, questions, observation)])  # type: ignore[arg-type]
    assert (every["matrix cells asked"], every["matrix cells"], every["matrix cells inferred from the model"]) == (
        3,
        3,
        0,
    )


def test_workers_for_gives_each_size_room_for_its_pods_at_the_plans_request() -> None:
    from bench.scale import workers_for

    two_cores = 2000
    assert workers_for(10, two_cores) == 3  # never fewer than MIN_WORKERS
    assert workers_for(100, two_cores) == 3  # 300 pods at 10 m: 200 a node by CPU
    assert workers_for(400, two_cores) == 5
    assert workers_for(10000, two_cores) == 12  # no more than the lab's MAX_WORKERS


def test_the_bench_plans_ask_the_lab_request_and_keep_their_other_fences() -> None:
    import yaml

    from bench.scale import EXAMPLE, REQUEST_MILLICORES, scale_targets

    example = yaml.safe_load(EXAMPLE.read_text())
    plans = scale_targets(example, 3, 3)["products"][0]["plans"]
    originals = {p["name"]: p for p in next(x for x in example["products"] if x["name"] == "pks")["plans"]}
    for plan in plans:
        assert plan["quota"]["default_requests"]["cpu"] == f"{REQUEST_MILLICORES}m"
        assert plan["quota"]["hard"] == originals[plan["name"]]["quota"]["hard"]
        assert plan["pod_security"] == originals[plan["name"]]["pod_security"]


def test_machine_cpu_seconds_count_every_state_but_idle_and_iowait_as_busy(tmp_path: Path) -> None:
    stat = tmp_path / "stat"
    hertz = os.sysconf("SC_CLK_TCK")
    # user nice system idle iowait irq softirq steal guest guest_nice, in ticks
    stat.write_text(f"cpu  {3 * hertz} 0 {hertz} {10 * hertz} {2 * hertz} 0 0 0 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n")
    assert scale.machine_cpu_seconds(stat) == (4.0, 16.0)


def test_cpu_seconds_of_this_process_grow_and_a_gone_process_has_none() -> None:
    key, first = scale.process_cpu(os.getpid()) or ((0, 0), 0.0)
    deadline = time.process_time() + 0.2
    while time.process_time() < deadline:  # burn CPU: the figure counts it
        pass
    later = scale.process_cpu(os.getpid())
    assert later is not None
    assert later[0] == key
    assert later[1] >= first + 0.15
    assert key[0] == os.getpid()
    assert scale.process_cpu(2**22 + 1) is None


def test_a_process_that_ended_keeps_its_cpu_seconds_in_the_suites_sum() -> None:
    burn = (
        "import sys, time\nt = time.process_time() + 0.3\nwhile time.process_time() < t: pass\n"
        "print(1, flush=True)\nsys.stdin.read()"
    )
    child = subprocess.Popen([sys.executable, "-c", burn], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    assert child.stdout.readline() == "1\n"  # it has burnt its 0.3 s
    seen: dict[tuple[int, int], float] = {}
    running = scale.remember_cpu(seen, [child.pid])
    child.communicate("", timeout=30)

    assert running >= 0.3
    assert scale.remember_cpu(seen, [child.pid]) == running, "the ended process counts with its last reading"


def test_cpu_totals_give_the_busy_share_between_first_and_last_sample_and_the_suites_seconds() -> None:
    assert scale.cpu_totals([(0.0, 10.0, 100.0, 1.0)]) == {}
    totals = scale.cpu_totals([(0.0, 10.0, 100.0, 1.0), (2.0, 13.0, 104.0, 2.5), (4.0, 16.0, 108.0, 2.0)])
    assert totals == {"machine CPU busy %": 75.0, "suite CPU seconds": 2.5}


def test_render_sizes_the_figure_column_to_its_longest_name() -> None:
    runs = [{"rbac": AreaFigures(1.0, 1, {"matrix cells inferred from the model": 5})}]
    rows = render([100], runs, [{"seconds wall": 9.0}]).splitlines()[2:]
    assert [row.split()[-1] for row in rows] == ["1", "1", "5", "9"]
    assert len({len(row) for row in rows}) == 1, "every number ends in the same column"
