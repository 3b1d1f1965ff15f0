"""What a runtime virtualenv holds, as the installer-independent part of each distribution's metadata."""

# Run with the image's Python: {name: [version, sorted installed files]} as JSON. The files
# that name the installer (INSTALLER, REQUESTED, direct_url.json, RECORD itself, and uv_cache.json,
# which uv writes for the project's wheel, a local file) and bytecode differ between installers
# without changing what is installed, and are left out.
LISTING = """
import json, sys
from importlib import metadata
skip = ("INSTALLER", "REQUESTED", "direct_url.json", "RECORD", "uv_cache.json")
found = {}
for d in metadata.distributions(path=[p for p in sys.path if p.startswith("/app/.venv/")]):
    files = sorted(
        str(f) for f in (d.files or [])
        if f.name not in skip and f.suffix != ".pyc" and "__pycache__" not in f.parts
    )
    found[d.metadata["Name"].lower().replace("_", "-")] = [d.version, files]
print(json.dumps(found, sort_keys=True))
"""
