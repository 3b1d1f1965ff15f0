"""Thin wrappers around the things the benchmark starts and talks to: Docker engines (throwaway
dockerds of its own), a local registry (Debian's docker-registry)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tarfile
import time
import urllib.request
from pathlib import Path

from imagebench.analysis import chain_ids


class CommandError(RuntimeError):
    pass


def run(command: list[str], cwd: Path | None = None, check: bool = True,
        env: dict[str, str] | None = None, timeout: float | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(command, cwd=cwd, text=True, capture_output=True, env=env, timeout=timeout)
    if check and result.returncode != 0:
        raise CommandError(
            f"{' '.join(command)} exited {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result


def run_stamped(command: list[str], cwd: Path | None = None,
                env: dict[str, str] | None = None) -> tuple[float, int, list[tuple[float, str]]]:
    """Run a command, stdout and stderr in one pipe, each line with the seconds since the start.

    Returns (total seconds, exit status, [(seconds, line), ...]).
    """
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    lines: list[tuple[float, str]] = []
    assert process.stdout is not None
    for line in process.stdout:
        lines.append((time.perf_counter() - start, line))
    code = process.wait()
    return time.perf_counter() - start, code, lines


def terminate(process: subprocess.Popen | None, timeout: float) -> None:
    """Stop a process this run started: politely, then for good after `timeout` seconds."""
    if process and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Engine:
    """A Docker engine reached with the docker CLI ($DOCKER), optionally on another socket."""

    def __init__(self, docker: str, host: str | None = None) -> None:
        self.docker = docker
        self.host = host

    def command(self, *args: str) -> list[str]:
        return [self.docker, *(["-H", self.host] if self.host else []), *args]

    def environment(self) -> dict[str, str]:
        """The environment for a program that runs this engine's docker itself (as `poetry docker
        build` does): $DOCKER this client, and DOCKER_HOST this engine's socket."""
        env = {**os.environ, "DOCKER": self.docker}
        if self.host:
            env["DOCKER_HOST"] = self.host
        return env

    def __call__(self, *args: str, check: bool = True, cwd: Path | None = None,
                 timeout: float | None = None) -> subprocess.CompletedProcess:
        return run(self.command(*args), cwd=cwd, check=check, timeout=timeout)

    def timed(self, *args: str, cwd: Path | None = None) -> tuple[float, subprocess.CompletedProcess]:
        start = time.perf_counter()
        result = run(self.command(*args), cwd=cwd, check=False)
        seconds = time.perf_counter() - start
        if result.returncode != 0:
            raise CommandError(f"docker {' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
        return seconds, result

    def load_images(self, source: Engine, images: list[str]) -> None:
        """Copy images from another engine (`docker save | docker load`)."""
        save = subprocess.Popen(source.command("save", *images), stdout=subprocess.PIPE)
        load = subprocess.run(self.command("load", "-q"), stdin=save.stdout, capture_output=True, text=True)
        assert save.stdout is not None
        save.stdout.close()
        if save.wait() != 0 or load.returncode != 0:
            raise CommandError(f"could not copy {', '.join(images)} into the engine: {load.stderr[-2000:]}")

    def info(self, template: str) -> str:
        return self("info", "--format", template).stdout.strip()

    def inspect(self, image: str) -> dict:
        return json.loads(self("image", "inspect", image).stdout)[0]

    def image_size(self, image: str) -> int:
        return int(self.inspect(image)["Size"])

    def prune_cache_mounts(self) -> None:
        """Empty BuildKit's cache mounts (`RUN --mount=type=cache`), keeping the layer cache."""
        self("builder", "prune", "-f", "--filter", "type=exec.cachemount")

    def history_size(self, image: str, created_by_contains: str) -> int | None:
        out = self("history", "--no-trunc", "--human=false", "--format", "{{.Size}}\t{{.CreatedBy}}", image).stdout
        for line in out.splitlines():
            size, _, created_by = line.partition("\t")
            if created_by_contains in created_by:
                return int(size)
        return None

    def history_sizes(self, image: str, created_by_contains: str) -> int | None:
        """The sum of the sizes of every history entry that matches (the uv image's 15 layers)."""
        out = self("history", "--no-trunc", "--human=false", "--format", "{{.Size}}\t{{.CreatedBy}}", image).stdout
        sizes = [int(size) for size, _, created_by in (line.partition("\t") for line in out.splitlines())
                 if created_by_contains in created_by]
        return sum(sizes) if sizes else None

    def layers(self, image: str) -> list[tuple[str, int]]:
        """(diff ID, uncompressed size) of each layer of a local image, bottom first.

        The sizes come from the engine's layer store (`image/<driver>/layerdb/sha256/<chain
        ID>/size`, readable as root); if it cannot be read, from the layer tarballs of
        `docker save`.
        """
        diff_ids = list(self.inspect(image)["RootFS"]["Layers"])
        try:
            root = Path(self.info("{{.DockerRootDir}}"))
            driver = self.info("{{.Driver}}")
            store = root / "image" / driver / "layerdb" / "sha256"
            sizes = [int((store / chain.split(":", 1)[1] / "size").read_text()) for chain in chain_ids(diff_ids)]
            return list(zip(diff_ids, sizes))
        except (OSError, ValueError):
            return self._layers_from_save(image)

    def config(self, image: str) -> dict:
        """The image's config (`rootfs`, `history` with its `empty_layer` flags), which `docker
        image inspect` does not give: from the engine's image store (`image/<driver>/imagedb/
        content/sha256/<image ID>`, readable as root), else from `docker save`."""
        image_id = self.inspect(image)["Id"]
        try:
            root = Path(self.info("{{.DockerRootDir}}"))
            driver = self.info("{{.Driver}}")
            path = root / "image" / driver / "imagedb" / "content" / "sha256" / image_id.split(":", 1)[1]
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return self._save_config(image)

    def _save_config(self, image: str) -> dict:
        process = subprocess.Popen(self.command("save", image), stdout=subprocess.PIPE)
        texts: dict[str, bytes] = {}
        assert process.stdout is not None
        with tarfile.open(fileobj=process.stdout, mode="r|") as archive:
            for member in archive:
                if member.isfile() and member.name.endswith(".json"):
                    handle = archive.extractfile(member)
                    texts[member.name] = handle.read() if handle else b""
        process.wait()
        manifest = json.loads(texts["manifest.json"])[0]
        return json.loads(texts[manifest["Config"]])

    def _layers_from_save(self, image: str) -> list[tuple[str, int]]:
        process = subprocess.Popen(self.command("save", image), stdout=subprocess.PIPE)
        sizes: dict[str, int] = {}
        texts: dict[str, bytes] = {}
        assert process.stdout is not None
        with tarfile.open(fileobj=process.stdout, mode="r|") as archive:
            for member in archive:
                if member.name.endswith("layer.tar"):
                    sizes[member.name] = member.size
                elif member.isfile() and member.name.endswith(".json"):
                    handle = archive.extractfile(member)
                    texts[member.name] = handle.read() if handle else b""
        process.wait()
        manifest = json.loads(texts["manifest.json"])[0]
        config = json.loads(texts[manifest["Config"]])
        return list(zip(config["rootfs"]["diff_ids"], (sizes[name] for name in manifest["Layers"])))


class Registry:
    """Debian's docker-registry on 127.0.0.1, with its own config and storage."""

    def __init__(self, workdir: Path, log: Path) -> None:
        self.workdir = workdir
        self.storage = workdir / "storage"
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.log = log
        self.process: subprocess.Popen | None = None

    @staticmethod
    def ensure_installed() -> str:
        binary = shutil.which("docker-registry") or "/usr/bin/docker-registry"
        if os.path.exists(binary):
            return binary
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-qq", "docker-registry"]
        if subprocess.run(install, env=env, capture_output=True).returncode != 0:
            run(["apt-get", "update", "-qq"], env=env)
            run(install, env=env)
        return "/usr/bin/docker-registry"

    def start(self) -> None:
        binary = self.ensure_installed()
        self.storage.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "config.yml"
        config.write_text(
            "version: 0.1\n"
            "log:\n  level: warn\n"
            "storage:\n"
            f"  filesystem:\n    rootdirectory: {self.storage}\n"
            "  delete:\n    enabled: true\n"
            f"http:\n  addr: {self.address}\n"
        )
        handle = self.log.open("w")
        self.process = subprocess.Popen([binary, "serve", str(config)], stdout=handle, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://{self.address}/v2/", timeout=1).read()
                return
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.1)
        raise CommandError(f"docker-registry did not start on {self.address}; see {self.log}")

    def version(self) -> str:
        out = run([self.ensure_installed(), "--version"], check=False).stdout.split()
        return out[2] if len(out) > 2 else "?"

    def blobs(self) -> dict[str, int]:
        """digest -> size of every blob the registry stores."""
        root = self.storage / "docker" / "registry" / "v2" / "blobs" / "sha256"
        if not root.exists():
            return {}
        return {f"sha256:{data.parent.name}": data.stat().st_size for data in root.glob("*/*/data")}

    def manifest(self, repository: str, tag: str) -> dict:
        request = urllib.request.Request(
            f"http://{self.address}/v2/{repository}/manifests/{tag}",
            headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def blob(self, repository: str, digest: str) -> bytes:
        with urllib.request.urlopen(f"http://{self.address}/v2/{repository}/blobs/{digest}", timeout=60) as r:
            return r.read()

    def download_blobs(self, repository: str, digests: list[str]) -> tuple[float, int]:
        """Time downloading these blobs through the registry API (the fallback deploy pull)."""
        start, total = time.perf_counter(), 0
        for digest in digests:
            with urllib.request.urlopen(f"http://{self.address}/v2/{repository}/blobs/{digest}", timeout=600) as r:
                while chunk := r.read(1 << 20):
                    total += len(chunk)
        return time.perf_counter() - start, total

    def stop(self) -> None:
        terminate(self.process, timeout=20)
        shutil.rmtree(self.workdir, ignore_errors=True)


class Dockerd:
    """A throwaway dockerd with its own data root, exec root and socket, no bridge and no
    iptables. The benchmark builds on one (an engine no one else uses: an empty build cache,
    no other work sharing BuildKit's state) and pulls on another (a deploy host)."""

    def __init__(self, docker: str, name: str, log: Path) -> None:
        self.docker = docker
        self.data_root = Path("/var/lib") / name
        self.exec_root = Path("/run") / name
        self.socket = Path("/run") / f"{name}.sock"
        self.pidfile = Path("/run") / f"{name}.pid"
        self.config = self.data_root.with_name(name + ".json")
        self.log = log
        self.process: subprocess.Popen | None = None
        self.engine = Engine(docker, f"unix://{self.socket}")

    def start(self) -> None:
        dockerd = shutil.which("dockerd")
        if not dockerd:
            raise CommandError("dockerd is not installed")
        self.data_root.mkdir(parents=True, exist_ok=True)
        self.config.write_text("{}\n")
        handle = self.log.open("w")
        self.process = subprocess.Popen(
            [dockerd, "--config-file", str(self.config), "--data-root", str(self.data_root),
             "--exec-root", str(self.exec_root), "--pidfile", str(self.pidfile),
             "-H", f"unix://{self.socket}", "--bridge", "none", "--iptables=false", "--ip-masq=false"],
            stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
        for _ in range(60):
            if self.process.poll() is not None:
                break
            if self.engine("info", check=False).returncode == 0:
                return
            time.sleep(1)
        tail = self.log.read_text()[-1500:] if self.log.exists() else ""
        self.stop()
        raise CommandError(f"the dockerd at {self.socket} did not start:\n{tail}")

    def stop(self) -> None:
        terminate(self.process, timeout=60)
        # Anything the daemon left mounted under its directories, deepest first.
        for root in (self.data_root, self.exec_root):
            mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()
                      if len(line.split()) > 1 and line.split()[1].startswith(str(root))]
            for mount in sorted(mounts, key=len, reverse=True):
                subprocess.run(["umount", "-l", mount], capture_output=True)
        for path in (self.data_root, self.exec_root):
            shutil.rmtree(path, ignore_errors=True)
        for path in (self.socket, self.pidfile, self.config):
            path.unlink(missing_ok=True)
