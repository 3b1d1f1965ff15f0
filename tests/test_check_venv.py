"""check-venv.py, run with a real virtualenv's Python on real files (the e2e tests run it in images)."""

from __future__ import annotations

import importlib.machinery
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from poetry_plugin_docker.stub.pyproject import CHECK_SCRIPT_SOURCE, PACKAGES_SCRIPT_SOURCE


@pytest.fixture
def virtualenv(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "venv"
    venv.create(root, with_pip=False)
    site = root / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    assert site.is_dir()
    return root, site


def _check(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(root / "bin" / "python"), str(CHECK_SCRIPT_SOURCE), *args], capture_output=True, text=True
    )


def _distribution(site: Path, name: str, files: dict[str, str], record_extra: tuple[str, ...] = ()) -> None:
    info = site / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    for path, content in files.items():
        (site / path).parent.mkdir(parents=True, exist_ok=True)
        (site / path).write_text(content)
    record = [*files, *record_extra, f"{info.name}/METADATA", f"{info.name}/RECORD"]
    (info / "RECORD").write_text("".join(f"{path},,\n" for path in record))


def test_a_clean_virtualenv_passes(virtualenv) -> None:
    root, site = virtualenv
    _distribution(site, "good", {"good/__init__.py": ""}, ("good/__pycache__/__init__.cpython-311.pyc",))
    result = _check(root)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("check-venv: 1 distributions, 0 compiled extensions: ok")


def test_missing_files_editable_installs_and_outside_paths_fail(virtualenv, tmp_path) -> None:
    root, site = virtualenv
    _distribution(site, "broken", {"broken/__init__.py": ""}, ("broken/data.json",))
    _distribution(site, "editable", {"editable.pth": f"{tmp_path / 'src'}\n"})
    (site / "editable-1.0.dist-info" / "direct_url.json").write_text(
        '{"url": "file:///src/editable", "dir_info": {"editable": true}}'
    )
    (site / "inside.pth").write_text("broken\nimport os\n# a comment\n")
    result = _check(root)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "check-venv: broken 1.0: RECORD names 1 missing file: broken/data.json",
        "check-venv: editable 1.0: is installed editable from file:///src/editable, which is not in the image",
        f"check-venv: editable 1.0: editable.pth adds {tmp_path / 'src'} to sys.path, outside the virtualenv",
        f"check-venv: 3 problems in {root.resolve()}: this image would fail at run time, so the build stops here.",
    ]


def _runtime_packages(root: Path, runtime_root: Path | str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(PACKAGES_SCRIPT_SOURCE), str(root), str(runtime_root)],
        capture_output=True, text=True,
    )  # fmt: skip


def test_runtime_packages_names_the_debian_packages_a_runtime_image_lacks(virtualenv, tmp_path) -> None:
    # A real compiled extension (this Python's _ssl, which links libssl and libcrypto) in the virtualenv.
    import _ssl
    import shutil

    root, site = virtualenv
    shutil.copy(_ssl.__file__, site / "_ssl_copy.so")
    if shutil.which("dpkg") is None:
        pytest.skip("no dpkg on this machine: the lookup needs Debian's package database")
    owner = subprocess.run(["dpkg", "-S", "libssl.so.3"], capture_output=True, text=True).stdout.split(":")[0]

    # A runtime image with nothing in it lacks them all; this machine's own root has them all.
    empty = tmp_path / "empty-runtime"
    empty.mkdir()
    lacking = _runtime_packages(root, empty)
    assert lacking.returncode == 0, lacking.stderr
    assert owner and owner in lacking.stdout.split(), lacking.stdout + lacking.stderr
    assert f"runtime-packages: {owner} for " in lacking.stderr
    complete = _runtime_packages(root, "/")
    assert complete.returncode == 0 and complete.stdout == "", complete.stdout + complete.stderr

    # Nothing compiled: nothing to look up.
    (site / "_ssl_copy.so").unlink()
    assert _runtime_packages(root, empty).stdout == ""


# Shared objects built here with gcc, laid out as auditwheel lays out a wheel: an extension module
# in pkg/, the libraries it vendors in pkg.libs/, found through the module's RPATH.
EXTENSION = importlib.machinery.EXTENSION_SUFFIXES[0]  # .cpython-3XY-<platform>.so


def _shared_object(path: Path, code: str, *links: str, rpath: str | None = None) -> None:
    if shutil.which("gcc") is None:
        pytest.fail("these tests build real shared objects and need gcc")
    path.parent.mkdir(parents=True, exist_ok=True)
    command = ["gcc", "-shared", "-fPIC", "-o", str(path), "-x", "c", "-", "-Wl,--no-as-needed"]
    for link in links:  # "dir/libname.so": link that library by its file name
        command += [f"-L{Path(link).parent}", f"-l:{Path(link).name}"]
    if rpath:  # DT_RPATH, as auditwheel writes it: it applies to everything the module loads
        command.append(f"-Wl,--disable-new-dtags,-rpath,{rpath}")
    subprocess.run(command, input=code.encode(), check=True)


def _vendoring_wheel(site: Path) -> Path:
    """pkg 1.0: pkg/_ext (an extension module) needs pkg.libs/libouter.so, which needs
    pkg.libs/libinner.so; only the module has an RPATH (numpy 1.26.4's openblas and gfortran)."""
    libs = site / "pkg.libs"
    _shared_object(libs / "libinner.so", "int inner(void) { return 1; }")
    _shared_object(libs / "libouter.so", "int outer(void) { return 2; }", str(libs / "libinner.so"))
    extension = site / "pkg" / f"_ext{EXTENSION}"
    module_code = "void *PyInit__ext(void) { return 0; }"
    _shared_object(extension, module_code, str(libs / "libouter.so"), rpath="$ORIGIN/../pkg.libs")
    files = ["pkg/__init__.py", f"pkg/_ext{EXTENSION}", "pkg.libs/libinner.so", "pkg.libs/libouter.so"]
    (site / "pkg" / "__init__.py").write_text("")
    info = site / "pkg-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n")
    (info / "RECORD").write_text("".join(f"{path},,\n" for path in [*files, f"{info.name}/METADATA"]))
    return extension


