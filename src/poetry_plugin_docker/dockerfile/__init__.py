"""The generated Dockerfile: planned from the project, the stub and the settings, then rendered."""
