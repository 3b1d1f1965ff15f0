"""Markdown and PNG renderings of a benchmark result (the JSON that run.py writes)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from imagebench.analysis import (
    DOCKERFILE_LABELS,
    DOCKERFILES,
    RUNNER_DEPS_JOBS,
    RUNNER_DEPS_LABELS,
    RUNNER_JOBS,
    RUNNER_LABELS,
    SCENARIO_LABELS,
    SCENARIOS,
    evaluate_targets,
    human_bytes,
    ratio,
    runner_job_seconds,
)

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

ARTICLES = (
    "Riccardo Albertazzi, *Blazing fast Python Docker builds with Poetry* (2023), "
    "https://medium.com/@albertazzir/blazing-fast-python-docker-builds-with-poetry-a78a66f5aed0 "
    "(its final Dockerfile: pinned Poetry, `COPY pyproject.toml poetry.lock`, "
    "`poetry install --without dev --no-root` with a cache mount, in-project virtualenv copied "
    "into a slim runtime stage, code copied last)",
    "Depot, *Optimal Dockerfile for Python with poetry*, "
    "https://depot.dev/docs/container-builds/how-to-guides/optimal-dockerfiles/python-poetry-dockerfile "
    "(the same shape, plus a non-root user in the runtime stage)",
)


def _s(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.2f} s" if value < 1 else f"{value:.1f} s"


def _x(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _b(value: float | None) -> str:
    return "–" if value is None else human_bytes(value)


def _verdict(met: bool | None) -> str:
    return "not measured" if met is None else ("**met**" if met else "**MISSED**")


def _build_cell(build: Mapping | None) -> str:
    if not build:
        return "–"
    text = _s(build.get("seconds"))
    deps = build.get("deps")
    if deps == "cached":
        text += " · deps cached"
    elif isinstance(deps, (int, float)):
        text += f" · deps {deps:.1f} s" if deps < 10 else f" · deps {deps:.0f} s"
    return text


def render_markdown(results: Mapping, png_name: str | None = "benchmarks.png") -> str:
    machine = results.get("machine", {})
    lines: list[str] = []
    add = lines.append
    add("# Benchmarks: four Dockerfiles for the same project")
    add("")
    add(
        f"Written by `{results.get('command', 'poetry run python benchmarks/run.py')}` "
        f"(run `{results.get('run_id', '?')}`, {results.get('started', '?')}, "
        f"{results.get('minutes', 0):.0f} minutes); re-render from `benchmarks.json` with "
        "`poetry run python benchmarks/run.py --render-only`."
    )
    add("")
    add(
        f"**Machine:** {machine.get('cpus', '?')} CPUs ({machine.get('cpu_model', '?')}), "
        f"{machine.get('ram_gib', 0):.1f} GiB RAM, Linux {machine.get('kernel', '?')}; "
        f"Docker Engine {machine.get('docker_server', '?')} (built-in BuildKit), "
        f"client {machine.get('docker_client', '?')}; Poetry {machine.get('poetry', '?')}, "
        f"poetry-plugin-docker {machine.get('plugin', '?')}; local registry: Debian's "
        f"`docker-registry` {machine.get('registry', '?')}. Load average "
        f"{machine.get('load_start', '?')} at the start, {machine.get('load_end', '?')} at the end "
        "(other work may share the machine)."
    )
    add("")
    if results.get("engine"):
        add(f"**Engine:** every build, push and image measurement ran on {results['engine']}.")
        add("")
    add("Timings on 2 cores are noisy: compare the columns of one run (ratios), not seconds "
        "across runs. Within each scenario the four Dockerfiles build one after the other, "
        "in an order that rotates from one scenario to the next.")
    add("")
    add("## The four Dockerfiles")
    add("")
    add("1. **naive** ([`benchmarks/dockerfiles/naive.Dockerfile`](../benchmarks/dockerfiles/naive.Dockerfile)): "
        "one stage on `python:3.11`, `COPY . .`, then `poetry install --without dev` into the "
        "system Python. Dockerfiles 1 and 2 take the project's script target (`ENTRY`) and, for 2, "
        "its package directory (`PACKAGE`) as build arguments, so one file serves both projects.")
    add("2. **hand-written** ([`benchmarks/dockerfiles/handwritten.Dockerfile`]"
        "(../benchmarks/dockerfiles/handwritten.Dockerfile)): "
        "the best pattern of the well-known articles: pinned Poetry, `COPY pyproject.toml "
        "poetry.lock` (no stub), `poetry install --without dev --no-root` with a cache mount, "
        "multi-stage, the virtualenv copied into `python:3.11-slim`, the package directory "
        "copied last, a non-root user. It follows:")
    for article in ARTICLES:
        add(f"   - {article}")
    add("3. **ours (default)**: `poetry docker dockerfile --python 3.11 --syntax none --builder-plugin "
        "poetry-plugin-pypi-mirror --build-arg POETRY_PYPI_MIRROR_URL` with no installer setting, built "
        "with the release command `poetry docker build --tag NAME -- --network=host --progress=plain`, "
        "which writes the stub and then runs `docker build`. The default installer, `auto`, is uv "
        "whenever the lock allows it, as it does for both projects: the dependencies in 15 layers, "
        "installed from the stub's hashed requirements/NN.txt by three `uv pip install` stages "
        "(deps-01-06, deps-07-12, deps-13-15), each split by distribution with `layer-venv.py`; the "
        "wheel built by poetry-core's PEP 517 hook, called directly, and installed by the stub's "
        "`install-wheel.py`; the self-check "
        "runs before the three pure-Python layers. Poetry is not installed in its builder at all: pip and uv need no "
        "mirror plugin on this machine (they speak the simple API the index serves).")
    add("4. **ours, `installer = \"poetry\"`**: the same, with `installer = \"poetry\"` in "
        "`[tool.poetry-plugin-docker]`: Poetry installs the stub lock in one `deps` stage (`poetry "
        "install --no-root --only main`), then `layer-venv.py` splits its virtualenv into the same 15 "
        "layers, which the runtime copies (`COPY --from=deps /layer/NN/ /`).")
    add("")
    add("Every build below is timed as the job a release or CI pipeline runs to get an image "
        "tagged with its version, so each side pays Poetry's start-up once: for 1 and 2 "
        "`poetry version -s` then `docker build -t NAME:<version> --build-arg VERSION=<version> "
        "…`; for ours the whole `poetry docker build` command. The `docker build` part alone is "
        "given beside it, and in parentheses in the targets table.")
    add("")
    add("The one concession 1, 2 and 4 make to this machine: Poetry reaches the package index only "
        "through `poetry-plugin-pypi-mirror`, so each Dockerfile pip-installs `poetry==2.5.1 "
        "poetry-plugin-pypi-mirror`, declares `ARG POETRY_PYPI_MIRROR_URL` before `poetry "
        "install`, and every build passes `--build-arg POETRY_PYPI_MIRROR_URL`. Nothing else "
        "is specific to this machine (no `# syntax=` line, as the machine cannot pull the "
        "frontend image; local `python:3.11` and `python:3.11-slim` base images).")
    add("")

    targets = evaluate_targets(results)
    add("## Targets")
    add("")
    add("Issue 18's targets are judged on Dockerfile 3 (ours, the default installer); the rows for "
        "4 (Poetry in the same layers) restate two of them. Times are the job's (Poetry and `docker "
        "build` together); the ratio of the `docker build` parts alone is in parentheses, for "
        "information. Rows marked *measured* have no target.")
    add("")
    add("| target | measured | |")
    add("| --- | --- | --- |")
    for target in targets:
        add(f"| {target.name} | {target.measured} | {'*measured*' if target.measured_only else _verdict(target.met)} |")
    add("")
    if results.get("notes"):
        add("Why a target is missed, and other findings:")
        add("")
        for note in results["notes"]:
            add(f"- {note}")
        add("")
    if png_name:
        add(f"![build times and release bytes]({png_name})")
        add("")

    for key, project in results.get("projects", {}).items():
        add(f"## {project.get('title', key)}")
        add("")
        add(project.get("description", ""))
        add("")
        add("Build times: the job's, Poetry and `docker build` together (`deps`: the dependency "
            "install step from the BuildKit log, its time or `cached`: `poetry install` for 1, 2 and 4, "
            "for 3 the longest of its three `uv pip install` stages that ran). Beside them, the "
            "`docker build` part alone (and its 2 / 3 ratio), and Poetry's part: `poetry version "
            "-s` for 1 and 2; for ours everything `poetry docker build` does besides running "
            "docker (start-up, the stub, `git rev-parse`).")
        add("")
        header = " | ".join(DOCKERFILE_LABELS[d] for d in DOCKERFILES)
        add(f"| scenario | {header} | 2 / 3 (> 1: ours faster) | `docker build` alone: 1 · 2 · 3 · 4 (2 / 3) "
            "| Poetry's part: 1 · 2 · 3 · 4 |")
        add("| --- | --- | --- | --- | --- | --- | --- | --- |")
        builds = project.get("builds", {})
        for scenario in SCENARIOS:
            row = builds.get(scenario)
            if not row:
                continue
            cells = " | ".join(_build_cell(row.get(d)) for d in DOCKERFILES)
            ours = row.get("ours") or {}
            hand = row.get("handwritten") or {}
            speedup = ratio(hand.get("seconds"), ours.get("seconds"))
            docker = " · ".join(_s((row.get(d) or {}).get("docker_build_seconds")) for d in DOCKERFILES)
            docker_speedup = ratio(hand.get("docker_build_seconds"), ours.get("docker_build_seconds"))
            poetry = " · ".join(_s((row.get(d) or {}).get("poetry_seconds")) for d in DOCKERFILES)
            add(f"| {SCENARIO_LABELS[scenario]} | {cells} | {_x(speedup)} | {docker} ({_x(docker_speedup)}) "
                f"| {poetry} |")
        add("")
        bumps = project.get("bumps", {})
        if bumps:
            heavy = f" Heavy bump: {bumps['heavy']}." if bumps.get("heavy") else ""
            add(f"Dev-only bump: {bumps.get('dev', '?')}. Main bump: {bumps.get('main', '?')}.{heavy} "
                "Each is one edit of `pyproject.toml` and one `poetry lock`, whose lock is copied "
                "to all four trees.")
            add("")

        release = project.get("release", {})
        sizes = project.get("sizes", {})
        add("The release (the image after `poetry version patch` against the one before it):")
        add("")
        add(f"| | {header} |")
        add("| --- | --- | --- | --- | --- |")

        def row(label: str, cell) -> None:  # type: ignore[no-untyped-def]
            add(f"| {label} | " + " | ".join(cell(d) for d in DOCKERFILES) + " |")

        def rel(d: str, release: Mapping = release) -> Mapping:
            return release.get(d) or {}

        def layers(d: str, key: str = "") -> str:
            r = rel(d).get(key or "layers") or {}
            return "–" if not r else f"{r['changed']} of {r['total']}"

        row("layers whose digest changed", lambda d: layers(d))
        row("**bytes the bump adds** (those layers, uncompressed)", lambda d: _b(rel(d).get("bytes_added")))
        row("push to the local registry: time", lambda d: _s(rel(d).get("push_seconds")))
        row("push: bytes uploaded (blobs new to the registry, compressed)", lambda d: _b(rel(d).get("push_bytes")))
        row("**release job** (rebuild job + push): time", lambda d: _s(rel(d).get("release_job_seconds")))
        row(f"deploy host pull of the new tag, previous release present ({release.get('pull_method', '?')}): time",
            lambda d: _s(rel(d).get("pull_seconds")))
        row("pull: bytes downloaded (compressed)", lambda d: _b(rel(d).get("pull_bytes")))
        row("CI-runner bump (cache mounts emptied): layers changed", lambda d: layers(d, "ci_layers"))
        row("CI-runner bump: bytes added", lambda d: _b(rel(d).get("ci_bytes_added")))
        add("")
        for key, title in (("main", "The main dependency bump"), ("heavy", "The heavy dependency bump")):
            _dependency_release(add, row, header, project.get(f"release_{key}", {}), title, bumps.get(key, "?"),
                                "the dev-only bump's" if key == "main" else "the main bump's")
        _dev_section(add, row, header, project.get("dev_layers"))
        _runner_section(add, project.get("runner"))
        _runner_deps_section(add, project.get("runner_deps"))
        add("Sizes (as `docker images` counts them, uncompressed):")
        add("")
        add(f"| | {header} |")
        add("| --- | --- | --- | --- | --- |")

        def size(d: str, key: str, sizes: Mapping = sizes) -> float | None:
            return (sizes.get(d) or {}).get(key)

        def base_image(d: str, sizes: Mapping = sizes) -> str:
            return str((sizes.get(d) or {}).get("base_image", "?"))

        row("runtime image", lambda d: _b(size(d, "image")))
        row("base image", lambda d: f"{_b(size(d, 'base'))} (`{base_image(d)}`)")
        row("image − base", lambda d: _b(None if size(d, "image") is None else size(d, "image") - size(d, "base")))
        row("the virtualenv (`/app/.venv`; 3 and 4: its 15 layers)", lambda d: _b(size(d, "venv")))
        row("image − base − virtualenv", lambda d: _b(
            None if size(d, "venv") is None else size(d, "image") - size(d, "base") - size(d, "venv")))
        add("")
        compiled = project.get("compile") or {}
        add("First import in a new container (`docker run --network=none`, median of "
            f"{compiled.get('runs', '?')} runs, `{project.get('import_statement', '')}`):")
        add("")
        if compiled.get("compiled_seconds") is not None:
            add("| | ours | ours + `--compile` | ratio |")
            add("| --- | --- | --- | --- |")
            add(f"| first import | {_s(compiled.get('plain_seconds'))} | {_s(compiled.get('compiled_seconds'))} | "
                f"{_x(ratio(compiled.get('plain_seconds'), compiled.get('compiled_seconds')))} |")
            add(f"| image size | {_b(compiled.get('plain_image'))} | {_b(compiled.get('compiled_image'))} | |")
            add(f"| build job (warm, after the main bump) | | {_s(compiled.get('build_seconds'))} | |")
        else:
            if compiled.get("plain_seconds") is not None:
                add(f"ours: {_s(compiled['plain_seconds'])}.")
                add("")
            add(results.get("compile_skipped", "ours + `--compile`: not measured."))
        add("")

    add("## Method")
    add("")
    for line in results.get("method", []):
        add(f"- {line}")
    add("")
    return "\n".join(lines)


def render_chart(results: Mapping, path: Path) -> None:
    """Grouped bars: build seconds per scenario for each project, and the bytes a bump adds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    plain = FuncFormatter(lambda value, _: f"{value:g}")

    projects = list(results.get("projects", {}).items())
    colours = {"naive": "#bbbbbb", "handwritten": "#e39d4f", "ours": "#2f6db5", "poetry": "#3a9d5d"}
    fig, axes = plt.subplots(1, len(projects) + 1, figsize=(6.5 * len(projects) + 4.5, 5.2),
                             gridspec_kw={"width_ratios": [3] * len(projects) + [1.6]})
    if not isinstance(axes, (list, tuple)):
        axes = list(axes)
    width = 0.2
    for axis, (key, project) in zip(axes, projects):
        builds = project.get("builds", {})
        scenarios = [s for s in SCENARIOS if s in builds]
        for i, dockerfile in enumerate(DOCKERFILES):
            values = [(builds[s].get(dockerfile) or {}).get("seconds") or 0 for s in scenarios]
            xs = [x + (i - 1.5) * width for x in range(len(scenarios))]
            axis.bar(xs, values, width, label=DOCKERFILE_LABELS[dockerfile], color=colours[dockerfile])
        axis.set_yscale("log")
        axis.set_xticks(range(len(scenarios)))
        axis.set_xticklabels([_short(s) for s in scenarios], rotation=30, ha="right", fontsize=8)
        axis.yaxis.set_major_formatter(plain)
        axis.set_ylabel("build job seconds, Poetry + docker build (log scale)")
        axis.set_title(project.get("title", key).replace("`", ""), fontsize=10)
        axis.grid(axis="y", which="both", alpha=0.3)
        axis.legend(fontsize=8)
    axis = axes[-1]
    for i, dockerfile in enumerate(DOCKERFILES):
        values = [max(((p.get("release") or {}).get(dockerfile) or {}).get("bytes_added") or 1, 1) / 1e6
                  for _, p in projects]
        xs = [x + (i - 1.5) * width for x in range(len(projects))]
        axis.bar(xs, values, width, color=colours[dockerfile], label=DOCKERFILE_LABELS[dockerfile])
    axis.set_yscale("log")
    axis.set_xticks(range(len(projects)))
    axis.set_xticklabels([key for key, _ in projects], fontsize=8)
    axis.yaxis.set_major_formatter(plain)
    axis.set_ylabel("MB (log scale)")
    axis.set_title("bytes a version bump adds", fontsize=10)
    axis.grid(axis="y", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)



