"""Real registries for the registry client's tests (fixtures in conftest.py): Debian's docker-registry on 127.0.0.1,
each with its own config and storage, without auth, with htpasswd Basic auth, and with token
auth (a token server of the test's own issuing RS256 JWTs the registry trusts through a
self-signed certificate).

Under CI=true a registry that cannot be started fails the tests instead of skipping them;
scripts/setup.sh installs docker-registry and apache2-utils (htpasswd).
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest
from helpers import in_ci

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

REGISTRY = "/usr/bin/docker-registry"
HTPASSWD = "/usr/bin/htpasswd"
USER = "alice"
SERVICE = "test-registry"
ISSUER = "test-token-issuer"


def unavailable(message: str) -> None:
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Registry:
    address: str  # 127.0.0.1:PORT, what the client is given
    process: subprocess.Popen[bytes]
    log: Path
    password: str = ""  # the htpasswd or token server's password for USER
    tokens: TokenServer | None = None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_registry(workdir: Path, auth: str = "") -> Registry:
    if not os.access(REGISTRY, os.X_OK):
        unavailable(f"{REGISTRY} is missing (Debian's docker-registry; scripts/setup.sh installs it as root)")
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    address = f"127.0.0.1:{port}"
    config = workdir / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: info\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {workdir / 'storage'}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: {address}\n  secret: {secrets.token_hex(16)}\n"
        + auth
    )
    log = workdir / "registry.log"
    with log.open("wb") as handle:
        process = subprocess.Popen([REGISTRY, "serve", str(config)], stdout=handle, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    registry = Registry(address, process, log)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://{address}/v2/", timeout=1).close()
            return registry
        except urllib.error.HTTPError:  # 401: up, asking for credentials
            return registry
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.05)
    registry.stop()
    unavailable(f"docker-registry did not start on {address}: {log.read_text(errors='replace')[-2000:]}")
    raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def plain_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    registry = start_registry(tmp_path_factory.mktemp("plain-registry"))
    yield registry
    registry.stop()


@pytest.fixture(scope="module")
def basic_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    workdir = tmp_path_factory.mktemp("basic-registry")
    if not os.access(HTPASSWD, os.X_OK):
        unavailable(f"{HTPASSWD} is missing (Debian's apache2-utils; scripts/setup.sh installs it as root)")
    password = "pw-" + secrets.token_urlsafe(12)
    entry = subprocess.run([HTPASSWD, "-Bbn", USER, password], capture_output=True, text=True, check=True).stdout
    (workdir / "htpasswd").write_text(entry.strip() + "\n")
    registry = start_registry(workdir, f"auth:\n  htpasswd:\n    realm: test-realm\n    path: {workdir / 'htpasswd'}\n")
    registry.password = password
    yield registry
    registry.stop()


# ---- token auth ------------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass
class TokenServer:
    """A token server as distribution's token auth expects (docs/spec/auth/token.md, jwt.md):
    GET ?service=&scope=... with Basic credentials, or POST grant_type=refresh_token; grants
    every requested action to USER (only pull on readonly/*), nothing to anonymous requests."""

    password: str
    refresh_token: str
    workdir: Path
    key: Any = None
    certificate_der: bytes = b""
    port: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)  # method, scopes, basic, grant
    issued: list[str] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self.port}/token"

    def make_key(self) -> Path:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ISSUER)])
        now = datetime.datetime.now(datetime.timezone.utc)
        certificate = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.certificate_der = certificate.public_bytes(serialization.Encoding.DER)
        bundle = self.workdir / "token-root.pem"
        bundle.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        return bundle

    def jwt(self, subject: str, scopes: list[str]) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            if subject and kind == "repository":
                granted = [a for a in actions.split(",") if a == "pull" or not name.startswith("readonly/")]
                access.append({"type": kind, "name": name, "actions": granted})
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(self.certificate_der).decode("ascii")]}
        claims = {"iss": ISSUER, "sub": subject, "aud": SERVICE, "exp": now + 300, "nbf": now - 10, "iat": now - 10,
                  "jti": secrets.token_hex(8), "access": access}
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        signature = self.key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        token = f"{signing_input}.{_b64url(signature)}"
        self.issued.append(token)
        return token

    def start(self) -> None:
        tokens = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                scopes = query.get("scope", [])
                header = self.headers.get("Authorization", "")
                record = {"method": "GET", "scopes": scopes, "basic": bool(header), "service": query.get("service")}
                tokens.requests.append(record)
                subject = ""
                if header:
                    user, _, password = base64.b64decode(header.split(" ", 1)[1]).decode().partition(":")
                    if (user, password) != (USER, tokens.password):
                        self.answer(401, {"details": "incorrect username or password"})
                        return
                    subject = user
                self.answer(200, {"token": tokens.jwt(subject, scopes), "expires_in": 300})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = parse_qs(self.rfile.read(length).decode())
                scopes = " ".join(form.get("scope", [])).split()
                tokens.requests.append({"method": "POST", "scopes": scopes, "grant": form.get("grant_type"),
                                        "basic": "Authorization" in self.headers, "service": form.get("service")})
                if form.get("grant_type") != ["refresh_token"] or form.get("refresh_token") != [tokens.refresh_token]:
                    self.answer(401, {"error": "invalid_grant"})
                    return
                self.answer(200, {"access_token": tokens.jwt(USER, scopes), "expires_in": 300})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture(scope="module")
def token_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    workdir = tmp_path_factory.mktemp("token-registry")
    tokens = TokenServer(password="pw-" + secrets.token_urlsafe(12), refresh_token="rt-" + secrets.token_urlsafe(16),
                         workdir=workdir)
    bundle = tokens.make_key()
    tokens.start()
    try:
        registry = start_registry(workdir, (
            "auth:\n  token:\n"
            f"    realm: {tokens.realm}\n    service: {SERVICE}\n    issuer: {ISSUER}\n"
            f"    rootcertbundle: {bundle}\n"
        ))
    except BaseException:
        tokens.stop()
        raise
    registry.password = tokens.password
    registry.tokens = tokens
    yield registry
    registry.stop()
    tokens.stop()


# ---- Docker configs and a credential helper -----------------------------------------------


@dataclass
class DockerConfig:
    """A temporary DOCKER_CONFIG and a PATH with docker-credential-test first; `environ` is
    what the client is given. The helper answers from `helper_answers` (server -> answer) and
    logs each server it is asked for."""

    directory: Path
    bin: Path
    environ: dict[str, str]

    def write(self, config: dict[str, Any]) -> None:
        (self.directory / "config.json").write_text(json.dumps(config))

    def helper_answers(self, answers: dict[str, dict[str, str]]) -> None:
        (self.bin / "answers.json").write_text(json.dumps(answers))

    def helper_calls(self) -> list[str]:
        log = self.bin / "calls.log"
        return log.read_text().splitlines() if log.exists() else []


HELPER = '''#!{python}
import json, os, sys
here = os.path.dirname(os.path.abspath(__file__))
if sys.argv[1:] != ["get"]:
    sys.exit(2)
server = sys.stdin.read().strip()
with open(os.path.join(here, "calls.log"), "a") as log:
    log.write(server + "\\n")
path = os.path.join(here, "answers.json")
answers = json.load(open(path)) if os.path.exists(path) else {{}}
if server not in answers:
    print("credentials not found in native keychain")
    sys.exit(1)
print(json.dumps(dict(answers[server], ServerURL=server)))
'''


@pytest.fixture
def docker_config(tmp_path: Path) -> DockerConfig:
    directory = tmp_path / "docker-config"
    directory.mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    helper = bin_dir / "docker-credential-test"
    helper.write_text(HELPER.format(python=sys.executable))
    helper.chmod(0o755)
    environ = {**os.environ, "DOCKER_CONFIG": str(directory), "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    return DockerConfig(directory, bin_dir, environ)


def auth_entry(user: str, password: str) -> dict[str, str]:
    return {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}
