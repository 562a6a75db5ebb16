"""The same per-area tasks on a Dask distributed cluster give byte-for-byte the same files as a local run."""

from __future__ import annotations

import json

import pytest
from distributed import LocalCluster
from national_helpers import HARTLEPOOL, HULL, MIDDLESBROUGH, edition_files, small_inputs

from reportgen.cli import cli


@pytest.mark.slow
def test_a_dask_cluster_builds_the_same_bytes_as_a_local_run(runner, tmp_path):
    specs, data = small_inputs(tmp_path / "inputs")
    areas = ["--area", HARTLEPOOL, "--area", MIDDLESBROUGH, "--area", HULL]
    common = ["build", *areas, "--specs", str(specs), "--data", str(data)]
    local = runner.invoke(cli, [*common, "--out", str(tmp_path / "local"), "--jobs", "2"], catch_exceptions=False)
    assert local.exit_code == 0, local.output

    # One worker thread: matplotlib and WeasyPrint are used from one thread at a time.
    with LocalCluster(
        host="127.0.0.1", protocol="tcp://", n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://127.0.0.1:")
        remote = runner.invoke(cli, [*common, "--out", str(tmp_path / "dask"), "--scheduler", address])
    assert remote.exit_code == 0, remote.output
    assert "3 built" in remote.output

    local_files = edition_files(tmp_path / "local" / "2024")
    assert len([n for n in local_files if n.endswith(".pdf")]) == 6  # a full profile and a brief per area
    assert len([n for n in local_files if n.endswith("-brief.pdf")]) == 3
    assert edition_files(tmp_path / "dask" / "2024") == local_files
    manifests = [json.loads((tmp_path / f / "2024" / "manifest.json").read_text()) for f in ("local", "dask")]
    assert manifests[0] == manifests[1]


def test_an_unreachable_scheduler_is_a_clear_error(runner, tmp_path):
    specs, data = small_inputs(tmp_path / "inputs")
    args = ["build", "--area", HARTLEPOOL, "--specs", str(specs), "--data", str(data), "--out", str(tmp_path / "out")]
    result = runner.invoke(cli, [*args, "--scheduler", "tcp://127.0.0.1:9"])
    assert result.exit_code == 1
    assert "--scheduler tcp://127.0.0.1:9: cannot connect" in result.output
