"""The draw-a-digit app of ``digitnet serve``: its page and ``/api/predict`` in-process with
Flask's test client, good drawings and every kind of bad request; and the served command over
real HTTP."""

from __future__ import annotations

import argparse
import base64
import http.client
import io
import json
import re
import signal
import socket
import struct
import subprocess
import sys
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import read_url

import digitnet

pytest.importorskip("flask")
pytest.importorskip("waitress")
Image = pytest.importorskip("PIL.Image")
ImageDraw = pytest.importorskip("PIL.ImageDraw")

from digitnet.commands import serve  # noqa: E402 -- needs the optional packages checked above
from digitnet.web import MAX_BODY_BYTES, create_app  # noqa: E402

STATIC = Path(digitnet.__file__).parent / "web" / "static"


@pytest.fixture(scope="module")
def client() -> Any:
    return create_app(digitnet.Network([784, 30, 10], seed=1)).test_client()


def canvas(
    draw_one: bool = True,
    size: tuple[int, int] = (280, 280),
    mode: str = "RGB",
    paper: Any = "white",
) -> Any:
    """A drawing as the page sends it: a black stroke (a "1") on a white canvas."""
    image = Image.new(mode, size, paper)
    if draw_one:
        ImageDraw.Draw(image).line(
            [(size[0] // 2, size[1] // 6), (size[0] // 2, 5 * size[1] // 6)], fill="black", width=20
        )
    return image


def data_url(image: Any, kind: str = "png") -> str:
    buffer = io.BytesIO()
    image.save(buffer, kind.upper())
    return f"data:image/{kind};base64," + base64.b64encode(buffer.getvalue()).decode()


def post(client: Any, body: Any) -> Any:
    return client.post("/api/predict", data=json.dumps(body), content_type="application/json")


# ---- the page -------------------------------------------------------------------------------


def test_the_page_and_its_files_are_served_locally(client: Any) -> None:
    page = client.get("/", buffered=True)
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert '<canvas id="pad"' in html
    assert 'id="clear"' in html
    assert "Content-Security-Policy" in page.headers
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    referenced = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sorted(referenced) == ["/static/app.js", "/static/favicon.svg", "/static/style.css"]
    for path in referenced:
        response = client.get(path, buffered=True)
        assert response.status_code == 200, path
    # Nothing is fetched from anywhere else: no URL with a host in the page's files.
    for file in STATIC.iterdir():
        text = file.read_text()
        if file.suffix == ".svg":
            text = text.replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", text, re.IGNORECASE), file


def test_model_endpoint_gives_the_sizes(client: Any) -> None:
    response = client.get("/api/model")
    assert response.status_code == 200
    assert response.get_json() == {"sizes": [784, 30, 10]}


# ---- good drawings ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "image",
    [
        canvas(),
        canvas(size=(560, 560)),  # a high-density screen's canvas
        canvas(size=(120, 300)),
        canvas(mode="RGBA"),
        canvas(mode="L"),
    ],
    ids=["280", "560", "120x300", "rgba", "grey"],
)
def test_a_drawing_gets_the_digit_and_ten_probabilities(client: Any, image: Any) -> None:
    response = post(client, {"image": data_url(image)})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert list(body) == ["digit", "probabilities", "input"]
    probabilities = body["probabilities"]
    assert len(probabilities) == 10
    assert all(isinstance(p, float) and 0 <= p <= 1 for p in probabilities)
    assert sum(probabilities) == pytest.approx(1.0)
    assert body["digit"] == int(np.argmax(probabilities))
    seen = np.array(body["input"])
    assert seen.shape == (28, 28)
    assert seen.max() == 1.0
    assert seen.min() == 0.0


def test_a_transparent_canvas_is_read_like_a_white_one(client: Any) -> None:
    transparent = canvas(mode="RGBA", paper=(0, 0, 0, 0))
    white = canvas()
    a = post(client, {"image": data_url(transparent)}).get_json()
    b = post(client, {"image": data_url(white)}).get_json()
    assert a == b


def test_the_same_as_preprocess_and_the_network(client: Any) -> None:
    from digitnet.images import preprocess

    net = digitnet.Network([784, 30, 10], seed=1)
    image = canvas()
    outputs = net.feedforward(preprocess(image))
    body = post(client, {"image": data_url(image)}).get_json()
    np.testing.assert_allclose(body["probabilities"], outputs / outputs.sum(), rtol=1e-12)
    np.testing.assert_allclose(body["input"], preprocess(image).reshape(28, 28), atol=5e-4)


# ---- bad requests: always a 4xx with a JSON error, never a crash ----------------------------


def png_header(width: int, height: int) -> bytes:
    ihdr = b"IHDR" + struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    header = struct.pack(">I", 13) + ihdr + struct.pack(">I", zlib.crc32(ihdr))
    end = struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))
    return b"\x89PNG\r\n\x1a\n" + header + end


