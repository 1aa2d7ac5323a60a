"""Resampling of the trailing (spatial) dims: PyTorch's upsample ops and torch-mlir's ONNX `Resize` / `Upsample`.

Resampling never mixes channels: N and C pass through (pooling's `keep_leading(2)` rule), a channel dim under the
resampled dims is frozen.

torch-mlir converts an ONNX `Resize` into `aten.__interpolate.size_list_scale_list` whose mode string says what
PyTorch's `F.interpolate` cannot: `<mode>[_<coordinate_transformation_mode>][,<nearest_mode>]` with `<mode>` one of
nearest, linear / bilinear / trilinear (by rank), cubic, and `align_corners=True` for that transform. An absent
transform is asymmetric for nearest, half_pixel otherwise; an absent nearest_mode is floor. Its conversion of an
`Upsample` (opsets 7-9, when not upgraded) writes nearest or (bi/tri)linear with `align_corners=None`: asymmetric, as
onnxruntime computes it. The conversion refuses what it cannot write (nearest with other transforms than half_pixel
and asymmetric, tf_crop_and_resize, cubic_coeff_a != -0.75, exclude_outside, antialias, axes): import errors naming
the node and the attribute (`onnx_refusal`). It ignores keep_aspect_ratio_policy, which without axes counts N and C
in: not_larger keeps every size (the result type says so), not_smaller resizes N and C, which it refuses.

The emission computes what onnxruntime computes. Where one of PyTorch's upsample kernels is the same function
(nearest asymmetric floor by powers of two, linear and cubic with half_pixel / align_corners) it is that kernel,
which the ONNX exporter writes back as a `Resize`; everything else is `resample`, a separable resampling (per axis
the coordinate transform in onnxruntime's float arithmetic, the nearest rounding or the 2 / 4 taps and their weights,
`index_select`), bit-exact for nearest and within float rounding for linear and cubic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np
from xdsl.ir import Operation, SSAValue
from xdsl.pattern_rewriter import PatternRewriter

from spa_ir.core.errors import SpaError
from spa_ir.core.ir import shape
from spa_ir.ops.pooling import keep_leading
from spa_ir.ops.spec import Emitter, OpSpec, arg, aten, aten_overload, each, table

if TYPE_CHECKING:
    import onnx
    import torch

INTERPOLATE = "torch.aten.__interpolate.size_list_scale_list"
"""What torch-mlir converts an ONNX Resize / Upsample into."""

TRANSFORMS = frozenset(
    {"half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_half_pixel_for_nn"}
)
"""ONNX coordinate_transformation_modes `resample` computes (tf_crop_and_resize needs the roi, which the IR lacks)."""
NEAREST_MODES = frozenset({"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"})
_LINEAR_NAMES = frozenset({"linear", "bilinear", "trilinear"})


@dataclass(frozen=True)
class Resampling:
    """One ONNX resampling: mode (nearest | linear | cubic), coordinate transform, nearest rounding, cubic kernel."""

    mode: str
    transform: str
    nearest: str = "floor"
    cubic_a: float = -0.75
    exclude_outside: bool = False

    def __post_init__(self) -> None:
        if self.mode not in ("nearest", "linear", "cubic"):
            raise SpaError(f"resampling mode '{self.mode}' is not nearest, linear or cubic")
        if self.transform not in TRANSFORMS:
            raise SpaError(f"coordinate_transformation_mode '{self.transform}' is not supported")
        if self.nearest not in NEAREST_MODES:
            raise SpaError(f"nearest_mode '{self.nearest}' is not supported")


def decode(mode: str, align_corners: bool | None) -> Resampling:
    """The resampling an `__interpolate` of torch-mlir's ONNX conversion computes (its mode string, module doc).
    Beyond what the conversion writes, any transform goes with nearest, and cubic takes `,cubic_coeff_a=<a>` and
    `,exclude_outside=1`: the spelling for a frontend lowering the Resize nodes the conversion refuses."""
    name, *fields = mode.split(",")
    base, _, transform = name.partition("_")
    base = "linear" if base in _LINEAR_NAMES else base
    if base not in ("nearest", "linear", "cubic"):
        raise SpaError(f"interpolation mode '{mode}' is not one torch-mlir's ONNX Resize conversion writes")
    options: dict[str, Any] = {}
    for f in fields:
        key, eq, value = f.partition("=")
        if base == "nearest" and not eq and "nearest" not in options:
            options["nearest"] = key
        elif base == "cubic" and key == "cubic_coeff_a" and eq:
            options["cubic_a"] = _float(value, mode)
        elif base == "cubic" and key == "exclude_outside" and value in ("0", "1"):
            options["exclude_outside"] = value == "1"
        else:
            raise SpaError(
                f"interpolation mode '{mode}': '{f}' is not a nearest_mode, cubic_coeff_a or exclude_outside"
            )
    if align_corners:
        default = "align_corners"
    elif base == "nearest" or (align_corners is None and base == "linear"):
        default = "asymmetric"  # nearest's own default; None: ONNX Upsample, asymmetric in onnxruntime
    else:
        default = "half_pixel"
    return Resampling(base, transform or default, **options)


def _float(text: str, mode: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise SpaError(f"interpolation mode '{mode}': cubic_coeff_a '{text}' is not a number") from None


# -- the resampling, as onnxruntime computes it ----------------------------------------------------------------


def resample(
    x: torch.Tensor,
    sizes: Sequence[int],
    scales: Sequence[float] | None,
    mode: str,
    transform: str,
    nearest: str = "floor",
    cubic_a: float = -0.75,
    exclude_outside: bool = False,
) -> torch.Tensor:
    """x [N, C, *spatial] resampled to `sizes` (the spatial output sizes) as onnxruntime's Resize computes it; `scales`
    are the given spatial scales (None: out / in). Called inside emitted graphs: per resampled axis an index_select
    of each tap and a weighted sum, the taps and weights constants (`axis_taps`)."""
    import torch

    if isinstance(x, torch.fx.Proxy):  # fx's symbolic tracing (unpickling a GraphModule re-traces it): one leaf node
        fields = (mode, transform, nearest, cubic_a, exclude_outside)
        return x.tracer.create_proxy("call_function", resample, (x, sizes, scales, *fields), {})
    spec = Resampling(mode, transform, nearest, cubic_a, exclude_outside)
    in_sizes = [int(n) for n in x.shape[2:]]
    if list(sizes) == in_sizes:
        return x  # onnxruntime copies when no dim changes, whatever the transform would say
    for k, (n_in, n_out) in enumerate(zip(in_sizes, sizes)):
        scale = effective_scale(n_in, n_out, None if scales is None else scales[k])
        if scale == 1:  # onnxruntime maps a dim of scale 1 one to one
            continue
        indices, weights = axis_taps(n_in, int(n_out), float(scale), spec)
        axis, view = 2 + k, [1] * x.dim()
        view[axis] = -1
        picked = [x.index_select(axis, torch.from_numpy(i).to(x.device)) for i in indices]
        if not weights:
            x = picked[0]
            continue
        terms = [
            p * torch.from_numpy(w).to(device=x.device, dtype=x.dtype).reshape(view) for p, w in zip(picked, weights)
        ]
        x = terms[0]
        for t in terms[1:]:
            x = x + t
    return x


def effective_scale(n_in: int, n_out: int, scale: float | None) -> np.float32:
    """The float32 scale onnxruntime divides by: the given one, else out / in."""
    return np.float32(scale) if scale is not None else np.float32(n_out) / np.float32(n_in)


@cache
def axis_taps(
    n_in: int, n_out: int, scale: float, spec: Resampling
) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """One resampled axis: for each tap the input index of every output index (int64) and its weight (float32; none
    for nearest's single tap), in onnxruntime's float32 arithmetic (upsample.cc)."""
    c = coordinates(n_in, n_out, np.float32(scale), spec.transform)
    if spec.mode == "nearest":
        return (np.clip(_round(c, spec.nearest), 0, n_in - 1).astype(np.int64),), ()
    if spec.mode == "linear":
        return _linear_taps(c, n_in)
    return _cubic_taps(c, n_in, spec)


def coordinates(n_in: int, n_out: int, scale: np.float32, transform: str) -> np.ndarray:
    """The input coordinate of each output index along one axis, in onnxruntime's arithmetic (upsamplebase.h:
    float32, half_pixel_symmetric's last steps in float64)."""
    out = np.arange(n_out, dtype=np.float32)
    if transform == "asymmetric":
        return out / scale
    if transform == "tf_half_pixel_for_nn":
        return (out + 0.5) / scale
    if transform == "half_pixel" or (transform == "pytorch_half_pixel" and n_out > 1):
        return (out + 0.5) / scale - 0.5
    if transform == "pytorch_half_pixel" or (transform == "align_corners" and n_out == 1):
        return np.zeros(n_out, np.float32)
    if transform == "align_corners":
        return out * np.float32(n_in - 1) / np.float32(n_out - 1)
    # half_pixel_symmetric: the float32 offset of the output's centre, then float64 as onnxruntime writes it
    adjustment = np.float32(n_out) / (scale * np.float32(n_in))
    offset = np.float32(n_in) / np.float32(2) * (np.float32(1) - adjustment)
    wide = (np.float64(offset) + (out.astype(np.float64) + 0.5) / np.float64(scale)) - 0.5
    return wide.astype(np.float32)


def _round(c: np.ndarray, nearest: str) -> np.ndarray:
    """onnxruntime's nearest_mode on non-negative coordinates (negative ones clamp to 0 in every mode): halves
    told by the exact fraction, not by `c + 0.5`, which rounds up just below a half."""
    low = np.floor(c)
    if nearest == "floor":
        return low
    if nearest == "ceil":
        return np.ceil(c)
    frac = c - low
    return low + (frac > 0.5 if nearest == "round_prefer_floor" else frac >= 0.5)


def _linear_taps(c: np.ndarray, n_in: int) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """Two taps: the coordinate clamped into the input, its floor and the next index (both the last one at the end,
    where onnxruntime weighs them 0.5 each)."""
    c = np.clip(c, np.float32(0), np.float32(n_in - 1))
    low = np.minimum(c.astype(np.int64), n_in - 1)
    high = np.minimum(low + 1, n_in - 1)
    same = low == high
    half = np.float32(0.5)
    w_high = np.where(same, half, np.abs(c - low.astype(np.float32)))
    w_low = np.where(same, half, np.abs(c - high.astype(np.float32)))
    return (low, high), (w_low, w_high)


def cubic_weights(t: np.ndarray, a: float) -> list[np.ndarray]:
    """Keys' cubic kernel at the four taps around a coordinate of fraction t, in onnxruntime's float32 order."""
    a32 = np.float32(a)
    a5, a8, a4 = np.float32(5) * a32, np.float32(8) * a32, np.float32(4) * a32

    def outer(u: np.ndarray) -> np.ndarray:
        return ((a32 * u - a5) * u + a8) * u - a4

    def inner(u: np.ndarray) -> np.ndarray:
        return ((a32 + np.float32(2)) * u - (a32 + np.float32(3))) * u * u + np.float32(1)

    one, two = np.float32(1), np.float32(2)
    return [outer(t + one), inner(t), inner(one - t), outer(two - t)]


def _cubic_taps(c: np.ndarray, n_in: int, spec: Resampling) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """Four taps at floor(c) - 1 .. floor(c) + 2, clamped into the input (or, with exclude_outside, the outside
    ones weighted 0 and the others renormalized)."""
    low = np.floor(c)
    weights = cubic_weights(c - low, spec.cubic_a)
    taps = [low.astype(np.int64) + k for k in (-1, 0, 1, 2)]
    if spec.exclude_outside:
        weights = [np.where((t >= 0) & (t < n_in), w, np.float32(0)) for t, w in zip(taps, weights)]
        total = weights[0] + weights[1] + weights[2] + weights[3]
        weights = [w / total for w in weights]
    return tuple(np.clip(t, 0, n_in - 1) for t in taps), tuple(weights)


# -- emission ---------------------------------------------------------------------------------------------------


def _power_of_two(scale: np.float32) -> bool:
    mantissa, _ = np.frexp(scale)
    return bool(scale > 0 and mantissa == 0.5)


def _native(spec: Resampling, rank: int, scales: list[np.float32], sizes: Sequence[int] | None) -> str | None:
    """The aten upsample op computing the same function as onnxruntime, if one does: nearest asymmetric floor by
    powers of two (PyTorch multiplies by 1 / scale: exact only then), linear and cubic (2-D) with half_pixel,
    align_corners or pytorch_half_pixel where no output is of size 1 (`sizes`: None when unknown)."""
    spatial = rank - 2
    if spec.mode == "nearest":
        exact = spec.transform == "asymmetric" and spec.nearest == "floor" and all(map(_power_of_two, scales))
        return f"upsample_nearest{spatial}d" if exact and spatial in (1, 2, 3) else None
    if spec.exclude_outside or spec.cubic_a != -0.75:
        return None
    transform = spec.transform
    if transform == "pytorch_half_pixel" and sizes is not None and all(n > 1 for n in sizes):
        transform = "half_pixel"
    if transform not in ("half_pixel", "align_corners"):
        return None
    if spec.mode == "cubic":
        return "upsample_bicubic2d" if spatial == 2 else None
    return {1: "upsample_linear1d", 2: "upsample_bilinear2d", 3: "upsample_trilinear3d"}.get(spatial)


def _spatial(value: SSAValue) -> list[int] | None:
    """The spatial sizes of a tensor's type, None when one is dynamic."""
    dims = shape(value)
    return None if dims is None or any(d < 0 for d in dims[2:]) else [int(d) for d in dims[2:]]


def _constant_scales(scale_list: Any) -> list[float] | None:
    if scale_list is None:
        return None
    if not all(isinstance(s, (int, float)) for s in scale_list):
        raise SpaError("resampling by scales computed at run time is not supported (its kind of emission is unknown)")
    return [float(s) for s in scale_list]


def _interpolate(e: Emitter, op: Operation, overload: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """torch-mlir's `__interpolate` of an ONNX Resize / Upsample (module doc): a PyTorch upsample op where one
    computes the same, else `resample`."""
    x, _, scale_list, mode, align_corners, _, antialias = args
    if antialias:
        raise SpaError("antialiased resampling is not supported")
    spec = decode(mode, align_corners)
    given = _constant_scales(scale_list)
    rank = len(shape(op.results[0]) or ())
    in_sizes, sizes = _spatial(op.operands[0]), _spatial(op.results[0])
    corners = [] if spec.mode == "nearest" else [spec.transform == "align_corners"]
    if in_sizes is None or sizes is None:
        native = None if given is None else _native(spec, rank, [np.float32(s) for s in given], None)
        if native is None or not all(_power_of_two(np.float32(s)) for s in given or ()):
            raise SpaError(
                f"resampling ({mode}, scales {given}) of dynamic spatial sizes is not supported: only PyTorch's "
                "upsample ops by powers of two size their output as onnxruntime does"
            )
        return e.graph.call_function(aten_overload(f"{native}.vec"), (x, None, *corners, given))
    if given is not None and len(given) != len(sizes):
        raise SpaError(f"resampling with {len(given)} scales of a tensor with {len(sizes)} spatial dims")
    if sizes == in_sizes:
        return x  # onnxruntime copies when no dim changes, whatever the scales and the transform say
    scales = [
        effective_scale(i, o, None if given is None else given[k]) for k, (i, o) in enumerate(zip(in_sizes, sizes))
    ]
    native = _native(spec, rank, scales, sizes)
    arguments = None if native is None else _native_arguments(spec, in_sizes, sizes, given)
    if native is None or arguments is None:
        fields = (spec.mode, spec.transform, spec.nearest, spec.cubic_a, spec.exclude_outside)
        return e.graph.call_function(resample, (x, sizes, given, *fields))
    size_arg, scale_arg = arguments
    return e.graph.call_function(aten_overload(f"{native}.vec"), (x, size_arg, *corners, scale_arg))


def _native_arguments(
    spec: Resampling, in_sizes: list[int], sizes: list[int], given: list[float] | None
) -> tuple[list[int] | None, list[float] | None] | None:
    """(output_size, scale_factors) of the `.vec` upsample op (it takes one: the ONNX exporter writes it back as a
    Resize, the `.default` ops it decomposes): the scales when PyTorch's output size from them (floor of in * scale,
    in float64) is the IR's; else the sizes, when PyTorch's in / out ratio is the scale or the transform ignores it."""
    if given is not None and all(math.floor(i * s) == o for i, s, o in zip(in_sizes, given, sizes)):
        return None, given
    ratios_are_scales = given is None or all(
        np.float32(s) == np.float32(o) / np.float32(i) for i, s, o in zip(in_sizes, given, sizes)
    )
    return (sizes, None) if ratios_are_scales or spec.transform == "align_corners" else None


# -- the ONNX frontend's part: what the conversion refuses, and what legacy nodes compute ------------------------

LEGACY_OPSET = 11
"""Resize-11 brought coordinate_transformation_mode and nearest_mode; older Resize / Upsample compute asymmetric
coordinates (onnxruntime: nearest truncates, or takes the ceiling along a down-sampled axis of a Resize-10)."""


def onnx_refusal(node: onnx.NodeProto) -> str | None:
    """The attributes of an ONNX Resize torch-mlir's conversion refuses (its pattern's checks), for the frontend's
    import error; None when none of them explains the refusal."""
    attrs = _attributes(node)
    mode = attrs.get("mode", "nearest")
    transform = attrs.get("coordinate_transformation_mode", "half_pixel")
    refused = [f"axes={attrs['axes']}"] if "axes" in attrs else []
    refused += [f"{name}={attrs[name]}" for name in ("antialias", "exclude_outside") if attrs.get(name, 0) != 0]
    if attrs.get("extrapolation_value", 0.0) != 0.0:
        refused.append(f"extrapolation_value={attrs['extrapolation_value']}")
    if transform == "tf_crop_and_resize" or (mode == "nearest" and transform not in ("asymmetric", "half_pixel")):
        refused.append(
            f"coordinate_transformation_mode='{transform}'" + (" with mode='nearest'" if mode == "nearest" else "")
        )
    if mode == "cubic" and np.float32(attrs.get("cubic_coeff_a", -0.75)) != np.float32(-0.75):
        refused.append(f"cubic_coeff_a={attrs['cubic_coeff_a']}")
    if attrs.get("keep_aspect_ratio_policy", "stretch") == "not_smaller":
        refused.append("keep_aspect_ratio_policy='not_smaller' (it resizes N and C)")
    return f"torch-mlir converts no Resize with {', '.join(refused)}" if refused else None


def restore_legacy_resizes(original: onnx.ModelProto, upgraded: onnx.ModelProto, where: str) -> onnx.ModelProto:
    """`upgraded` (onnx's version converter of `original` to opset >= 11) with each Resize made of an Upsample
    (opsets 7-9) or Resize-10 computing what onnxruntime computes for the original node: the converter leaves
    coordinate_transformation_mode and nearest_mode at Resize-11's defaults (half_pixel, round_prefer_floor), and
    the node's name empty. The nodes are matched by output."""
    if _default_opset(original) >= LEGACY_OPSET:
        return upgraded
    legacy = {
        n.output[0]: n
        for n in original.graph.node
        if n.op_type in ("Upsample", "Resize") and n.domain in ("", "ai.onnx")
    }
    for node in upgraded.graph.node:
        old = legacy.get(node.output[0]) if node.op_type == "Resize" and node.output else None
        if old is None:
            continue
        _set_attribute(node, "coordinate_transformation_mode", "asymmetric")
        if _attributes(old).get("mode", "nearest") == "nearest":
            _set_attribute(node, "nearest_mode", _legacy_rounding(old, original, where))
        node.name = node.name or old.name
    return upgraded


def _legacy_rounding(node: onnx.NodeProto, model: onnx.ModelProto, where: str) -> str:
    """onnxruntime's nearest rounding of a legacy node: truncation (floor), the ceiling if a Resize-10 down-samples."""
    if node.op_type == "Upsample":
        return "floor"  # scales >= 1 (onnxruntime refuses others)
    scales = _constant(model, node.input[1]) if len(node.input) > 1 else None
    if scales is None:
        raise SpaError(
            "Resize-10 nearest with scales computed at run time: its rounding is unknown",
            where=f"{where}: node '{node.name}'",
        )
    down, up = bool((scales < 1).any()), bool((scales > 1).any())
    if down and up:
        raise SpaError(
            f"Resize-10 nearest with scales {scales.tolist()} rounds down-sampled axes up and up-sampled ones down, "
            "which no later Resize does",
            where=f"{where}: node '{node.name}'",
        )
    return "ceil" if down else "floor"


def _attributes(node: onnx.NodeProto) -> dict[str, Any]:
    from onnx import helper

    values = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    return {k: v.decode() if isinstance(v, bytes) else v for k, v in values.items()}


def _set_attribute(node: onnx.NodeProto, name: str, value: str) -> None:
    from onnx import helper

    kept = [a for a in node.attribute if a.name != name]
    del node.attribute[:]
    node.attribute.extend([*kept, helper.make_attribute(name, value)])


def _default_opset(model: onnx.ModelProto) -> int:
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 1)


def _constant(model: onnx.ModelProto, name: str) -> np.ndarray | None:
    """The value of an initializer or a Constant node's output (tensor form), else None."""
    from onnx import numpy_helper

    for init in model.graph.initializer:
        if init.name == name:
            return np.asarray(numpy_helper.to_array(init))
    for node in model.graph.node:
        if node.op_type == "Constant" and node.output and node.output[0] == name:
            value = next((a.t for a in node.attribute if a.name == "value"), None)
            return None if value is None else np.asarray(numpy_helper.to_array(value))
    return None


def _bilinear_for_torch_mlir(op: Operation, rewriter: PatternRewriter) -> None:
    """torch-mlir lowers bilinear resampling only as `__interpolate` (its TorchScript form; `upsample_bilinear2d.vec`
    is left as it is and fails the linalg and StableHLO pipelines): the same size, scales and align_corners."""
    from spa.dialects.torch import Aten__InterpolateSizeListScaleListOp, ConstantBoolOp, ConstantNoneOp, ConstantStrOp

    mode, none, false = ConstantStrOp("bilinear"), ConstantNoneOp(), ConstantBoolOp(False)
    names = ("input", "output_size", "scale_factors", "align_corners")
    x, size, scales, align = (arg(op, n) for n in names)
    new = Aten__InterpolateSizeListScaleListOp.create(
        operands=[x, size, scales, mode.result, align, none.result, false.result], result_types=[op.results[0].type]
    )
    new.location = op.location
    rewriter.replace(op, [mode, none, false, new])


OPS = table(
    {
        **each(
            aten("""upsample_nearest1d.vec upsample_nearest2d.vec upsample_nearest3d.vec upsample_nearest2d
upsample_linear1d.vec upsample_bilinear2d upsample_trilinear3d.vec upsample_bicubic2d.vec"""),
            OpSpec(rule=keep_leading(2)),
        ),
        "torch.aten.upsample_bilinear2d.vec": OpSpec(rule=keep_leading(2), legalize=_bilinear_for_torch_mlir),
        INTERPOLATE: OpSpec(rule=keep_leading(2), emit_adapter=_interpolate),
    },
    operators={  # no op classes: these arrive as `torch.operator`
        "torch.aten.upsample_nearest3d.vec": "input output_size scale_factors",
        "torch.aten.upsample_linear1d.vec": "input output_size align_corners scale_factors",
        "torch.aten.upsample_trilinear3d.vec": "input output_size align_corners scale_factors",
        "torch.aten.upsample_bicubic2d.vec": "input output_size align_corners scale_factors",
    },
)
