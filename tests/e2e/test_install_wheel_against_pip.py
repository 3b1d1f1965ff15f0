"""install-wheel.py against pip itself: the same files, contents and modes, in a real image.

The wheel stage installs the project with install-wheel.py, and `poetry docker publish` lays
out its layer with the same code; both promise pip's layout (`pip install --no-deps
--no-compile --root ROOT` into /app/.venv), which tools reading the image (pip list, pip
uninstall, importlib.metadata) expect. One difference is on purpose: pip 23.1 and later also
write the wheel's hash into direct_url.json, which the script leaves out (PEP 610 makes it
optional), so that the layer does not depend on the wheel archive's bytes. Here pip and the
script install the same wheels in the runtime base image: the bundled example's wheel, built
by poetry-core, and real wheels from the index covering every scheme (console scripts,
`#!python` scripts in .data/scripts, .data/data, .data/headers, platlib wheels with compiled
files).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import mirror_url

from poetry_plugin_docker.stub.pyproject import WHEEL_SCRIPT_SOURCE

pytestmark = pytest.mark.docker

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fastapi-service"
IMAGE = "python:3.12-slim"
REAL_WHEELS = (
    "six==1.16.0",  # a lone module
    "pytest==8.3.3",  # console scripts
    "jsonpatch==1.33",  # `#!python` scripts in .data/scripts
    "ipykernel==6.29.5",  # .data/data (a Jupyter kernel spec)
    "greenlet==3.1.1",  # .data/headers, platlib
    "MarkupSafe==2.1.5",  # platlib (Root-Is-Purelib: false), a compiled module
)
# Each wheel in /dist, installed by pip and by the script under their own roots; then every file
# of each root as path -> [mode, sha256].
SCRIPT = """
set -e
python -m pip download --quiet --no-deps --only-binary=:all: --dest /dist "$@" 2>&1 | grep -v 'pip version' || true
python -m venv --without-pip --system-site-packages /app/.venv
for wheel in /dist/*.whl; do
  name=$(basename "$wheel")
  /app/.venv/bin/python -m pip install --quiet --no-deps --no-index --no-cache-dir --disable-pip-version-check \
    --no-warn-script-location --no-compile --root "/pip/$name" "$wheel"
  python /mnt/install-wheel.py "$wheel" /app/.venv "/ours/$name"
done
python - <<'EOF'
import hashlib, json, os
def content(path):
    data = open(path, "rb").read()
    if path.endswith(".dist-info/direct_url.json"):  # pip 23.1+ adds the archive's hash; the script does not
        url = json.loads(data)
        for key in ("hash", "hashes"):
            url["archive_info"].pop(key, None)
        data = json.dumps(url, sort_keys=True).encode()
    if path.endswith(".dist-info/RECORD"):  # and so RECORD's row for direct_url.json
        data = b"".join(row for row in data.splitlines(True) if b"/direct_url.json," not in row)
    return data
def tree(root):
    files = {}
    for directory, _, names in os.walk(root):
        for name in names:
            path = os.path.join(directory, name)
            files[os.path.relpath(path, root)] = [oct(os.stat(path).st_mode & 0o777),
                                                   hashlib.sha256(content(path)).hexdigest()]
    return files
print(json.dumps({who: {wheel: tree(os.path.join("/" + who, wheel)) for wheel in sorted(os.listdir("/" + who))}
                  for who in ("pip", "ours")}))
EOF
"""


def test_the_script_installs_what_pip_installs(docker: str, tmp_path: Path) -> None:
    from poetry.core.masonry.api import build_wheel

    dist = tmp_path / "dist"
    dist.mkdir()
    source = tmp_path / "example"
    shutil.copytree(EXAMPLE, source)
    here = Path.cwd()
    os.chdir(source)
    try:
        build_wheel(str(dist))
    finally:
        os.chdir(here)
    run = subprocess.run(
        [docker, "run", "--rm", "--network=host", "-e", f"PIP_INDEX_URL={mirror_url()}",
         "-v", f"{dist}:/dist", "-v", f"{WHEEL_SCRIPT_SOURCE}:/mnt/install-wheel.py:ro",
         IMAGE, "bash", "-c", SCRIPT, "script", *REAL_WHEELS],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    trees = json.loads(run.stdout.strip().splitlines()[-1])
    assert len(trees["pip"]) == len(REAL_WHEELS) + 1, sorted(trees["pip"])
    differences = {
        wheel: sorted(path for path in {*files, *trees["ours"].get(wheel, {})}
                      if files.get(path) != trees["ours"].get(wheel, {}).get(path))
        for wheel, files in trees["pip"].items()
    }  # fmt: skip
    assert {wheel: paths for wheel, paths in differences.items() if paths} == {}
    assert trees["ours"] == trees["pip"]
    # What makes the comparison mean something: each scheme is there.
    every_file = [path for wheel in trees["ours"].values() for path in wheel]
    for fragment in ("bin/pytest", "bin/jsondiff", "share/jupyter/kernels/python3", "include/site/python3.12",
                     "markupsafe/_speedups.cpython-312", "bin/fastapi-service"):  # fmt: skip
        assert any(fragment in path for path in every_file), fragment
