"""The image benchmark of benchmarks/run.py: pure analysis, report rendering, Docker orchestration."""
