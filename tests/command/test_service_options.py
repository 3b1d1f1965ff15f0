"""The options real services need (issue 9 §1, §3, §4): what they write, and bad input.

Each bad input gets one line naming the problem and the fix, a non-zero exit and
nothing written. The images themselves are built in tests/e2e/test_real_services.py.
"""

from __future__ import annotations

import os

import pytest
from helpers import assert_one_line_error, hadolint, relock, set_in_pyproject

SERVICE = (
    "docker dockerfile --builder-package libpq-dev --runtime-package postgresql-client --port 8000 "
    "--include migrations --include config/app.ini:/etc/service-app/app.ini "
    "--entrypoint-script docker-entrypoint.sh --data-dir data --data-dir /var/lib/service-app "
    "--healthcheck 'python -m service_app.health'"
)


def _written(root) -> set[str]:  # type: ignore[no-untyped-def]
    return {name for name in ("Dockerfile", ".dockerignore") if (root / name).exists()}


def test_the_service_options_write_what_they_say(project, poetry_cli) -> None:
    root = project("service")
    run = poetry_cli(root, SERVICE)
    assert run.status == 0, run.error
    text = (root / "Dockerfile").read_text()
    # The builder's packages before Poetry's install; the runtime's with those the deps stage finds.
    assert "&& apt-get install -y --no-install-recommends libpq-dev\n" in text
    assert "xargs apt-get install -y --no-install-recommends postgresql-client < /mnt/runtime-packages" in text
    assert "RUN install -d -o 10001 -g 10001 /app/data /var/lib/service-app\n" in text
    assert "COPY migrations/ /app/migrations/\nCOPY config/app.ini /etc/service-app/app.ini\n" in text
    assert "COPY --chmod=755 docker-entrypoint.sh /app/docker-entrypoint.sh\n" in text
    assert 'ENTRYPOINT ["/app/docker-entrypoint.sh"]\nCMD ["service-app"]\n' in text
    assert "EXPOSE 8000\n" in text
    assert 'HEALTHCHECK CMD ["python", "-m", "service_app.health"]\n' in text
    # The project's layer stays last of the copies: a release changes it alone.
    assert text.index("COPY --chmod=755 docker-entrypoint.sh") < text.index("COPY --from=wheel")
    assert hadolint(root / "Dockerfile").stdout == ""


def test_the_service_options_come_from_the_table_too(project, poetry_cli) -> None:
    root = project("service")
    table = (
        "[tool.poetry-plugin-docker]\n"
        'builder-packages = ["libpq-dev"]\nruntime-packages = ["postgresql-client"]\nports = [8000, "53/udp"]\n'
        'include = ["migrations"]\nentrypoint-script = "docker-entrypoint.sh"\ndata-dirs = ["data"]\n'
        'healthcheck = "python -c pass"\n\n'
    )
    set_in_pyproject(root, "[tool.poetry]", table + "[tool.poetry]")
    run = poetry_cli(root, "docker dockerfile")
    assert run.status == 0, run.error
    text = (root / "Dockerfile").read_text()
    for line in (
        "EXPOSE 8000 53/udp\n",
        'HEALTHCHECK CMD ["python", "-c", "pass"]\n',
        "COPY migrations/ /app/migrations/\n",
        "RUN install -d -o 10001 -g 10001 /app/data\n",
        "&& apt-get install -y --no-install-recommends libpq-dev\n",
    ):
        assert line in text


def test_included_paths_are_kept_in_the_build_context(project, poetry_cli) -> None:
    root = project("service")
    (root / ".dockerignore").write_text("migrations\n*.sh\n")
    run = poetry_cli(root, "docker dockerfile --include migrations --entrypoint-script docker-entrypoint.sh")
    assert run.status == 0, run.error
    ignore = (root / ".dockerignore").read_text()
    assert "!migrations\n" in ignore and "!docker-entrypoint.sh\n" in ignore


def test_a_script_that_does_not_exec_its_arguments_is_warned_about(project, poetry_cli) -> None:
    root = project("service")
    script = root / "docker-entrypoint.sh"
    script.write_text("#!/bin/sh\nservice-app\n")
    run = poetry_cli(root, "docker dockerfile --entrypoint-script docker-entrypoint.sh")
    assert run.status == 0, run.error
    assert 'has no `exec "$@"`' in run.output and "docker stop" in run.output