def b64_url(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


def _truncated() -> str:
    buffer = io.BytesIO()
    canvas().save(buffer, "PNG")
    return b64_url(buffer.getvalue()[:300])


BAD_DRAWINGS = [
    (b64_url(b"hello, world"), 400, "not an image"),
    ("data:image/png;base64,@@not base64@@", 400, "not valid base64"),
    ("data:image/png;base64,aGVsbG8", 400, "not valid base64"),  # missing padding
    ("iVBORw0KGgo=", 400, "expected a data URL"),
    ("data:text/plain;base64,aGVsbG8=", 400, "expected a data URL"),
    ("", 400, "expected a data URL"),
    (_truncated(), 400, "corrupt or truncated"),
    (data_url(canvas(size=(4, 4))), 400, "4x4 pixels; each side must be from 8 to 2048"),
    (data_url(canvas(size=(3000, 10))), 400, "3000x10 pixels"),
    (b64_url(png_header(100_000, 100_000)), 400, "decompression bomb"),
    (b64_url(png_header(3000, 3000)), 400, "decompression bomb"),
    (data_url(canvas(draw_one=False)), 422, "blank"),
    (data_url(Image.new("RGBA", (280, 280), (0, 0, 0, 0))), 422, "blank"),
]


@pytest.mark.parametrize(
    ("image", "status", "message"),
    BAD_DRAWINGS,
    ids=[
        "not-an-image", "bad-base64", "unpadded-base64", "no-data-url", "text-data-url",
        "empty", "truncated-png", "too-small", "too-wide", "bomb", "too-many-pixels",
        "blank", "transparent-blank",
    ],
)  # fmt: skip
def test_bad_drawings(client: Any, image: str, status: int, message: str) -> None:
    response = post(client, {"image": image})
    assert response.status_code == status
    assert response.is_json
    assert message in response.get_json()["error"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{not json", "not valid JSON"),
        ("", "not valid JSON"),
        ("\xff\xfe", "not valid JSON"),
        ("[" * 100_000 + "]" * 100_000, "not valid JSON"),  # nested past the parser's recursion
        ("[1, 2]", "expected a JSON object"),
        ('"data:image/png;base64,"', "expected a JSON object"),
        ("{}", "expected a JSON object"),
        ('{"image": 5}', "expected a JSON object"),
        ('{"image": ["data:image/png;base64,"]}', "expected a JSON object"),
    ],
    ids=["malformed", "empty", "not-utf8", "deep", "array", "string", "no-image", "number",
         "list"],
)  # fmt: skip
def test_bad_json(client: Any, body: str, message: str) -> None:
    response = client.post(
        "/api/predict", data=body.encode("latin-1"), content_type="application/json"
    )
    assert response.status_code == 400
    assert message in response.get_json()["error"]


def test_bodies_that_are_not_json_get_415(client: Any) -> None:
    for kwargs in (
        {"data": "image=1", "content_type": "application/x-www-form-urlencoded"},
        {"data": b"\x89PNG", "content_type": "image/png"},
        {},
    ):
        response = client.post("/api/predict", **kwargs)
        assert response.status_code == 415
        assert "expected a JSON body" in response.get_json()["error"]


def test_huge_bodies_get_413_without_being_read(client: Any) -> None:
    big = json.dumps({"image": "data:image/png;base64," + "A" * MAX_BODY_BYTES})
    response = client.post("/api/predict", data=big, content_type="application/json")
    assert response.status_code == 413
    assert "Request Entity Too Large" in response.get_json()["error"]
    # The same without a Content-Length (a chunked upload): cut off at the limit.
    response = client.post(
        "/api/predict",
        input_stream=io.BytesIO(big.encode()),
        content_type="application/json",
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 413
    assert response.is_json
    # Just under the limit is read (and refused for what it holds, not its size).
    fits = json.dumps({"image": "x" * (MAX_BODY_BYTES - 20)})
    assert len(fits) <= MAX_BODY_BYTES
    assert post(client, json.loads(fits)).status_code == 400


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/api/predict", 405), ("PUT", "/api/predict", 405), ("GET", "/api/nothing", 404),
     ("GET", "/static/../app.py", 404), ("POST", "/", 405)],
)  # fmt: skip
def test_wrong_methods_and_paths_get_json_errors(
    client: Any, method: str, path: str, status: int
) -> None:
    response = client.open(path, method=method)
    assert response.status_code == status
    assert response.is_json
    assert response.get_json()["error"]


