"""`poetry docker build`: what it does before Docker runs (the builds themselves are in tests/e2e).

The stub test runs $DOCKER=`true`, which accepts any arguments and builds nothing. The
command-line tests replace `subprocess.run` (as poetry_plugin_docker.docker_build calls it) with
a fake Docker that records the argv, and what the secret files hold while it runs."""

from __future__ import annotations

import hashlib
import shlex
import shutil
import stat
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from helpers import assert_one_line_error

from poetry_plugin_docker.settings import DEFAULT_STUB_DIR

DOCKER = "/opt/fake/bin/docker"  # never executed: the fake below answers for it
USERNAME, PASSWORD = "ci-bot", "pa55-w0rd-7f3a"


@dataclass
class Build:
    argv: list[str]
    env: dict[str, str]
    secrets: dict[str, tuple[str, int]] = field(default_factory=dict)  # src -> (content, mode) while docker ran


@dataclass
class FakeDocker:
    buildx: bool = False  # whether `docker buildx version` succeeds
    status: int = 0  # the exit status of `docker build`
    probes: list[list[str]] = field(default_factory=list)
    builds: list[Build] = field(default_factory=list)

    @property
    def build(self) -> Build:
        assert len(self.builds) == 1, self.builds
        return self.builds[0]


@pytest.fixture
def docker(mocker, monkeypatch, tmp_path) -> FakeDocker:
    fake = FakeDocker()
    real_run = subprocess.run

    def run(argv: Any, *args: Any, **kwargs: Any) -> subprocess.CompletedProcess[Any]:
        if not (isinstance(argv, list) and argv[:1] == [DOCKER]):
            return real_run(argv, *args, **kwargs)  # git rev-parse, and anything Poetry runs
        if argv[1:] == ["buildx", "version"]:
            fake.probes.append(argv)
            return subprocess.CompletedProcess(argv, 0 if fake.buildx else 1, b"", b"")
        build = Build(list(argv), dict(kwargs["env"]))
        for flag, value in zip(argv, argv[1:]):
            if flag == "--secret":
                source = Path(dict(part.split("=", 1) for part in value.split(","))["src"])
                build.secrets[str(source)] = (source.read_text(), stat.S_IMODE(source.stat().st_mode))
        fake.builds.append(build)
        return subprocess.CompletedProcess(argv, fake.status)

    mocker.patch("poetry_plugin_docker.docker_build.subprocess.run", side_effect=run)
    monkeypatch.setenv("DOCKER", DOCKER)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))  # the copied project is no git work tree
    # Poetry's Config.create() is one object per process, and the project merges its poetry.toml into it:
    # start from a fresh one, and put the old one back afterwards, so no test sees another's credentials.
    monkeypatch.setattr("poetry.config.config._default_config", None)
    for variable in ("SSH_AUTH_SOCK", "POETRY_HTTP_BASIC_INTERNAL_USERNAME", "POETRY_HTTP_BASIC_INTERNAL_PASSWORD"):
        monkeypatch.delenv(variable, raising=False)
    return fake


def shown_command(output: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith("Running: ")]
    assert len(lines) == 1, output
    return lines[0].removeprefix("Running: ")


def six_from_ssh_git(root: Path) -> None:
    lock = (root / "poetry.lock").read_text()
    source = '[package.source]\ntype = "git"\nurl = "git@example.com:org/six.git"'
    (root / "poetry.lock").write_text(lock.replace('name = "six"', f'name = "six"\n{source}', 1))


def build_args(*names: str) -> list[str]:
    return [word for name in names for word in ("--build-arg", name)]


def stub_digest(root: Path) -> list[str]:
    """The STUB_DIGEST build argument for the stub written in `root`: what
    `sha256sum pyproject.toml poetry.lock | sha256sum` prints in its directory."""
    stub = root / DEFAULT_STUB_DIR
    listing = "".join(
        f"{hashlib.sha256((stub / name).read_bytes()).hexdigest()}  {name}\n"
        for name in ("pyproject.toml", "poetry.lock")
    )
    return ["--build-arg", f"STUB_DIGEST=sha256:{hashlib.sha256(listing.encode()).hexdigest()}"]


@pytest.mark.parametrize(("options", "writes_stub"), [("", True), ("--stub-stage", False)])
def test_writes_the_stub_unless_the_dockerfile_derives_it(
    project, poetry_cli, monkeypatch, options, writes_stub
) -> None:
    root = project("classic")
    assert poetry_cli(root, f"docker dockerfile {options}").status == 0
    monkeypatch.setenv("DOCKER", shutil.which("true"))
    run = poetry_cli(root, "docker build")
    assert run.status == 0, run.error
    assert (root / DEFAULT_STUB_DIR).exists() is writes_stub
    assert ("derives the dependency stub itself" in run.output) is not writes_stub
    assert "Built classic-app:0.3.0 and classic-app:latest." in run.output


