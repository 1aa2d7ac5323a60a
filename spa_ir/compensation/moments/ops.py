"""The aten op families (by packet, `aten.conv2d`) the rules and the walk tell apart."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

BN = {"aten._native_batch_norm_legit_no_training", "aten.batch_norm", "aten.native_batch_norm"}
BN |= {"aten._native_batch_norm_legit"}
NORMS = BN | {"aten.layer_norm", "aten.native_layer_norm", "aten.group_norm", "aten.native_group_norm"}
NORMS |= {"aten.rms_norm"}
CONVS = {"aten.conv1d", "aten.conv2d", "aten.conv3d", "aten.convolution", "aten._convolution"}
CONV_T = {"aten.conv_transpose1d", "aten.conv_transpose2d", "aten.conv_transpose3d"}
CLIPS: dict[str, Callable[[dict[str, Any]], tuple[float, float]]] = {
    "aten.relu": lambda a: (0.0, math.inf),
    "aten.relu6": lambda a: (0.0, 6.0),
    "aten.hardtanh": lambda a: (float(a["min_val"]), float(a["max_val"])),
    "aten.clamp": lambda a: (
        -math.inf if a["min"] is None else float(a["min"]),
        math.inf if a["max"] is None else float(a["max"]),
    ),
    "aten.clamp_min": lambda a: (float(a["min"]), math.inf),
    "aten.clamp_max": lambda a: (-math.inf, float(a["max"])),
}
"""Clamps: packet -> (lo, hi) from the call's arguments."""
MONOTONE = {"aten.sigmoid", "aten.tanh", "aten.hardsigmoid", "aten.erf", "aten.exp", "aten.softplus", "aten.selu"}
MONOTONE |= {"aten.celu", "aten.elu", "aten.leaky_relu", "aten.log_sigmoid"}
QUADRATURE = MONOTONE | {"aten.gelu", "aten.silu", "aten.hardswish", "aten.mish", "aten.abs", "aten.square"}
QUADRATURE |= {"aten.sin", "aten.cos", "aten.pow"}
DROPOUTS = {"aten.dropout", "aten.feature_dropout", "aten.alpha_dropout"}
IDENTITY = {"aten.clone", "aten.contiguous", "aten.alias", "aten.detach", "aten.lift_fresh_copy"} | DROPOUTS
IDENTITY |= {"aten.expand", "aten.broadcast_to", "aten.expand_as", "aten._to_copy", "aten.to", "aten.type_as"}
VIEWS = {"aten.reshape", "aten.view", "aten._unsafe_view"}
"""Reshapes whose target sizes are an argument."""
RESHAPES = VIEWS | {"aten.flatten", "aten.unflatten"}
TRANSPOSES = {"aten.transpose", "aten.t", "aten.numpy_T"}
SOFTMAX = {"aten.softmax", "aten._softmax"}
SAME_RANK = NORMS | set(CLIPS) | QUADRATURE | IDENTITY | SOFTMAX | TRANSPOSES | {"aten.neg"}
SAME_RANK |= {"aten.avg_pool1d", "aten.avg_pool2d", "aten.avg_pool3d", "aten.max_pool1d", "aten.max_pool2d"}
SAME_RANK |= {"aten.max_pool3d", "aten.adaptive_avg_pool1d", "aten.adaptive_avg_pool2d", "aten.adaptive_avg_pool3d"}
SAME_RANK |= {"aten._adaptive_avg_pool2d", "aten.linear", "aten.max_pool2d_with_indices", "aten.slice", "aten.narrow"}
SAME_RANK |= {"aten.add", "aten.sub", "aten.mul", "aten.div", "aten.rsub", "aten.scaled_dot_product_attention"}
"""Ops whose result has the rank of their first operand (how a rank is found without shapes)."""
