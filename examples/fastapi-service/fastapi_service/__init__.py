"""The bundled example service of poetry-plugin-docker."""
