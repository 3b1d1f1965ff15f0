from __future__ import annotations

from cleo.helpers import argument, option

from poetry_plugin_docker.command.base import DockerCommand


class BuildCommand(DockerCommand):
    name = "docker build"
    description = (
        "Write the stub, then run docker build with the release's arguments: VERSION, REVISION, "
        "tags NAME:<version> and NAME:latest, and the secrets and SSH the Dockerfile needs."
    )
    arguments = [  # noqa: RUF012
        argument(
            "docker-args",
            "More arguments for docker build (after --), e.g. -- --cache-from ...",
            optional=True,
            multiple=True,
        )
    ]
    options = [  # noqa: RUF012
        option(
            "tag",
            "t",
            "Image name, tagged <version> and latest (or exactly NAME:TAG) [default: the project name].",
            flag=False,
        ),
    ]

    def handle(self) -> int:
        import os

        from poetry_plugin_docker import build
        from poetry_plugin_docker.build_context import write_build_context
        from poetry_plugin_docker.command.dockerfile import DEFAULT_OUTPUT
        from poetry_plugin_docker.errors import UserError
        from poetry_plugin_docker.result import Result
        from poetry_plugin_docker.selection import configured_selection
        from poetry_plugin_docker.stub import DEFAULT_STUB_DIR

        exit_code = 0

        def work(project):  # type: ignore[no-untyped-def]
            nonlocal exit_code
            config = project.config
            dockerfile = project.root / config.get("dockerfile", DEFAULT_OUTPUT)
            if build.derives_stub(dockerfile):
                self.line("The Dockerfile derives the dependency stub itself (--stub-stage).")
            else:
                stub = write_build_context(
                    project, project.root / config.get("stub-dir", DEFAULT_STUB_DIR), configured_selection(project)
                )
                self.line(stub.message)
            environ = dict(os.environ)
            with build.build_command(
                project,
                dockerfile,
                self.option("tag") or project.name,
                self.argument("docker-args") or [],
                environ,
                build.docker_executable(environ),
            ) as command:
                self.line(f"Running: {command.shown}")
                exit_code = build.run(command)
            if exit_code:
                raise UserError(f"docker build failed (exit status {exit_code}); see its output above.")
            return Result(True, f"Built {' and '.join(command.tags)}.")

        status = self.run_with_project(work)
        return exit_code or status
