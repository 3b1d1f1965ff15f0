"""The whole generated Dockerfile, .dockerignore and stub of every fixture shape, against approved files.

A change to the generated output shows up as a diff of tests/approved/ in review.
After an intended change, regenerate the approved files and read the diff:

    UPDATE_APPROVED=1 ./scripts/test tests/command/test_approved_outputs.py

With UPDATE_APPROVED the test writes every file that changed and then fails, naming
them: a run that regenerated something never passes, so CI cannot approve output
silently. Run it again to see it pass.

Each case's `stub/` holds what `poetry docker build-context` writes (the stub's
pyproject.toml and pruned poetry.lock, requirements/NN.txt for the uv shapes), without
the scripts it copies from in_image/ (check-venv.py, ...), which are tested on their own.

What the plan takes from the machine (Poetry's, the plugin's and Python's versions) is
a fixed Host here, so the files are the same whichever Poetry runs the tests. The
checksum, a hash of the rest (on its line and in its label), is written as <checksum>;
tests/command/test_dockerfile.py checks that it is right.

Prose (the Dockerfile's comments) is asserted here only: other tests assert instructions.
"""

from __future__ import annotations

import difflib
import os
import re
from importlib.metadata import version

import pytest
from helpers import TESTS

from poetry_plugin_docker.dockerfile import render
from poetry_plugin_docker.dockerfile.header import (
    DOCKERFILE_LABEL,
    STUB_DIGEST_ARG,
    STUB_DIGEST_LABEL,
    read_header,
)
from poetry_plugin_docker.host import Host

APPROVED = TESTS / "approved"
MIRROR = "--builder-plugin poetry-plugin-pypi-mirror==0.6.0 --build-arg POETRY_PYPI_MIRROR_URL"
GIT_OVER_SSH = (
    '[package.source]\ntype = "git"\nurl = "git@example.com:org/six.git"\nreference = "main"\n'
    'resolved_reference = "0123456789abcdef0123456789abcdef01234567"\n'
)
POETRY_HASHES_DEPENDENCY_GROUPS = tuple(int(part) for part in version("poetry").split(".")[:2]) >= (2, 3)
STUB_DIR = ".docker-deps"
STUB_SUFFIXES = (".toml", ".lock", ".txt")  # the stub itself; not the in_image/ scripts or the marker


# case -> (fixture, dockerfile options, build-context options); every case fixes the Python,
# which otherwise follows the running one.
CASES = {
    "classic": ("classic", "", ""),
    "pep621-src": ("pep621-src", "", ""),
    "extras-pep621": ("extras-pep621", "-E idn", "-E idn"),
    "extras-poetry": ("extras-poetry", "--all-extras", "--all-extras"),
    "non-package": ("non-package", "", ""),
    "explicit-source": ("explicit-source", "", ""),
    "private-index-secrets": ("explicit-source", "--secret-source internal", ""),
    "pep735-groups": ("dependency-groups", "--with lint", "--with lint"),
    "lock-2.0": ("lock-2.0", "", ""),
    "path-dependencies": ("monorepo/services/api", "", ""),
    "git-over-ssh": ("classic", "", ""),
    "stub-stage": ("example", "--stub-stage", ""),  # the stub the stub stage derives in the build
    "compile": ("example", "--compile", ""),
    "example-mirror": ("example", f"--syntax none {MIRROR}", ""),
    "service": (
        "service",
        "--builder-package libpq-dev --builder-package libldap2-dev --runtime-package postgresql-client "
        "--port 8000 --include migrations --include config/app.ini:/etc/service-app/app.ini "
        "--entrypoint-script docker-entrypoint.sh --data-dir data --healthcheck 'python -m service_app.health'",
        "",
    ),
    "no-runtime-dependencies": ("no-dependencies", "", ""),
    "dynamic-version": ("dynamic-version", "", ""),
    # The default (auto) installs these with uv; Poetry when asked to, in the same layers.
    "poetry-example": ("example", "--installer poetry --syntax none", "--installer poetry"),
    "poetry-service": ("service", "--installer poetry --builder-package libpq-dev --port 8000", "--installer poetry"),
}


# The machine the approved files are generated on.
HOST = Host(poetry="2.5.1", plugin="0.1.0", python="3.12", installed={"poetry-core": "2.2.1"}.get)


@pytest.fixture(autouse=True)
def fixed_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Host, "current", classmethod(lambda cls: HOST))


def normalised(text: str) -> str:
    checksum = re.search(r"(?m)^# poetry-plugin-docker checksum: ([0-9a-f]{64})$", text)
    return text.replace(checksum.group(1), "<checksum>") if checksum else text


def generated(project, poetry_cli, case: str) -> dict[str, str]:
    """The case's generated files, by their path under tests/approved/CASE."""
    fixture, dockerfile_options, context_options = CASES[case]
    root = project(fixture)
    if case == "git-over-ssh":
        lock = root / "poetry.lock"
        lock.write_text(lock.read_text().replace("\n\n[metadata]", f"\n\n{GIT_OVER_SSH}\n[metadata]", 1))
    run = poetry_cli(root, f"docker dockerfile --python 3.12 {dockerfile_options}".strip())
    assert run.status == 0, run.error
    run = poetry_cli(root, f"docker build-context {context_options}".strip())
    assert run.status == 0, run.error
    stub = root / STUB_DIR
    return {
        "Dockerfile": normalised((root / "Dockerfile").read_text()),
        "dockerignore": (root / ".dockerignore").read_text(),
        **{
            f"stub/{path.relative_to(stub).as_posix()}": path.read_text()
            for path in sorted(stub.rglob("*"))
            if path.is_file() and path.name.endswith(STUB_SUFFIXES)
        },
    }


