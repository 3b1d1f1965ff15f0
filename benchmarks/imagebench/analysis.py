"""Pure functions of the image benchmark: no Docker, no files, unit-tested.

Layer identities, the bytes a release adds, BuildKit logs, ratios and the targets.
"""

from __future__ import annotations

import hashlib
import re
import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

DOCKERFILES = ("naive", "handwritten", "ours", "poetry")
DOCKERFILE_LABELS = {
    "naive": "1 naive",
    "handwritten": "2 hand-written",
    "ours": "3 ours (default)",
    "poetry": "4 ours, installer = \"poetry\"",
}
# What `docker history` says created a dependency layer: ours (3 and 4) copy the virtualenv as
# 15 layers (`COPY --from=deps… /layer/NN/ /`), Dockerfile 2 as one (`COPY /app/.venv`).
DEPENDENCY_LAYER_MARKERS = {"ours": "COPY /layer/", "poetry": "COPY /layer/", "handwritten": "COPY /app/.venv"}
# The build scenarios, in the order they run for each project.
SCENARIOS = ("cold", "nochange", "code", "bump", "bump_ci", "dev", "main", "heavy")
SCENARIO_LABELS = {
    "cold": "cold build (`--no-cache`, empty cache mounts)",
    "nochange": "rebuild, no change",
    "code": "rebuild after a one-line code change",
    "bump": "rebuild after `poetry version patch`",
    "bump_ci": "rebuild after `poetry version patch`, cache mounts emptied (CI runner)",
    "dev": "rebuild after a dev-only dependency bump",
    "main": "rebuild after a main dependency bump",
    "heavy": "rebuild after a heavy dependency bump (a compiled package)",
}
MB = 1_000_000
# Issue 17: the release job after `poetry version patch` on an ephemeral CI runner (an empty
# dockerd with the base images only), each job against its own release 1 in the registry.
RUNNER_JOBS = ("handwritten", "ours", "publish")
RUNNER_LABELS = {
    "handwritten": "2 hand-written: `docker build --cache-from` + push",
    "ours": "3 ours: `poetry docker build -- --cache-from` + push",
    "publish": "`poetry docker publish --no-build`, no daemon",
}
# What the publish may add to the registry beyond the project's own files (issue 17).
PUBLISH_OVERHEAD = 100_000
# Issue 18: a dependency-update release (the main bump) on the same kind of ephemeral runner.
RUNNER_DEPS_JOBS = ("handwritten", "ours")
RUNNER_DEPS_LABELS = {
    "handwritten": "2 hand-written: `docker build --cache-from` + push",
    "ours": "3 ours: `poetry docker build -- --cache-from` + push",
}


# ----------------------------------------------------------------------------- layers


def chain_ids(diff_ids: Sequence[str]) -> list[str]:
    """The chain ID of each layer (OCI image spec): the identity of a layer *and* all below it.

    ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)).
    The engine stores each layer's size under its chain ID.
    """
    chains: list[str] = []
    for diff_id in diff_ids:
        if not chains:
            chains.append(diff_id)
        else:
            digest = hashlib.sha256(f"{chains[-1]} {diff_id}".encode()).hexdigest()
            chains.append(f"sha256:{digest}")
    return chains


@dataclass(frozen=True)
class LayerDiff:
    changed: int  # layers of the new image that the old one does not have
    total: int  # layers of the new image
    bytes: int  # their total (uncompressed) size


def layer_diff(old_diff_ids: Sequence[str], new_layers: Sequence[tuple[str, int]]) -> LayerDiff:
    """What a new image adds to a host or registry that has the old one.

    `new_layers` is the new image's (diff ID, size) list, bottom first. A layer counts
    as added when its digest is not among the old image's layers: registries and
    engines store layers by digest, so a layer whose content did not change is never
    pushed or pulled again, wherever it sits.
    """
    old = set(old_diff_ids)
    added = [size for diff_id, size in new_layers if diff_id not in old]
    return LayerDiff(changed=len(added), total=len(new_layers), bytes=sum(added))


