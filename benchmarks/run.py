"""Four Dockerfiles for the same project, built with the real Docker engine, interleaved.

1. naive (`COPY . .` then `poetry install`), 2. the best hand-written one of the
well-known articles, 3. ours (`poetry docker dockerfile`, the default installer: uv, the
dependencies in 15 layers), 4. ours with `installer = "poetry"` (Poetry installing into the
same 15 layers), for the bundled FastAPI
example and a heavy scientific service: cold build, no-change rebuild, rebuilds after a
one-line code change, `poetry version patch` (warm, and with BuildKit's cache mounts
emptied as on a CI runner), a dev-only and a main dependency bump; image sizes; the
bytes a release adds; the release job (rebuild + push to a local registry) and a deploy
host's pull; the version-bump release on an ephemeral runner (an empty dockerd: Dockerfile 2
and ours with `--cache-from` and push, against `poetry docker publish` with no daemon), and
a dependency-update release there (Dockerfile 2 and ours with `--cache-from` and push);
the start-up `poetry docker build-context` adds to Poetry's (benchmarks/startup.py).
Writes docs/benchmarks.md, docs/benchmarks.png and docs/benchmarks.json.

    source scripts/setup.sh
    poetry run python benchmarks/run.py                 # both projects, about 30-40 minutes
    poetry run python benchmarks/run.py --quick         # FastAPI only, into .cache/benchmarks/quick
    poetry run python benchmarks/run.py --render-only   # re-render docs/benchmarks.md/png from the JSON
    poetry run python benchmarks/run.py --only-runner   # the ephemeral-runner releases alone, into
                                                        # .cache/benchmarks/runner

Needs root: it starts throwaway dockerds (one builds, one is a deploy host, one per
ephemeral-runner job) and a local registry, all stopped and deleted at the end, and reads the
engine's layer store. Build logs go to .cache/benchmarks/<run>/.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from imagebench.analysis import evaluate_targets
from imagebench.bench import PROJECTS, REPO, Bench, write_outputs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", default=",".join(PROJECTS),
                        help=f"comma-separated, from {', '.join(PROJECTS)} (default: all)")
    parser.add_argument("--quick", action="store_true",
                        help="FastAPI only, results into .cache/benchmarks/quick (a smoke check)")
    parser.add_argument("--output", type=Path, help="directory for benchmarks.md/.png/.json (default: docs)")
    parser.add_argument("--import-runs", type=int, default=7, help="runs of each first-import measurement")
    parser.add_argument("--startup-runs", type=int, default=15,
                        help="runs of each start-up measurement (benchmarks/startup.py; 5 with --quick)")
    parser.add_argument("--only-runner", action="store_true",
                        help="only the ephemeral-runner releases (issues 17 and 18), results into "
                             ".cache/benchmarks/runner unless --output")
    parser.add_argument("--render-only", action="store_true",
                        help="re-render benchmarks.md and .png from the output directory's benchmarks.json")
    args = parser.parse_args(argv)

    default = "quick" if args.quick else "runner" if args.only_runner else None
    out_dir = args.output or (REPO / ".cache" / "benchmarks" / default if default else REPO / "docs")
    if args.render_only:
        results = json.loads((out_dir / "benchmarks.json").read_text())
        for path in write_outputs(results, out_dir):
            print(f"wrote {path}")
        return 0

    projects = ["fastapi"] if args.quick else [p.strip() for p in args.projects.split(",") if p.strip()]
    unknown = [p for p in projects if p not in PROJECTS]
    if unknown:
        parser.error(f"unknown project(s): {', '.join(unknown)}")

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    bench = Bench(projects, REPO / ".cache" / "benchmarks", args.import_runs,
                  say=lambda text: print(text, flush=True), only_runner=args.only_runner,
                  startup_runs=5 if args.quick else args.startup_runs)
    try:
        results = bench.run()
    finally:
        bench.cleanup()
    results["command"] = "poetry run python benchmarks/run.py" + (" " + " ".join(argv or sys.argv[1:])).rstrip()
    # Findings written after a run (why a target was missed) go into the JSON's "notes"
    # list by hand; --render-only then puts them under the targets table.
    for path in write_outputs(results, out_dir):
        print(f"wrote {path}")
    for target in evaluate_targets(results):
        verdict = ("measured" if target.measured_only
                   else {None: "not measured", True: "met", False: "MISSED"}[target.met])
        print(f"{verdict:>12}  {target.name}: {target.measured}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
