"""The benchmark run: scratch trees, interleaved builds, the release (push, deploy pull), sizes."""

from __future__ import annotations

import datetime
import json
import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from imagebench.analysis import (
    DEPENDENCY_LAYER_MARKERS,
    DOCKERFILES,
    SCENARIOS,
    cache_pull_bytes,
    dependency_install,
    dependency_layers_changed,
    layer_diff,
    manifest_blobs,
    new_blob_bytes,
    new_layers,
    parse_buildkit_log,
    parse_poetry_docker_publish,
    pull_bytes,
    rotated,
    scrub,
    split_poetry_docker_build,
)
from imagebench.engine import CommandError, Dockerd, Engine, Registry, run, run_stamped

BENCH = Path(__file__).resolve().parent.parent
REPO = BENCH.parent
OURS_OPTIONS = (
    "--python", "3.11", "--syntax", "none",
    "--builder-plugin", "poetry-plugin-pypi-mirror", "--build-arg", "POETRY_PYPI_MIRROR_URL",
)
BASE_IMAGES = {"naive": "python:3.11", "handwritten": "python:3.11-slim", "ours": "python:3.11-slim",
               "poetry": "python:3.11-slim"}
VENV_LAYER = "COPY /app/.venv /app/.venv"
# Ours (3, uv by default, and 4, Poetry) copies the virtualenv as 15 layers, each like this (COPY /layer/NN/ /).
LAYERED_VENV = "COPY /layer/"
# Dockerfile 4's tree keeps its installer in the table, so that `poetry docker build` writes the same file.
POETRY_TABLE = '\n[tool.poetry-plugin-docker]\ninstaller = "poetry"\n'
OURS = ("ours", "poetry")
# The ephemeral-runner release (issue 17): BuildKit's inline cache, as Docker 20.10's docker driver
# exports it (`--cache-to` needs buildx); every build of the scenario writes it, as a release job would.
INLINE_CACHE = ("--build-arg", "BUILDKIT_INLINE_CACHE=1")


@dataclass(frozen=True)
class ProjectSpec:
    key: str
    title: str
    description: str
    source: Path
    package: str
    entry: str  # the script's target, module:function (a build arg of Dockerfiles 1 and 2)
    import_statement: str  # what the first-import measurement imports
    dev_bump: tuple[str, str]  # text in pyproject.toml -> its replacement
    dev_label: str
    main_bump: tuple[str, str]
    main_label: str
    heavy_bump: tuple[str, str] | None = None  # a compiled, heavy main dependency moved (issue 10, goal 2)
    heavy_label: str = ""


PROJECTS = {
    "fastapi": ProjectSpec(
        key="fastapi",
        title="FastAPI example (`examples/fastapi-service`)",
        description="The bundled example: FastAPI and uvicorn, 15 locked packages in the main group "
                    "(about 16 MB installed), pytest in the dev group; Poetry's `[tool.poetry]` layout.",
        source=REPO / "examples" / "fastapi-service",
        package="fastapi_service",
        entry="fastapi_service.main:run",
        import_statement="import fastapi",
        dev_bump=('pytest = ">=8.0"', 'pytest = "==8.4.1"'),
        dev_label="pytest 8.4.2 → 8.4.1 (the dev constraint `>=8.0` pinned to `==8.4.1`; 8.4.2 is "
                  "the newest pytest for the example's `python = \">=3.9\"`)",
        main_bump=('uvicorn = ">=0.29"', 'uvicorn = "==0.38.0"'),
        main_label="uvicorn 0.39.0 → 0.38.0 (the constraint `>=0.29` pinned to `==0.38.0`; 0.39.0 is "
                   "the newest uvicorn for Python 3.9)",
    ),
    "science": ProjectSpec(
        key="science",
        title="Heavy scientific service (`benchmarks/projects/science-service`)",
        description="numpy, pandas, scipy and click in the main group (about 220 MB "
                     "installed, binary wheels), pytest, ruff and mypy pinned exactly in the dev group; PEP 621 "
                     "`[project]` layout.",
        source=BENCH / "projects" / "science-service",
        package="science_service",
        entry="science_service.cli:main",
        import_statement="import pandas, scipy, scipy.optimize",
        dev_bump=('ruff = "0.17.5"', 'ruff = "0.17.6"'),
        dev_label="ruff 0.17.5 → 0.17.6 (an exact dev pin)",
        main_bump=('"click (==8.5.0)"', '"click (==8.5.1)"'),
        main_label="click 8.5.0 → 8.5.1 (an exact main pin)",
        heavy_bump=('"numpy (>=2.3)"', '"numpy (>=2.3,!=2.4.6)"'),
        heavy_label="numpy 2.4.6 → 2.4.5 for Python 3.11 (the constraint `>=2.3` given `!=2.4.6`)",
    ),
}

