from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from cleo.helpers import option

from poetry_plugin_docker.commands.base import DockerCommand, docker_args_argument
from poetry_plugin_docker.docker_build import BuildHandler, BuildOptions

if TYPE_CHECKING:
    from cleo.io.inputs.argument import Argument
    from cleo.io.inputs.option import Option


class BuildCommand(DockerCommand):
    name = "docker build"
    description = (
        "Write the stub, then run docker build with the release's arguments: VERSION, REVISION, "
        "tags NAME:<version> and NAME:latest, and the secrets and SSH the Dockerfile needs."
    )
    arguments: ClassVar[list[Argument]] = [docker_args_argument("")]
    options: ClassVar[list[Option]] = [
        option(
            "tag",
            "t",
            "Image name, tagged <version> and latest (or exactly NAME:TAG) [default: the project name].",
            flag=False,
        ),
    ]

    def handle(self) -> int:
        options = BuildOptions(tag=self.option("tag"), docker_args=tuple(self.argument("docker-args") or ()))
        handler = BuildHandler(self.line)
        status = self.run_with_project(lambda project: handler.build(project, options))
        return handler.docker_status or status