def approved_files(case: str) -> dict[str, str]:
    directory = APPROVED / case
    return {
        path.relative_to(directory).as_posix(): path.read_text()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def changes(approved: dict[str, str], produced: dict[str, str]) -> list[str]:
    """One line per file that differs: added, removed, or changed with its line counts."""
    lines = []
    for name in sorted(approved.keys() | produced.keys()):
        old, new = approved.get(name), produced.get(name)
        if old == new:
            continue
        if old is None or new is None:
            lines.append(f"{name}: {'new' if old is None else 'no longer generated'}")
            continue
        diff = list(difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0))
        added = sum(1 for line in diff if line.startswith("+") and not line.startswith("+++"))
        removed = sum(1 for line in diff if line.startswith("-") and not line.startswith("---"))
        lines.append(f"{name}: +{added} -{removed} lines")
    return lines


@pytest.mark.parametrize("case", sorted(CASES))
def test_generated_files_are_the_approved_ones(project, poetry_cli, mocker, case) -> None:
    planned = mocker.spy(render, "dockerfile_header")
    produced = generated(project, poetry_cli, case)
    # The header round-trips: what the plan said is what `poetry docker build` reads back.
    assert read_header(produced["Dockerfile"]) == planned.spy_return
    if case == "pep735-groups" and not POETRY_HASHES_DEPENDENCY_GROUPS:
        # This Poetry hashes no [dependency-groups]: the fixture is relocked, so the stub's lock differs.
        produced = {name: text for name, text in produced.items() if not name.startswith("stub/")}
        approved = {name: text for name, text in approved_files(case).items() if not name.startswith("stub/")}
    else:
        approved = approved_files(case)
    changed = changes(approved, produced)
    if changed and os.environ.get("UPDATE_APPROVED"):
        directory = APPROVED / case
        for name in approved.keys() - produced.keys():
            (directory / name).unlink()
        for name, content in produced.items():
            if approved.get(name) != content:
                (directory / name).parent.mkdir(parents=True, exist_ok=True)
                (directory / name).write_text(content)
        pytest.fail(f"UPDATE_APPROVED: rewrote tests/approved/{case}; review the diff:\n" + "\n".join(changed))
    assert not changed, (
        f"tests/approved/{case} differs from the generated files (after an intended change, "
        "rerun with UPDATE_APPROVED=1 and review the diff):\n" + "\n".join(changed)
    )


def _options(options: str, name: str) -> list[str]:
    words = options.split()
    return [value for option, value in zip(words, words[1:]) if option == name]


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_approved_header_says_what_the_file_does(case) -> None:
    """The header `poetry docker build` reads agrees with the options and with the instructions."""
    _, options, _ = CASES[case]
    text = (APPROVED / case / "Dockerfile").read_text()
    header = read_header(text)
    assert header is not None
    # Poetry when asked, or when `auto` says in the file why uv cannot (a path, a git dependency, ...).
    why_poetry = re.search(r"(?m)^# Poetry installs them: .+\.$", text)
    assert header.installer == ("poetry" if "--installer poetry" in options or why_poetry else "uv")
    assert not (why_poetry and "--installer poetry" in options)
    assert ("\nFROM poetry AS deps\n" in text) is (header.installer == "poetry")
    assert header.stub_dir == (None if header.stub_stage else STUB_DIR)
    assert header.stub_stage is ("--stub-stage" in options) is ("\nFROM poetry AS stub\n" in text)
    assert header.ssh is (case == "git-over-ssh") is ("--mount=type=ssh" in text)
    assert header.build_args == tuple(_options(options, "--build-arg"))
    for name in header.build_args:
        assert re.search(rf"(?m)^ARG {name}$", text)
    mounted = dict.fromkeys(re.findall(r"--mount=type=secret,id=([\w.-]+)", text))
    assert header.secrets == tuple(mounted) == (("internal-credentials",) if case == "private-index-secrets" else ())
    if not header.stub_stage:
        assert f"source={STUB_DIR}" in text or f"COPY {STUB_DIR}" in text


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_approved_labels_do_not_change_with_the_release(case) -> None:
    """The plugin's labels sit in the metadata block, above the release's ARGs."""
    text = (APPROVED / case / "Dockerfile").read_text()
    metadata, release = text.split("\nARG VERSION=unknown\n")
    assert f'{STUB_DIGEST_LABEL}="${{{STUB_DIGEST_ARG}}}"' in metadata.split(f"\nARG {STUB_DIGEST_ARG}=unknown\n")[1]
    assert f'{DOCKERFILE_LABEL}="sha256:<checksum>"' in metadata
    assert "RUN " not in metadata.split(f"\nARG {STUB_DIGEST_ARG}=unknown\n")[1]
    assert release.count("\n") == 3  # ARG REVISION and the two lines of their LABEL


def test_every_approved_case_is_still_tested() -> None:
    assert sorted(path.name for path in APPROVED.iterdir()) == sorted(CASES)


def test_approved_files_are_text_files_only() -> None:
    assert all(path.suffix != ".py" for path in APPROVED.rglob("*")), "in_image/ scripts are not approved here"
