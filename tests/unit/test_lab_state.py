"""The lab's cluster state (`state.json`): the typed state, its JSON round trip, and what the lab reads back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.errors import ConfigError
from provisioning.lab import cluster
from provisioning.lab.home import LabPaths, list_clusters
from provisioning.lab.state import ClusterState, ClusterStatus, DaemonRecord, read_state, write_state
from provisioning.model.tenancy import AuthorizationMode

# A state file as the lab wrote it before the state was typed (a `caas lab up` cluster of profile cfcr, ready).
WRITTEN_BEFORE = {
    "authorization": "abac",
    "bare": False,
    "created": 1764400000.25,
    "daemons": [
        {"argv": ["/lab/bin/etcd", "--name", "etcd"], "component": "etcd", "node": 0, "pid": 4242},
        {
            "argv": ["containerd", "--config", "/x/containerd.toml"],
            "component": "containerd-ha-x-w1",
            "node": 1,
            "pid": 4250,
        },
    ],
    "index": 7,
    "name": "ha-x",
    "profile": "cfcr",
    "ready_seconds": 41.5,
    "run_id": "",
    "server": "https://10.213.7.10:6443",
    "status": "ready",
    "workers": 1,
}


def _state(**changes: object) -> ClusterState:
    data = {**WRITTEN_BEFORE, **changes}
    return ClusterState.from_json(data)


def test_a_state_file_of_the_untyped_lab_reads_into_its_fields() -> None:
    state = _state()
    assert (state.name, state.index, state.workers, state.profile) == ("ha-x", 7, 1, "cfcr")
    assert state.authorization is AuthorizationMode.ABAC
    assert state.status is ClusterStatus.READY
    assert state.daemons[1] == DaemonRecord(
        "containerd-ha-x-w1", 4250, 1, ("containerd", "--config", "/x/containerd.toml")
    )
    assert (state.run_id, state.bare, state.ready_seconds) == ("", False, 41.5)


def test_the_json_round_trip_gives_the_file_the_lab_wrote(tmp_path: Path) -> None:
    state = _state()
    assert state.to_json() == WRITTEN_BEFORE
    write_state(tmp_path / "state.json", state)
    text = (tmp_path / "state.json").read_text()
    assert text == json.dumps(WRITTEN_BEFORE, indent=1, sort_keys=True)
    assert read_state(tmp_path) == state
    assert not (tmp_path / "state.tmp").exists(), "the state is written through a temporary file and renamed"


def test_a_starting_cluster_has_no_ready_seconds_key() -> None:
    starting = ClusterState("ha-y", 3, 2, "pks", AuthorizationMode.RBAC, "https://10.213.3.10:6443", 1.0)
    data = starting.to_json()
    assert "ready_seconds" not in data
    assert (data["status"], data["daemons"], data["run_id"], data["bare"]) == ("starting", [], "", False)
    assert ClusterState.from_json(data) == starting


def test_a_state_without_run_id_and_bare_takes_their_defaults() -> None:
    data = {k: v for k, v in WRITTEN_BEFORE.items() if k not in ("run_id", "bare", "ready_seconds")}
    state = ClusterState.from_json(data)
    assert (state.run_id, state.bare, state.ready_seconds) == ("", False, None)


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("", "empty: a crash before the first write"),
        ('{"name": "ha-x", "index": 7', "truncated"),
        ("[1, 2]", "not an object"),
        (json.dumps({k: v for k, v in WRITTEN_BEFORE.items() if k != "index"}), "no index"),
        (json.dumps({**WRITTEN_BEFORE, "authorization": "webhook"}), "an authorization the lab does not run"),
        (json.dumps({**WRITTEN_BEFORE, "status": "gone"}), "a status the lab does not write"),
        (json.dumps({**WRITTEN_BEFORE, "daemons": [{"component": "etcd"}]}), "a daemon without pid"),
    ],
)
def test_a_file_that_is_no_state_reads_as_none(tmp_path: Path, content: str, why: str) -> None:
    (tmp_path / "state.json").write_text(content)
    assert read_state(tmp_path) is None, why


def test_no_state_file_reads_as_none(tmp_path: Path) -> None:
    assert read_state(tmp_path) is None


def test_daemons_are_added_at_the_end_and_removed_by_identity() -> None:
    state = _state()
    kubelet = DaemonRecord("kubelet-ha-x-w1", 4300, 1, ("/lab/bin/kube", "kubelet"))
    grown = state.with_daemon(kubelet)
    assert grown.daemons[-1] == kubelet
    assert state.daemons == _state().daemons, "the state is frozen: adding makes a new one"
    assert grown.daemon("kubelet-ha-x-w1") == kubelet
    assert grown.without_daemon(kubelet) == state
    assert state.daemon("kube-apiserver") is None


_names = st.from_regex(r"\A[a-z][a-z0-9-]{0,8}[a-z0-9]\Z")
_daemons = st.builds(
    DaemonRecord,
    component=_names,
    pid=st.integers(1, 2**22),
    node=st.integers(0, 3),
    argv=st.lists(st.text(max_size=20), max_size=5).map(tuple),
)


@given(
    st.builds(
        ClusterState,
        name=_names,
        index=st.integers(1, 50),
        workers=st.integers(1, 3),
        profile=st.sampled_from(["cfcr", "pks"]),
        authorization=st.sampled_from(AuthorizationMode),
        server=st.just("https://10.213.1.10:6443"),
        created=st.floats(0, 2e9),
        status=st.sampled_from(ClusterStatus),
        daemons=st.lists(_daemons, max_size=4).map(tuple),
        run_id=st.sampled_from(["", "run-1a2b"]),
        bare=st.booleans(),
        ready_seconds=st.none() | st.floats(0, 900),
    )
)
def test_every_state_survives_the_json_round_trip(state: ClusterState) -> None:
    assert ClusterState.from_json(json.loads(json.dumps(state.to_json()))) == state


def test_list_clusters_gives_only_states_that_name_their_directory(tmp_path: Path) -> None:
    paths = LabPaths(tmp_path)
    for directory, state in (("ha-a", _state(name="ha-a")), ("ha-b", _state(name="ha-other"))):
        (paths.clusters / directory).mkdir(parents=True)
        write_state(paths.cluster_dir(directory) / "state.json", state)
    (paths.clusters / "ha-c").mkdir()  # a crash before the first write
    (paths.clusters / "ha-c" / "state.json").write_text("{")
    assert [s.name for s in list_clusters(paths)] == ["ha-a"]
    assert list_clusters(paths, "hb-") == []


def test_attach_takes_profile_and_authorization_from_the_state(tmp_path: Path) -> None:
    paths = LabPaths(tmp_path)
    (paths.clusters / "ha-x").mkdir(parents=True)
    write_state(paths.cluster_dir("ha-x") / "state.json", _state(authorization="rbac"))
    lab = cluster.attach(paths, "ha-x")
    assert (lab.profile.name, lab.profile.authorization) == ("cfcr", AuthorizationMode.RBAC)
    assert (lab.layout.index, lab.layout.workers, lab.layout.directory) == (7, 1, paths.cluster_dir("ha-x"))
    assert lab.state == read_state(paths.cluster_dir("ha-x"))
    with pytest.raises(ConfigError, match='no lab cluster "ha-y"'):
        cluster.attach(paths, "ha-y")