def _dependency_release(add, row, header: str, release: Mapping, title: str, what: str, before: str) -> None:  # type: ignore[no-untyped-def]
    """The table of a dependency change released: the image after it against the one before it."""
    if not release:
        return
    add(f"{title} ({what}), released: the image after it against the one before it ({before}):")
    add("")
    add(f"| | {header} |")
    add("| --- | --- | --- | --- | --- |")

    def of(d: str) -> Mapping:
        return release.get(d) or {}

    row("layers whose digest changed", lambda d: "–" if not of(d).get("layers") else
        f"{of(d)['layers']['changed']} of {of(d)['layers']['total']}")
    row("**bytes the change adds** (those layers, uncompressed)", lambda d: _b(of(d).get("bytes_added")))
    row("push: time", lambda d: _s(of(d).get("push_seconds")))
    row("push: bytes uploaded (compressed)", lambda d: _b(of(d).get("push_bytes")))
    row("deploy host pull, previous release present: time", lambda d: _s(of(d).get("pull_seconds")))
    row("**pull: bytes downloaded** (compressed)", lambda d: _b(of(d).get("pull_bytes")))
    add("")

def _runner_section(add, runner: Mapping | None) -> None:  # type: ignore[no-untyped-def]
    """The version-bump release on an ephemeral runner (issue 17): three release jobs."""
    if runner is None:
        return
    bases = " and ".join(f"`{image}`" for image in runner.get("base_images", [])) or "the base images"
    add("The version-bump release on an **ephemeral runner** (issue 17): release 1 of Dockerfile 2 and of "
        "ours pushed to the local registry with BuildKit's inline cache, then `poetry version patch` and the "
        f"release job on a new, empty dockerd that has only {bases}, copied in from the machine's engine "
        "before the clock starts (no registry can be reached here to pull them: a real runner would also "
        "pull them, which makes the two builds slower and the publish no slower). The publish runs with "
        "`DOCKER_HOST` pointing at nothing.")
    add("")
    add("| | " + " | ".join(RUNNER_LABELS[job] for job in RUNNER_JOBS) + " |")
    add("| --- | --- | --- | --- |")

    def of(job: str) -> Mapping:
        return runner.get(job) or {}

    def row(label: str, cell) -> None:  # type: ignore[no-untyped-def]
        add(f"| {label} | " + " | ".join(cell(job) for job in RUNNER_JOBS) + " |")

    def build(job: str) -> str:
        if job == "publish":
            return f"– (it reports {_s(of(job).get('reported_seconds'))} after Poetry's start-up)"
        docker = of(job).get("docker_build_seconds")
        return _s(of(job).get("build_seconds")) + ("" if docker is None else f" (`docker build` {_s(docker)})")

    def deps(job: str) -> str:
        value = of(job).get("deps")
        if job == "publish":
            return "– (nothing installed)"
        return "cached" if value == "cached" else _s(value) if isinstance(value, (int, float)) else "–"

    def layers(job: str) -> str:
        value = of(job).get("layers") or {}
        return "–" if not value else f"{value['changed']} of {value['total']}"

    publish = runner_job_seconds(runner, "publish")
    row("build job: time (Poetry + `docker build`)", build)
    row("dependency install step", deps)
    row("push: time", lambda job: "– (part of the command)" if job == "publish" else _s(of(job).get("push_seconds")))
    row("**release job: time**", lambda job: _s(runner_job_seconds(runner, job)))
    row("publish / this job", lambda job: _x(ratio(publish, runner_job_seconds(runner, job))))
    row("**bytes added to the registry** (blobs new to its store: layers, config, manifest; compressed)",
        lambda job: _b(of(job).get("registry_bytes")))
    row("blobs of the new image that release 1 lacks (layers and config, compressed)",
        lambda job: _b(of(job).get("new_blob_bytes")))
    row("layers whose digest changed", layers)
    row("cached layers of release 1 the runner downloaded (compressed)",
        lambda job: "none (no daemon)" if job == "publish" else
        "–" if of(job).get("cache_bytes") is None else
        f"{_b(of(job).get('cache_bytes'))} ({of(job).get('cache_layers')} layers)")
    add("")
    files = runner.get("project_files_bytes")
    if files is not None:
        add(f"The project's own files (its package directory): {_b(files)}.")
    check = of("publish").get("check")
    if check:
        add(f"The published image, pulled on the deploy host: {check}.")
    for job in RUNNER_JOBS:
        if of(job).get("error"):
            add(f"{RUNNER_LABELS[job]}: **not measured**: {of(job)['error']}")
    add("")


