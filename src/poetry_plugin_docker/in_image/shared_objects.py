"""What the image's two checks share: finding a virtualenv's shared objects and extension modules,
and what the dynamic loader makes of them (`ldd`, the loader in its trace mode).

Imported by check-venv.py and runtime-packages.py from the directory they run in (the stub, bind-
mounted in the build). Standard library only, and Python 3.8 compatible: it runs on whatever
Python the image has.
"""

from __future__ import annotations

import importlib.machinery
import os
import struct
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import BinaryIO, NamedTuple

LDD_BATCH = 25
ELF_MAGIC = b"\x7fELF"


def inside(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)


def extension_modules(site: str) -> list[str]:
    """The importable extension modules under `site`: files named MODULE + an extension suffix of
    this Python that export `PyInit_MODULE`. The other shared objects (the libraries a wheel
    vendors in `numpy.libs/`, `clidriver/lib/`) are never imported; the loader reaches them
    through the modules that need them, and through those modules' RPATH."""
    suffixes = sorted(importlib.machinery.EXTENSION_SUFFIXES, key=len, reverse=True)
    found: list[str] = []
    for directory, _, names in os.walk(site):
        for name in sorted(names):
            suffix = next((suffix for suffix in suffixes if name.endswith(suffix)), None)
            if suffix is None:
                continue
            module = name[: -len(suffix)]
            path = os.path.join(directory, name)
            if module.isidentifier() and exports(path, "PyInit_" + module):
                found.append(path)
    return sorted(found)


def exports(path: str, symbol: str) -> bool:
    """Whether the ELF shared object at `path` defines `symbol` in its dynamic symbol table."""
    try:
        with open(path, "rb") as stream:
            return _defines(stream, symbol.encode("ascii"))
    except (OSError, struct.error, ValueError, IndexError):
        return False


def _elf_class(stream: BinaryIO) -> tuple[bool, str] | None:
    """(64-bit, struct's byte order) of the ELF file open in `stream`; None for another file."""
    ident = stream.read(16)
    if ident[:4] != ELF_MAGIC:
        return None
    return ident[4] == 2, "<" if ident[5] == 1 else ">"  # ELFCLASS64; ELFDATA2LSB


class _Table(NamedTuple):
    """Where the ELF header gives one of its tables, and the leading fields of its entries that the
    scripts read, in 64-bit (`wide`) and 32-bit files."""

    offset_at: tuple[int, int]  # the table's file offset (e_phoff, e_shoff): wide, 32-bit
    entries_at: tuple[int, int]  # its entry size, then its entry count
    entry: tuple[str, str]  # struct formats


_PROGRAM_HEADERS = _Table((0x20, 0x1C), (0x36, 0x2A), ("IIQQQQ", "IIIII"))
_SECTION_HEADERS = _Table((0x28, 0x20), (0x3A, 0x2E), ("IIQQQQIIQQ", "IIIIIIIIII"))


def _header_table(stream: BinaryIO, wide: bool, order: str, table: _Table) -> list[tuple[int, ...]]:
    """The entries of the program or section header table."""
    which = 0 if wide else 1
    stream.seek(table.offset_at[which])
    (offset,) = struct.unpack(order + ("Q" if wide else "I"), stream.read(8 if wide else 4))
    stream.seek(table.entries_at[which])
    entry_size, count = struct.unpack(order + "HH", stream.read(4))
    entry = order + table.entry[which]
    entries = []
    for index in range(count):
        stream.seek(offset + index * entry_size)
        entries.append(struct.unpack(entry, stream.read(struct.calcsize(entry))))
    return entries


def _defines(stream: BinaryIO, wanted: bytes) -> bool:
    elf = _elf_class(stream)
    if elf is None:
        return False
    wide, order = elf
    sections = _header_table(stream, wide, order, _SECTION_HEADERS)
    # (name, type, flags, address, offset, size, link, ...): SHT_DYNSYM is 11, its strings in `link`.
    dynsym = next((section for section in sections if section[1] == 11), None)
    if dynsym is None:
        return False
    strings_section = sections[dynsym[6]]
    stream.seek(strings_section[4])
    strings = stream.read(strings_section[5])
    if b"\0" + wanted + b"\0" not in strings:  # most shared objects: no need to read their symbols
        return False
    symbol = order + ("IBBHQQ" if wide else "IIIBBH")
    size = struct.calcsize(symbol)
    stream.seek(dynsym[4])
    table = stream.read(dynsym[5])
    for start in range(0, len(table) - size + 1, size):
        fields = struct.unpack(symbol, table[start : start + size])
        name_offset, section_index = fields[0], (fields[3] if wide else fields[5])
        # SHN_UNDEF (0): a symbol it needs from elsewhere, not one it defines.
        if section_index != 0 and strings[name_offset : name_offset + len(wanted) + 1] == wanted + b"\0":
            return True
    return False


