"""The dev/test IPFS node: js-ipfs (recipe in ``shared/ipfs-node/``) on loopback only.

Production runs a Kubo daemon; this one exists because no offline registry ships Kubo. It
installs itself from the committed lockfile if needed, writes a loopback-only config straight
into the repo's JSON (``jsipfs config`` costs seconds per call), starts the daemon with preload
off, waits until the RPC API answers, and stops it with SIGTERM (keys, MFS, IPNS survive).

``claimwatch ipfs-node`` runs it in the foreground for the Procfile.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import urlparse

import httpx

from config.errors import ClaimWatchError
from ops.services import free_port, stop_process

NODE_DIR = Path(__file__).resolve().parent / "ipfs-node"
JSIPFS = Path("node_modules") / ".bin" / "jsipfs"
DEFAULT_REPO = Path(".run") / "ipfs"


class IpfsNodeError(ClaimWatchError, RuntimeError):
    """The node could not be installed, initialised or started."""


def ensure_installed(node_dir: Path = NODE_DIR, *, timeout_s: float = 900) -> Path:
    """Install js-ipfs from the lockfile if missing; returns the ``jsipfs`` executable.

    ``npm ci`` fails on an optional git dependency, so this is ``npm install --omit=optional``.
    """
    binary = node_dir / JSIPFS
    if binary.exists():
        return binary
    npm = shutil.which("npm")
    if npm is None:
        raise IpfsNodeError("npm is not installed: install Node.js 20 to run the dev IPFS node")
    result = subprocess.run(
        [npm, "install", "--omit=optional", "--no-audit", "--no-fund"],
        cwd=node_dir,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    if result.returncode != 0 or not binary.exists():
        raise IpfsNodeError(f"npm install failed in {node_dir}:\n{result.stderr[-2000:]}")
    return binary


@dataclass(frozen=True)
class NodePorts:
    api: int
    gateway: int
    rpc: int
    swarm: int

    @classmethod
    def free(cls, api: int | None = None) -> NodePorts:
        return cls(api=api or free_port(), gateway=free_port(), rpc=free_port(), swarm=free_port())


def loopback_config(config: dict[str, object], ports: NodePorts) -> dict[str, object]:
    """The repo config with every listener on 127.0.0.1 and no routing (pure)."""
    out = dict(config)
    addresses = dict(out.get("Addresses") or {})  # type: ignore[call-overload]
    addresses.update(
        API=f"/ip4/127.0.0.1/tcp/{ports.api}",
        Gateway=f"/ip4/127.0.0.1/tcp/{ports.gateway}",
        RPC=f"/ip4/127.0.0.1/tcp/{ports.rpc}",
        Swarm=[f"/ip4/127.0.0.1/tcp/{ports.swarm}"],
        Announce=[],
        NoAnnounce=[],
        Delegates=[],
    )
    out["Addresses"] = addresses
    out["Bootstrap"] = []
    routing = dict(out.get("Routing") or {})  # type: ignore[call-overload]
    routing["Type"] = "none"
    out["Routing"] = routing
    discovery = dict(out.get("Discovery") or {})  # type: ignore[call-overload]
    discovery["MDNS"] = {"Enabled": False}
    discovery["webRTCStar"] = {"Enabled": False}
    out["Discovery"] = discovery
    return out


@dataclass
class IpfsNode:
    """One js-ipfs daemon process over one repo directory."""

    repo: Path
    ports: NodePorts = field(default_factory=NodePorts.free)
    node_dir: Path = NODE_DIR
    log_file: Path | None = None
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.api}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _env(self) -> dict[str, str]:
        return {**os.environ, "IPFS_PATH": str(self.repo)}

    def init(self) -> None:
        """Create the repo once (test profile: no bootstrap, no MDNS), then pin it to loopback."""
        binary = ensure_installed(self.node_dir)
        config_path = self.repo / "config"
        if not config_path.exists():
            self.repo.mkdir(parents=True, exist_ok=True)
            result = subprocess.run(
                [str(binary), "init", "--profile", "test", "--emptyRepo"],
                env=self._env(),
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            if result.returncode != 0 or not config_path.exists():
                raise IpfsNodeError(f"jsipfs init failed: {result.stderr[-2000:]}")
        config = json.loads(config_path.read_text(encoding="utf-8"))
        config_path.write_text(json.dumps(loopback_config(config, self.ports), indent=2))

    def start(self, *, timeout_s: float = 60.0) -> None:
        """Start the daemon (init first if needed) and return once the RPC API answers."""
        if self.running:
            return
        self.init()
        binary = ensure_installed(self.node_dir)
        # Without a log file the daemon's output goes to ours (the Procfile shows it).
        out = open(self.log_file, "ab") if self.log_file else None  # noqa: SIM115
        try:
            self._process = subprocess.Popen(
                [str(binary), "daemon", "--enable-preload=false"],
                env=self._env(),
                stdout=out,
                stderr=subprocess.STDOUT if out else None,
                start_new_session=True,
            )
        finally:
            if out is not None:
                out.close()
        self.wait_ready(timeout_s)

    def wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise IpfsNodeError(
                    f"jsipfs daemon exited with {self._process.returncode} (repo {self.repo})"
                )
            try:
                response = httpx.post(f"{self.api_url}/api/v0/version", timeout=2.0)
                if response.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise IpfsNodeError(f"jsipfs API not ready on {self.api_url} after {timeout_s:.0f}s")

    def stop(self, *, timeout_s: float = 20.0) -> None:
        """SIGTERM, then SIGKILL if it does not exit in time."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        stop_process(process, timeout_s)

    def terminate(self) -> None:
        """Ask the daemon to shut down without waiting (safe inside a signal handler)."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)

    def wait(self) -> int:
        return self._process.wait() if self._process is not None else 0

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _default_port() -> int:
    from config.settings import get_settings

    return urlparse(get_settings().ipfs.api_url).port or 5001


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="claimwatch ipfs-node",
        description="Run the dev js-ipfs node on loopback in the foreground (Ctrl-C stops it).",
    )
    parser.add_argument("--port", type=int, help="RPC API port (default: ipfs.api_url's port)")
    parser.add_argument("--repo", type=Path, default=DEFAULT_REPO, help="repo directory")
    parser.add_argument(
        "--install-only", action="store_true", help="install js-ipfs from the lockfile and exit"
    )
    args = parser.parse_args(argv)
    if args.install_only:
        print(ensure_installed())
        return 0
    port = args.port or _default_port()
    node = IpfsNode(repo=args.repo.resolve(), ports=NodePorts.free(api=port))
    stopping = threading.Event()

    def _stop(signum: int, _frame: object) -> None:
        stopping.set()
        node.terminate()  # the main thread's wait() returns once the daemon has exited

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        node.start()
    except IpfsNodeError as err:
        print(f"claimwatch ipfs-node: {err}", file=sys.stderr)
        return 1
    print(f"ipfs node ready: api {node.api_url} repo {node.repo}", flush=True)
    code = node.wait()
    node.stop()
    return 0 if stopping.is_set() else code
