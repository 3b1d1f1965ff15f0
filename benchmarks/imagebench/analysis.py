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

DOCKERFILES = ("naive", "handwritten", "ours", "uv")
DOCKERFILE_LABELS = {
    "naive": "1 naive",
    "handwritten": "2 hand-written",
    "ours": "3 ours",
    "uv": "4 ours, --installer uv",
}
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
    """The step that installs the dependencies (`poetry install`), if the build has one; with
    `--installer uv`, its install stages in one (the longest that ran; CACHED if none ran)."""
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
    met: bool | None  # None: not measured in this run


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


def evaluate_targets(results: Mapping, heavy: str = "science") -> list[Target]:
    """The issue's targets, each as ratios or sizes from this one run.

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

    for project in projects:
        value, docker = both((project, "bump", "ours"), (project, "code", "ours"))
        targets.append(Target(
            f"{project}: our version-bump rebuild <= 1.2 x our rebuild after a one-line code change",
            _with_docker_alone(_fmt_ratio(value), docker), check(value, lambda v: v <= 1.2)))
    for scenario, words in (("bump", "warm cache mounts"), ("bump_ci", "cache mounts emptied")):
        for project in projects:
            value, docker = both((project, scenario, "handwritten"), (project, scenario, "ours"))
            need = 2.5 if project == heavy else 1.0
            promise = f">= {need} x faster" if project == heavy else "faster"
            targets.append(Target(
                f"{project}: our version-bump rebuild {promise} than Dockerfile 2's ({words})",
                _with_docker_alone(f"Dockerfile 2 / ours = {_fmt_ratio(value)}", docker),
                check(value, (lambda v, need=need: v >= need) if project == heavy else (lambda v: v > 1.0))))
    name = f"{heavy}: release job after a bump (rebuild + push) >= 5 x faster than Dockerfile 2's"
    if heavy in projects:
        release = results["projects"][heavy].get("release", {})

        def job(dockerfile: str) -> float | None:
            return (release.get(dockerfile) or {}).get("release_job_seconds")

        def without_poetry(dockerfile: str) -> float | None:
            build = _build(results, heavy, "bump", dockerfile)
            if job(dockerfile) is None or build.get("seconds") is None or build.get("docker_build_seconds") is None:
                return None
            return job(dockerfile) - (build["seconds"] - build["docker_build_seconds"])

        value = ratio(job("handwritten"), job("ours"))
        docker = ratio(without_poetry("handwritten"), without_poetry("ours"))
        measured = f"Dockerfile 2 / ours = {_fmt_ratio(value)}"
        if docker is not None:
            measured += f" (`docker build` + push alone: {_fmt_ratio(docker)})"
        targets.append(Target(name, measured, check(value, lambda v: v >= 5.0)))
    else:
        targets.append(Target(name, "not measured (project not in this run)", None))
    for project in projects:
        sizes = (results["projects"][project].get("sizes") or {}).get("ours") or {}
        extra = None
        if sizes.get("image") is not None and sizes.get("base") is not None and sizes.get("venv") is not None:
            extra = sizes["image"] - sizes["base"] - sizes["venv"]
        targets.append(Target(
            f"{project}: our runtime image <= base image + the venv + 2 MB",
            f"image - base - venv = {_fmt_bytes(extra)}", check(extra, lambda v: v <= 2 * MB)))
    for project in projects:
        added = ((results["projects"][project].get("release") or {}).get("ours") or {}).get("bytes_added")
        targets.append(Target(
            f"{project}: bytes a version bump adds to our image < 1 MB",
            _fmt_bytes(added), check(added, lambda v: v < MB)))
    for project in projects:
        value, docker = both((project, "cold", "ours"), (project, "cold", "handwritten"))
        targets.append(Target(
            f"{project}: our cold build <= 1.1 x Dockerfile 2's",
            _with_docker_alone(f"ours / Dockerfile 2 = {_fmt_ratio(value)}", docker),
            check(value, lambda v: v <= 1.1)))
    targets += _layer_targets(results, projects, heavy, both, check)
    targets += _runner_targets(results, projects, check)
    return targets


def runner_job_seconds(runner: Mapping, job: str) -> float | None:
    """The release job's time on the ephemeral runner: build job + push, or the whole publish."""
    return (runner.get(job) or {}).get("job_seconds")


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