def new_blob_bytes(before: Mapping[str, int], after: Mapping[str, int]) -> int:
    """Bytes of the blobs (digest -> size) present after and not before: what was uploaded."""
    return sum(size for digest, size in after.items() if digest not in before)


def manifest_blobs(manifest: Mapping) -> dict[str, int]:
    """digest -> size of the config and layers of a registry image manifest (schema 2)."""
    blobs = {manifest["config"]["digest"]: int(manifest["config"]["size"])}
    for layer in manifest.get("layers", []):
        blobs[layer["digest"]] = int(layer["size"])
    return blobs


def pull_bytes(previous: Mapping, new: Mapping) -> int:
    """Bytes a host holding the previous release downloads to pull the new one."""
    return new_blob_bytes(manifest_blobs(previous), manifest_blobs(new))


def new_layers(previous: Mapping, new: Mapping) -> dict[str, int]:
    """How many of a registry manifest's layers the previous one lacks, of how many."""
    old = {layer["digest"] for layer in previous.get("layers", [])}
    layers = new.get("layers", [])
    return {"changed": sum(1 for layer in layers if layer["digest"] not in old), "total": len(layers)}


def cache_pull_bytes(manifest: Mapping, config: Mapping, new_diff_ids: Iterable[str],
                     base_diff_ids: Iterable[str]) -> tuple[int, int]:
    """(layers, compressed bytes) of a cached image (its registry manifest and config) that a build
    with `--cache-from` took into an engine that had only the base images: the cached image's
    layers that the new image holds, other than the base images' own.

    A manifest's layers and its config's diff_ids match by position."""
    new, base = set(new_diff_ids), set(base_diff_ids)
    diff_ids = (config.get("rootfs") or {}).get("diff_ids") or []
    taken = [int(layer["size"]) for layer, diff_id in zip(manifest.get("layers", []), diff_ids)
             if diff_id in new and diff_id not in base]
    return len(taken), sum(taken)


def dependency_layer_ids(config: Mapping, marker: str) -> list[str]:
    """The diff IDs of an image's dependency layers: those whose history entry (`created_by`)
    contains `marker`. `config` is the image's config (`rootfs.diff_ids`, `history`): the
    history entries that are not `empty_layer` match the diff IDs by position."""
    diff_ids = list((config.get("rootfs") or {}).get("diff_ids") or [])
    layered = [entry for entry in config.get("history") or [] if not entry.get("empty_layer")]
    if len(layered) != len(diff_ids):
        return []
    return [diff_id for diff_id, entry in zip(diff_ids, layered) if marker in (entry.get("created_by") or "")]


def dependency_layers_changed(old_diff_ids: Iterable[str], config: Mapping, marker: str) -> dict[str, int]:
    """How many of the new image's dependency layers (see dependency_layer_ids) the old image lacks."""
    old = set(old_diff_ids)
    layers = dependency_layer_ids(config, marker)
    return {"changed": sum(1 for diff_id in layers if diff_id not in old), "total": len(layers)}


# ----------------------------------------------------------------------------- BuildKit logs

_STEP = re.compile(r"^#(\d+) (\[.+)$")
_STATUS = re.compile(r"^#(\d+) (CACHED|DONE (\d+(?:\.\d+)?)s|ERROR.*)$")


@dataclass(frozen=True)
class Step:
    name: str
    cached: bool
    seconds: float | None


def parse_buildkit_log(text: str) -> list[Step]:
    """The named steps (`#N [stage i/n] INSTRUCTION`) of a `--progress=plain` log."""
    names: dict[str, str] = {}
    status: dict[str, tuple[bool, float | None]] = {}
    order: list[str] = []
    for line in text.splitlines():
        match = _STEP.match(line)
        if match:
            number, name = match.groups()
            if number not in names:
                names[number] = name
                order.append(number)
            continue
        match = _STATUS.match(line)
        if match and match.group(1) in names:
            number, word, seconds = match.groups()
            if word == "CACHED":
                status[number] = (True, None)
            elif word.startswith("DONE"):
                status[number] = (False, float(seconds))
    return [Step(names[n], *status.get(n, (False, None))) for n in order]


