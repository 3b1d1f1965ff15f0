"""How much `poetry docker build-context` adds to Poetry's own start-up.

Runs `poetry --version` and `poetry docker build-context` on a copy of the
bundled example, interleaved, and compares their medians (same machine, same
run). The budget is 150 ms.

Both run as they do on a user's machine, with Python's bytecode cache: the
children's environment drops PYTHONDONTWRITEBYTECODE (set globally on some CI
machines, where every start would compile Poetry from source), and two untimed
warm-up runs of each write the cache first. `--no-bytecode-cache` measures the
other case: PYTHONDONTWRITEBYTECODE=1 and no cache, so every start compiles.

    poetry run python benchmarks/startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BUDGET_MS = 150.0


ENVIRONMENT = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


def timed(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        command, cwd=cwd, env=ENVIRONMENT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return (time.perf_counter() - start) * 1000


def measure(runs: int, poetry: str | None = None, warmups: int = 2) -> tuple[list[float], list[float]]:
    """Milliseconds of `poetry --version` and of `poetry docker build-context`, interleaved,
    `runs` each, on a scratch copy of the bundled example (after `warmups` untimed runs of each).
    benchmarks/run.py calls this for its start-up target."""
    poetry = poetry or str(Path(sys.executable).parent / "poetry")
    with tempfile.TemporaryDirectory() as scratch:
        project = Path(scratch) / "fastapi-service"
        shutil.copytree(REPO / "examples" / "fastapi-service", project,
                        ignore=shutil.ignore_patterns(".venv", "__pycache__", ".docker-deps", "dist"))
        for _ in range(warmups):  # writes the bytecode cache
            timed([poetry, "--version"], project)
            timed([poetry, "docker", "build-context"], project)
        baseline, ours = [], []
        for _ in range(runs):
            baseline.append(timed([poetry, "--version"], project))
            ours.append(timed([poetry, "docker", "build-context"], project))
    return baseline, ours


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--no-bytecode-cache", action="store_true", help="compile on every start")
    args = parser.parse_args()
    if args.no_bytecode_cache:
        ENVIRONMENT.update(PYTHONDONTWRITEBYTECODE="1", PYTHONPYCACHEPREFIX=tempfile.mkdtemp())
    baseline, ours = measure(args.runs)
    base, plugin = statistics.median(baseline), statistics.median(ours)
    added = plugin - base
    print(f"poetry --version:            median {base:7.1f} ms over {args.runs} runs")
    print(f"poetry docker build-context: median {plugin:7.1f} ms over {args.runs} runs")
    print(f"added by build-context:      {added:7.1f} ms (budget {BUDGET_MS:.0f} ms), ratio {plugin / base:.2f}")
    return 0 if added <= BUDGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