METHOD = [
    "Every build, push and image measurement runs on a throwaway dockerd started for the run "
    "(its own data root, exec root and socket, `--bridge none --iptables=false`; the base "
    "images copied in with `docker save | docker load`), so no earlier run's BuildKit cache "
    "and no other build on the machine shares its cache or solver state (on the machine's "
    "shared dockerd, concurrent builds of identical steps made cached steps re-run).",
    "Each project is copied four times into a temporary directory (one tree per Dockerfile, "
    "each a git repository so that `REVISION` is a real commit); the repository's own copies "
    "are never touched.",
    "Scenarios run in the order of the build table; within a scenario the four Dockerfiles "
    "build one after the other, starting with a different one in each scenario. Every change "
    "(a line appended to the package's `__init__.py`, `poetry version patch`, a dev or main pin "
    "moved followed by one `poetry lock` whose `pyproject.toml` and `poetry.lock` are copied to "
    "the four trees) is committed in each tree before the builds.",
    "Cold builds use `--no-cache` after `docker builder prune -f --filter type=exec.cachemount` "
    "(BuildKit's cache mounts emptied). The CI-runner row empties the cache mounts the same way "
    "before each build but keeps the layer cache, as a runner restoring a registry layer cache "
    "would.",
    "Times are wall-clock seconds of what a release or CI job runs to get an image tagged "
    "with its version, the same way for all four, so that each side pays Poetry's start-up "
    "once. Dockerfiles 1 and 2: `poetry version -s` (the version for the tag and the `VERSION` "
    "build argument), then `docker build --network=host --progress=plain -t NAME:<version> "
    "--build-arg VERSION=<version> --build-arg POETRY_PYPI_MIRROR_URL --build-arg ENTRY=… .` "
    "(and `PACKAGE` for 2; neither declares `VERSION`, and BuildKit ignores it silently). "
    "Ours: `poetry docker build --tag NAME -- --network=host --progress=plain`, one Poetry "
    "process that writes the stub, then runs the same docker client (`DOCKER`, and "
    "`DOCKER_HOST` set to the run's dockerd) with `VERSION`, `REVISION`, `--build-arg "
    "POETRY_PYPI_MIRROR_URL` (the Dockerfile declares it and it is set in the environment) and "
    "the tags NAME:<version> and NAME:latest. Cold builds add `--no-cache` (after `--` for ours). "
    "Debian's docker 20.10 client, built-in BuildKit.",
    "The `docker build` part of each job is timed too (the secondary columns and the "
    "parenthesised ratios): for 1 and 2 around the docker command; for ours from the line "
    "`poetry docker build` prints just before it starts docker (`Running: …`) to the one it "
    "prints when docker has exited (`Built …`), both read from its output as it comes. The "
    "rest of the job is Poetry's part: `poetry version -s` for 1 and 2; for ours Poetry's "
    "start-up, loading the project, writing the stub, `git rev-parse HEAD` and Poetry's exit. "
    "The targets are judged on the whole job's time.",
    "Bytes a bump adds: the layers of the bumped image whose digest (diff ID) the previous "
    "image does not have, with their sizes from the engine's layer store (the sizes `docker "
    "images` adds up). That is what a registry push and every deploy's pull pay, before "
    "compression.",
    "Release: the previous image (after the code change) and the bumped one are pushed to a "
    "local registry (Debian's `docker-registry`, its own config and temporary storage, "
    "listening on 127.0.0.1 only); the push of the bumped tag is timed, and its bytes are the "
    "blobs that appeared in the registry's storage. The release job is that push plus the "
    "rebuild job after the bump (Poetry's part included).",
    "Deploy: another throwaway dockerd (its own `--data-root`, `--exec-root` and socket, "
    "`--bridge none --iptables=false`) pulls the previous release, then the pull of the new "
    "tag is timed; its bytes are the compressed blobs of the new manifest that the previous "
    "one does not have.",
    "Sizes: `docker image inspect` `.Size` of the image after the bump and of its base image; "
    "the virtualenv is the `COPY /app/.venv` layer (1 and 2), or the 15 `COPY /layer/NN/ /` "
    "layers (ours, 3 and 4), from `docker history`.",
    "Dev-only bump: each image after it against the one before it (the CI-runner bump's): its "
    "layers whose digest the previous image lacks, and among them its dependency layers (those "
    "`docker history` says `COPY /layer/NN/` or `COPY /app/.venv` created, matched to the "
    "layers through the image config's history).",
    "Poetry runs from Python's bytecode cache, as on a user's machine: the runner drops "
    "`PYTHONDONTWRITEBYTECODE` (set globally on this machine) and runs each Poetry command once "
    "before timing anything.",
    "Ephemeral runner (issue 17): two fresh copies of the project (Dockerfile 2 and ours). Release 1 "
    "of each is built on the run's build dockerd with `--build-arg BUILDKIT_INLINE_CACHE=1` (the "
    "inline cache, all Docker 20.10's docker driver can export; ours with `poetry docker build`, "
    "whose labels `poetry docker publish` reads) and pushed to the local registry. Then `poetry "
    "version patch` (committed), and each release job runs against its own release 1: Dockerfile "
    "2 and ours each on a new throwaway dockerd holding nothing but `python:3.11` and "
    "`python:3.11-slim`, copied in from the machine's engine before the clock starts (no registry "
    "can be reached here to pull them; a real runner would also pull them, which makes both "
    "builds slower and the publish no slower); the build (`poetry version -s` + `docker build "
    "--cache-from REG/…:<release 1> --build-arg BUILDKIT_INLINE_CACHE=1 …` for 2; `poetry docker "
    "build --tag REG/… -- --cache-from REG/…:<release 1> --build-arg BUILDKIT_INLINE_CACHE=1 …` "
    "for ours) then `docker push` of the new version's tag, each timed. The publish: `poetry "
    "docker publish REG/… --from REG/…:<release 1> --no-build` run on the host with `DOCKER_HOST` "
    "pointing at a socket that does not exist, timed as a whole (Poetry's start-up included); it "
    "pushes the version's tag and `latest`. Bytes added: the registry's blob store (layers, "
    "configs and manifests) before and after each job.",
    "Ephemeral runner, dependency-update release (issue 18): two more fresh copies (Dockerfile 2 and "
    "ours), release 1 of each built and pushed as above, then the main bump (one `poetry lock`, "
    "copied to both) and `poetry version patch`, committed; each release job (build with "
    "`--cache-from REG/…:<release 1>` + push) on a new throwaway dockerd holding only the base images. "
    "Pulled by the runner: release 1's layers, other than the base images', that the new image holds "
    "(BuildKit took them from the registry; compressed sizes from release 1's manifest). Pushed: the "
    "registry's blob store before and after.",
    "Start-up (benchmarks/startup.py): `poetry --version` and `poetry docker build-context` run "
    "interleaved on a scratch copy of the bundled example, after two untimed runs of each, before "
    "any build; the medians are compared.",
]


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