_BUILT = re.compile(r"^Built (\S+?)(?: and (\S+?))?\.$")


@dataclass(frozen=True)
class PoetryDockerBuild:
    docker_seconds: float | None  # from the command line it prints to docker's end; None: not found
    tags: list[str]  # what it says it built


_PUBLISHED = re.compile(r"^Published (.+) \((sha256:[0-9a-f]+)\) without Docker in (\d+(?:\.\d+)?) s\.$")


@dataclass(frozen=True)
class PoetryDockerPublish:
    published: bool  # the fast path ran to the end (its `Published ... without Docker` line)
    seconds: float | None  # the time it reports for itself (after Poetry's start-up)
    digest: str | None  # the manifest digest it pushed


def parse_poetry_docker_publish(text: str) -> PoetryDockerPublish:
    """What `poetry docker publish` says it did, from its output."""
    for line in text.splitlines():
        match = _PUBLISHED.match(line.strip())
        if match:
            return PoetryDockerPublish(True, float(match.group(3)), match.group(2))
    return PoetryDockerPublish(False, None, None)


def split_poetry_docker_build(lines: Sequence[tuple[float, str]], total: float) -> PoetryDockerBuild:
    """The `docker build` part of a `poetry docker build` run, from its timestamped output.

    `lines` is (seconds since the start, line) for each line of the command's output
    (stdout and stderr in one stream). The plugin prints `Running: <docker build ...>` just
    before it starts docker, and `Built <tag> and <tag>.` just after docker exits (it
    flushes each line); docker's own output goes to the same stream in between. Without a
    `Built` line (a failed build), docker's part ends with the command.
    """
    start = end = None
    tags: list[str] = []
    for seconds, line in lines:
        text = line.rstrip("\n")
        if start is None:
            if text.startswith("Running: "):
                start = seconds
            continue
        match = _BUILT.match(text)
        if match:
            end = seconds
            tags = [tag for tag in match.groups() if tag]
            break
    if start is None:
        return PoetryDockerBuild(None, tags)
    return PoetryDockerBuild((total if end is None else end) - start, tags)


def dependency_install(steps: Iterable[Step]) -> Step | None:
    """The step that installs the dependencies, if the build has one: the `RUN … poetry install`
    of Dockerfiles 1 and 2 and of ours with `installer = "poetry"` (one `deps` stage whose RUN
    also runs layer-venv.py); with uv (ours by default), its three install stages (deps-01-06,
    deps-07-12, deps-13-15) taken as one: the longest that ran, or CACHED if none ran. The `deps`
    stage that only looks up runtime packages installs nothing and is never it."""
    steps = list(steps)
    for step in steps:
        if re.search(r"\bRUN\b.*\bpoetry install\b", step.name):
            return step
    stages = [step for step in steps if re.search(r"\bRUN\b.*\buv pip install .*--require-hashes", step.name)]
    ran = [step for step in stages if not step.cached and step.seconds is not None]
    if ran:
        return max(ran, key=lambda step: step.seconds or 0.0)
    return stages[0] if stages else None


# ----------------------------------------------------------------------------- numbers


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def rotated(items: Sequence[str], shift: int) -> list[str]:
    """`items` started at position `shift`: each scenario starts with another Dockerfile."""
    if not items:
        return []
    shift %= len(items)
    return [*items[shift:], *items[:shift]]


# ----------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class Target:
    name: str  # what is promised, in words
    measured: str  # the measured value, in words
    met: bool | None  # None: not measured in this run, or a row with no target
    measured_only: bool = False  # a measured row, with no target to meet


def _build(results: Mapping, project: str, scenario: str, dockerfile: str) -> Mapping:
    try:
        return results["projects"][project]["builds"][scenario][dockerfile] or {}
    except (KeyError, TypeError):
        return {}