def test_a_vendored_library_is_judged_through_the_module_that_loads_it(virtualenv) -> None:
    # ldd on libouter.so alone says libinner.so is not found; the loader finds it through the module's RPATH.
    root, site = virtualenv
    _vendoring_wheel(site)
    alone = subprocess.run(["ldd", str(site / "pkg.libs" / "libouter.so")], capture_output=True, text=True)
    assert "libinner.so => not found" in alone.stdout
    result = _check(root)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "check-venv: 1 distributions, 1 compiled extensions: ok\n"


def _without_inner_library(site: Path) -> None:
    """pkg 1.0 as a wheel that forgot to vendor libinner.so."""
    (site / "pkg.libs" / "libinner.so").unlink()
    record = site / "pkg-1.0.dist-info" / "RECORD"
    record.write_text(record.read_text().replace("pkg.libs/libinner.so,,\n", ""))


def test_a_library_missing_from_the_loaded_tree_fails_the_build(virtualenv) -> None:
    root, site = virtualenv
    extension = _vendoring_wheel(site)
    _without_inner_library(site)
    result = _check(root)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"check-venv: pkg 1.0: {extension.relative_to(root.resolve())} needs libinner.so, not found in the runtime "
        "image: install the Debian package that provides it with --runtime-package (`apt-file search libinner.so` "
        "names it)",
        f"check-venv: 1 problem in {root.resolve()}: this image would fail at run time, so the build stops here.",
    ]


def test_a_shared_object_that_is_not_a_module_is_not_judged_alone(virtualenv) -> None:
    # ibm_db's clidriver/lib/libdb2clixml4c.so: an identifier for a name, no PyInit_, a dependency
    # that only the libraries loading it know where to find.
    root, site = virtualenv
    missing = site / "other" / "libmissing.so"
    _shared_object(missing, "int missing(void) { return 0; }")
    for name in (f"libdriver{EXTENSION}", "libdriver.so"):
        _shared_object(site / "driver" / "lib" / name, "int d(void) { return 0; }", str(missing))
    missing.unlink()
    result = _check(root)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "check-venv: 0 distributions, 0 compiled extensions: ok\n"


def test_check_ignore_skips_one_distribution_and_says_so(virtualenv) -> None:
    root, site = virtualenv
    _vendoring_wheel(site)
    _without_inner_library(site)
    assert _check(root).returncode == 1
    result = _check(root, "--ignore", "PKG")  # names compare as PEP 503 normalises them
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "check-venv: pkg 1.0: shared libraries not checked (--check-ignore)",
        "check-venv: 1 distributions, 1 compiled extensions: ok",
    ]


def test_a_library_the_package_loads_by_its_path_is_a_note(virtualenv) -> None:
    # torch loads its CUDA libraries by path before its extension: a name the loader does not
    # find, but that the virtualenv carries, is the package's own business.
    root, site = virtualenv
    extension = _vendoring_wheel(site)
    (site / "pkg.libs" / "libinner.so").rename(site / "pkg" / "libinner.so")
    record = site / "pkg-1.0.dist-info" / "RECORD"
    record.write_text(record.read_text().replace("pkg.libs/libinner.so", "pkg/libinner.so"))
    result = _check(root)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"check-venv: pkg 1.0: {extension.relative_to(root.resolve())} needs libinner.so, found in the virtualenv "
        "only (its package loads it)",
        "check-venv: 1 distributions, 1 compiled extensions: ok",
    ]


def _shared_objects_module():  # type: ignore[no-untyped-def]
    """The image's shared_objects.py, imported from its own directory as the scripts import it."""
    sys.path.insert(0, str(CHECK_SCRIPT_SOURCE.parent))
    try:
        import shared_objects  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(CHECK_SCRIPT_SOURCE.parent))
    return shared_objects


def test_the_loaders_own_trace_lists_what_ldd_lists(virtualenv, monkeypatch) -> None:
    # The checks run the loader of Python's PT_INTERP on each file, not ldd's shell script around it:
    # the same lines, found or not found, on vendored libraries and on the real wheels of this machine.
    shared_objects = _shared_objects_module()
    loader = shared_objects.glibc_loader(sys.executable)
    assert loader is not None and Path(loader).name.startswith("ld-linux")
    root, site = virtualenv
    _vendoring_wheel(site)
    _without_inner_library(site)
    real = shared_objects.elf_files(sysconfig.get_path("platlib"))[:60]  # the test environment's wheels
    files = shared_objects.elf_files(str(root)) + real
    traced = shared_objects.linked_libraries(files)
    monkeypatch.setattr(shared_objects, "glibc_loader", lambda executable: None)
    assert traced == shared_objects.linked_libraries(files)
    outer = str(site / "pkg.libs" / "libouter.so")
    assert ("libinner.so", None) in traced[outer]
    assert len(real) >= 10 and all(path in traced for path in real)


def test_no_glibc_loader_in_a_file_that_is_not_a_dynamic_elf_program(tmp_path) -> None:
    shared_objects = _shared_objects_module()
    script = tmp_path / "script"
    script.write_text("#!/bin/sh\n")
    assert shared_objects.glibc_loader(str(script)) is None
    assert shared_objects.glibc_loader(str(tmp_path / "missing")) is None
