from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from cleo.helpers import option

from poetry_plugin_docker.commands.base import SELECTION_OPTIONS, DockerCommand
from poetry_plugin_docker.stub.pyproject import DEFAULT_STUB_DIR
from poetry_plugin_docker.stub.write import write_build_context
from poetry_plugin_docker.values import DEFAULT_INSTALLER

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
    options: ClassVar[list[Option]] = [
        option(
            "output",
            "o",
            "Directory to write the stub to, relative to the project root "
            f"[default: stub-dir in [tool.poetry-plugin-docker], else {DEFAULT_STUB_DIR}].",
            flag=False,
        ),
        *SELECTION_OPTIONS,
        option(
            "installer",
            None,
            "With uv, also write requirements.txt (the stub lock's hashed export) and layer-venv.py "
            "for `dockerfile --installer uv` "
            "[default: installer in [tool.poetry-plugin-docker], else poetry].",
            flag=False,
        ),
        option(
            "check",
            None,
            "Write nothing; exit 1 if the stub in the output directory is not up to date.",
        ),
    ]

    def handle(self) -> int:
        def work(project: Project) -> Result:
            return write_build_context(
                project,
                self.setting(project, "output", "stub-dir", DEFAULT_STUB_DIR),
                self.selection(project),
                check=self.option("check"),
                installer=self.setting(project, "installer", "installer", DEFAULT_INSTALLER),
                option=self.setting_origin(project, "output", "stub-dir"),
            )

        return self.run_with_project(work)