def test_no_dependencies_means_no_install_step(project, poetry_cli) -> None:
    root = project("pep621-src")
    set_in_pyproject(root, 'dependencies = ["idna>=3.4"]\n', "")
    relock(root)
    assert poetry_cli(root, "docker dockerfile").status == 0
    text = (root / "Dockerfile").read_text()
    assert "poetry install" not in text
    assert "FROM uv AS deps\nRUN python -m venv --without-pip /app/.venv\n\n" in text
    assert "runtime-packages.py" not in text  # an empty virtualenv links nothing
    # With a dev group, only that group is installed: there is no main group to name.
    assert poetry_cli(root, "docker dockerfile --force --with dev --installer poetry").status == 0
    assert "poetry install --no-root --only dev \\\n" in (root / "Dockerfile").read_text()


BAD_INPUT = [
    ("--runtime-package libpq5 --runtime-image python:3.12-alpine", "needs a Debian-based image with apt-get"),
    ("--builder-package libpq-dev --base-image gcr.io/distroless/python3", "needs a Debian-based image"),
    ("--runtime-package 'libpq5; rm -rf /'", "is not a Debian package name"),
    ("--include no-such-dir", "does not exist"),
    ("--include ../outside", "is outside the project"),
    ("--include /etc/passwd", "is outside the project"),
    ("--include .docker-deps", "is the dependency stub"),
    ("--entrypoint-script no-such-script.sh", "does not exist"),
    ("--entrypoint-script config/app.ini", "is not an executable file"),
    ("--port 0", "is not a port"),
    ("--port 65536", "is not a port"),
    ("--port http", "is not a port"),
    ("--data-dir ../x", "is not a directory path"),
]


@pytest.mark.parametrize(("options", "message"), BAD_INPUT)
def test_bad_service_input_is_one_line_and_writes_nothing(project, poetry_cli, options, message) -> None:
    root = project("service")
    (root / ".docker-deps").mkdir(exist_ok=True)
    before = _written(root)
    assert_one_line_error(poetry_cli(root, f"docker dockerfile {options}"), message)
    assert _written(root) == before


def test_an_include_other_users_cannot_read_is_refused(project, poetry_cli) -> None:
    root = project("service")
    secret = root / "config" / "app.ini"
    os.chmod(secret, 0o600)
    assert_one_line_error(
        poetry_cli(root, "docker dockerfile --include config"), "not readable by other users", "chmod -R a+rX config"
    )
    assert not (root / "Dockerfile").exists()


@pytest.mark.parametrize(
    ("table", "fragments"),
    [
        ("ports = [true]", ("'ports'", "a list of strings or numbers")),
        ('healthcheck = "curl localhost \\\\"', ("--healthcheck", "is not a command on one line")),
        ('healthcheck = "true\\nEXPOSE 22"', ("--healthcheck", "is not a command on one line")),
        ('healthcheck = "python -c \'unbalanced"', ("--healthcheck", "quote")),
    ],
)
def test_bad_table_values_are_one_line(project, poetry_cli, table, fragments) -> None:
    root = project("service")
    set_in_pyproject(root, "[tool.poetry]", f"[tool.poetry-plugin-docker]\n{table}\n\n[tool.poetry]")
    assert_one_line_error(poetry_cli(root, "docker dockerfile"), *fragments)
    assert not (root / "Dockerfile").exists()


def test_packages_from_outside_the_project_are_one_line(project, poetry_cli) -> None:
    # The polylith layout: packages = [{include = ..., from = "../../bases"}], built by a plugin of its own.
    root = project("classic")
    outside = root.parent / "bases" / "classic_app"
    outside.mkdir(parents=True)
    (outside / "__init__.py").write_text("def main() -> None: ...\n")
    (root / "classic_app" / "__init__.py").unlink()
    (root / "classic_app").rmdir()
    packages = 'packages = [{ include = "classic_app" }]'
    set_in_pyproject(root, packages, packages.replace(" }", ', from = "../bases" }'))
    assert_one_line_error(
        poetry_cli(root, "docker dockerfile"), "packages files from outside the project directory", "build-project"
    )
    assert not (root / "Dockerfile").exists()
