"""Starts a real `hangar serve` for the compatibility tests and builds Graph SDK clients for it.

The binary is $HANGAR_BIN, else $CARGO_TARGET_DIR/debug/hangar, else <repo>/target/debug/hangar
(`tests/compat/run.sh` builds it). The fixture hashes are $HANGAR_FIXTURES, else
<repo>/../shared/fixtures/hwhash.
"""

from __future__ import annotations

import base64
import os
import pathlib
import subprocess
import tempfile
import threading

import pytest
from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)

REPO = pathlib.Path(__file__).resolve().parents[2]


def hangar_bin() -> str:
    if os.environ.get("HANGAR_BIN"):
        return os.environ["HANGAR_BIN"]
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target")
    if not target.is_absolute():
        target = REPO / target
    return str(target / "debug" / "hangar")


def fixtures_dir() -> pathlib.Path:
    return pathlib.Path(os.environ.get("HANGAR_FIXTURES") or REPO.parent / "shared" / "fixtures" / "hwhash")


def fixture_device(name: str) -> tuple[str, bytes]:
    """(serial number, hash bytes) of a one-device fixture CSV."""
    lines = (fixtures_dir() / name).read_text(encoding="utf-8").splitlines()
    serial, _product, hash_text = lines[1].split(",")[:3]
    return serial, base64.b64decode(hash_text)


# The single-device fixtures that carry a serial number.
DEVICES = [
    "hp-elitebook-840-g8.csv",
    "hp-elitebook-650-g10.csv",
    "hp-probook-450-g5.csv",
    "lenovo-thinkpad-p14s-gen5.csv",
    "lenovo-thinkpad-t14s-2in1-gen1.csv",
    "lenovo-thinkpad-x270.csv",
    "vmware-fusion-arm64.csv",
    "dell-latitude-5530-winpe.csv",
    "vmware-esxi-notpm.csv",
]


class StaticToken(AccessTokenProvider):
    """The adapter snippet of graph-api.md: a fixed bearer token for the allowed hosts."""

    def __init__(self, token, hosts):
        self.t, self.v = token, AllowedHostsValidator(hosts)

    async def get_authorization_token(self, uri, additional_authentication_context={}):
        return self.t if self.v.is_url_host_valid(uri) else ""

    def get_allowed_hosts_validator(self):
        return self.v


class Server:
    def __init__(self, url: str, data_dir: str, token: str):
        self.url, self.data_dir, self.token = url, data_dir, token

    def hangar(self, *args: str) -> str:
        """Runs an offline `hangar` command on this server's data directory; returns stdout."""
        out = subprocess.run(
            [hangar_bin(), *args, "--data-dir", self.data_dir],
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout

    def new_tenant(self, domain: str) -> str:
        """Creates a second tenant and returns an admin token for it."""
        self.hangar("tenant", "create", "--name", domain.split(".")[0], "--domain", domain)
        return self.hangar("token", "create", "--tenant", domain, "--role", "admin").strip()

    def v1(self, token: str | None = None):
        from msgraph import GraphRequestAdapter, GraphServiceClient

        return GraphServiceClient(request_adapter=self._adapter(GraphRequestAdapter, "v1.0", token))

    def beta(self, token: str | None = None):
        from msgraph_beta import GraphRequestAdapter, GraphServiceClient

        return GraphServiceClient(request_adapter=self._adapter(GraphRequestAdapter, "beta", token))

    def _adapter(self, cls, version: str, token: str | None):
        host = self.url.split("//", 1)[1].split(":")[0]
        auth = BaseBearerTokenAuthenticationProvider(StaticToken(token or self.token, [host]))
        adapter = cls(auth)
        adapter.base_url = f"{self.url}/{version}"
        return adapter


@pytest.fixture
def server():
    binary = hangar_bin()
    if not os.path.exists(binary):
        pytest.fail(f"{binary} does not exist: build it with `cargo build -p hangar` or set HANGAR_BIN")
    with tempfile.TemporaryDirectory() as data_dir:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HANGAR_")}
        proc = subprocess.Popen(
            [binary, "serve", "--listen", "127.0.0.1:0", "--log", "warn", "--data-dir", data_dir],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        url, seen = None, []
        assert proc.stderr is not None
        for line in proc.stderr:
            if line.startswith("hangar listening on "):
                url = line.removeprefix("hangar listening on ").strip()
                break
            seen.append(line)
        if url is None:
            proc.kill()
            pytest.fail("hangar serve ended before listening: " + "".join(seen))
        threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
        token = (pathlib.Path(data_dir) / "admin-token").read_text().strip()
        try:
            yield Server(url, data_dir, token)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
