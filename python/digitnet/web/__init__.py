"""The draw-a-digit web page of ``digitnet serve``: a Flask app that reads digits drawn in the
browser with a trained network (``pip install 'digitnet[serve]'``)."""

from __future__ import annotations

from digitnet.web.app import MAX_BODY_BYTES, MAX_SIDE, MIN_SIDE, create_app

__all__ = ["MAX_BODY_BYTES", "MAX_SIDE", "MIN_SIDE", "create_app"]
