"""The Flask app behind ``digitnet serve``: the page, its static files, and ``POST /api/predict``.

``/api/predict`` takes ``{"image": "data:image/png;base64,..."}`` (the canvas as a data URL),
makes it an MNIST-style input with :func:`digitnet.images.preprocess`, and answers
``{"digit": 3, "probabilities": [10 floats], "input": [28 rows of 28 floats]}``. Every bad request
gets a 4xx status and ``{"error": "..."}``: 400 for a body that is not the expected JSON or an
image that cannot be decoded or has the wrong size, 413 for a body over :data:`MAX_BODY_BYTES`,
415 for a body that is not JSON, 422 for a blank drawing.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

import numpy as np
from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as WerkzeugResponse

from digitnet.datasets.mnist import check_network
from digitnet.errors import ImageError, _RefusedError
from digitnet.images import FIELD, open_image, preprocess, probabilities, read_image
from digitnet.network_api import NetworkAPI

__all__ = ["MAX_BODY_BYTES", "MAX_SIDE", "MIN_SIDE", "create_app"]

#: The largest request body accepted; larger ones get 413. A 280x280 canvas is about 10 kB.
MAX_BODY_BYTES = 1 << 20
#: The smallest and largest side, in pixels, of a drawing.
MIN_SIDE = 8
MAX_SIDE = 2048

_DATA_URL = re.compile(r"data:image/[a-z0-9.+-]+;base64,", re.IGNORECASE)
_SECURITY_HEADERS = {
    # Everything the page uses is served from here: no inline script, no other origin.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def create_app(net: NetworkAPI, *, max_body_bytes: int = MAX_BODY_BYTES) -> Flask:
    """The Flask app serving the draw-a-digit page and reading drawings with ``net``."""
    check_network(net.sizes)
    app = Flask(__name__, static_folder="static", static_url_path="/static")
    app.config["MAX_CONTENT_LENGTH"] = max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]

    @app.get("/")
    def index() -> Response:
        return app.send_static_file("index.html")

    @app.get("/api/model")
    def model() -> Response:
        return jsonify(sizes=net.sizes)

    @app.post("/api/predict")
    def predict() -> tuple[Response, int]:
        try:
            x = _drawing(max_body_bytes)
        except _RefusedError as error:
            return jsonify(error=error.message), error.status
        shares = probabilities(net, x)[0]
        digit = int(np.argmax(shares))
        return jsonify(
            digit=digit,
            probabilities=[float(p) for p in shares],
            input=np.round(x.reshape(FIELD, FIELD), 3).tolist(),
        ), 200

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> WerkzeugResponse:
        response = error.get_response()
        response.set_data(json.dumps({"error": f"{error.name}: {error.description}"}))
        response.content_type = "application/json"
        return response

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers.update(_SECURITY_HEADERS)
        if request.path.startswith("/api/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    return app


def _drawing(max_body_bytes: int) -> np.ndarray[Any, np.dtype[np.float64]]:
    """The MNIST-style input for the drawing in the request's JSON body; raises _RefusedError."""
    if not request.is_json:
        raise _RefusedError(415, "expected a JSON body (Content-Type: application/json)")
    raw = request.get_data(cache=False)  # over max_body_bytes: 413, by the error handler
    if len(raw) > max_body_bytes:
        raise _RefusedError(413, f"the body is larger than {max_body_bytes} bytes")
    try:
        payload = json.loads(raw)
    except (ValueError, RecursionError) as error:
        raise _RefusedError(400, f"the body is not valid JSON ({error})") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("image"), str):
        raise _RefusedError(400, 'expected a JSON object {"image": "data:image/png;base64,..."}')
    url: str = payload["image"]
    prefix = _DATA_URL.match(url)
    if prefix is None:
        raise _RefusedError(400, "image: expected a data URL like data:image/png;base64,...")
    try:
        data = base64.b64decode(url[prefix.end() :], validate=True)
    except (binascii.Error, ValueError):
        raise _RefusedError(400, "image: the data URL's content is not valid base64") from None
    try:
        with open_image(data, max_pixels=MAX_SIDE * MAX_SIDE) as image:
            width, height = image.size
            if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
                raise _RefusedError(
                    400,
                    f"the image is {width}x{height} pixels; "
                    f"each side must be from {MIN_SIDE} to {MAX_SIDE}",
                )
            grey = read_image(image)
    except ImageError as error:
        raise _RefusedError(400, str(error)) from None
    try:
        return preprocess(grey)
    except ImageError:
        raise _RefusedError(422, "the drawing is blank: draw a digit") from None
