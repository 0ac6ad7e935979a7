"""``digitnet serve MODEL``: a web page where a person draws a digit and sees the model read it
live."""

from __future__ import annotations

import argparse
import socket
from pathlib import Path
from typing import Any

from digitnet.commands import _arguments as arguments
from digitnet.datasets import mnist
from digitnet.errors import DigitnetError
from digitnet.network import Network

__all__ = ["SERVER_MAX_BODY_BYTES", "add_parser", "run"]

#: Waitress's own cap on a request body, above the app's (which answers 413 with a JSON error):
#: bodies larger still are refused by waitress before they are read.
SERVER_MAX_BODY_BYTES = 4 << 20


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds the ``serve`` subcommand to the ``digitnet`` command's ``subparsers``."""
    parser = subparsers.add_parser(
        "serve",
        help="serve a page where you draw a digit and watch a saved model read it",
        description="Serve the draw-a-digit page: draw with the mouse, a pen or a finger, and "
        "see the digit the model reads and the probability of each, live. Needs the 'serve' "
        "extra: pip install 'digitnet[serve]'.",
    )
    parser.add_argument("model", type=Path, help="a model written by 'digitnet train --save'")
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="the address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 for all)",
    )
    parser.add_argument(
        "--port",
        type=arguments.port,
        default=8000,
        help="the port (default 8000; 0 for any free port)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Serves the page until interrupted (Ctrl-C); returns 0 then."""
    try:
        import PIL  # noqa: F401 -- drawings are decoded with it
        from waitress.server import create_server

        from digitnet.web import MAX_BODY_BYTES, create_app
    except ImportError as error:
        raise DigitnetError(
            f"serve needs Flask, waitress and Pillow ({error}): pip install 'digitnet[serve]'"
        ) from None
    net = Network.load(args.model)
    mnist.check_network(net.sizes, name=str(args.model))
    app = create_app(net, max_body_bytes=MAX_BODY_BYTES)
    listener = _bind(args.host, args.port)
    try:
        server = create_server(
            app,
            sockets=[listener],
            ident="digitnet",
            max_request_body_size=max(SERVER_MAX_BODY_BYTES, MAX_BODY_BYTES),
        )
    except BaseException:
        listener.close()
        raise
    for host, port in _addresses(server):
        shown = f"[{host}]" if ":" in host else host
        print(f"Serving the draw-a-digit page at http://{shown}:{port}/", flush=True)
    print("Press Ctrl-C to stop.", flush=True)
    try:
        server.run()  # returns on Ctrl-C, after closing its sockets and threads
    finally:
        server.close()
    print("Stopped.", flush=True)
    return 0


def _bind(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host`` and ``port`` (waitress makes it listen), or a clear error."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as error:
        raise DigitnetError(f"cannot listen on {host}: {error.strerror}") from error
    listener = socket.socket(family, kind, proto)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
    except OSError as error:
        listener.close()
        raise DigitnetError(
            f"cannot listen on {host} port {port}: {error.strerror or error}"
        ) from error
    return listener


def _addresses(server: Any) -> list[tuple[str, int]]:
    """The (host, port) pairs a waitress server listens on, ports chosen by the system included."""
    listening = getattr(server, "effective_listen", None)
    if listening is not None:
        return [(str(host), int(port)) for host, port in listening]
    return [(str(server.effective_host), int(server.effective_port))]