def test_networks_not_for_mnist_are_refused() -> None:
    with pytest.raises(ValueError, match="not for MNIST"):
        create_app(digitnet.Network([100, 10]))


# ---- the served command, over real HTTP ------------------------------------------------------


SERVE = (  # Ctrl-C stops it even if started where SIGINT is ignored (a background job)
    "import argparse, signal, sys\n"
    "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
    "from digitnet.commands import serve\n"
    "parser = argparse.ArgumentParser(prog='digitnet')\n"
    "serve.add_parser(parser.add_subparsers())\n"
    "args = parser.parse_args(['serve', *sys.argv[1:]])\n"
    "sys.exit(args.run(args))\n"
)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``digitnet serve`` of an untrained model on a free port, as ``(url, process)``."""
    model = tmp_path / "model.json"
    digitnet.Network([784, 30, 10], seed=1).save(model)
    process = subprocess.Popen(
        [sys.executable, "-u", "-c", SERVE, str(model), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield read_url(process), process
    finally:
        stop(process)


def stop(process: subprocess.Popen[str]) -> tuple[str, str]:
    """Stops the server with Ctrl-C, as a person would; kills it if that fails."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    try:
        return process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise


def fetch(url: str, body: bytes | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"} if body else {}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read()


def test_serve_over_http_and_stop_with_ctrl_c(served: tuple[str, Any]) -> None:
    url, process = served
    assert url.startswith("http://127.0.0.1:")
    status, page = fetch(url)
    assert status == 200
    assert b'<canvas id="pad"' in page
    status, body = fetch(url + "api/predict", json.dumps({"image": data_url(canvas())}).encode())
    assert status == 200
    assert len(json.loads(body)["probabilities"]) == 10
    # Over the app's limit: its JSON 413; far over: the server refuses before reading it all.
    status, body = fetch(url + "api/predict", b"{" + b" " * (2 * MAX_BODY_BYTES) + b"}")
    assert status == 413
    assert "error" in json.loads(body)
    connection = http.client.HTTPConnection(url.split("/")[2], timeout=30)
    try:
        connection.putrequest("POST", "/api/predict")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(1 << 30))
        connection.endheaders(b"{" * 4096)
        assert connection.getresponse().status == 413
    finally:
        connection.close()
    out, err = stop(process)
    assert process.returncode == 0, err
    assert "Stopped." in out
    assert "Traceback" not in err


def test_serve_refuses_a_port_in_use(tmp_path: Path) -> None:
    model = tmp_path / "model.json"
    digitnet.Network([784, 30, 10], seed=1).save(model)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        parser = argparse.ArgumentParser(prog="digitnet")
        serve.add_parser(parser.add_subparsers())
        args = parser.parse_args(["serve", str(model), "--port", str(port)])
        with pytest.raises(digitnet.DigitnetError, match=f"cannot listen on 127.0.0.1 port {port}"):
            args.run(args)


@pytest.mark.parametrize("port", ["-1", "65536", "http"])
def test_serve_refuses_bad_ports(port: str, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="digitnet")
    serve.add_parser(parser.add_subparsers())
    with pytest.raises(SystemExit):
        parser.parse_args(["serve", "model.json", "--port", port])
    assert "--port" in capsys.readouterr().err


def test_serve_without_its_packages_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    model = tmp_path / "model.json"
    digitnet.Network([784, 30, 10], seed=1).save(model)
    for name in [m for m in sys.modules if m == "digitnet.web" or m.startswith("digitnet.web.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "flask", None)  # import flask now fails
    parser = argparse.ArgumentParser(prog="digitnet")
    serve.add_parser(parser.add_subparsers())
    args = parser.parse_args(["serve", str(model)])
    with pytest.raises(digitnet.DigitnetError, match=r"pip install 'digitnet\[serve\]'"):
        args.run(args)