def linked_libraries(paths: list[str]) -> dict[str, list[tuple[str, str | None]]]:
    """File path -> each shared library the dynamic loader lists for it, in its trace mode (what
    `ldd` prints): (name, resolved path, or None when not found)."""
    loader = glibc_loader(sys.executable)
    if loader:
        # The loader Python itself runs under, once per file, as `ldd` runs it: without ldd's shell
        # script around each file, a quarter of the time (173 of scipy's extensions: 0.13 s, not 0.45 s).
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            outputs = list(pool.map(lambda path: _trace(loader, path), paths))
        return {path: libraries for path, libraries in zip(paths, map(_listed, outputs)) if libraries}
    # Another C library's loader (musl's is its own ldd): ldd itself, in batches on every core.
    linked: dict[str, list[tuple[str, str | None]]] = {}
    batches = [paths[start : start + LDD_BATCH] for start in range(0, len(paths), LDD_BATCH)]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        batch_outputs = list(pool.map(_ldd, batches))
    for batch, output in zip(batches, batch_outputs):
        current = batch[0]
        for line in output.splitlines():
            if not line.startswith(("\t", " ")) and line.endswith(":") and line[:-1] in batch:
                current = line[:-1]
            else:
                linked.setdefault(current, []).extend(_listed(line))
    return {path: libraries for path, libraries in linked.items() if libraries}


def _listed(output: str) -> list[tuple[str, str | None]]:
    """The `name => path (address)` and `name => not found` lines of the loader's trace."""
    libraries: list[tuple[str, str | None]] = []
    for line in output.splitlines():
        if "=>" in line:
            name, target = (part.strip() for part in line.split("=>", 1))
            resolved = target.split(" (", 1)[0].strip()
            if resolved == "not found":
                libraries.append((name, None))
            elif resolved.startswith("/"):
                libraries.append((name, resolved))
    return libraries


def _trace(loader: str, path: str) -> str:
    environment = dict(os.environ, LD_TRACE_LOADED_OBJECTS="1")
    return subprocess.run(
        [loader, path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=environment
    ).stdout


def _ldd(batch: list[str]) -> str:
    return subprocess.run(["ldd", *batch], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True).stdout


def glibc_loader(executable: str) -> str | None:
    """The program interpreter (PT_INTERP) of `executable` when it is glibc's (ld-linux*.so.*), the
    loader that loads every extension module this Python imports; None for any other."""
    try:
        with open(executable, "rb") as stream:
            loader = _interpreter(stream)
    except (OSError, struct.error, ValueError, IndexError):
        return None
    if loader and os.path.basename(loader).startswith("ld-linux") and os.path.isfile(loader):
        return loader
    return None


def _interpreter(stream: BinaryIO) -> str | None:
    elf = _elf_class(stream)
    if elf is None:
        return None
    wide, order = elf
    # (type, flags, offset, ..., file size) in 64-bit headers, (type, offset, ..., file size, ...) in 32-bit.
    for fields in _header_table(stream, wide, order, _PROGRAM_HEADERS):
        if fields[0] == 3:  # PT_INTERP: the loader's path, NUL-terminated
            offset, size = (fields[2], fields[5]) if wide else (fields[1], fields[4])
            stream.seek(offset)
            return stream.read(size).split(b"\0", 1)[0].decode("ascii") or None
    return None


def unresolved_libraries(paths: list[str]) -> dict[str, list[str]]:
    """Extension path -> the shared libraries `ldd` cannot find for it."""
    missing: dict[str, list[str]] = {}
    for path, libraries in linked_libraries(paths).items():
        names = [name for name, resolved in libraries if resolved is None]
        if names:
            missing[path] = names
    return missing


def elf_files(venv: str) -> list[str]:
    """Every shared object in the virtualenv: extension modules and the libraries wheels vendor."""
    found = []
    for directory, _, names in os.walk(venv):
        for name in names:
            if not (name.endswith(".so") or ".so." in name):
                continue
            path = os.path.join(directory, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            with open(path, "rb") as stream:
                if stream.read(4) == ELF_MAGIC:
                    found.append(path)
    return sorted(found)

