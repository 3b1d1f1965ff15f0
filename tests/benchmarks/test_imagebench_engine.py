"""How the benchmark times `poetry docker build`: its output read line by line as it comes."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import pytest
from imagebench.analysis import split_poetry_docker_build
from imagebench.engine import Engine, run_stamped

if TYPE_CHECKING:
    from pathlib import Path

# Stands in for `poetry docker build`: a line on stdout, a "docker" that writes to the
# inherited stderr for a while, the closing line on stdout (each flushed, as cleo does).
FAKE = """\
import subprocess, sys, time
time.sleep(0.3)
print("Running: docker build -t img:1.0 .", flush=True)
subprocess.run([sys.executable, "-c", "import sys, time; sys.stderr.write('#1 DONE 0.5s\\\\n'); time.sleep(0.5)"])
print("Built img:1.0 and img:latest.", flush=True)
time.sleep(0.2)
"""


def test_run_stamped_times_each_line_as_it_arrives(tmp_path: Path) -> None:
    script = tmp_path / "fake.py"
    script.write_text(FAKE)
    total, code, lines = run_stamped([sys.executable, str(script)], cwd=tmp_path)
    assert code == 0
    assert [line.rstrip() for _, line in lines] == [
        "Running: docker build -t img:1.0 .", "#1 DONE 0.5s", "Built img:1.0 and img:latest."]
    split = split_poetry_docker_build(lines, total)
    assert split.tags == ["img:1.0", "img:latest"]
    assert split.docker_seconds == pytest.approx(0.5, abs=0.25)
    assert lines[0][0] >= 0.3 and total - lines[-1][0] >= 0.2


def test_engine_environment_points_docker_at_the_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///var/run/docker.sock")
    monkeypatch.setenv("POETRY_PYPI_MIRROR_URL", "https://mirror.test/simple/")
    env = Engine("/usr/bin/docker", "unix:///run/imagebench-build.sock").environment()
    assert env["DOCKER_HOST"] == "unix:///run/imagebench-build.sock"
    assert env["DOCKER"] == "/usr/bin/docker"
    assert env["POETRY_PYPI_MIRROR_URL"] == "https://mirror.test/simple/"
    # the machine's engine: whatever DOCKER_HOST the caller has
    assert Engine("docker").environment()["DOCKER_HOST"] == "unix:///var/run/docker.sock"
