from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from cleo.helpers import argument, option

from poetry_plugin_docker.commands.base import DockerCommand, docker_args_argument
from poetry_plugin_docker.publish import PublishHandler, PublishOptions

if TYPE_CHECKING:
    from cleo.io.inputs.argument import Argument
    from cleo.io.inputs.option import Option


class PublishCommand(DockerCommand):
    name = "docker publish"
    description = (
        "Push a version-bump release straight to the registry, without Docker: only the project's layer is new, "
        "on top of the previous release's. Otherwise says why and runs poetry docker build and docker push."
    )
    arguments: ClassVar[list[Argument]] = [
        argument("repository", "The image name without a tag, e.g. registry.example.com/my-service."),
        docker_args_argument(" when it falls back to one"),
    ]
    options: ClassVar[list[Option]] = [
        option("tag", "t", "A tag to push (repeatable) [default: the project's version and latest].",
               flag=False, multiple=True),
        option("from", None, "The previous release to build on [default: REPOSITORY:latest].", flag=False),
        option("no-build", None, "Exit 1 instead of building with Docker when the fast path cannot publish."),
    ]

    def handle(self) -> int:
        options = PublishOptions(
            repository=self.argument("repository"),
            tags=tuple(self.option("tag") or ()),
            from_reference=self.option("from"),
            no_build=self.option("no-build"),
            docker_args=tuple(self.argument("docker-args") or ()),
        )
        handler = PublishHandler(self.line)
        status = self.run_with_project(lambda project: handler.publish(project, options))
        return handler.docker_status or status