def _dev_section(add, row, header: str, dev: Mapping | None) -> None:  # type: ignore[no-untyped-def]
    """What the dev-only bump changed in each image against the one before it."""
    if not dev:
        return
    add("The dev-only bump: each image after it against the one before it (the CI-runner bump's):")
    add("")
    add(f"| | {header} |")
    add("| --- | --- | --- | --- | --- |")

    def of(d: str) -> Mapping:
        return dev.get(d) or {}

    def count(value: Mapping | None) -> str:
        return "–" if not value else f"{value['changed']} of {value['total']}"

    row("layers whose digest changed", lambda d: count(of(d).get("layers")))
    row("bytes they add (uncompressed)", lambda d: _b(of(d).get("bytes_added")))
    row("**dependency layers whose digest changed**", lambda d: count(of(d).get("dependency_layers")))
    add("")


def runner_layers_sentence(runner: Mapping) -> str | None:
    """Whether ours' 15 small layers cost the runner more than Dockerfile 2's one big one."""
    ours, hand = (runner.get(job) or {} for job in ("ours", "handwritten"))
    if ours.get("cache_bytes") is None or hand.get("cache_bytes") is None:
        return None
    more = ours["cache_bytes"] > hand["cache_bytes"]
    faster = ratio(ours.get("job_seconds"), hand.get("job_seconds"))
    return (f"From release 1 the runner downloaded {ours.get('cache_layers')} cached layers "
            f"({_b(ours['cache_bytes'])}) for ours and {hand.get('cache_layers')} ({_b(hand['cache_bytes'])}) "
            f"for Dockerfile 2: ours' small layers cost the runner {'more' if more else 'no more'} bytes "
            "(they are the dependency layers the update left alone, which it did not install again; "
            "Dockerfile 2's one virtualenv layer changed, so it installed every dependency again)"
            + ("" if faster is None else f", and ours' release job took {faster:.2f} x Dockerfile 2's time")
            + ".")


