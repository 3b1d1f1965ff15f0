"""Which layer each dependency goes to: stable, and heavy packages apart."""

from __future__ import annotations

from poetry_plugin_docker.stub.layers import HEAVY_LAYERS, LAYER_NAMES, is_compiled, layer_of, split_requirements

HEADER = "# layer {layer}\n"


def _package(name: str, *files: str) -> dict[str, object]:
    return {"name": name, "files": [{"file": file, "hash": "sha256:0"} for file in files]}


def test_compiled_means_platform_wheels_or_none() -> None:
    assert is_compiled(_package("numpy", "numpy-2.0-cp312-cp312-manylinux_2_17_x86_64.whl", "numpy-2.0.tar.gz"))
    assert is_compiled(_package("psycopg2", "psycopg2-2.9.tar.gz"))  # built from source
    assert not is_compiled(_package("six", "six-1.17.0-py2.py3-none-any.whl", "six-1.17.0.tar.gz"))
    assert not is_compiled(_package("click", "click-8.1-py3-none-any.whl"))
    # A wheel for Python 2 only: Python 3 builds the sdist, which may compile.
    assert is_compiled(_package("old", "old-1.0-py2-none-any.whl", "old-1.0.tar.gz"))
    assert not is_compiled(_package("both", "both-1.0-py2-none-any.whl", "both-1.0-py3-none-any.whl"))


def test_a_package_layer_depends_on_its_name_and_kind_alone() -> None:
    assert layer_of("NumPy", True) == layer_of("numpy", True)  # canonical names
    assert layer_of("numpy", True) in LAYER_NAMES[:HEAVY_LAYERS]
    assert layer_of("six", False) in LAYER_NAMES[HEAVY_LAYERS:]


EXPORT = """--extra-index-url https://index.example/simple
numpy==2.0.0 ; python_version >= "3.9" \\
    --hash=sha256:aaa
six==1.17.0 ; python_version >= "3.9" \\
    --hash=sha256:bbb
"""
LOCK = {"package": [_package("numpy", "numpy-2.0-cp312-cp312-manylinux_2_17_x86_64.whl"),
                    _package("six", "six-1.17.0-py2.py3-none-any.whl")]}  # fmt: skip


def test_split_puts_each_requirement_with_its_hashes_in_its_layer_and_indexes_in_all() -> None:
    files = split_requirements(EXPORT, LOCK, HEADER)
    assert list(files) == list(LAYER_NAMES)
    numpy, six = layer_of("numpy", True), layer_of("six", False)
    assert files[numpy] == (
        f"# layer {numpy}\n--extra-index-url https://index.example/simple\n"
        'numpy==2.0.0 ; python_version >= "3.9" \\\n    --hash=sha256:aaa\n'
    )
    assert files[six].endswith('six==1.17.0 ; python_version >= "3.9" \\\n    --hash=sha256:bbb\n')
    empty = next(layer for layer in LAYER_NAMES if layer not in (numpy, six))
    assert files[empty] == f"# layer {empty}\n--extra-index-url https://index.example/simple\n"


def test_adding_a_package_moves_no_other() -> None:
    before = split_requirements(EXPORT, LOCK, HEADER)
    lock = {"package": [*LOCK["package"], _package("idna", "idna-3.10-py3-none-any.whl")]}
    after = split_requirements(EXPORT + "idna==3.10 \\\n    --hash=sha256:ccc\n", lock, HEADER)
    changed = [layer for layer in LAYER_NAMES if before[layer] != after[layer]]
    assert changed == [layer_of("idna", False)]