def _seconds(results: Mapping, project: str, scenario: str, dockerfile: str) -> float | None:
    """The job's time: Poetry (`poetry version -s`, or all of `poetry docker build`) + docker build."""
    return _build(results, project, scenario, dockerfile).get("seconds")


def _docker_seconds(results: Mapping, project: str, scenario: str, dockerfile: str) -> float | None:
    """The `docker build` part alone (secondary: the targets are judged on the job's time)."""
    return _build(results, project, scenario, dockerfile).get("docker_build_seconds")


def _fmt_ratio(value: float | None) -> str:
    return "not measured" if value is None else f"{value:.2f}x"


def _fmt_bytes(value: float | None) -> str:
    return "not measured" if value is None else human_bytes(value)


def _with_docker_alone(text: str, value: float | None) -> str:
    return text if value is None else f"{text} (`docker build` alone: {_fmt_ratio(value)})"


def evaluate_targets(results: Mapping) -> list[Target]:
    """Issue 18's targets, judged on Dockerfile 3 (ours, the default installer), each as a ratio
    or size from this one run; then issue 17's ephemeral-runner targets, and rows measured with
    no target (`measured_only`).

    Times are the release job's (`seconds`: Poetry and `docker build` together, as a job
    that tags the image with the version runs them); the ratio of the `docker build` parts
    alone is given next to it when the run has it, and never decides a verdict.
    """
    projects = [p for p in results.get("projects", {})]
    targets: list[Target] = []

    def check(value: float | None, ok) -> bool | None:  # type: ignore[no-untyped-def]
        return None if value is None else bool(ok(value))

    def both(numerator: tuple[str, str, str], denominator: tuple[str, str, str]) -> tuple[float | None, float | None]:
        return (ratio(_seconds(results, *numerator), _seconds(results, *denominator)),
                ratio(_docker_seconds(results, *numerator), _docker_seconds(results, *denominator)))

    def release(project: str, key: str, dockerfile: str) -> Mapping:
        return ((results["projects"][project].get(key) or {}).get(dockerfile)) or {}

    for project in projects:
        added = release(project, "release_main", "ours").get("bytes_added")
        others = "; ".join(f"{number}: {_fmt_bytes(release(project, 'release_main', d).get('bytes_added'))}"
                           for number, d in (("4", "poetry"), ("2", "handwritten")))
        targets.append(Target(
            f"{project}: bytes a one-package main-dependency change adds to our image < 5 MB",
            f"{_fmt_bytes(added)} ({others})", check(added, lambda v: v < 5 * MB)))
    # (what, numerator, denominator, the ratio's label, the most it may be)
    time_ratios = (
        ("rebuild after that change <= 0.5 x Dockerfile 2's", ("main", "ours"), ("main", "handwritten"),
         "ours / Dockerfile 2 = ", 0.5),
        ("cold build <= 0.5 x Dockerfile 2's", ("cold", "ours"), ("cold", "handwritten"),
         "ours / Dockerfile 2 = ", 0.5),
        ("version-bump rebuild <= 1.2 x our rebuild after a one-line code change", ("bump", "ours"),
         ("code", "ours"), "", 1.2),
    )
    for what, numerator, denominator, label, most in time_ratios:
        for project in projects:
            value, docker = both((project, *numerator), (project, *denominator))
            targets.append(Target(
                f"{project}: our {what}", _with_docker_alone(f"{label}{_fmt_ratio(value)}", docker),
                check(value, lambda v, most=most: v <= most)))
    for project in projects:
        added = release(project, "release", "ours").get("bytes_added")
        targets.append(Target(
            f"{project}: bytes a version bump adds to our image < 1 MB",
            _fmt_bytes(added), check(added, lambda v: v < MB)))
    for project in projects:
        targets.append(_dev_target(results, project, "ours", "our image"))
    for project in projects:
        sizes = (results["projects"][project].get("sizes") or {}).get("ours") or {}
        extra = None
        if sizes.get("image") is not None and sizes.get("base") is not None and sizes.get("venv") is not None:
            extra = sizes["image"] - sizes["base"] - sizes["venv"]
        targets.append(Target(
            f"{project}: our runtime image <= base image + the venv (its 15 layers) + 2 MB",
            f"image - base - venv = {_fmt_bytes(extra)}", check(extra, lambda v: v <= 2 * MB)))
    # Dockerfile 4, Poetry installing into the same 15 layers: the layer promises hold for it too.
    for project in projects:
        added = release(project, "release_main", "poetry").get("bytes_added")
        targets.append(Target(
            f"{project}: Poetry in layers (4): a one-package main-dependency change adds < 5 MB too",
            _fmt_bytes(added), check(added, lambda v: v < 5 * MB)))
        targets.append(_dev_target(results, project, "poetry", "Poetry in layers (4)"))
    for project in projects:
        pulls = {d: release(project, "release_main", d).get("pull_bytes") for d in ("ours", "poetry", "handwritten")}
        targets.append(Target(
            f"{project}: after that one-package change, a deploy host holding the previous release pulls",
            f"ours {_fmt_bytes(pulls['ours'])}; 4: {_fmt_bytes(pulls['poetry'])}; "
            f"2: {_fmt_bytes(pulls['handwritten'])} (compressed)",
            None, measured_only=True))
    # Issue 10, goal 2: a heavy package's change may ship it and what is re-layered after it,
    # never more than Dockerfile 2's one virtualenv layer.
    for project in projects:
        heavy_release = results["projects"][project].get("release_heavy") or {}
        if not heavy_release:
            continue
        ours, poetry, hand = ((heavy_release.get(d) or {}) for d in ("ours", "poetry", "handwritten"))
        for what, key in (("adds", "bytes_added"), ("makes a deploy host pull", "pull_bytes")):
            targets.append(Target(
                f"{project}: a heavy-package change {what} no more with our image than with Dockerfile 2's",
                f"{_fmt_bytes(ours.get(key))} against {_fmt_bytes(hand.get(key))} "
                f"(4: {_fmt_bytes(poetry.get(key))})",
                check(ratio(ours.get(key), hand.get(key)), lambda v: v <= 1.0)))
    targets += _runner_targets(results, projects, check)
    targets += _runner_deps_rows(results, projects)
    targets.append(_startup_target(results))
    return targets


