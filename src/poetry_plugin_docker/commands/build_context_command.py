from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from cleo.helpers import option

from poetry_plugin_docker.commands.base import DockerCommand, setting_options
from poetry_plugin_docker.project.selection import configured_selection
from poetry_plugin_docker.settings import BUILD_CONTEXT
from poetry_plugin_docker.stub.write import write_build_context

if TYPE_CHECKING:
    from cleo.io.inputs.option import Option

    from poetry_plugin_docker.project.loading import Project
    from poetry_plugin_docker.result import Result


class BuildContextCommand(DockerCommand):
    name = "docker build-context"
    description = (
        "Write the dependency stub (poetry.lock and a pyproject.toml without a version) "
        "that the Dockerfile's dependency layer copies."
    )
    settings_command = BUILD_CONTEXT
    options: ClassVar[list[Option]] = [
        *setting_options(BUILD_CONTEXT),
        option("check", None, "Write nothing; exit 1 if the stub in the output directory is not up to date."),
    ]

    def handle(self) -> int:
        def work(project: Project) -> Result:
            settings = self.settings(project)
            return write_build_context(
                project,
                settings.stub_dir,
                configured_selection(project, settings.selection_settings),
                check=self.option("check"),
                installer=settings.installer,
                option=settings.origin("stub-dir"),
            )

        return self.run_with_project(work)
