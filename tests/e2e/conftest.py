from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from helpers import in_ci


@pytest.fixture(scope="session")
def docker() -> str:
    executable = os.environ.get("DOCKER") or shutil.which("docker") or "/usr/bin/docker"
    try:
        info = subprocess.run([executable, "info"], capture_output=True, text=True, timeout=60)
        available = info.returncode == 0
        reason = info.stderr.strip()
    except (OSError, subprocess.TimeoutExpired) as error:
        available, reason = False, str(error)
    if not available:
        message = f"Docker engine unavailable ({executable}: {reason}); run ../shared/bin/docker-sandbox"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return executable