def test_plain_docker_build_of_the_project(project, poetry_cli, docker) -> None:
    root = project("classic").resolve()
    assert poetry_cli(root, "docker dockerfile").status == 0
    run = poetry_cli(root, "docker build")
    assert run.status == 0, run.error
    assert docker.probes == [[DOCKER, "buildx", "version"]]
    assert docker.build.argv == [
        DOCKER, "build", "-f", str(root / "Dockerfile"), "--build-arg", "VERSION=0.3.0", *stub_digest(root),
        "-t", "classic-app:0.3.0", "-t", "classic-app:latest", str(root),
    ]  # fmt: skip
    assert docker.build.env["DOCKER_BUILDKIT"] == "1"
    assert shown_command(run.output) == shlex.join(docker.build.argv)
    assert run.output.splitlines()[-1] == "Built classic-app:0.3.0 and classic-app:latest."


def test_a_registry_port_is_no_tag(project, poetry_cli, docker) -> None:
    root = project("classic").resolve()
    assert poetry_cli(root, "docker dockerfile").status == 0
    run = poetry_cli(root, "docker build --tag 127.0.0.1:5000/team/app")
    assert run.status == 0, run.error
    assert run.output.splitlines()[-1] == "Built 127.0.0.1:5000/team/app:0.3.0 and 127.0.0.1:5000/team/app:latest."


def test_buildx_revision_declared_args_exact_tag_and_extra_args(project, poetry_cli, docker, monkeypatch) -> None:
    root = project("classic").resolve()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "x", "--allow-empty"], cwd=root, check=True)
    revision = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True).stdout.strip()
    declared = "--build-arg MIRROR_URL --build-arg FROM_ENV --build-arg NOT_SET --build-arg EMPTY"
    assert poetry_cli(root, f"docker dockerfile {declared}").status == 0
    monkeypatch.setenv("MIRROR_URL", "value-only-in-the-environment")
    monkeypatch.setenv("FROM_ENV", "1")
    monkeypatch.setenv("EMPTY", "")
    monkeypatch.delenv("NOT_SET", raising=False)
    docker.buildx = True
    extra = "--network=host --cache-from type=local,src=/c"
    run = poetry_cli(root, f"docker build --tag registry.example/team/app:rc1 -- {extra}")
    assert run.status == 0, run.error
    assert docker.build.argv == [
        DOCKER, "buildx", "build", "--load", "-f", str(root / "Dockerfile"),
        "--build-arg", "VERSION=0.3.0", "--build-arg", f"REVISION={revision}", *stub_digest(root),
        *build_args("MIRROR_URL", "FROM_ENV", "EMPTY"),  # once each, though declared in two stages
        "-t", "registry.example/team/app:rc1",
        "--network=host", "--cache-from", "type=local,src=/c",
        str(root),
    ]  # fmt: skip
    assert shown_command(run.output) == shlex.join(docker.build.argv)
    assert "value-only-in-the-environment" not in run.output + run.error
    assert run.output.splitlines()[-1] == "Built registry.example/team/app:rc1."


def test_ssh_is_forwarded_when_the_dockerfile_mounts_it(project, poetry_cli, docker, monkeypatch) -> None:
    root = project("classic").resolve()
    six_from_ssh_git(root)
    assert poetry_cli(root, "docker dockerfile").status == 0
    monkeypatch.setenv("SSH_AUTH_SOCK", "/run/agent.sock")
    run = poetry_cli(root, "docker build --tag app")
    assert run.status == 0, run.error
    assert docker.build.argv == [
        DOCKER, "build", "-f", str(root / "Dockerfile"), "--build-arg", "VERSION=0.3.0", *stub_digest(root),
        "--ssh", "default", "-t", "app:0.3.0", "-t", "app:latest", str(root),
    ]  # fmt: skip


