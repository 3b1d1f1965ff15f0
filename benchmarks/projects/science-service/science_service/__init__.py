"""A small numerical service: the heavy project of the poetry-plugin-docker benchmarks."""