def _dev_target(results: Mapping, project: str, dockerfile: str, whose: str) -> Target:
    """A dev-only bump keeps every dependency layer: none of the image's dependency layers is new."""
    dev = ((results["projects"][project].get("dev_layers") or {}).get(dockerfile)) or {}
    deps = dev.get("dependency_layers") or {}
    met = None if not deps.get("total") else deps["changed"] == 0
    measured = ("not measured" if not deps else
                f"{deps['changed']} of {deps['total']} dependency layers changed")
    if dev.get("layers"):
        measured += (f" ({dev['layers']['changed']} of {dev['layers']['total']} layers in all, "
                     f"{_fmt_bytes(dev.get('bytes_added'))})")
    return Target(f"{project}: a dev-only dependency bump keeps every dependency layer of {whose}", measured, met)


def runner_job_seconds(runner: Mapping, job: str) -> float | None:
    """The release job's time on the ephemeral runner: build job + push, or the whole publish."""
    return (runner.get(job) or {}).get("job_seconds")


def _runner_deps_rows(results: Mapping, projects: list[str]) -> list[Target]:
    """Issue 18, measured with no target: the dependency-update release on an ephemeral runner."""
    targets: list[Target] = []
    for project in projects:
        runner = results["projects"][project].get("runner_deps")
        if runner is None:
            continue
        ours, hand = (runner.get(job) or {} for job in ("ours", "handwritten"))
        value = ratio(ours.get("job_seconds"), hand.get("job_seconds"))

        def seconds(job: Mapping) -> str:
            return "not measured" if job.get("job_seconds") is None else f"{job['job_seconds']:.1f} s"

        def pulled(job: Mapping) -> str:
            if job.get("cache_bytes") is None:
                return "not measured"
            return f"{_fmt_bytes(job['cache_bytes'])} in {job.get('cache_layers')} layers"

        prefix = f"{project}: ephemeral runner, dependency-update release (--cache-from + push):"
        targets.append(Target(f"{prefix} time", f"ours {seconds(ours)}; Dockerfile 2 {seconds(hand)} "
                              f"(ours / 2 = {_fmt_ratio(value)})", None, measured_only=True))
        targets.append(Target(f"{prefix} release 1's cached layers the runner pulled from the registry",
                              f"ours {pulled(ours)}; Dockerfile 2 {pulled(hand)}", None, measured_only=True))
        targets.append(Target(f"{prefix} bytes pushed (the new image's blobs that release 1 lacks)",
                              f"ours {_fmt_bytes(ours.get('new_blob_bytes'))}; "
                              f"Dockerfile 2 {_fmt_bytes(hand.get('new_blob_bytes'))}", None, measured_only=True))
    return targets


