"""The ONNX patterns converters other than torch.onnx write (tf2onnx from Keras, jax2onnx from Flax, paddle2onnx):
each, built as a small model with onnx.helper, imports, prunes exactly and is written back.

Every pattern is built twice: weights as initializers, and as `Constant` nodes (Keras and Paddle exports), and
always with a dynamic batch (dim_param "N" or tf2onnx's "unk__123"); once more with a static batch. For each:

- the import computes what the file computes: the fx GraphModule and the emitted (unpruned) ONNX file against
  onnxruntime on the original, at the session's batch and at batch 1;
- the channel analysis finds the groups the pattern has: the exact ones (sizes), the inexact ones (size and the
  kinds of reason: a LayerNorm's statistics over channels), and no group frozen by anything but the model's
  input and output (NHWC transposes, Tensordot reshapes, Clip bounds must not freeze conv or dense channels);
- the pruning oracle (tests/unit/oracle.py, test_onnx_prune_oracle.OnnxSession): random criterion at ratios 0.3
  and 0.5 with only_exact, the emitted ONNX against the masked original in onnxruntime within 1e-4; then every
  group pruned (inexact ones too), which must still run.

`python tests/unit/test_onnx_patterns.py NAME OUT.onnx` writes one pattern's file (initializers, batch "N"): the
lit tests in tests/lit/onnx-patterns/ hold such files imported by `spa-translate --import-onnx`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper
from oracle import TOLERANCE, clone_program
from test_onnx_prune_oracle import OnnxSession, run_onnx
from zoo import flat_outputs, max_relative_error

from spa.passes.form_groups import FormGroups
from spa.passes.propagate_channels import PropagateChannels
from spa_ir import api
from spa_ir.backends.export import save_onnx
from spa_ir.channels.annotations import group_ops, reasons
from spa_ir.core.ir import main_function
from spa_ir.verify import masked_onnx

BOUNDARY = frozenset({"model input", "model output"})
"""The reasons a group of these patterns may be frozen for (and each pattern's `frozen`)."""


# -- building the patterns ------------------------------------------------------------------------------


class Graph:
    """A small ONNX graph under construction: weights become initializers, or `Constant` nodes (`constants`);
    integer tensors (shapes, axes, indices) follow the same choice, as converters do."""

    def __init__(self, constants: bool, opset: int = 17, seed: int = 0):
        self.constants, self.opset = constants, opset
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.count = 0

    def fresh(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}_{self.count}"

    def tensor(self, name: str, value: np.ndarray) -> str:
        """A named constant; in Constant-node form 1-D floats use `value_floats` (as tf2onnx writes biases; the
        attribute exists from opset 12)."""
        if not self.constants:
            self.initializers.append(numpy_helper.from_array(value, name))
        elif value.ndim == 1 and value.dtype == np.float32 and value.size > 1 and self.opset >= 12:
            self.nodes.append(helper.make_node("Constant", [], [name], name=f"{name}/const", value_floats=list(value)))
        else:
            value_proto = numpy_helper.from_array(value, name)
            self.nodes.append(helper.make_node("Constant", [], [name], name=f"{name}/const", value=value_proto))
        return name

    def weight(self, name: str, shape: tuple[int, ...], scale: float = 0.3, offset: float = 0.0) -> str:
        return self.tensor(name, (offset + scale * self.rng.standard_normal(shape)).astype(np.float32))

    def scalar(self, value: float) -> str:
        return self.tensor(self.fresh("k"), np.asarray(value, dtype=np.float32))

    def ints(self, values: int | list[int]) -> str:
        return self.tensor(self.fresh("i"), np.asarray(values, dtype=np.int64))

    def op(self, op_type: str, *inputs: str, **attrs: Any) -> str:
        name = self.fresh(op_type)
        self.nodes.append(helper.make_node(op_type, list(inputs), [name], name=name, **attrs))
        return name

    def model(self, input_shape: list[int | str], output: str) -> onnx.ModelProto:
        """The graph with input `x` and the one output, its type from shape inference (checked in full)."""
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, input_shape)
        y = onnx.ValueInfoProto(name=output)
        y.type.tensor_type.elem_type = TensorProto.FLOAT
        graph = helper.make_graph(self.nodes, "pattern", [x], [y], self.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)], ir_version=8)
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
        model.graph.output[0].CopyFrom(inferred.graph.output[0])
        onnx.checker.check_model(model, full_check=True)
        return model

    # layers, as the converters spell them

    def conv(self, x: str, cin: int, cout: int, name: str, k: int = 3, bias: bool = True) -> str:
        inputs = [x, self.weight(f"{name}.weight", (cout, cin, k, k))]
        if bias:
            inputs.append(self.weight(f"{name}.bias", (cout,), 0.1))
        return self.op("Conv", *inputs, kernel_shape=[k, k], pads=[k // 2] * 4)

    def batch_norm(self, x: str, c: int, name: str) -> str:
        variance = self.tensor(f"{name}.var", (0.5 + self.rng.random(c)).astype(np.float32))
        params = [self.weight(f"{name}.scale", (c,), 0.2, 1.0), self.weight(f"{name}.bias", (c,), 0.1)]
        return self.op("BatchNormalization", x, *params, self.weight(f"{name}.mean", (c,), 0.1), variance, epsilon=1e-3)

    def dense(self, x: str, cin: int, cout: int, name: str) -> str:
        """Keras Dense / Paddle Linear: MatMul with an [in, out] weight, then Add of the bias."""
        return self.op(
            "Add",
            self.op("MatMul", x, self.weight(f"{name}.kernel", (cin, cout))),
            self.weight(f"{name}.bias", (cout,), 0.1),
        )

    def batch_of(self, x: str) -> str:
        """Shape(x)[0] as a 1-D tensor: Shape -> Gather(0) -> Unsqueeze (the exporters' dynamic batch)."""
        return self.op("Unsqueeze", self.op("Gather", self.op("Shape", x), self.ints(0), axis=0), self.ints([0]))

    def to_nchw(self, x: str) -> str:
        return self.op("Transpose", x, perm=[0, 3, 1, 2])

    def to_nhwc(self, x: str) -> str:
        return self.op("Transpose", x, perm=[0, 2, 3, 1])

    def reduce_mean(self, x: str, axes: list[int], keepdims: int = 1) -> str:
        """ReduceMean: axes as an attribute, as an input from opset 18."""
        if self.opset >= 18:
            return self.op("ReduceMean", x, self.ints(axes), keepdims=keepdims)
        return self.op("ReduceMean", x, axes=axes, keepdims=keepdims)

    def axes_op(self, op_type: str, x: str, axes: list[int]) -> str:
        """Squeeze / Unsqueeze: axes as an attribute until opset 12, as an input from 13."""
        return self.op(op_type, x, self.ints(axes)) if self.opset >= 13 else self.op(op_type, x, axes=axes)


Built = tuple[onnx.ModelProto, list[int]]
"""A pattern's model and its input shape without the batch."""


# 1. NHWC <-> NCHW transposes around convs (tf2onnx)


def nhwc_conv_bn(g: Graph, batch: int | str) -> Built:
    """Conv -> BN -> Relu between NHWC transposes, a per-channel Mul/Add in NHWC, a residual add in NHWC."""
    h = g.op("Relu", g.batch_norm(g.conv(g.to_nchw("x"), 3, 8, "c1", bias=False), 8, "bn"))
    h = g.to_nhwc(h)
    h = g.op("Add", g.op("Mul", h, g.weight("scale", (8,), 0.2, 1.0)), g.weight("shift", (8,), 0.1))
    t = g.op("Relu", g.conv(g.to_nchw(h), 8, 6, "c2a"))
    h = g.op("Add", g.to_nhwc(g.conv(t, 6, 8, "c2b")), h)
    return g.model([batch, 8, 8, 3], g.conv(g.to_nchw(h), 8, 4, "c3")), [8, 8, 3]


def keras_cnn(g: Graph, batch: int | str) -> Built:
    """A Keras CNN: HWIO filters transposed in the graph, SAME padding as a Pad, a folded BN as [1, 1, 1, C]
    Mul/Add in NHWC, GlobalAveragePooling as ReduceMean over H, W, and Flatten in NHWC order."""
    w = g.op("Transpose", g.weight("c1.hwio", (3, 3, 3, 8)), perm=[3, 2, 0, 1])
    x = g.op("Pad", g.to_nchw("x"), g.ints([0, 0, 1, 1, 0, 0, 1, 1]))
    h = g.to_nhwc(g.op("Conv", x, w, g.weight("c1.bias", (8,), 0.1), kernel_shape=[3, 3], strides=[2, 2]))
    h = g.op("Mul", h, g.weight("bn.mul", (1, 1, 1, 8), 0.2, 1.0))
    h = g.op("Relu", g.op("Add", h, g.weight("bn.add", (1, 1, 1, 8), 0.1)))  # [N, 4, 4, 8]
    pooled = g.reduce_mean(h, [1, 2], keepdims=0)
    flat = g.op("Reshape", h, g.op("Concat", g.batch_of(h), g.ints([-1]), axis=0))
    a, b = g.op("Relu", g.dense(flat, 128, 16, "d1")), g.op("Relu", g.dense(pooled, 8, 16, "d2"))
    return g.model([batch, 8, 8, 3], g.dense(g.op("Add", a, b), 16, 4, "d3")), [8, 8, 3]


def keras_mobile(g: Graph, batch: int | str) -> Built:
    """MobileNet in Keras: ReLU6 as Clip(x, 0, 6), a depthwise conv (group = C) with an HWIO filter, a Dense on
    the 4-D NHWC map (MatMul over the last dim), transposes back and forth, Reshape to [0, -1]."""
    h = g.to_nhwc(g.op("Clip", g.conv(g.to_nchw("x"), 3, 8, "c1"), g.scalar(0.0), g.scalar(6.0)))
    w = g.op("Transpose", g.weight("dw.hwio", (3, 3, 1, 8)), perm=[3, 2, 0, 1])
    h = g.op("Conv", g.to_nchw(h), w, g.weight("dw.bias", (8,), 0.1), kernel_shape=[3, 3], pads=[1] * 4, group=8)
    h = g.to_nhwc(g.op("Clip", h, g.scalar(0.0), g.scalar(6.0)))
    h = g.op("Relu", g.dense(h, 8, 12, "pw"))  # [N, 8, 8, 12]
    h = g.to_nhwc(g.op("MaxPool", g.to_nchw(h), kernel_shape=[2, 2], strides=[2, 2]))
    h = g.op("Reshape", h, g.ints([0, -1]))
    return g.model([batch, 8, 8, 3], g.dense(h, 192, 4, "head")), [8, 8, 3]


def keras_conv1d(g: Graph, batch: int | str) -> Built:
    """Keras Conv1D: [N, L, C] -> Unsqueeze -> NCHW -> Conv (1 x k, HWIO filter) -> NHWC -> Squeeze."""

    def conv1d(x: str, cin: int, cout: int, name: str) -> str:
        w = g.op("Transpose", g.weight(f"{name}.hwio", (1, 3, cin, cout)), perm=[3, 2, 0, 1])
        h = g.to_nchw(g.axes_op("Unsqueeze", x, [1]))
        h = g.op("Conv", h, w, g.weight(f"{name}.bias", (cout,), 0.1), kernel_shape=[1, 3], pads=[0, 1, 0, 1])
        return g.axes_op("Squeeze", g.to_nhwc(h), [1])

    h = g.op("Relu", conv1d(g.op("Relu", conv1d("x", 6, 16, "c1")), 16, 12, "c2"))
    return g.model([batch, 10, 6], g.dense(h, 12, 4, "d")), [10, 6]


def keras_se(g: Graph, batch: int | str) -> Built:
    """MobileNetV3's squeeze-excite in NHWC: swish as x * Sigmoid(x), ReduceMean over H, W keeping dims, Dense
    layers as rank-4 MatMuls, HardSigmoid gate times the map; a Reshape to [batch, 64, 8] read from Shape."""
    h = g.conv(g.to_nchw("x"), 3, 8, "c1")
    h = g.to_nhwc(g.op("Mul", h, g.op("Sigmoid", h)))
    s = g.op("Relu", g.dense(g.reduce_mean(h, [1, 2]), 8, 4, "se1"))
    h = g.op("Mul", h, g.op("HardSigmoid", g.dense(s, 4, 8, "se2"), alpha=0.2, beta=0.5))
    h = g.op("Reshape", h, g.op("Concat", g.batch_of(h), g.ints([64, 8]), axis=0))
    return g.model([batch, 8, 8, 3], g.dense(g.op("Relu", g.dense(h, 8, 6, "d1")), 6, 4, "d2")), [8, 8, 3]


def keras_dense_to_map(g: Graph, batch: int | str) -> Built:
    """A Dense whose 128 outputs a Keras Reshape makes a [4, 4, 8] NHWC map for a conv (a decoder's stem): only
    the channel factor of the Dense's outputs is prunable, the spatial ones are under the conv's window."""
    h = g.op("Relu", g.dense("x", 16, 128, "d1"))
    h = g.op("Reshape", h, g.op("Concat", g.batch_of(h), g.ints([4, 4, 8]), axis=0))
    h = g.op("Relu", g.conv(g.to_nchw(h), 8, 6, "c1"))
    return g.model([batch, 16], g.dense(g.axes_op("Squeeze", g.op("GlobalAveragePool", h), [2, 3]), 6, 4, "d2")), [16]


# 2. MatMul with pre-transposed weights, Tensordot, Gemm


def matmul_2d(g: Graph, batch: int | str) -> Built:
    """x @ W[in, out] + b (Keras Dense, Paddle Linear)."""
    return g.model([batch, 16], g.dense(g.op("Relu", g.dense("x", 16, 32, "d1")), 32, 8, "d2")), [16]


def matmul_3d(g: Graph, batch: int | str) -> Built:
    """Dense over [batch, seq, dim]: MatMul of a rank-3 input."""
    return g.model([batch, 5, 16], g.dense(g.op("Relu", g.dense("x", 16, 32, "d1")), 32, 8, "d2")), [5, 16]


def matmul_transposed(g: Graph, batch: int | str) -> Built:
    """x @ Transpose(W[out, in]): the weight transposed in the graph (unfolded exports)."""
    h = g.op("MatMul", "x", g.op("Transpose", g.weight("d1.weight", (32, 16)), perm=[1, 0]))
    h = g.op("Relu", g.op("Add", h, g.weight("d1.bias", (32,), 0.1)))
    return g.model([batch, 5, 16], g.op("MatMul", h, g.op("Transpose", g.weight("d2.weight", (8, 32)), perm=[1, 0]))), [
        5,
        16,
    ]


def tensordot_slice(g: Graph, batch: int | str) -> Built:
    """Keras Dense on a sequence as Tensordot: Reshape to [-1, in], MatMul, Reshape back to
    Concat(Shape(x)[0:2], [out])."""

    def tensordot(x: str, cin: int, cout: int, name: str) -> str:
        lead = g.op("Slice", g.op("Shape", x), g.ints([0]), g.ints([2]), g.ints([0]))
        flat = g.op("MatMul", g.op("Reshape", x, g.ints([-1, cin])), g.weight(f"{name}.kernel", (cin, cout)))
        back = g.op("Reshape", flat, g.op("Concat", lead, g.ints([cout]), axis=0))
        return g.op("Add", back, g.weight(f"{name}.bias", (cout,), 0.1))

    return g.model([batch, 5, 16], tensordot(g.op("Relu", tensordot("x", 16, 32, "d1")), 32, 8, "d2")), [5, 16]


def tensordot_prod(g: Graph, batch: int | str) -> Built:
    """tf2onnx's Tensordot with the rows computed at run time: Reshape to Concat(ReduceProd(Gather(Shape(x),
    [0, 1])), [in]), MatMul, Reshape to Concat(Gather(Shape(x), [0, 1]), [out])."""

    def tensordot(x: str, cin: int, cout: int, name: str) -> str:
        free = g.op("Gather", g.op("Shape", x), g.ints([0, 1]), axis=0)
        rows = g.op("ReduceProd", free, keepdims=1)
        flat = g.op("Reshape", x, g.op("Concat", rows, g.ints([cin]), axis=0))
        out = g.op("MatMul", flat, g.weight(f"{name}.kernel", (cin, cout)))
        back = g.op("Reshape", out, g.op("Concat", free, g.ints([cout]), axis=0))
        return g.op("Add", back, g.weight(f"{name}.bias", (cout,), 0.1))

    h = g.op("Relu", tensordot(g.op("Relu", tensordot("x", 16, 32, "d1")), 32, 24, "d2"))
    return g.model([batch, 5, 16], tensordot(h, 24, 8, "d3")), [5, 16]


def gemm(g: Graph, batch: int | str) -> Built:
    """Gemm with every (transA, transB), alpha and beta != 1 (and beta = 0), C as [out] and as [1, out]."""
    h = g.op("Gemm", "x", g.weight("g1.w", (32, 16)), g.weight("g1.c", (32,), 0.1), transB=1, alpha=0.5, beta=2.0)
    h = g.op("Gemm", g.op("Relu", h), g.weight("g2.w", (32, 24)), g.weight("g2.c", (1, 24), 0.1), alpha=1.5, beta=0.5)
    h = g.op("Transpose", g.op("Relu", h), perm=[1, 0])
    h = g.op("Gemm", h, g.weight("g3.w", (20, 24)), g.weight("g3.c", (1, 20), 0.1), transA=1, transB=1)
    h = g.op("Transpose", g.op("Relu", h), perm=[1, 0])
    return g.model(
        [batch, 16], g.op("Gemm", h, g.weight("g4.w", (20, 8)), g.weight("g4.c", (8,), 0.1), transA=1, beta=0.0)
    ), [16]


def einsum(g: Graph, batch: int | str) -> Built:
    """jax2onnx's dot_general as Einsum: Flax Dense with an ellipsis, DenseGeneral into heads and out of them."""
    h = g.op("Einsum", "x", g.weight("d1.kernel", (16, 32)), equation="...i,ij->...j")
    h = g.op("Relu", g.op("Add", h, g.weight("d1.bias", (32,), 0.1)))
    h = g.op("Relu", g.op("Einsum", h, g.weight("qkv.kernel", (32, 2, 6)), equation="bld,dhk->blhk"))
    return g.model([batch, 5, 16], g.op("Einsum", h, g.weight("o.kernel", (2, 6, 8)), equation="...hk,hkd->...d")), [
        5,
        16,
    ]


# 3. LayerNorm and GELU decomposed; LayerNormalization


def layer_norm_decomposed(g: Graph, x: str, c: int, square: str, divide: str) -> str:
    """ReduceMean -> Sub -> Pow(2) or Mul(self) -> ReduceMean -> Add eps -> Sqrt -> Div, or Reciprocal + Mul ->
    Mul gamma -> Add beta."""
    d = g.op("Sub", x, g.reduce_mean(x, [-1]))
    var = g.reduce_mean(g.op("Pow", d, g.scalar(2.0)) if square == "pow" else g.op("Mul", d, d), [-1])
    std = g.op("Sqrt", g.op("Add", var, g.scalar(1e-5)))
    n = g.op("Div", d, std) if divide == "div" else g.op("Mul", d, g.op("Reciprocal", std))
    return g.op("Add", g.op("Mul", n, g.weight("ln.gamma", (c,), 0.2, 1.0)), g.weight("ln.beta", (c,), 0.1))


def _around_norm(g: Graph, batch: int | str, norm: Callable[[str], str]) -> Built:
    """Dense 16 -> 32, the normalization over the 32, Dense 32 -> 24, Relu, Dense 24 -> 8."""
    h = g.op("Relu", g.dense(norm(g.dense("x", 16, 32, "d1")), 32, 24, "d2"))
    return g.model([batch, 5, 16], g.dense(h, 24, 8, "d3")), [5, 16]


def layer_norm_pow_div(g: Graph, batch: int | str) -> Built:
    """Opset 13: ReduceMean's axes an attribute; Pow(2) and Div."""
    return _around_norm(g, batch, lambda x: layer_norm_decomposed(g, x, 32, "pow", "div"))


def layer_norm_mul_reciprocal(g: Graph, batch: int | str) -> Built:
    """Opset 18: ReduceMean's axes an input; Mul(self) and Reciprocal + Mul."""
    return _around_norm(g, batch, lambda x: layer_norm_decomposed(g, x, 32, "mul", "reciprocal"))


def layer_norm_fused(g: Graph, batch: int | str) -> Built:
    """tf2onnx's folded form: x * (gamma * rstd) + (beta - mean * gamma * rstd)."""

    def norm(x: str) -> str:
        mean = g.reduce_mean(x, [-1])
        d = g.op("Sub", x, mean)
        rstd = g.op("Reciprocal", g.op("Sqrt", g.op("Add", g.reduce_mean(g.op("Mul", d, d), [-1]), g.scalar(1e-3))))
        scale = g.op("Mul", rstd, g.weight("ln.gamma", (32,), 0.2, 1.0))
        return g.op(
            "Add", g.op("Mul", x, scale), g.op("Sub", g.weight("ln.beta", (32,), 0.1), g.op("Mul", mean, scale))
        )

    return _around_norm(g, batch, norm)


def layer_norm_op(g: Graph, batch: int | str) -> Built:
    """LayerNormalization as one op (opset 17)."""

    def norm(x: str) -> str:
        gamma, beta = g.weight("ln.gamma", (32,), 0.2, 1.0), g.weight("ln.beta", (32,), 0.1)
        return g.op("LayerNormalization", x, gamma, beta, axis=-1, epsilon=1e-5)

    return _around_norm(g, batch, norm)


def gelu_erf(g: Graph, batch: int | str) -> Built:
    """x * 0.5 * (1 + Erf(x / sqrt(2)))."""
    h = g.dense("x", 16, 32, "d1")
    erf = g.op("Erf", g.op("Div", h, g.scalar(float(np.sqrt(2.0)))))
    h = g.op("Mul", g.op("Mul", h, g.scalar(0.5)), g.op("Add", erf, g.scalar(1.0)))
    return g.model([batch, 5, 16], g.dense(h, 32, 8, "d2")), [5, 16]


def gelu_tanh(g: Graph, batch: int | str) -> Built:
    """x * 0.5 * (1 + Tanh(sqrt(2 / pi) * (x + 0.044715 * x^3)))."""
    h = g.dense("x", 16, 32, "d1")
    inner = g.op("Add", h, g.op("Mul", g.op("Pow", h, g.scalar(3.0)), g.scalar(0.044715)))
    t = g.op("Tanh", g.op("Mul", inner, g.scalar(float(np.sqrt(2 / np.pi)))))
    h = g.op("Mul", g.op("Mul", h, g.scalar(0.5)), g.op("Add", t, g.scalar(1.0)))
    return g.model([batch, 5, 16], g.dense(h, 32, 8, "d2")), [5, 16]


def gelu_op(g: Graph, batch: int | str) -> Built:
    """The Gelu op (opset 20), exact and tanh-approximated."""
    h = g.op("Gelu", g.dense("x", 16, 32, "d1"), approximate="tanh")
    h = g.op("Gelu", g.dense(h, 32, 24, "d2"))
    return g.model([batch, 5, 16], g.dense(h, 24, 8, "d3")), [5, 16]


# 4. hard-swish and the hard-sigmoid squeeze-excite gate; PRelu


def _hard_swish_net(g: Graph, batch: int | str, hard_swish: Callable[[str], str]) -> Built:
    """Conv -> hard-swish -> SE gate (GlobalAveragePool -> Conv -> Relu -> Conv -> HardSigmoid -> Mul) -> Conv."""
    h = hard_swish(g.conv("x", 3, 8, "c1"))
    s = g.op("Relu", g.conv(g.op("GlobalAveragePool", h), 8, 4, "se1", k=1))
    h = g.op("Mul", h, g.op("HardSigmoid", g.conv(s, 4, 8, "se2", k=1), alpha=1 / 6, beta=0.5))
    return g.model([batch, 3, 8, 8], g.conv(h, 8, 4, "c2")), [3, 8, 8]


def hard_swish_hard_sigmoid(g: Graph, batch: int | str) -> Built:
    """x * HardSigmoid(x)."""
    return _hard_swish_net(g, batch, lambda x: g.op("Mul", x, g.op("HardSigmoid", x, alpha=1 / 6, beta=0.5)))


def hard_swish_op(g: Graph, batch: int | str) -> Built:
    """The HardSwish op (opset 14)."""
    return _hard_swish_net(g, batch, lambda x: g.op("HardSwish", x))


def _clip_hard_swish(g: Graph, x: str) -> str:
    """x * Clip(x + 3, 0, 6) / 6, Clip's bounds as inputs (opset 11+) or attributes (opset 6 to 10)."""
    shifted = g.op("Add", x, g.scalar(3.0))
    bounds = [g.scalar(0.0), g.scalar(6.0)] if g.opset >= 11 else []
    clipped = g.op("Clip", shifted, *bounds) if bounds else g.op("Clip", shifted, min=0.0, max=6.0)
    return g.op("Div", g.op("Mul", x, clipped), g.scalar(6.0))


def hard_swish_clip_inputs(g: Graph, batch: int | str) -> Built:
    return _hard_swish_net(g, batch, lambda x: _clip_hard_swish(g, x))


def hard_swish_clip_attributes(g: Graph, batch: int | str) -> Built:
    return _hard_swish_net(g, batch, lambda x: _clip_hard_swish(g, x))


def prelu_slopes(g: Graph, batch: int | str) -> Built:
    """PRelu slopes broadcast from the right: Keras's [1, 1, C] in NHWC, torch.onnx's [C, 1, 1] in NCHW, and a
    [C] slope on a [batch, positions, C] sequence (the last dim, where PyTorch's prelu would read dim 1)."""
    h = g.to_nhwc(g.conv(g.to_nchw("x"), 3, 8, "c1"))
    h = g.to_nchw(g.op("PRelu", h, g.weight("p1.alpha", (1, 1, 8), 0.1, 0.2)))
    h = g.op("PRelu", g.conv(h, 8, 6, "c2"), g.weight("p2.alpha", (6, 1, 1), 0.1, 0.2))
    h = g.op("Reshape", h, g.op("Concat", g.batch_of(h), g.ints([6, 64]), axis=0))
    h = g.op("PRelu", g.op("Transpose", h, perm=[0, 2, 1]), g.weight("p3.alpha", (6,), 0.1, 0.2))  # [N, 64, 6]
    return g.model([batch, 8, 8, 3], g.dense(h, 6, 4, "d")), [8, 8, 3]


def merge_activations(g: Graph, batch: int | str) -> Built:
    """Keras merge layers and activations: Add of three as Sum, Maximum as Max, ReLU with a threshold as a Clip
    with only its min, LeakyRelu, Softplus, Elu."""
    h = g.op("Relu", g.conv("x", 3, 8, "c1"))
    a = g.op("Clip", g.conv(h, 8, 8, "ca"), g.scalar(0.0))
    b = g.op("Softplus", g.conv(h, 8, 8, "cb"))
    c = g.op("LeakyRelu", g.conv(h, 8, 8, "cc"), alpha=0.1)
    h = g.op("Max", g.op("Sum", a, b, c), g.op("Elu", g.conv(h, 8, 8, "cd")))
    return g.model([batch, 3, 8, 8], g.conv(h, 8, 4, "c2")), [3, 8, 8]


# 5. Shape -> Gather -> Concat -> Reshape, Squeeze / Unsqueeze, Identity, Cast, Flatten


def flatten_shape_chain(g: Graph, batch: int | str) -> Built:
    """Flatten with a dynamic batch: Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), [-1]))."""
    h = g.op("MaxPool", g.op("Relu", g.conv("x", 3, 8, "c1")), kernel_shape=[2, 2], strides=[2, 2])
    h = g.op("Reshape", h, g.op("Concat", g.batch_of(h), g.ints([-1]), axis=0))
    return g.model([batch, 3, 8, 8], g.dense(g.op("Relu", g.dense(h, 128, 16, "d1")), 16, 4, "d2")), [3, 8, 8]


def squeeze_unsqueeze(g: Graph, batch: int | str) -> Built:
    """Squeeze / Unsqueeze between a conv, a dense and a 1x1 conv, then Flatten."""
    h = g.axes_op("Squeeze", g.op("GlobalAveragePool", g.op("Relu", g.conv("x", 3, 8, "c1"))), [2, 3])  # [N, 8]
    h = g.axes_op("Unsqueeze", g.op("Relu", g.dense(h, 8, 16, "d1")), [2, 3])  # [N, 16, 1, 1]
    h = g.axes_op("Squeeze", g.op("Relu", g.conv(h, 16, 12, "c2", k=1)), [3])  # [N, 12, 1]
    h = g.op("Flatten", g.axes_op("Unsqueeze", h, [1]), axis=1)  # [N, 1, 12, 1] -> [N, 12]
    return g.model([batch, 3, 8, 8], g.dense(h, 12, 4, "d2")), [3, 8, 8]


def identity_cast(g: Graph, batch: int | str) -> Built:
    """Identity and float -> float Cast inside a conv chain; the flatten target read as int32 (tf2onnx) and
    cast back to int64; Unsqueeze + Flatten after the dense."""
    h = g.op("Relu", g.op("Cast", g.op("Identity", g.conv("x", 3, 8, "c1")), to=TensorProto.FLOAT))
    h = g.op("Identity", g.conv(h, 8, 6, "c2"))
    shape = g.op("Cast", g.op("Shape", h), to=TensorProto.INT32)
    lead = g.op("Slice", shape, g.ints([0]), g.ints([1]), g.ints([0]))
    target = g.op("Concat", lead, g.tensor(g.fresh("minus1"), np.asarray([-1], np.int32)), axis=0)
    h = g.op("Reshape", g.op("Relu", h), g.op("Cast", target, to=TensorProto.INT64))  # [N, 384]
    h = g.op("Cast", g.op("Relu", g.dense(h, 384, 16, "d1")), to=TensorProto.FLOAT)
    h = g.op("Flatten", g.op("Unsqueeze", h, g.ints([2])), axis=1)
    return g.model([batch, 3, 8, 8], g.dense(h, 16, 4, "d2")), [3, 8, 8]


def expand_gate(g: Graph, batch: int | str) -> Built:
    """A sigmoid gate broadcast to the map by Expand(gate, Shape(map)) (`expand_as`, tf.broadcast_to): the
    target holds the dynamic batch."""
    h = g.op("Relu", g.conv("x", 3, 8, "c1"))
    gate = g.op("Sigmoid", g.conv(g.op("GlobalAveragePool", h), 8, 8, "se", k=1))
    h = g.op("Mul", h, g.op("Expand", gate, g.op("Shape", h)))
    return g.model([batch, 3, 8, 8], g.conv(h, 8, 4, "c2")), [3, 8, 8]


# -- what each pattern must give ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Pattern:
    build: Callable[[Graph, int | str], Built]
    exact: list[int]
    """Sizes of the prunable (exact, not frozen) groups."""
    inexact: dict[int, set[str]] = field(default_factory=dict)
    """Size -> the reason kinds of each inexact, not frozen group."""
    opset: int = 17
    batch: str = "N"
    frozen: frozenset[str] = frozenset()
    """Reasons besides the model's input and output that may freeze groups (dims that are no channels)."""


_LN = {32: {"mean over channels"}}
_PATTERNS: dict[str, Pattern] = {
    "nhwc_conv_bn": Pattern(nhwc_conv_bn, [8, 6]),
    "keras_cnn": Pattern(keras_cnn, [8, 16], batch="unk__123"),
    "keras_mobile": Pattern(keras_mobile, [8, 12], batch="unk__123"),
    "keras_conv1d": Pattern(keras_conv1d, [16, 12], opset=13),
    "keras_se": Pattern(keras_se, [8, 4, 6], batch="unk__123"),
    "matmul_2d": Pattern(matmul_2d, [32]),
    "matmul_3d": Pattern(matmul_3d, [32], batch="unk__123"),
    "matmul_transposed": Pattern(matmul_transposed, [32]),
    "tensordot_slice": Pattern(tensordot_slice, [32]),
    "tensordot_prod": Pattern(tensordot_prod, [32, 24], batch="unk__123"),
    "gemm": Pattern(gemm, [32, 24, 20]),
    "einsum": Pattern(einsum, [32, 2, 6], opset=13),
    "layer_norm_pow_div": Pattern(layer_norm_pow_div, [24], _LN, opset=13),
    "layer_norm_mul_reciprocal": Pattern(layer_norm_mul_reciprocal, [24], _LN, opset=18, batch="unk__123"),
    "layer_norm_fused": Pattern(layer_norm_fused, [24], _LN, opset=13),
    "layer_norm_op": Pattern(layer_norm_op, [24], {32: {"normalization over channels"}}),
    "gelu_erf": Pattern(gelu_erf, [32]),
    "gelu_tanh": Pattern(gelu_tanh, [32], batch="unk__123"),
    "gelu_op": Pattern(gelu_op, [32, 24], opset=20),
    "hard_swish_hard_sigmoid": Pattern(hard_swish_hard_sigmoid, [8, 4]),
    "hard_swish_op": Pattern(hard_swish_op, [8, 4], opset=14),
    "hard_swish_clip_inputs": Pattern(hard_swish_clip_inputs, [8, 4], opset=11, batch="unk__123"),
    # Clip's bounds as attributes (Clip-6); opset 10, the newest with that Clip: onnxruntime runs no opset-6 Add
    "hard_swish_clip_attributes": Pattern(hard_swish_clip_attributes, [8, 4], opset=10),
    "prelu_slopes": Pattern(prelu_slopes, [8, 6], batch="unk__123"),
    "merge_activations": Pattern(merge_activations, [8, 8]),
    "flatten_shape_chain": Pattern(flatten_shape_chain, [8, 16], batch="unk__123"),
    "squeeze_unsqueeze_opset11": Pattern(squeeze_unsqueeze, [8, 16, 12], opset=11),
    "squeeze_unsqueeze_opset13": Pattern(squeeze_unsqueeze, [8, 16, 12], opset=13, batch="unk__123"),
    "identity_cast": Pattern(identity_cast, [8, 6, 16]),
    "keras_dense_to_map": Pattern(
        keras_dense_to_map, [8, 6], batch="unk__123", frozen=frozenset({"convolution window over a channel dim"})
    ),
    "expand_gate": Pattern(expand_gate, [8]),
}

BATCH = 3
"""The session's batch (the static variant's too); fidelity is also checked at batch 1."""


def build(name: str, constants: bool, batch: int | str | None = None) -> onnx.ModelProto:
    """The pattern's model; `batch`: the input's batch dim (default: the pattern's dim_param)."""
    pattern = _PATTERNS[name]
    model, _ = pattern.build(Graph(constants, pattern.opset), pattern.batch if batch is None else batch)
    return model


def _input(name: str, batch: int, seed: int = 1) -> torch.Tensor:
    pattern = _PATTERNS[name]
    _, shape = pattern.build(Graph(False, pattern.opset), "N")
    return torch.from_numpy(np.random.default_rng(seed).standard_normal([batch, *shape]).astype(np.float32))


# -- tests --------------------------------------------------------------------------------------------------

_VARIANTS = [
    pytest.param(False, None, id="initializers"),
    pytest.param(True, None, id="constants"),
    pytest.param(False, BATCH, id="static"),
]


@pytest.mark.parametrize(("constants", "batch"), _VARIANTS)
@pytest.mark.parametrize("name", list(_PATTERNS))
def test_pattern_imports_and_prunes_exactly(name: str, constants: bool, batch: int | None, tmp_path: Path) -> None:
    model = build(name, constants, batch)
    if constants:
        assert not any(i.data_type == TensorProto.FLOAT for i in model.graph.initializer)
    path = tmp_path / f"{name}.onnx"
    onnx.save(model, str(path))
    session = OnnxSession(path, [_input(name, BATCH)], name)  # checks the fx GraphModule against onnxruntime
    signature = str(main_function(session.program.module).function_type)
    assert ("?" in signature) == (batch is None), signature
    _check_fidelity(session, name, tmp_path, batches=(BATCH,) if batch else (BATCH, 1))
    _check_groups(session, _PATTERNS[name])
    for report in session.check_model((0.3, 0.5)):
        print(report.summary())
    if batch is None:
        _check_pruned_at_batch_1(session, name, tmp_path)


def _check_fidelity(session: OnnxSession, name: str, tmp_path: Path, batches: tuple[int, ...]) -> None:
    """The unpruned program emitted as ONNX and as an fx GraphModule computes what the file computes."""
    emitted = tmp_path / "unpruned.onnx"
    save_onnx(session.program, emitted)
    module = api.to_torch(session.program)
    for batch in batches:
        x = _input(name, batch, seed=batch + 10)
        want = run_onnx(session.original, [x])
        assert max_relative_error(run_onnx(emitted, [x]), want) < TOLERANCE, f"emitted ONNX at batch {batch}"
        with torch.no_grad():
            assert max_relative_error(flat_outputs(module(x)), want) < TOLERANCE, f"GraphModule at batch {batch}"


def _check_groups(session: OnnxSession, pattern: Pattern) -> None:
    """Exact groups of the expected sizes, inexact ones for the expected reasons, none frozen inside."""
    program = clone_program(session.program)
    program.run([PropagateChannels(), FormGroups()])
    exact, inexact = [], {}
    for g in group_ops(program.module):
        size, frozen = g.size.value.data, {r.kind for r in reasons(g.frozen)}
        assert frozen <= BOUNDARY | pattern.frozen, f"group of {size} frozen by {sorted(frozen)}"
        if frozen:
            continue
        if g.exact.value.data:
            exact.append(size)
        else:
            inexact[size] = {r.kind for r in reasons(g.inexact)}
    assert sorted(exact) == sorted(pattern.exact)
    assert inexact == pattern.inexact


def _check_pruned_at_batch_1(session: OnnxSession, name: str, tmp_path: Path) -> None:
    """The pruned file keeps the batch dynamic: at batch 1 it computes the masked original too."""
    prog, plan, _ = session.prune(0.5, only_exact=True)
    pruned = tmp_path / "pruned_batch1.onnx"
    save_onnx(prog, pruned)
    x = _input(name, 1, seed=7)
    want = run_onnx(masked_onnx(session.original, plan["params"]), [x])
    assert max_relative_error(run_onnx(pruned, [x]), want) < TOLERANCE


if __name__ == "__main__":  # python tests/unit/test_onnx_patterns.py NAME OUT.onnx
    onnx.save(build(sys.argv[1], constants=False), sys.argv[2])
