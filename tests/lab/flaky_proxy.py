"""A TCP proxy to an API server that delays every connection and drops every other one: a slow,
unreliable API for the fault tests (tests/lab/test_faults.py, the whole-run `slow-api` fault)."""

from __future__ import annotations

import contextlib
import socket
import threading


class FlakyProxy:
    """Listens on 127.0.0.1:`port`; `mark` (SO_MARK) on its upstream sockets lets an iptables rule
    that redirects API traffic into the proxy skip the proxy's own connections."""

    def __init__(self, upstream: tuple[str, int], delay: float, mark: int | None = None) -> None:
        self.upstream, self.delay, self.mark = upstream, delay, mark
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self.dropped = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            if self.connections % 2 == 0:
                self.dropped += 1
                client.close()
                continue
            threading.Thread(target=self._pipe_both, args=(client,), daemon=True).start()

    def _pipe_both(self, client: socket.socket) -> None:
        threading.Event().wait(self.delay)  # the added latency of a slow API
        upstream = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if self.mark is not None:
            upstream.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, self.mark)
        upstream.settimeout(10)
        try:
            upstream.connect(self.upstream)
        except OSError:
            client.close()
            upstream.close()
            return
        upstream.settimeout(None)
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.server.close()