def startup_added_ms(results: Mapping) -> float | None:
    startup = results.get("startup") or {}
    if startup.get("plugin_ms") is None or startup.get("baseline_ms") is None:
        return None
    return startup["plugin_ms"] - startup["baseline_ms"]


def _startup_target(results: Mapping) -> Target:
    """`poetry docker build-context` against `poetry --version` (benchmarks/startup.py)."""
    added = startup_added_ms(results)
    startup = results.get("startup") or {}
    measured = ("not measured" if added is None else
                f"{added:.0f} ms ({startup['plugin_ms']:.0f} ms against {startup['baseline_ms']:.0f} ms, "
                f"medians of {startup.get('runs', '?')} runs)")
    return Target("`poetry docker build-context` adds <= 150 ms to `poetry --version`", measured,
                  None if added is None else added <= 150)


def _runner_targets(results: Mapping, projects: list[str], check) -> list[Target]:  # type: ignore[no-untyped-def]
    """Issue 17's goals: the version-bump release on an ephemeral runner, `poetry docker publish`
    against the `--cache-from` builds. Only for projects whose run has the scenario."""
    targets: list[Target] = []
    for project in projects:
        runner = results["projects"][project].get("runner")
        if runner is None:
            continue
        publish = runner_job_seconds(runner, "publish")
        for job, words, most in (("ours", "ours built with `--cache-from` + push", 0.2),
                                 ("handwritten", "Dockerfile 2's `--cache-from` build + push", 0.1)):
            other = runner_job_seconds(runner, job)
            value = ratio(publish, other)
            measured = (f"publish / {'ours' if job == 'ours' else 'Dockerfile 2'} = {_fmt_ratio(value)}"
                        + ("" if value is None else f" ({publish:.1f} s against {other:.1f} s)"))
            targets.append(Target(
                f"{project}: ephemeral-runner release, `poetry docker publish` <= {most} x {words}",
                measured, check(value, lambda v, most=most: v <= most)))
        added = (runner.get("publish") or {}).get("registry_bytes")
        files = runner.get("project_files_bytes")
        allowance = None if files is None else PUBLISH_OVERHEAD + files
        measured = _fmt_bytes(added)
        if allowance is not None:
            measured += (f" (allowance {_fmt_bytes(allowance)}: {_fmt_bytes(PUBLISH_OVERHEAD)} + "
                         f"{_fmt_bytes(files)} of the project's own files)")
        targets.append(Target(
            f"{project}: bytes `poetry docker publish` adds to the registry < 100 kB + the project's own files",
            measured, None if added is None or allowance is None else added < allowance))
    return targets


def human_bytes(value: float) -> str:
    """Decimal units, as registries and `docker images` show them."""
    sign = "-" if value < 0 else ""
    value = abs(value)
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if value >= size:
            return f"{sign}{value / size:.1f} {unit}" if value / size < 100 else f"{sign}{value / size:.0f} {unit}"
    return f"{sign}{int(value)} B"


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Replace each non-empty secret (the index URL, its host) in `text`."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "<index>")
    return text
