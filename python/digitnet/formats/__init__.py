"""Model file formats beyond network2.py's JSON: each module converts between a file's bytes and a
:class:`~digitnet.formats.description.ModelDescription` and knows nothing of the classes above.

``safetensors`` is read and written (``net.save("model.safetensors")``); ``onnx`` is written
only (``net.to_onnx("model.onnx")``), for runtimes such as onnxruntime.
"""

from __future__ import annotations

__all__: list[str] = []
