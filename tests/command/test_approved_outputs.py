"""The whole generated Dockerfile and .dockerignore of every fixture shape, against approved files.

A change to the generated output shows up as a diff of tests/approved/ in review.
After an intended change, regenerate the approved files and read the diff:

    UPDATE_APPROVED=1 ./scripts/test tests/command/test_approved_outputs.py

Two values depend on the machine, not on the generator, and are normalised before
comparing: the pinned Poetry version (the one running the test) and the checksum
line (a hash of the rest; tests/command/test_dockerfile.py checks that it is right).
"""

from __future__ import annotations

import os
import re
from importlib.metadata import version

import pytest
from helpers import TESTS

APPROVED = TESTS / "approved"
MIRROR = "--builder-plugin poetry-plugin-pypi-mirror==0.6.0 --build-arg POETRY_PYPI_MIRROR_URL"
GIT_OVER_SSH = (
    '[package.source]\ntype = "git"\nurl = "git@example.com:org/six.git"\nreference = "main"\n'
    'resolved_reference = "0123456789abcdef0123456789abcdef01234567"\n'
)

# case -> (fixture, options); every case fixes the Python, which otherwise follows the running one.
CASES = {
    "classic": ("classic", ""),
    "pep621-src": ("pep621-src", ""),
    "extras-pep621": ("extras-pep621", "-E idn"),
    "extras-poetry": ("extras-poetry", "--all-extras"),
    "non-package": ("non-package", ""),
    "explicit-source": ("explicit-source", ""),
    "private-index-secrets": ("explicit-source", "--secret-source internal"),
    "pep735-groups": ("dependency-groups", "--with lint"),
    "lock-2.0": ("lock-2.0", ""),
    "path-dependencies": ("monorepo/services/api", ""),
    "git-over-ssh": ("classic", ""),
    "stub-stage": ("example", "--stub-stage"),
    "compile": ("example", "--compile"),
    "example-mirror": ("example", f"--syntax none {MIRROR}"),
    "service": (
        "service",
        "--builder-package libpq-dev --builder-package libldap2-dev --runtime-package postgresql-client "
        "--port 8000 --include migrations --include config/app.ini:/etc/service-app/app.ini "
        "--entrypoint-script docker-entrypoint.sh --data-dir data --healthcheck 'python -m service_app.health'",
    ),
    "no-runtime-dependencies": ("no-dependencies", ""),
    "dynamic-version": ("dynamic-version", ""),
    "uv-example": ("example", "--installer uv --syntax none"),
    "uv-service": ("service", "--installer uv --builder-package libpq-dev --port 8000"),
}


def normalised(text: str) -> str:
    text = text.replace(f"'poetry=={version('poetry')}'", "'poetry==<installed Poetry>'")
    return re.sub(r"(?m)^(# poetry-plugin-docker checksum: )[0-9a-f]{64}$", r"\1<checksum>", text)


@pytest.mark.parametrize("case", sorted(CASES))
def test_generated_files_are_the_approved_ones(project, poetry_cli, case) -> None:
    fixture, options = CASES[case]
    root = project(fixture)
    if case == "git-over-ssh":
        lock = root / "poetry.lock"
        lock.write_text(lock.read_text().replace("\n\n[metadata]", f"\n\n{GIT_OVER_SSH}\n[metadata]", 1))
    run = poetry_cli(root, f"docker dockerfile --python 3.12 {options}".strip())
    assert run.status == 0, run.error
    produced = {
        "Dockerfile": normalised((root / "Dockerfile").read_text()),
        "dockerignore": (root / ".dockerignore").read_text(),
    }
    approved_dir = APPROVED / case
    if os.environ.get("UPDATE_APPROVED"):
        approved_dir.mkdir(parents=True, exist_ok=True)
        for name, content in produced.items():
            (approved_dir / name).write_text(content)
    for name, content in produced.items():
        approved = approved_dir / name
        assert approved.exists(), f"no approved {approved}; run with UPDATE_APPROVED=1 and review it"
        assert content == approved.read_text(), f"{case}/{name} differs from the approved file"


def test_every_approved_case_is_still_tested() -> None:
    assert sorted(path.name for path in APPROVED.iterdir()) == sorted(CASES)