def _layer_targets(results: Mapping, projects: list[str], heavy: str, both, check) -> list[Target]:  # type: ignore[no-untyped-def]
    """Issue 10's goals: the one-package main-dependency change, and cold builds, with `--installer uv`."""
    targets: list[Target] = []

    def release_main(project: str, dockerfile: str) -> Mapping:
        return ((results["projects"][project].get("release_main") or {}).get(dockerfile)) or {}

    for project in projects:
        added = release_main(project, "uv").get("bytes_added")
        need = 5 * MB
        targets.append(Target(
            f"{project}: bytes a one-package main-dependency change adds to the uv image < 5 MB",
            f"{_fmt_bytes(added)} (ours with Poetry: {_fmt_bytes(release_main(project, 'ours').get('bytes_added'))})",
            check(added, lambda v, need=need: v < need)))
    for project in projects:
        uv, today = release_main(project, "uv").get("pull_bytes"), release_main(project, "ours").get("pull_bytes")
        share = ratio(uv, today)
        targets.append(Target(
            f"{project}: after that change a deploy host pulls < 10 % of what ours with Poetry makes it pull",
            f"{_fmt_bytes(uv)} against {_fmt_bytes(today)} = "
            + ("-" if share is None else f"{100 * share:.1f} %"),
            check(share, lambda v: v < 0.10)))
    # Goal 2: a heavy package's change may ship it and what is re-layered after it, never more than today.
    for project in projects:
        heavy_release = results["projects"][project].get("release_heavy") or {}
        if not heavy_release:
            continue
        uv, today = ((heavy_release.get(d) or {}) for d in ("uv", "ours"))
        for what, key in (("adds", "bytes_added"), ("makes a deploy host pull", "pull_bytes")):
            targets.append(Target(
                f"{project}: a heavy-package change {what} no more with the uv image than with ours with Poetry",
                f"{_fmt_bytes(uv.get(key))} against {_fmt_bytes(today.get(key))}",
                check(ratio(uv.get(key), today.get(key)), lambda v: v <= 1.0)))
    # (what, numerator, denominator, the ratio's label, the most it may be)
    time_ratios = (
        ("rebuild after that change <= 0.5 x Dockerfile 2's", ("main", "uv"), ("main", "handwritten"),
         "uv / Dockerfile 2 = ", 0.5),
        ("cold build <= 0.5 x Dockerfile 2's", ("cold", "uv"), ("cold", "handwritten"), "uv / Dockerfile 2 = ", 0.5),
        ("version-bump rebuild <= 1.2 x its rebuild after a code change", ("bump", "uv"), ("code", "uv"), "", 1.2),
    )
    for what, numerator, denominator, label, most in time_ratios:
        for project in projects:
            value, docker = both((project, *numerator), (project, *denominator))
            targets.append(Target(
                f"{project}: the uv image's {what}", _with_docker_alone(f"{label}{_fmt_ratio(value)}", docker),
                check(value, lambda v, most=most: v <= most)))
    for project in projects:
        added = ((results["projects"][project].get("release") or {}).get("uv") or {}).get("bytes_added")
        targets.append(Target(
            f"{project}: bytes a version bump adds to the uv image < 1 MB",
            _fmt_bytes(added), check(added, lambda v: v < MB)))
    for project in projects:
        sizes = (results["projects"][project].get("sizes") or {}).get("uv") or {}
        extra = None
        if sizes.get("image") is not None and sizes.get("base") is not None and sizes.get("venv") is not None:
            extra = sizes["image"] - sizes["base"] - sizes["venv"]
        targets.append(Target(
            f"{project}: the uv runtime image <= base image + the venv (its 15 layers) + 2 MB",
            f"image - base - venv = {_fmt_bytes(extra)}", check(extra, lambda v: v <= 2 * MB)))
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
