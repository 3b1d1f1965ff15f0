from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest
from cleo.testers.application_tester import ApplicationTester
from poetry.console.application import Application

if TYPE_CHECKING:
    from pathlib import Path


@dataclass
class Run:
    status: int
    output: str
    error: str


@pytest.fixture
def poetry_cli(monkeypatch: pytest.MonkeyPatch):
    """Run `poetry <args>` in-process, in a project directory, with the installed plugin."""

    def run(project_dir: Path, args: str) -> Run:
        monkeypatch.chdir(project_dir)
        application = Application()
        application.auto_exits(False)
        tester = ApplicationTester(application)
        status = tester.execute(args, decorated=False)
        return Run(status, tester.io.fetch_output(), tester.io.fetch_error())

    return run