def _credentials_in_environment(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POETRY_HTTP_BASIC_INTERNAL_USERNAME", USERNAME)
    monkeypatch.setenv("POETRY_HTTP_BASIC_INTERNAL_PASSWORD", PASSWORD)


def _credentials_in_poetry_config(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (root / "poetry.toml").write_text(f'[http-basic.internal]\nusername = "{USERNAME}"\npassword = "{PASSWORD}"\n')


@pytest.mark.parametrize("credentials", [_credentials_in_environment, _credentials_in_poetry_config])
@pytest.mark.parametrize("status", [0, 7])
def test_secret_file_holds_the_credentials_only_while_docker_runs(
    project, poetry_cli, docker, monkeypatch, credentials, status
) -> None:
    root = project("explicit-source").resolve()
    assert poetry_cli(root, "docker dockerfile --secret-source internal").status == 0
    credentials(root, monkeypatch)
    docker.status = status
    run = poetry_cli(root, "docker build")
    assert run.status == status, run.error
    [source] = docker.build.secrets
    assert docker.build.argv == [
        DOCKER, "build", "-f", str(root / "Dockerfile"), "--build-arg", "VERSION=0.1.0", *stub_digest(root),
        "-t", "explicit-app:0.1.0", "-t", "explicit-app:latest",
        "--secret", f"id=internal-credentials,src={source}", str(root),
    ]  # fmt: skip
    assert Path(source).name == "internal-credentials"
    assert docker.build.secrets[source] == (f"{USERNAME}:{PASSWORD}", 0o600)
    assert not Path(source).exists() and not Path(source).parent.exists(), "deleted after the build"
    assert shown_command(run.output) == shlex.join(docker.build.argv)
    everything_printed = run.output + run.error
    assert PASSWORD not in everything_printed and USERNAME not in everything_printed
    if status:
        assert_one_line_error(run, "docker build failed (exit status 7)", "see its output above")
    else:
        assert run.output.splitlines()[-1] == "Built explicit-app:0.1.0 and explicit-app:latest."


def test_without_a_dockerfile(project, poetry_cli, docker) -> None:
    root = project("classic")
    assert_one_line_error(poetry_cli(root, "docker build"), "No Dockerfile", "poetry docker dockerfile")
    assert docker.builds == []


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        (None, "has no poetry-plugin-docker header line"),
        ("# poetry-plugin-docker: {not json", "header line is not JSON"),
        ('# poetry-plugin-docker: {"header": 2}', "header has version 2, not 1"),
    ],
)
def test_the_build_reads_the_dockerfiles_header(project, poetry_cli, docker, header, problem) -> None:
    """What the build passes comes from the header, never from the instructions or their comments."""
    root = project("classic")
    assert poetry_cli(root, "docker dockerfile").status == 0
    text = (root / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if line.startswith("# poetry-plugin-docker: ")]
    assert len(lines) == 1
    text = text.replace(f"{lines[0]}\n", f"{header}\n" if header else "")
    (root / "Dockerfile").write_text(text)
    assert_one_line_error(poetry_cli(root, "docker build"), problem, "poetry docker dockerfile")
    assert docker.builds == []


def test_the_stub_goes_where_the_dockerfile_copies_it_from(project, poetry_cli, docker) -> None:
    root = project("classic")
    assert poetry_cli(root, "docker dockerfile --stub-dir docker/deps").status == 0
    assert_one_line_error(
        poetry_cli(root, "docker build"), "copies the stub from docker/deps", ".docker-deps (the default)"
    )
    assert docker.builds == [] and not (root / DEFAULT_STUB_DIR).exists()


def test_ssh_git_dependency_without_an_agent(project, poetry_cli, docker) -> None:
    root = project("classic")
    six_from_ssh_git(root)
    assert poetry_cli(root, "docker dockerfile").status == 0
    assert_one_line_error(poetry_cli(root, "docker build"), "over SSH", "ssh-agent")
    assert docker.builds == []


def test_private_source_without_credentials(project, poetry_cli, docker) -> None:
    root = project("explicit-source")
    assert poetry_cli(root, "docker dockerfile --secret-source internal").status == 0
    assert_one_line_error(
        poetry_cli(root, "docker build"), "Source 'internal' needs credentials", "POETRY_HTTP_BASIC_INTERNAL_PASSWORD"
    )
    assert docker.builds == []


def test_a_version_from_git_tags_is_passed_and_tagged(project, poetry_cli, docker) -> None:
    root = project("dynamic-version").resolve()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=root, check=True)
    subprocess.run([*git, "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "x"], cwd=root, check=True)
    assert poetry_cli(root, "docker dockerfile").status == 0
    assert_one_line_error(poetry_cli(root, "docker build"), "no release tag like v1.2.3", "git tag v1.2.3")
    assert docker.builds == [] and not (root / DEFAULT_STUB_DIR).exists()

    subprocess.run([*git, "tag", "v1.4.0"], cwd=root, check=True)
    run = poetry_cli(root, "docker build")
    assert run.status == 0, run.error
    argv = docker.build.argv
    assert argv[argv.index("VERSION=1.4.0") - 1] == "--build-arg"
    assert argv[argv.index("dynver-app:1.4.0") - 1] == "-t"
    assert "0.0.0" not in " ".join(argv)
    assert run.output.splitlines()[-1] == "Built dynver-app:1.4.0 and dynver-app:latest."
