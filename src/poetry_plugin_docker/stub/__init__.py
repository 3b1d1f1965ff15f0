"""The dependency stub: the lock and a pyproject.toml stripped to what installing the dependencies
needs, with no version, plus the path dependencies and requirements files it carries."""