def _runner_deps_section(add, runner: Mapping | None) -> None:  # type: ignore[no-untyped-def]
    """The dependency-update release on an ephemeral runner (issue 18): two `--cache-from` jobs."""
    if runner is None:
        return
    add("A **dependency-update release on an ephemeral runner** (issue 18): release 1 of Dockerfile 2 and "
        "of ours pushed with BuildKit's inline cache, then the main bump and `poetry version patch`, and "
        "the release job (build with `--cache-from` release 1, then push) on a new, empty dockerd that "
        "has only the base images:")
    add("")
    add("| | " + " | ".join(RUNNER_DEPS_LABELS[job] for job in RUNNER_DEPS_JOBS) + " |")
    add("| --- | --- | --- |")

    def of(job: str) -> Mapping:
        return runner.get(job) or {}

    def row(label: str, cell) -> None:  # type: ignore[no-untyped-def]
        add(f"| {label} | " + " | ".join(cell(job) for job in RUNNER_DEPS_JOBS) + " |")

    def build(job: str) -> str:
        docker = of(job).get("docker_build_seconds")
        return _s(of(job).get("build_seconds")) + ("" if docker is None else f" (`docker build` {_s(docker)})")

    def deps(job: str) -> str:
        value = of(job).get("deps")
        return "cached" if value == "cached" else _s(value) if isinstance(value, (int, float)) else "–"

    def layers(job: str) -> str:
        value = of(job).get("layers") or {}
        return "–" if not value else f"{value['changed']} of {value['total']}"

    row("build job: time (Poetry + `docker build`)", build)
    row("dependency install step", deps)
    row("push: time", lambda job: _s(of(job).get("push_seconds")))
    row("**release job: time**", lambda job: _s(of(job).get("job_seconds")))
    row("**cached layers of release 1 the runner pulled from the registry** (compressed)",
        lambda job: "–" if of(job).get("cache_bytes") is None else
        f"{_b(of(job).get('cache_bytes'))} ({of(job).get('cache_layers')} layers)")
    row("**bytes pushed** (the new image's layers and config that release 1 lacks, compressed)",
        lambda job: _b(of(job).get("new_blob_bytes")))
    row("blobs new to the registry's store (less: a layer an earlier push of the run stored is not stored "
        "again)", lambda job: _b(of(job).get("registry_bytes")))
    row("layers whose digest changed against release 1", layers)
    add("")
    sentence = runner_layers_sentence(runner)
    if sentence:
        add(sentence)
    for job in RUNNER_DEPS_JOBS:
        if of(job).get("error"):
            add(f"{RUNNER_DEPS_LABELS[job]}: **not measured**: {of(job)['error']}")
    add("")


def _short(scenario: str) -> str:
    return {
        "cold": "cold",
        "nochange": "no change",
        "code": "code line",
        "bump": "version bump",
        "bump_ci": "bump, CI runner",
        "dev": "dev dep bump",
        "main": "main dep bump",
        "heavy": "heavy dep bump",
    }[scenario]