class Bench:
    def __init__(self, projects: list[str], logs: Path, compile_runs: int, say=print,  # type: ignore[no-untyped-def]
                 only_runner: bool = False, startup_runs: int = 15) -> None:
        mirror = os.environ.get("POETRY_PYPI_MIRROR_URL", "")
        if not mirror:
            raise SystemExit("POETRY_PYPI_MIRROR_URL is not set: run `source scripts/setup.sh` first.")
        parsed = urllib.parse.urlsplit(mirror)
        self.secrets = [mirror, parsed.netloc, parsed.hostname or ""]
        self.projects = [PROJECTS[key] for key in projects]
        self.run_id = time.strftime("%Y%m%d-%H%M%S")
        self.prefix = f"imagebench-{self.run_id}"
        # The machine's engine: only the source of the base images (and the fallback builder).
        self.host = Engine(os.environ.get("DOCKER") or "docker")
        self.engine = self.host
        self.builder: Dockerd | None = None
        poetry = Path(sys.executable).parent / "poetry"
        self.poetry = str(poetry) if poetry.exists() else (shutil.which("poetry") or "poetry")
        self.work = Path(tempfile.mkdtemp(prefix="imagebench-"))
        self.logs = logs / self.run_id
        self.logs.mkdir(parents=True, exist_ok=True)
        self.compile_runs = compile_runs
        self.images: list[str] = []
        self.say = say
        self.registry: Registry | None = None
        self.deploy: Dockerd | None = None
        self.pull_method = ""
        self.engine_note = ""
        self.only_runner = only_runner  # the ephemeral-runner releases alone (issues 17 and 18)
        self.startup_runs = startup_runs

    # ------------------------------------------------------------------ helpers

    def log(self, name: str, text: str) -> Path:
        path = self.logs / name
        path.write_text(scrub(text, self.secrets))
        return path

    def poetry_run(self, tree: Path, *args: str) -> str:
        return run([self.poetry, *args], cwd=tree).stdout

    def commit(self, tree: Path, message: str) -> None:
        run(["git", "add", "-A"], cwd=tree)
        run(["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com", "commit", "-qm", message],
            cwd=tree)

    def warm_bytecode_cache(self) -> None:
        """Poetry starts as on a user's machine, from Python's bytecode cache: some CI machines set
        PYTHONDONTWRITEBYTECODE=1 globally, which would make every Poetry call (both sides' job
        steps) compile Poetry from source. Drop it for this run and write the cache once."""
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
        for args in (["--version"], ["docker", "build", "--help"], ["docker", "build-context", "--help"],
                     ["version", "--help"]):
            run([self.poetry, *args], cwd=REPO, check=False)
        with tempfile.TemporaryDirectory() as scratch:  # the commands' real paths (project loading, Locker)
            tree = Path(scratch) / PROJECTS["fastapi"].source.name
            shutil.copytree(PROJECTS["fastapi"].source, tree)
            for args in (["version", "-s"], ["docker", "build-context"], ["docker", "dockerfile", *OURS_OPTIONS]):
                run([self.poetry, *args], cwd=tree)

    def startup(self) -> dict:
        """benchmarks/startup.py's measurement: `poetry --version` and `poetry docker build-context`
        interleaved on a copy of the bundled example, before any build (no Docker involved)."""
        import startup

        baseline, plugin = startup.measure(self.startup_runs, self.poetry)
        record = {"runs": self.startup_runs, "baseline_ms": statistics.median(baseline),
                  "plugin_ms": statistics.median(plugin), "baseline_all": baseline, "plugin_all": plugin}
        self.say(f"start-up: poetry --version {record['baseline_ms']:.0f} ms, poetry docker build-context "
                 f"{record['plugin_ms']:.0f} ms (medians of {self.startup_runs})")
        return record

    def has_compile_option(self) -> bool:
        text = run([self.poetry, "docker", "dockerfile", "--help"], cwd=REPO, check=False).stdout
        return re.search(r"--compile\b", text) is not None

    def machine(self) -> dict:
        meminfo = Path("/proc/meminfo").read_text()
        ram_kib = int(re.search(r"MemTotal:\s+(\d+)", meminfo).group(1))  # type: ignore[union-attr]
        cpuinfo = Path("/proc/cpuinfo").read_text()
        model = re.search(r"model name\s*:\s*(.+)", cpuinfo)
        from importlib.metadata import version

        return {
            "cpus": os.cpu_count(),
            "cpu_model": model.group(1).strip() if model else platform.processor() or "?",
            "ram_gib": ram_kib / 1024 / 1024,
            "kernel": platform.release(),
            "docker_server": self.engine("version", "--format", "{{.Server.Version}}").stdout.strip(),
            "docker_client": self.engine("version", "--format", "{{.Client.Version}}").stdout.strip(),
            "poetry": run([self.poetry, "--version"]).stdout.split()[-1].strip(")"),
            "plugin": version("poetry-plugin-docker"),
            "registry": Registry(self.work, self.logs / "x").version(),
            "load_start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        }

    # ------------------------------------------------------------------ trees and builds

    def setup(self, spec: ProjectSpec, dockerfiles: tuple[str, ...] = DOCKERFILES,
              root: Path | None = None) -> dict[str, Path]:
        trees = {}
        ignore = shutil.ignore_patterns(".venv", "__pycache__", ".docker-deps", "Dockerfile", ".dockerignore",
                                        ".pytest_cache", ".mypy_cache", ".ruff_cache", "dist")
        for dockerfile in dockerfiles:
            tree = (root or self.work / spec.key) / dockerfile / spec.source.name
            shutil.copytree(spec.source, tree, ignore=ignore)
            self.mark_lock(tree)
            if dockerfile == "poetry":
                with (tree / "pyproject.toml").open("a") as pyproject:
                    pyproject.write(POETRY_TABLE)
            if dockerfile in OURS:
                self.poetry_run(tree, "docker", "dockerfile", *OURS_OPTIONS)
            else:
                shutil.copy(BENCH / "dockerfiles" / f"{dockerfile}.Dockerfile", tree / "Dockerfile")
                shutil.copy(BENCH / "dockerfiles" / "reference.dockerignore", tree / ".dockerignore")
            run(["git", "init", "-q", "."], cwd=tree)
            self.commit(tree, "release")
            trees[dockerfile] = tree
        return trees

    def change(self, spec: ProjectSpec, scenario: str, trees: dict[str, Path]) -> None:
        if scenario == "code":
            line = f'RELEASED_AT = "{datetime.datetime.now(datetime.timezone.utc).isoformat()} {self.run_id}"\n'
            for tree in trees.values():
                with (tree / spec.package / "__init__.py").open("a") as module:
                    module.write(line)
        elif scenario in ("bump", "bump_ci"):
            for tree in trees.values():
                self.poetry_run(tree, "version", "patch")
        elif scenario in ("dev", "main", "heavy"):
            bump = {"dev": spec.dev_bump, "main": spec.main_bump, "heavy": spec.heavy_bump}[scenario]
            assert bump is not None
            old, new = bump
            source = trees["ours"]
            pyproject = source / "pyproject.toml"
            text = pyproject.read_text()
            if old not in text:
                raise CommandError(f"{spec.key}: {old!r} is not in pyproject.toml")
            pyproject.write_text(text.replace(old, new))
            self.poetry_run(source, "lock")
            self.mark_lock(source)
            for dockerfile, tree in trees.items():
                if tree != source:
                    for name in ("pyproject.toml", "poetry.lock"):
                        shutil.copy(source / name, tree / name)
                if dockerfile == "poetry":
                    with (tree / "pyproject.toml").open("a") as pyproject:
                        pyproject.write(POETRY_TABLE)
        else:
            return
        for tree in trees.values():
            self.commit(tree, scenario)

    def build(self, spec: ProjectSpec, scenario: str, dockerfile: str, tree: Path,
              no_cache: bool = False, file: str = "Dockerfile", variant: str = "",
              name: str | None = None, extra: tuple[str, ...] = (), engine: Engine | None = None) -> dict:
        """One timed build, as a release job runs it to get an image tagged with the version.

        1 and 2: `poetry version -s`, then `docker build -t NAME:<version> --build-arg
        VERSION=<version> ...`. Ours: `poetry docker build --tag NAME -- ...` (Poetry's start-up,
        the stub, then docker build; it tags NAME:<version> and NAME:latest). `seconds` is the
        whole job; `docker_build_seconds` its `docker build` part; `poetry_seconds` the rest.
        `name` (default: one of the run's), `extra` docker arguments and the `engine` (default:
        the run's build engine) are for the ephemeral-runner release.
        """
        name = name or f"{self.prefix}-{spec.key}-{dockerfile}{variant}-{scenario}"
        engine = engine or self.engine
        docker_args = ["--network=host", "--progress=plain", *extra]
        if no_cache:
            docker_args.append("--no-cache")
        if file != "Dockerfile":
            docker_args += ["-f", file]
        log = f"{spec.key}-{scenario}-{dockerfile}{variant}.log"
        if dockerfile in OURS:
            record = self._build_ours(tree, name, docker_args, log, engine)
        else:
            record = self._build_reference(spec, dockerfile, tree, name, docker_args, log, engine)
        step = dependency_install(parse_buildkit_log((self.logs / log).read_text()))
        record.update(deps=None if step is None else ("cached" if step.cached else step.seconds), log=log)
        docker = record.get("docker_build_seconds")
        self.say(f"  {spec.key:8} {scenario:8} {dockerfile + variant:11} {record['seconds']:7.1f} s"
                 f"  (docker build {'?' if docker is None else f'{docker:.1f}'} s)  deps: {record['deps']}")
        return record

    def _build_reference(self, spec: ProjectSpec, dockerfile: str, tree: Path, name: str,
                         docker_args: list[str], log: str, engine: Engine) -> dict:
        start = time.perf_counter()
        version_out = self.poetry_run(tree, "version", "-s")
        poetry_seconds = time.perf_counter() - start
        version = version_out.strip().splitlines()[-1].strip()
        image = f"{name}:{version}"
        args = ["build", *docker_args, "-t", image, "--build-arg", f"VERSION={version}",
                "--build-arg", "POETRY_PYPI_MIRROR_URL", "--build-arg", f"ENTRY={spec.entry}"]
        if dockerfile == "handwritten":
            args += ["--build-arg", f"PACKAGE={spec.package}"]
        args.append(".")
        self.images.append(image)
        try:
            docker_seconds, result = engine.timed(*args, cwd=tree)
        except CommandError as error:
            self.log(log, str(error))
            raise
        self.log(log, f"$ poetry version -s\n{version_out}$ docker {' '.join(args)}\n"
                      + result.stdout + result.stderr)
        return {"image": image, "version": version, "seconds": poetry_seconds + docker_seconds,
                "docker_build_seconds": docker_seconds, "poetry_seconds": poetry_seconds}

    def _build_ours(self, tree: Path, name: str, docker_args: list[str], log: str, engine: Engine) -> dict:
        command = [self.poetry, "docker", "build", "--tag", name, "--", *docker_args]
        # DOCKER_HOST: the build engine's socket, as any docker CLI call honours it; DOCKER: the
        # engine's client; POETRY_PYPI_MIRROR_URL is inherited, so the declared ARG is passed.
        seconds, code, lines = run_stamped(command, cwd=tree, env=engine.environment())
        text = "".join(line for _, line in lines)
        self.log(log, f"$ poetry {' '.join(command[1:])}\n{text}")
        if code != 0:
            raise CommandError(f"poetry docker build exited {code}; see {self.logs / log}\n{text[-4000:]}")
        split = split_poetry_docker_build(lines, seconds)
        if not split.tags:
            raise CommandError(f"poetry docker build named no image; see {self.logs / log}")
        self.images.extend(split.tags)
        record: dict = {"image": split.tags[0], "version": split.tags[0].rsplit(":", 1)[1],
                        "tags": split.tags, "seconds": seconds}
        if split.docker_seconds is not None:
            record["docker_build_seconds"] = split.docker_seconds
            record["poetry_seconds"] = seconds - split.docker_seconds
        return record

    # ------------------------------------------------------------------ release

    def mark_lock(self, tree: Path) -> None:
        """On the machine's shared engine only (the fallback), make the lock unique to this run,
        so that no dependency layer comes from an earlier run's BuildKit cache."""
        if self.builder is None:
            with (tree / "poetry.lock").open("a") as lock:
                lock.write(f"\n# imagebench run {self.run_id}: no dependency layer from an earlier run's cache\n")

    def start_services(self) -> None:
        builder = Dockerd(self.host.docker, f"imagebench-build-{self.run_id}", self.logs / "build-dockerd.log")
        try:
            builder.start()
            self.builder = builder
            builder.engine.load_images(self.host, sorted(set(BASE_IMAGES.values())))
            self.engine = builder.engine
            self.engine_note = "a throwaway dockerd of the run"
            self.say(f"build dockerd on {builder.socket}, base images loaded")
        except CommandError as error:
            builder.stop()
            self.builder = None
            self.engine_note = ("the machine's dockerd, shared with other work (a dockerd of the run "
                                f"could not start: {str(error).splitlines()[0]})")
            self.say(f"building on the machine's dockerd: {error}")
        self.registry = Registry(self.work / "registry", self.logs / "registry.log")
        self.registry.start()
        self.say(f"local registry on {self.registry.address}")
        deploy = Dockerd(self.host.docker, f"imagebench-deploy-{self.run_id}", self.logs / "deploy-dockerd.log")
        try:
            deploy.start()
            self.deploy = deploy
            self.pull_method = "a throwaway deploy dockerd, `docker pull`"
            self.say(f"deploy dockerd on {deploy.socket}")
        except CommandError as error:
            self.pull_method = ("registry API download of the new blobs (the second dockerd could "
                                f"not start: {str(error).splitlines()[0]})")
            self.say(f"deploy dockerd unavailable, measuring blob downloads instead: {error}")

    def release(self, spec: ProjectSpec, builds: dict, shift: int,
                previous_scenario: str = "code", new_scenario: str = "bump") -> dict:
        """Push the new scenario's image next to the previous one's, and pull it on a host that has that one."""
        assert self.registry is not None
        out: dict = {}
        for dockerfile in rotated(DOCKERFILES, shift):
            previous, new = builds[previous_scenario][dockerfile], builds[new_scenario][dockerfile]
            old_layers = [diff_id for diff_id, _ in self.engine.layers(previous["image"])]
            diff = layer_diff(old_layers, self.engine.layers(new["image"]))
            repository = f"{self.prefix}/{spec.key}-{dockerfile}"
            refs = {}
            for key, build, scenario in (("previous", previous, previous_scenario), ("new", new, new_scenario)):
                # The scenario in the tag: a dependency bump keeps the version, and the two must not share a tag.
                refs[key] = f"{self.registry.address}/{repository}:{build['version']}-{scenario}"
                self.engine("tag", build["image"], refs[key])
                self.images.append(refs[key])
            self.engine("push", refs["previous"])
            before = self.registry.blobs()
            push_seconds, result = self.engine.timed("push", refs["new"])
            self.log(f"{spec.key}-push-{dockerfile}.log", result.stdout + result.stderr)
            pushed = new_blob_bytes(before, self.registry.blobs())
            manifests = {key: self.registry.manifest(repository, ref.rsplit(":", 1)[1]) for key, ref in refs.items()}
            record = {
                "layers": {"changed": diff.changed, "total": diff.total},
                "bytes_added": diff.bytes,
                "push_seconds": push_seconds,
                "push_bytes": pushed,
                "release_job_seconds": new["seconds"] + push_seconds,
                "pull_bytes": pull_bytes(manifests["previous"], manifests["new"]),
            }
            if self.deploy is not None:
                self.deploy.engine("pull", refs["previous"])
                record["pull_seconds"], result = self.deploy.engine.timed("pull", refs["new"])
                self.log(f"{spec.key}-pull-{dockerfile}.log", result.stdout + result.stderr)
            else:
                old = manifest_blobs(manifests["previous"])
                digests = [d for d in manifest_blobs(manifests["new"]) if d not in old]
                record["pull_seconds"], _ = self.registry.download_blobs(repository, digests)
            self.say(f"  {spec.key:8} release  {dockerfile:11} {diff.changed}/{diff.total} layers, "
                     f"{diff.bytes} B added; push {push_seconds:.1f} s, {pushed} B; "
                     f"pull {record['pull_seconds']:.1f} s")
            out[dockerfile] = record
        out["pull_method"] = self.pull_method
        return out

    def dev_layers(self, spec: ProjectSpec, builds: dict, previous_scenario: str = "bump_ci") -> dict:
        """What the dev-only bump changed in each image against the one before it: its layers, and
        its dependency layers (the 15 `COPY /layer/NN/` of ours, Dockerfile 2's `COPY /app/.venv`)."""
        out: dict = {}
        for dockerfile in DOCKERFILES:
            old = [diff_id for diff_id, _ in self.engine.layers(builds[previous_scenario][dockerfile]["image"])]
            image = builds["dev"][dockerfile]["image"]
            diff = layer_diff(old, self.engine.layers(image))
            record: dict = {"layers": {"changed": diff.changed, "total": diff.total}, "bytes_added": diff.bytes}
            marker = DEPENDENCY_LAYER_MARKERS.get(dockerfile)
            if marker:
                record["dependency_layers"] = dependency_layers_changed(old, self.engine.config(image), marker)
            out[dockerfile] = record
            deps = record.get("dependency_layers") or {}
            self.say(f"  {spec.key:8} dev      {dockerfile:11} {diff.changed}/{diff.total} layers, {diff.bytes} B"
                     + (f"; dependency layers {deps['changed']}/{deps['total']} changed" if deps else ""))
        return out

    def sizes(self, builds: dict) -> dict:
        out = {}
        for dockerfile in DOCKERFILES:
            image = builds["bump"][dockerfile]["image"]
            base = BASE_IMAGES[dockerfile]
            out[dockerfile] = {
                "image": self.engine.image_size(image),
                "base": self.engine.image_size(base),
                "base_image": base,
                "venv": (self.engine.history_sizes(image, LAYERED_VENV) if dockerfile in OURS
                         else self.engine.history_size(image, VENV_LAYER)),
            }
        return out

    # ------------------------------------------------------------------ the ephemeral runner (issue 17)

    def runner_release(self, spec: ProjectSpec) -> dict:
        """The version-bump release job on an ephemeral CI runner, three ways: Dockerfile 2 with
        `--cache-from` + push, ours with `poetry docker build -- --cache-from` + push (each on a new
        dockerd that has only the base images), and `poetry docker publish --no-build` with no
        daemon at all. Each against its own release 1, pushed with BuildKit's inline cache."""
        assert self.registry is not None
        dockerfiles = ("handwritten", "ours")
        self.say(f"== {spec.key}: ephemeral-runner release, two trees in {self.work / spec.key / 'runner'}")
        trees = self.setup(spec, dockerfiles, root=self.work / spec.key / "runner")
        repositories = {d: f"{self.prefix}/{spec.key}-runner-{d}" for d in dockerfiles}
        names = {d: f"{self.registry.address}/{repository}" for d, repository in repositories.items()}
        first: dict = {}
        for dockerfile in dockerfiles:
            first[dockerfile] = self.build(spec, "release1", dockerfile, trees[dockerfile], name=names[dockerfile],
                                           extra=INLINE_CACHE)
            self.engine("push", first[dockerfile]["image"])
        for tree in trees.values():
            self.poetry_run(tree, "version", "patch")
            self.commit(tree, "bump")
        out: dict = {
            "release1": {d: first[d]["image"].replace(self.registry.address, "REG") for d in dockerfiles},
            "base_images": sorted(set(BASE_IMAGES.values())),
            "project_files_bytes": project_files_bytes(trees["ours"] / spec.package),
        }
        for dockerfile in dockerfiles:
            out[dockerfile] = self._runner_job(spec, dockerfile, trees[dockerfile], names[dockerfile],
                                               repositories[dockerfile], first[dockerfile])
        out["publish"] = self._publish_job(spec, trees["ours"], names["ours"], repositories["ours"], first["ours"])
        return out

    def runner_deps_release(self, spec: ProjectSpec) -> dict:
        """Issue 18: a dependency-update release (the main bump, and `poetry version patch`) on an
        ephemeral runner, as `runner_release` runs the version bump: Dockerfile 2 with `--cache-from`
        + push against ours with `poetry docker build -- --cache-from` + push, each on a new dockerd
        that has only the base images, against its own release 1 pushed with BuildKit's inline cache.
        What the runner pulled: release 1's layers (other than the base images') the new image holds."""
        assert self.registry is not None
        dockerfiles = ("handwritten", "ours")
        root = self.work / spec.key / "runner-deps"
        self.say(f"== {spec.key}: ephemeral-runner dependency-update release, two trees in {root}")
        trees = self.setup(spec, dockerfiles, root=root)
        repositories = {d: f"{self.prefix}/{spec.key}-runner-deps-{d}" for d in dockerfiles}
        names = {d: f"{self.registry.address}/{repository}" for d, repository in repositories.items()}
        first: dict = {}
        for dockerfile in dockerfiles:
            first[dockerfile] = self.build(spec, "deps-release1", dockerfile, trees[dockerfile],
                                           name=names[dockerfile], extra=INLINE_CACHE)
            self.engine("push", first[dockerfile]["image"])
        self.change(spec, "main", trees)
        for tree in trees.values():
            self.poetry_run(tree, "version", "patch")
            self.commit(tree, "release 2")
        out: dict = {
            "release1": {d: first[d]["image"].replace(self.registry.address, "REG") for d in dockerfiles},
            "base_images": sorted(set(BASE_IMAGES.values())),
        }
        for dockerfile in dockerfiles:
            out[dockerfile] = self._runner_job(spec, dockerfile, trees[dockerfile], names[dockerfile],
                                               repositories[dockerfile], first[dockerfile], job="runner-deps")
        return out

    def _runner_job(self, spec: ProjectSpec, dockerfile: str, tree: Path, name: str, repository: str,
                    first: dict, job: str = "runner") -> dict:
        """One `--cache-from` release job on a new, empty dockerd: build, push, what it added."""
        assert self.registry is not None
        daemon = "runner" if job == "runner" else "rdeps"
        runner = Dockerd(self.host.docker, f"imagebench-{daemon}-{self.run_id}-{spec.key}-{dockerfile}",
                         self.logs / f"{spec.key}-{job}-{dockerfile}-dockerd.log")
        try:
            runner.start()
        except CommandError as error:
            self.say(f"  {spec.key:8} {job:8} {dockerfile:11} no empty dockerd: {error}")
            return {"error": f"no empty dockerd could start: {str(error).splitlines()[0]}"}
        try:
            bases = sorted(set(BASE_IMAGES.values()))
            start = time.perf_counter()
            runner.engine.load_images(self.host, bases)
            load_seconds = time.perf_counter() - start
            before = self.registry.blobs()
            build = self.build(spec, job, dockerfile, tree, name=name,
                               extra=(*INLINE_CACHE, "--cache-from", first["image"]), engine=runner.engine)
            push_seconds, result = runner.engine.timed("push", build["image"])
            self.log(f"{spec.key}-{job}-push-{dockerfile}.log", result.stdout + result.stderr)
            registry_bytes = new_blob_bytes(before, self.registry.blobs())
            old = self.registry.manifest(repository, first["version"])
            new = self.registry.manifest(repository, build["version"])
            config = json.loads(self.registry.blob(repository, old["config"]["digest"]))
            base_ids = [d for image in bases for d in runner.engine.inspect(image)["RootFS"]["Layers"]]
            layers, cached = cache_pull_bytes(old, config, runner.engine.inspect(build["image"])["RootFS"]["Layers"],
                                              base_ids)
        except (CommandError, OSError) as error:
            self.say(f"  {spec.key:8} {job:8} {dockerfile:11} FAILED: {error}")
            return {"error": str(error).strip().splitlines()[0]}
        finally:
            runner.stop()
        record = {
            "version": build["version"],
            "build_seconds": build["seconds"],
            "docker_build_seconds": build.get("docker_build_seconds"),
            "poetry_seconds": build.get("poetry_seconds"),
            "deps": build["deps"],
            "push_seconds": push_seconds,
            "job_seconds": build["seconds"] + push_seconds,
            "registry_bytes": registry_bytes,
            "new_blob_bytes": pull_bytes(old, new),
            "layers": new_layers(old, new),
            "cache_layers": layers,
            "cache_bytes": cached,
            "base_load_seconds": load_seconds,
            "log": build["log"],
        }
        self.say(f"  {spec.key:8} {job:8} {dockerfile:11} build {build['seconds']:.1f} s + push {push_seconds:.1f} s"
                 f" = {record['job_seconds']:.1f} s; {registry_bytes} B added; {cached} B of cached layers taken"
                 f" ({layers} layers)")
        return record

    def _publish_job(self, spec: ProjectSpec, tree: Path, name: str, repository: str, first: dict) -> dict:
        """`poetry docker publish NAME --from NAME:<release 1> --no-build`, DOCKER_HOST pointing at nothing."""
        assert self.registry is not None
        env = {**os.environ, "DOCKER_HOST": f"unix://{self.work / 'no-dockerd-here.sock'}"}
        env.pop("DOCKER", None)
        command = [self.poetry, "docker", "publish", name, "--from", first["image"], "--no-build"]
        before = self.registry.blobs()
        seconds, code, lines = run_stamped(command, cwd=tree, env=env)
        text = "".join(line for _, line in lines)
        self.log(f"{spec.key}-runner-publish.log",
                 f"$ DOCKER_HOST={env['DOCKER_HOST']} poetry {' '.join(command[1:])}\n{text}")
        published = parse_poetry_docker_publish(text)
        if code != 0 or not published.published:
            last = (text.strip().splitlines() or ["no output"])[-1]
            self.say(f"  {spec.key:8} runner   publish     FAILED (exit {code}): {last}")
            return {"error": f"exit {code}: {last}", "seconds": seconds}
        registry_bytes = new_blob_bytes(before, self.registry.blobs())
        name_version = self.poetry_run(tree, "version").strip().splitlines()[-1].split()
        distribution, version = name_version[0], name_version[-1]
        old = self.registry.manifest(repository, first["version"])
        new = self.registry.manifest(repository, version)
        record = {
            "version": version,
            "job_seconds": seconds,
            "reported_seconds": published.seconds,
            "digest": published.digest,
            "registry_bytes": registry_bytes,
            "new_blob_bytes": pull_bytes(old, new),
            "layers": new_layers(old, new),
            "check": self._check_published(spec, f"{name}:{version}", distribution),
            "log": f"{spec.key}-runner-publish.log",
        }
        self.say(f"  {spec.key:8} runner   publish     {seconds:.1f} s (it says {published.seconds} s); "
                 f"{registry_bytes} B added; the image says: {record['check']}")
        return record

    def _check_published(self, spec: ProjectSpec, image: str, distribution: str) -> str:
        """Not timed: the published image, pulled on the deploy host, imports the package and
        reports the new version."""
        if self.deploy is None:
            return "not checked (no deploy dockerd)"
        engine = self.deploy.engine
        pulled = engine("pull", image, check=False)
        if pulled.returncode != 0:
            return f"pull failed: {(pulled.stderr.strip().splitlines() or ['?'])[-1]}"
        code = f"import importlib.metadata as m, {spec.package}; print(m.version({distribution!r}))"
        ran = engine("run", "--rm", "--network=none", "--entrypoint", "python", image, "-c", code, check=False)
        if ran.returncode != 0:
            return f"run failed: {(ran.stderr.strip().splitlines() or ['?'])[-1]}"
        return f"{spec.package} imports, version {ran.stdout.strip()}"

    # ------------------------------------------------------------------ --compile and first import

    def first_import(self, image: str, statement: str) -> float:
        code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
        out = self.engine("run", "--rm", "--network=none", "--entrypoint", "python", image, "-c", code).stdout
        return float(out.strip().splitlines()[-1])

    def compile_row(self, spec: ProjectSpec, trees: dict[str, Path], plain: dict, available: bool) -> dict:
        tree = trees["ours"]
        record: dict = {"runs": self.compile_runs, "plain_image": self.engine.image_size(plain["image"])}
        compiled = None
        if available:
            self.poetry_run(tree, "docker", "dockerfile", *OURS_OPTIONS, "--compile", "--output", "Dockerfile.compile")
            compiled = self.build(spec, "main", "ours", tree, file="Dockerfile.compile", variant="-compile")
            record["build_seconds"] = compiled["seconds"]
            record["compiled_image"] = self.engine.image_size(compiled["image"])
        plain_times, compiled_times = [], []
        for _ in range(self.compile_runs):
            plain_times.append(self.first_import(plain["image"], spec.import_statement))
            if compiled:
                compiled_times.append(self.first_import(compiled["image"], spec.import_statement))
        record["plain_seconds"] = statistics.median(plain_times)
        record["plain_all"] = plain_times
        if compiled_times:
            record["compiled_seconds"] = statistics.median(compiled_times)
            record["compiled_all"] = compiled_times
        self.say(f"  {spec.key:8} first import: ours {record['plain_seconds']:.2f} s"
                 + (f", ours --compile {record['compiled_seconds']:.2f} s" if compiled_times else ""))
        return record

    # ------------------------------------------------------------------ the run

    def project(self, spec: ProjectSpec, compile_available: bool) -> dict:
        if not self.only_runner:
            self.say(f"== {spec.key}: setting up four trees in {self.work / spec.key}")
        trees = {} if self.only_runner else self.setup(spec)
        builds: dict = {}
        result: dict = {
            "title": spec.title,
            "description": spec.description,
            "bumps": {"dev": spec.dev_label, "main": spec.main_label, "heavy": spec.heavy_label},
            "import_statement": spec.import_statement,
            "builds": builds,
        }
        for shift, scenario in enumerate(SCENARIOS):
            if self.only_runner:
                break
            if scenario == "heavy" and spec.heavy_bump is None:
                continue
            self.change(spec, scenario, trees)
            builds[scenario] = {}
            for dockerfile in rotated(DOCKERFILES, shift):
                if scenario in ("cold", "bump_ci"):
                    self.engine.prune_cache_mounts()
                builds[scenario][dockerfile] = self.build(
                    spec, scenario, dockerfile, trees[dockerfile], no_cache=scenario == "cold")
            if scenario == "bump":
                result["release"] = self.release(spec, builds, shift)
                result["sizes"] = self.sizes(builds)
            if scenario == "dev":
                result["dev_layers"] = self.dev_layers(spec, builds)
            if scenario == "main":
                result["release_main"] = self.release(spec, builds, shift, previous_scenario="dev", new_scenario="main")
            if scenario == "heavy":
                result["release_heavy"] = self.release(spec, builds, shift, previous_scenario="main",
                                                       new_scenario="heavy")
            if scenario == "bump_ci":
                for dockerfile in DOCKERFILES:
                    old = [d for d, _ in self.engine.layers(builds["bump"][dockerfile]["image"])]
                    diff = layer_diff(old, self.engine.layers(builds["bump_ci"][dockerfile]["image"]))
                    result["release"][dockerfile]["ci_layers"] = {"changed": diff.changed, "total": diff.total}
                    result["release"][dockerfile]["ci_bytes_added"] = diff.bytes
        if not self.only_runner:
            result["compile"] = self.compile_row(spec, trees, builds["main"]["ours"], compile_available)
        result["runner"] = self.runner_release(spec)
        result["runner_deps"] = self.runner_deps_release(spec)
        return result

    def run(self) -> dict:
        started = time.time()
        results: dict = {
            "run_id": self.run_id,
            "started": now(),
            "machine": self.machine(),
            "method": METHOD,
            "projects": {},
        }
        self.warm_bytecode_cache()
        compile_available = self.has_compile_option()
        if not compile_available:
            results["compile_skipped"] = (
                "The `ours + --compile` row was skipped: `poetry docker dockerfile --help` does not "
                "list `--compile` in this checkout. The first-import time of ours without it is "
                "given for reference.")
        self.say(f"run {self.run_id}: logs in {self.logs}; --compile available: {compile_available}")
        if not self.only_runner and self.startup_runs:
            results["startup"] = self.startup()
        self.start_services()
        results["engine"] = self.engine_note
        for spec in self.projects:
            results["projects"][spec.key] = self.project(spec, compile_available)
        results["machine"]["load_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
        results["minutes"] = (time.time() - started) / 60
        results["log_dir"] = str(self.logs.relative_to(REPO)) if self.logs.is_relative_to(REPO) else str(self.logs)
        return results

    def cleanup(self) -> None:
        if self.deploy is not None:
            self.deploy.stop()
        if self.registry is not None:
            self.registry.stop()
        if self.builder is not None:
            self.builder.stop()  # its images, build cache and cache mounts go with its data root
        elif self.images:
            for start in range(0, len(self.images), 50):
                self.engine("rmi", "-f", *self.images[start:start + 50], check=False)
        shutil.rmtree(self.work, ignore_errors=True)


def project_files_bytes(package: Path) -> int:
    """The size of the project's own files: its package directory, bytecode left out."""
    return sum(path.stat().st_size for path in package.rglob("*")
               if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc")


def write_outputs(results: dict, out_dir: Path) -> list[Path]:
    from imagebench.report import render_chart, render_markdown

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "benchmarks.json", out_dir / "benchmarks.md", out_dir / "benchmarks.png"]
    paths[0].write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    paths[1].write_text(render_markdown(results, paths[2].name))
    render_chart(results, paths[2])
    return paths
