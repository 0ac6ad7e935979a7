"""ONNX export: the network as an ONNX graph that onnxruntime (or any ONNX runtime) can run.

Each layer is a ``Gemm`` (``z = a·Wᵀ + b``, with ``W`` in network.py's shape ``(n_out, n_in)``)
followed by its activation: ``Tanh``, ``Relu``, ``Softmax`` over the outputs, or the sigmoid
as ``Reciprocal(Add(Exp(Neg(z)), 1))``, since onnxruntime's ``Sigmoid`` kernel is inaccurate
for negative inputs.
The input ``input`` has shape ``(batch, sizes[0])`` with a dynamic batch dimension; the output
``activations`` has shape ``(batch, sizes[-1])``, and the optional second output ``digit``
(``ArgMax`` over the outputs, int64) the predicted class of each row. The graph computes in the
model's dtype (``float64`` → ONNX ``double``, ``float32`` → ``float``), uses opset
:data:`OPSET` of the default domain and IR version :data:`IR_VERSION`, and passes
``onnx.checker`` before it is returned.
"""

from __future__ import annotations

import json

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from digitnet.formats.description import ModelDescription

#: The file name extension of ONNX models.
SUFFIX = ".onnx"
#: The operator set the graph uses: opset 17 (2022) runs on onnxruntime 1.13 and later, web and
#: mobile builds included.
OPSET = 17
#: The ONNX IR version of the file: 8, the lowest that carries opset 17.
IR_VERSION = 8

#: The activations that are one ONNX operator of the same name; sigmoid and softmax are built
#: in :func:`_activation`.
_UNARY = {"tanh": "Tanh", "relu": "Relu", "identity": "Identity", "exp": "Exp"}
_ELEMENT_TYPES = {"float64": TensorProto.DOUBLE, "float32": TensorProto.FLOAT}


def encode(model: ModelDescription, *, digit: bool = True) -> bytes:
    """The ONNX file of ``model``; with ``digit``, the graph also outputs each row's ArgMax."""
    unknown = [a for a in model.activations if a not in ("sigmoid", "softmax", *_UNARY)]
    if unknown:
        raise ValueError(f"activation {unknown[0]!r} has no ONNX operator here")
    element = _ELEMENT_TYPES[model.dtype]
    nodes = []
    initializers = []
    current = "input"
    last = len(model.activations) - 1
    for layer, (w, b, activation) in enumerate(
        zip(model.weights, model.biases, model.activations, strict=True)
    ):
        weight, bias = f"layers.{layer}.weight", f"layers.{layer}.bias"
        initializers.append(numpy_helper.from_array(np.asarray(w, dtype=model.dtype), weight))
        initializers.append(
            numpy_helper.from_array(np.asarray(b, dtype=model.dtype).reshape(-1), bias)
        )
        z = f"layers.{layer}.z"
        nodes.append(
            helper.make_node(
                "Gemm", [current, weight, bias], [z], name=f"layers.{layer}.gemm", transB=1
            )
        )
        current = "activations" if layer == last else f"layers.{layer}.a"
        nodes.extend(_activation(activation, z, current, f"layers.{layer}.{activation}"))
    if "sigmoid" in model.activations:
        initializers.append(numpy_helper.from_array(np.array(1, dtype=model.dtype), "one"))
    outputs = [helper.make_tensor_value_info("activations", element, ["batch", model.sizes[-1]])]
    if digit:
        nodes.append(
            helper.make_node("ArgMax", ["activations"], ["digit"], name="digit", axis=1, keepdims=0)
        )
        outputs.append(helper.make_tensor_value_info("digit", TensorProto.INT64, ["batch"]))
    graph = helper.make_graph(
        nodes,
        "digitnet",
        [helper.make_tensor_value_info("input", element, ["batch", model.sizes[0]])],
        outputs,
        initializers,
    )
    proto = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
        producer_name="digitnet",
        doc_string=f"digitnet network {model.sizes}: {', '.join(model.activations)}",
    )
    helper.set_model_props(
        proto,
        {
            "sizes": json.dumps(model.sizes),
            "activations": json.dumps(model.activations),
            "cost": model.cost,
        },
    )
    onnx.checker.check_model(proto, full_check=True)
    content: bytes = proto.SerializeToString()
    return content


def _activation(name: str, z: str, out: str, node: str) -> list[onnx.NodeProto]:
    """The nodes computing activation ``name`` of ``z`` into ``out``."""
    if name == "softmax":
        return [helper.make_node("Softmax", [z], [out], name=node, axis=1)]
    if name != "sigmoid":
        return [helper.make_node(_UNARY[name], [z], [out], name=node)]
    # onnxruntime's Sigmoid kernel loses relative accuracy for negative inputs (float64: 1e-3 at
    # z = -30, 0 below -37; float32: 0 below -18), which are most outputs of a trained network;
    # 1 / (1 + exp(-z)), the book's formula, is accurate to a few ulps in both dtypes.
    return [
        helper.make_node("Neg", [z], [f"{node}.neg"], name=f"{node}.neg"),
        helper.make_node("Exp", [f"{node}.neg"], [f"{node}.exp"], name=f"{node}.exp"),
        helper.make_node("Add", [f"{node}.exp", "one"], [f"{node}.add"], name=f"{node}.add"),
        helper.make_node("Reciprocal", [f"{node}.add"], [out], name=f"{node}.reciprocal"),
    ]


__all__ = ["IR_VERSION", "OPSET", "SUFFIX", "encode"]
