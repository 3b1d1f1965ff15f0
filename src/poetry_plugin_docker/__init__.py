"""poetry-plugin-docker: Docker images for Poetry projects whose dependency layer survives releases."""

__version__ = "0.1.0"
