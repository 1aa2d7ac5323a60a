"""ONNX Resize / Upsample through spa (import -> emit), checked against onnxruntime on the same input.

Every combination of mode x coordinate_transformation_mode x nearest_mode (nearest) or cubic_coeff_a x
exclude_outside (cubic) x given by scales or sizes x up / down x 1-D / 2-D / 3-D, at every opset that has it (11,
13, 18, 19), is one case of `CASES`, and is either
- converted by torch-mlir (`Case.converts`): the emitted fx GraphModule computes what onnxruntime computes on the
  original file, nearest bit for bit, linear and cubic within 1e-5 relative. The cases of one opset share a model
  (one node each), imported and emitted once; the emitted ONNX file (through PyTorch) is checked on a sample that
  holds every emission form (each PyTorch upsample op, each mode of the separable resampling);
- or refused at import with a one-line SpaError naming the node and the refused attributes (one case per
  attribute combination: the refusal depends on the attributes only).
`resample`, the backend's separable resampling, is also checked directly on every refused combination it can compute
(nearest with any transform, cubic with any a and exclude_outside), and the emission of their `__interpolate` spelling
(`decode`: what a frontend lowering the refused nodes would write) on a converted twin's IR respelled.
Cubic is 2-D only (onnxruntime's cubic takes 2-D images only).

Then ONNX Upsample (opsets 7, 9) and Resize-10, which the frontend upgrades; conv -> Resize -> conv models pruned
through the Resize with the ONNX pruning oracle (the emitted file in onnxruntime against the masked original); a
YOLOv8-style neck (nn.Upsample(scale_factor=2) + torch.cat) exported by torch.onnx at opsets 11 and 17, and with
dynamic image sizes.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper
from oracle import perturb, same_worker
from test_onnx_prune_oracle import OnnxSession, run_onnx
from xdsl.dialects.builtin import StringAttr

from spa.dialects.torch_base import ConstantStrOp
from spa_ir import api
from spa_ir.backends.export import save_onnx
from spa_ir.core.errors import SpaError
from spa_ir.ops.resampling import Resampling, decode, resample
from spa_ir.verify import masked_onnx

pytestmark = same_worker("onnx-resize")  # the module fixtures (one import per opset) are made once

TOLERANCE = 1e-5

# -- the table ------------------------------------------------------------------------------------------------

BATCH, CHANNELS = 2, 3


@dataclass(frozen=True)
class Spatial:
    """Input spatial sizes and the resize: by scales or by sizes."""

    name: str
    sizes_in: tuple[int, ...]
    scales: tuple[float, ...] | None = None
    sizes: tuple[int, ...] | None = None


SPATIAL_2D = (
    Spatial("x2", (5, 4), scales=(2.0, 2.0)),
    Spatial("up", (5, 4), scales=(1.7, 2.5)),  # 5 * 1.7 = 8.5: the scale is not out / in
    Spatial("down", (5, 4), scales=(0.5, 0.7)),
    Spatial("sizes-up", (5, 4), sizes=(7, 9)),
    Spatial("sizes-down", (5, 4), sizes=(3, 2)),
    Spatial("same", (5, 4), scales=(1.1, 1.2)),  # no size changes: onnxruntime copies, whatever the scales say
)
SPATIAL_1D = (Spatial("1d-x2", (6,), scales=(2.0,)), Spatial("1d-sizes-down", (6,), sizes=(4,)))
SPATIAL_3D = (
    Spatial("3d", (2, 3, 4), scales=(2.0, 2.0, 0.5)),
    Spatial("3d-sizes", (2, 3, 4), sizes=(3, 5, 7)),
)

OPSETS = (11, 13, 18, 19)
COMMON_TRANSFORMS = ("half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric")
OPSET_TRANSFORMS = {11: ("tf_half_pixel_for_nn",), 19: ("half_pixel_symmetric",)}
"""Transforms of one opset only: tf_half_pixel_for_nn was dropped in 13, half_pixel_symmetric came in 19."""
NEAREST_MODES = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")
CUBIC_KERNELS = ((-0.75, 0), (-0.5, 0), (-0.75, 1), (-0.5, 1))
NOT_LARGER = (("keep_aspect_ratio_policy", "not_larger"),)


@dataclass(frozen=True)
class Case:
    mode: str
    transform: str
    spatial: Spatial = SPATIAL_2D[0]
    opset: int = 13
    nearest: str | None = None
    cubic_a: float | None = None
    exclude_outside: int | None = None
    extra: tuple[tuple[str, Any], ...] = ()
    """Further attributes (antialias, keep_aspect_ratio_policy, axes, extrapolation_value)."""

    @property
    def id(self) -> str:
        parts = [self.mode, self.transform, self.nearest or "", f"a{self.cubic_a}" if self.cubic_a is not None else ""]
        parts += [f"excl{self.exclude_outside}" if self.exclude_outside is not None else ""]
        parts += [f"{k}={v}" for k, v in self.extra] + [self.spatial.name, f"opset{self.opset}"]
        return "-".join(p for p in parts if p)

    @property
    def rank(self) -> int:
        return 2 + len(self.spatial.sizes_in)

    @property
    def converts(self) -> bool:
        """What torch-mlir's ONNX conversion accepts (its Resize pattern): nearest only with half_pixel or
        asymmetric, cubic only with a = -0.75 and without exclude_outside, no tf_crop_and_resize, antialias,
        keep_aspect_ratio_policy or axes. Its check of keep_aspect_ratio_policy never fires (it reads the attribute
        under a wrong name), but without axes the policy takes the N and C scales of 1 in: not_larger keeps every
        size (the output type says so, and spa emits the identity onnxruntime computes), not_smaller resizes N and C,
        which the conversion refuses."""
        if (self.extra and self.extra != NOT_LARGER) or self.transform == "tf_crop_and_resize":
            return False
        if self.mode == "nearest":
            return self.transform in ("half_pixel", "asymmetric")
        return self.mode == "linear" or (self.cubic_a in (None, -0.75) and not self.exclude_outside)

    @property
    def refused_attributes(self) -> list[str]:
        """What the import error must name (the attributes and values the conversion refuses)."""
        named = [f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in self.extra if (k, v) != NOT_LARGER[0]]
        if self.transform == "tf_crop_and_resize" or (
            self.mode == "nearest" and self.transform not in ("half_pixel", "asymmetric")
        ):
            named.append(f"coordinate_transformation_mode='{self.transform}'")
        if self.mode == "cubic" and self.cubic_a not in (None, -0.75):
            named.append(f"cubic_coeff_a={self.cubic_a}")
        if self.exclude_outside:
            named.append(f"exclude_outside={self.exclude_outside}")
        return named

    def attributes(self) -> dict[str, Any]:
        attrs: dict[str, Any] = {"mode": self.mode, "coordinate_transformation_mode": self.transform}
        if self.nearest is not None:
            attrs["nearest_mode"] = self.nearest
        if self.cubic_a is not None:
            attrs["cubic_coeff_a"] = self.cubic_a
        if self.exclude_outside is not None:
            attrs["exclude_outside"] = self.exclude_outside
        return {**attrs, **dict(self.extra)}

    def node(self, i: int, x: str) -> tuple[onnx.NodeProto, list[onnx.TensorProto]]:
        """Resize node `rs<i>` of input `x` -> `y<i>` and its constant inputs (opset 11 needs roi and scales given)."""
        sp, inits = self.spatial, []
        inputs = [x, "", ""]
        if self.opset == 11 or self.transform == "tf_crop_and_resize":
            roi = [0.0] * self.rank + [1.0] * self.rank if self.transform == "tf_crop_and_resize" else []
            inits.append(numpy_helper.from_array(np.array(roi, np.float32), f"roi{i}"))
            inputs[1] = f"roi{i}"
        if sp.scales is not None:
            scales = sp.scales if "axes" in dict(self.extra) else (1, 1, *sp.scales)  # axes: scales of those only
            inits.append(numpy_helper.from_array(np.array(scales, np.float32), f"scales{i}"))
            inputs[2] = f"scales{i}"
        else:
            assert sp.sizes is not None
            if self.opset == 11:
                inits.append(numpy_helper.from_array(np.zeros(0, np.float32), f"scales{i}"))
                inputs[2] = f"scales{i}"
            inits.append(numpy_helper.from_array(np.array([BATCH, CHANNELS, *sp.sizes], np.int64), f"sizes{i}"))
            inputs.append(f"sizes{i}")
        return helper.make_node("Resize", inputs, [f"y{i}"], name=f"rs{i}", **self.attributes()), inits


def _transforms(opset: int) -> tuple[str, ...]:
    return COMMON_TRANSFORMS + OPSET_TRANSFORMS.get(opset, ())


def _computed_cases() -> Iterator[Case]:
    """Every combination onnxruntime computes (no tf_crop_and_resize: the roi makes it a crop, tested as refused)."""
    for opset in OPSETS:
        for transform in _transforms(opset):
            for spatial in SPATIAL_1D + SPATIAL_2D + SPATIAL_3D:
                for nearest in NEAREST_MODES:
                    yield Case("nearest", transform, spatial, opset, nearest=nearest)
                yield Case("linear", transform, spatial, opset)
            for spatial, (a, excl) in itertools.product(SPATIAL_2D, CUBIC_KERNELS):
                yield Case("cubic", transform, spatial, opset, cubic_a=a, exclude_outside=excl)
    # the attributes left to their defaults: nearest round_prefer_floor, half_pixel, a = -0.75
    for mode in ("nearest", "linear", "cubic"):
        yield Case(mode, "half_pixel", SPATIAL_2D[1], 13)
    yield Case("linear", "half_pixel", SPATIAL_2D[3], 18, extra=NOT_LARGER)


CASES = list(_computed_cases())
CONVERTED = [c for c in CASES if c.converts]

REFUSED = [
    # the refusal reads the attributes only: one spatial variant, the first opset with the transform
    *(
        c
        for c in CASES
        if not c.converts
        and c.spatial == SPATIAL_2D[1]
        and c.opset == min(o for o in OPSETS if c.transform in _transforms(o))
    ),
    *(Case(m, "tf_crop_and_resize") for m in ("nearest", "linear", "cubic")),
    Case("linear", "tf_crop_and_resize", extra=(("extrapolation_value", 1.0),)),
    *(Case(m, "half_pixel", opset=18, extra=(("antialias", 1),)) for m in ("linear", "cubic")),
    Case("linear", "half_pixel", SPATIAL_2D[3], 18, extra=(("keep_aspect_ratio_policy", "not_smaller"),)),
    Case("nearest", "asymmetric", SPATIAL_2D[0], 18, extra=(("axes", [2, 3]),)),
]

# -- models -----------------------------------------------------------------------------------------------------


def _input_shape(case: Case) -> list[int]:
    return [BATCH, CHANNELS, *case.spatial.sizes_in]


def _inputs(cases: list[Case]) -> dict[str, np.ndarray]:
    """One input per input shape (`x<rank>`), random."""
    rng = np.random.default_rng(0)
    shapes = {f"x{c.rank}": _input_shape(c) for c in cases}
    return {name: rng.standard_normal(shape).astype(np.float32) for name, shape in sorted(shapes.items())}


def resize_model(cases: list[Case], opset: int) -> onnx.ModelProto:
    """One Resize node per case, each from the input of its rank to its own output (shapes inferred)."""
    nodes, inits = [], []
    for i, case in enumerate(cases):
        node, values = case.node(i, f"x{case.rank}")
        nodes.append(node)
        inits += values
    shapes = {f"x{c.rank}": _input_shape(c) for c in cases}
    graph = helper.make_graph(
        nodes,
        "resize",
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, shape) for name, shape in sorted(shapes.items())],
        [helper.make_tensor_value_info(f"y{i}", TensorProto.FLOAT, None) for i in range(len(cases))],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    return onnx.shape_inference.infer_shapes(model)


def _ort(model: onnx.ModelProto, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return [np.asarray(o) for o in session.run(None, feed)]


def _error(got: np.ndarray, want: np.ndarray) -> float:
    assert got.shape == want.shape, f"shape {got.shape} != {want.shape}"
    return float(np.abs(got - want).max() / np.abs(want).max())


def _check(case: Case, got: np.ndarray, want: np.ndarray) -> None:
    """Nearest picks input values: bit for bit. Linear and cubic: within float rounding."""
    err = _error(got, want)
    assert err == 0.0 if case.mode == "nearest" else err < TOLERANCE, f"{case.id}: relative error {err:.2e}"


@dataclass
class Batch:
    """The cases of one opset in one model: onnxruntime's outputs, and (converted cases) spa's."""

    cases: list[Case]
    feed: dict[str, np.ndarray]
    want: dict[Case, np.ndarray]
    got: dict[Case, np.ndarray] = field(default_factory=dict)


@pytest.fixture(scope="module")
def batches(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Batch]:
    """Per opset: onnxruntime on all its cases, then the converted ones imported and emitted as fx (once)."""
    out: dict[int, Batch] = {}
    for opset in OPSETS:
        cases = [c for c in CASES if c.opset == opset]
        feed = _inputs(cases)
        want = dict(zip(cases, _ort(resize_model(cases, opset), feed)))
        batch = Batch(cases, feed, want)
        converted = [c for c in cases if c.converts]
        path = tmp_path_factory.mktemp(f"opset{opset}") / "resize.onnx"
        onnx.save(resize_model(converted, opset), str(path))
        gm = api.to_torch(api.import_onnx(path))
        names = sorted({f"x{c.rank}" for c in converted})
        with torch.no_grad():
            outs = gm(*(torch.from_numpy(feed[n]) for n in names))
        batch.got = {c: o.numpy() for c, o in zip(converted, outs)}
        out[opset] = batch
    return out


# -- every converted combination: fx against onnxruntime --------------------------------------------------------


@pytest.mark.parametrize("case", CONVERTED, ids=lambda c: c.id)
def test_import_emit_matches_onnxruntime(case: Case, batches: dict[int, Batch]) -> None:
    batch = batches[case.opset]
    _check(case, batch.got[case], batch.want[case])


def _onnx_sample() -> list[Case]:
    """Converted cases covering every emission form (the native upsample ops by scales and by sizes, nearest /
    linear / cubic resampling): the emitted ONNX file goes through torch.export and the ONNX exporter (slow)."""
    keep = {"up", "sizes-down", "x2", "1d-x2", "3d"}
    sample = [
        c
        for c in CONVERTED
        if c.opset == 13
        and c.spatial.name in keep
        and (c.mode != "nearest" or c.nearest in ("floor", "round_prefer_ceil"))
        and (c.mode != "nearest" or c.transform == "asymmetric" or c.spatial.name in ("up", "3d"))
        and (c.mode != "cubic" or c.transform != "pytorch_half_pixel")
    ]
    return sample


def test_emitted_onnx_matches_onnxruntime(tmp_path: Path) -> None:
    """The emitted ONNX file, re-exported through PyTorch (`via_torch`), computes what the original computes."""
    cases = _onnx_sample()
    assert {c.mode for c in cases} == {"nearest", "linear", "cubic"} and {c.rank for c in cases} == {3, 4, 5}
    model = resize_model(cases, 13)
    onnx.save(model, str(tmp_path / "resize.onnx"))
    feed = _inputs(cases)
    save_onnx(api.import_onnx(tmp_path / "resize.onnx"), tmp_path / "emitted.onnx", via_torch=True)
    emitted = onnx.load(str(tmp_path / "emitted.onnx"))
    assert sum(n.op_type == "Resize" for n in emitted.graph.node) > 0  # the native ops come back as Resize
    names = sorted(feed)
    got = _ort(emitted, {i.name: feed[n] for i, n in zip(emitted.graph.input, names)})
    for case, g, w in zip(cases, got, _ort(model, feed)):
        _check(case, g, w)


# -- refused combinations: a located import error; the resampling itself still exact ---------------------------


@pytest.mark.parametrize("case", REFUSED, ids=lambda c: c.id)
def test_refused_combination_is_a_located_import_error(case: Case, tmp_path: Path) -> None:
    onnx.save(resize_model([case], case.opset), str(tmp_path / "one.onnx"))
    with pytest.raises(SpaError) as info:
        api.import_onnx(tmp_path / "one.onnx")
    message = str(info.value)
    assert "\n" not in message and "one.onnx" in message and "'rs0'" in message, message
    named = case.refused_attributes
    assert named and all(n in message for n in named), message


RESAMPLED = [c for c in CASES if not c.converts]


@pytest.mark.parametrize("case", RESAMPLED, ids=lambda c: c.id)
def test_resample_matches_onnxruntime_where_the_conversion_refuses(case: Case, batches: dict[int, Batch]) -> None:
    batch = batches[case.opset]
    sp = case.spatial
    x = torch.from_numpy(batch.feed[f"x{case.rank}"])
    sizes = list(batch.want[case].shape[2:])
    got = resample(
        x,
        sizes,
        sp.scales,
        case.mode,
        case.transform,
        case.nearest or "round_prefer_floor",
        case.cubic_a if case.cubic_a is not None else -0.75,
        bool(case.exclude_outside),
    )
    _check(case, got.numpy(), batch.want[case])


def _lowered_spelling(case: Case) -> tuple[Case, str]:
    """A converted twin of a refused case (nearest: half_pixel; cubic: the default kernel) and the mode string a
    frontend lowering the refused node would write (`decode`'s spelling)."""
    if case.mode == "nearest":
        return replace(case, transform="half_pixel"), f"nearest_{case.transform},{case.nearest}"
    twin = replace(case, cubic_a=None, exclude_outside=None)
    return twin, f"cubic_{case.transform},cubic_coeff_a={case.cubic_a},exclude_outside={case.exclude_outside}"


LOWERED = [
    c
    for c in RESAMPLED
    if (c.spatial.name == "up" or (c.transform == "align_corners" and c.nearest == "round_prefer_ceil"))
    and c.opset == min(o for o in OPSETS if c.transform in _transforms(o))
]


@pytest.mark.parametrize("case", LOWERED, ids=lambda c: c.id)
def test_emission_of_what_the_conversion_refuses(case: Case, tmp_path: Path, batches: dict[int, Batch]) -> None:
    """The backend emits the refused combinations exactly once their `__interpolate` says them: the converted
    twin's IR with its mode string respelled, against onnxruntime on the refused node."""
    twin, spelling = _lowered_spelling(case)
    onnx.save(resize_model([twin], twin.opset), str(tmp_path / "twin.onnx"))
    program = api.import_onnx(tmp_path / "twin.onnx")
    (mode,) = [op for op in program.module.walk() if isinstance(op, ConstantStrOp)]
    mode.properties["value"] = StringAttr(spelling)
    with torch.no_grad():
        got = api.to_torch(program)(torch.from_numpy(batches[case.opset].feed[f"x{case.rank}"])).numpy()
    _check(case, got, batches[case.opset].want[case])


# torch-mlir's ONNX conversion (lib/Conversion/TorchOnnxToTorch/DefaultDomainQtoZ.cpp, Resize and Upsample) writes
# `<mode>[_<transform>][,<nearest_mode>]` with align_corners=True for align_corners; its Upsample conversion writes
# the plain mode and align_corners=None.
MODE_STRINGS = [
    ("nearest", False, Resampling("nearest", "asymmetric", "floor")),
    ("nearest,round_prefer_floor", False, Resampling("nearest", "asymmetric", "round_prefer_floor")),
    ("nearest_half_pixel,ceil", False, Resampling("nearest", "half_pixel", "ceil")),
    ("nearest_half_pixel", False, Resampling("nearest", "half_pixel", "floor")),
    ("bilinear", False, Resampling("linear", "half_pixel")),
    ("bilinear", True, Resampling("linear", "align_corners")),
    ("linear_pytorch_half_pixel", False, Resampling("linear", "pytorch_half_pixel")),
    ("trilinear_half_pixel_symmetric", False, Resampling("linear", "half_pixel_symmetric")),
    ("bilinear_tf_half_pixel_for_nn", False, Resampling("linear", "tf_half_pixel_for_nn")),
    ("cubic", False, Resampling("cubic", "half_pixel")),
    ("cubic_align_corners", True, Resampling("cubic", "align_corners")),
    ("cubic_asymmetric", False, Resampling("cubic", "asymmetric")),
    ("nearest", None, Resampling("nearest", "asymmetric", "floor")),  # Upsample
    ("bilinear", None, Resampling("linear", "asymmetric")),  # Upsample: asymmetric in onnxruntime
]


@pytest.mark.parametrize(("mode", "align_corners", "want"), MODE_STRINGS, ids=[f"{m}-{a}" for m, a, _ in MODE_STRINGS])
def test_mode_strings_decode(mode: str, align_corners: bool | None, want: Resampling) -> None:
    assert decode(mode, align_corners) == want


@pytest.mark.parametrize("mode", ["area", "bilinear,floor", "nearest_tf_crop_and_resize", "nearest,round"])
def test_unknown_mode_strings_are_errors(mode: str) -> None:
    with pytest.raises(SpaError, match=r"mode '|coordinate_transformation_mode '|nearest_mode '"):
        decode(mode, False)


# -- Upsample (opsets 7, 9) and Resize-10: upgraded by the frontend, asymmetric as onnxruntime computes them ---------


@dataclass(frozen=True)
class Legacy:
    op: str  # Upsample | Resize
    opset: int
    mode: str
    scales: tuple[float, ...]

    @property
    def id(self) -> str:
        return f"{self.op}{self.opset}-{self.mode}-{'x'.join(map(str, self.scales))}"

    def model(self) -> onnx.ModelProto:
        scales = np.array([1, 1, *self.scales], np.float32)
        if self.opset == 7:
            node = helper.make_node("Upsample", ["x"], ["y"], name="up", mode=self.mode, scales=scales.tolist())
            inits = []
        else:
            node = helper.make_node(self.op, ["x", "scales"], ["y"], name="up", mode=self.mode)
            inits = [numpy_helper.from_array(scales, "scales")]
        graph = helper.make_graph(
            [node],
            "legacy",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [BATCH, CHANNELS, 5, 4])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
            inits,
        )
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)])


LEGACY = [
    *(
        Legacy("Upsample", opset, mode, scales)
        for opset in (7, 9)
        for mode in ("nearest", "linear")
        for scales in ((2.0, 2.0), (1.25, 1.75))
    ),
    *(Legacy("Resize", 10, mode, scales) for mode in ("nearest", "linear") for scales in ((1.25, 1.75), (0.75, 0.8))),
]


@pytest.mark.parametrize("legacy", LEGACY, ids=lambda c: c.id)
def test_legacy_resampling_matches_onnxruntime(legacy: Legacy, tmp_path: Path) -> None:
    """The opset upgrade makes these Resize-11+ nodes; they keep computing asymmetric coordinates (and, for a
    down-sampling Resize-10 nearest, the ceiling): by 1.25, 1.75, 0.75 and 0.8 the upgrade's defaults (half_pixel,
    round_prefer_floor) pick other pixels."""
    onnx.save(legacy.model(), str(tmp_path / "legacy.onnx"))
    x = np.random.default_rng(1).standard_normal((BATCH, CHANNELS, 5, 4)).astype(np.float32)
    (want,) = _ort(legacy.model(), {"x": x})
    with torch.no_grad():
        got = api.to_torch(api.import_onnx(tmp_path / "legacy.onnx"))(torch.from_numpy(x)).numpy()
    err = _error(got, want)
    assert err == 0.0 if legacy.mode == "nearest" else err < TOLERANCE, f"{legacy.id}: relative error {err:.2e}"


def test_legacy_nearest_up_and_down_is_a_located_error(tmp_path: Path) -> None:
    """Resize-10 nearest rounds down-sampled axes up and up-sampled ones down: no later Resize does both."""
    onnx.save(Legacy("Resize", 10, "nearest", (2.0, 0.5)).model(), str(tmp_path / "mixed.onnx"))
    with pytest.raises(
        SpaError, match=r"mixed\.onnx: node 'up': Resize-10 nearest with scales \[1\.0, 1\.0, 2\.0, 0\.5\]"
    ):
        api.import_onnx(tmp_path / "mixed.onnx")


# -- pruning through a Resize: conv -> Resize -> conv, the pruning oracle ----------------------------------------


def conv_resize_conv(case: Case, seed: int = 0) -> onnx.ModelProto:
    """x [1, 3, 5, 4] -> Conv 6 (3x3, pad 1) -> Relu -> Resize (case) -> Conv 4 (3x3, pad 1): conv1's 6 channels
    reach conv2 through the Resize."""
    rng = np.random.default_rng(seed)
    weights = {
        "conv1.weight": rng.standard_normal((6, 3, 3, 3)),
        "conv1.bias": rng.standard_normal(6),
        "conv2.weight": rng.standard_normal((4, 6, 3, 3)),
        "conv2.bias": rng.standard_normal(4),
    }
    resize, constants = Case(
        case.mode, case.transform, case.spatial, case.opset, case.nearest, case.cubic_a, case.exclude_outside
    ).node(0, "r")
    resize.input[0], resize.output[0] = "r", "u"
    for t in constants:  # sizes hold N and C: this model's batch and conv1's channels
        if t.name.startswith("sizes"):
            t.CopyFrom(numpy_helper.from_array(np.array([1, 6, *(case.spatial.sizes or ())], np.int64), t.name))
    nodes = [
        helper.make_node("Conv", ["x", "conv1.weight", "conv1.bias"], ["c"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        resize,
        helper.make_node("Conv", ["u", "conv2.weight", "conv2.bias"], ["y"], name="conv2", pads=[1, 1, 1, 1]),
    ]
    graph = helper.make_graph(
        nodes,
        "conv_resize_conv",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 5, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(v.astype(np.float32), k) for k, v in weights.items()] + constants,
    )
    return onnx.shape_inference.infer_shapes(
        helper.make_model(graph, opset_imports=[helper.make_opsetid("", case.opset)])
    )


PRUNED = [
    Case("nearest", "half_pixel", SPATIAL_2D[1], nearest="round_prefer_ceil"),  # resampled: index_select
    Case("nearest", "asymmetric", SPATIAL_2D[0], nearest="floor"),  # PyTorch's upsample_nearest2d
    Case("linear", "asymmetric", SPATIAL_2D[4]),  # resampled: two taps, by sizes (N and C in them)
    Case("cubic", "align_corners", SPATIAL_2D[2]),  # PyTorch's upsample_bicubic2d
]


@pytest.mark.parametrize("case", PRUNED, ids=lambda c: c.id)
def test_pruned_through_the_resize(case: Case, tmp_path: Path) -> None:
    """conv1's channels reach conv2 through the Resize: one group, pruned exactly (the emitted file in
    onnxruntime against the masked original), the Resize's sizes rewritten where it has them."""
    path = tmp_path / "model.onnx"
    onnx.save(conv_resize_conv(case), str(path))
    x = torch.randn(1, 3, 5, 4, generator=torch.Generator().manual_seed(0))
    session = OnnxSession(path, [x], case.id)
    reports = session.check_model((0.3, 0.5))
    assert all(r.pruned == 1 and r.frozen == 2 for r in reports), [r.summary() for r in reports]


class _ViaTorch(OnnxSession):
    """The pruned program emitted through PyTorch (torch.export + the ONNX exporter), not the original graph."""

    def run_pruned(self, prog: Any) -> list[torch.Tensor]:
        out = self.path.with_name(f"{self.path.stem}.via_torch{len(self.emitted_elements)}.onnx")
        save_onnx(prog, out, via_torch=True)
        self.emitted_elements.append(
            sum(
                int(np.prod(i.dims))
                for i in onnx.load(str(out)).graph.initializer
                if i.data_type == TensorProto.FLOAT and len(i.dims) > 1
            )
        )
        return run_onnx(out, self.inputs)


def test_pruned_resampling_through_pytorch(tmp_path: Path) -> None:
    """The pruned separable resampling, re-exported through PyTorch, still computes the masked original."""
    case = PRUNED[0]
    onnx.save(conv_resize_conv(case), str(tmp_path / "model.onnx"))
    x = torch.randn(1, 3, 5, 4, generator=torch.Generator().manual_seed(0))
    report = _ViaTorch(tmp_path / "model.onnx", [x], case.id).check_exact(0.5)
    assert report.pruned == 1


# -- a YOLOv8-style neck: nn.Upsample(scale_factor=2, nearest) + concat, exported by torch.onnx -------------------


class YoloNeck(torch.nn.Module):
    """Two strided conv stages (SiLU, BatchNorm); the deeper one upsampled x2 (nearest) and concatenated with the
    shallower one, as YOLOv8's neck does; then a conv and a head."""

    def __init__(self) -> None:
        super().__init__()
        self.c1, self.b1 = torch.nn.Conv2d(3, 8, 3, 2, 1), torch.nn.BatchNorm2d(8)
        self.c2, self.b2 = torch.nn.Conv2d(8, 16, 3, 2, 1), torch.nn.BatchNorm2d(16)
        self.up = torch.nn.Upsample(scale_factor=2, mode="nearest")
        self.c3, self.head = torch.nn.Conv2d(24, 8, 3, 1, 1), torch.nn.Conv2d(8, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p3 = torch.nn.functional.silu(self.b1(self.c1(x)))
        p4 = torch.nn.functional.silu(self.b2(self.c2(p3)))
        return self.head(torch.nn.functional.silu(self.c3(torch.cat([self.up(p4), p3], 1))))


@pytest.mark.parametrize("opset", [11, 17])
def test_yolov8_style_upsample_concat_prunes_exactly(opset: int, tmp_path: Path) -> None:
    """Exported as Ultralytics exports (constant folding on: the Resize reads a scales initializer; its nearest
    asymmetric floor emits as PyTorch's upsample_nearest2d, not with align_corners). Every hidden group prunes
    exactly: the upsampled conv's 16 channels through the Resize and the concat, the shallow stage's 8 through the
    concat, c3's 8."""
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    path = tmp_path / "yolo.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(perturb(YoloNeck().eval()), (x,), str(path), dynamo=False, opset_version=opset)
    (resize,) = [n for n in onnx.load(str(path)).graph.node if n.op_type == "Resize"]
    assert {a.name: helper.get_attribute_value(a) for a in resize.attribute}[
        "coordinate_transformation_mode"
    ] == b"asymmetric"
    session = OnnxSession(path, [x], f"yolo-opset{opset}")
    assert "upsample_nearest2d" in api.to_torch(session.program).code
    reports = session.check_model((0.3, 0.5))
    assert all(r.pruned == 3 for r in reports), [r.summary() for r in reports]


def test_yolov8_style_dynamic_image_size(tmp_path: Path) -> None:
    """Exported with dynamic batch, height and width (Ultralytics' dynamic=True): the scales are known, the sizes
    not; x2 is a power of two, so PyTorch's upsample op sizes its output as onnxruntime does. One import runs at
    any image size, and prunes exactly."""
    model = perturb(YoloNeck().eval())
    path = tmp_path / "yolo.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (torch.randn(1, 3, 32, 32),),
            str(path),
            dynamo=False,
            opset_version=17,
            input_names=["x"],
            dynamic_axes={"x": {0: "batch", 2: "height", 3: "width"}},
        )
    gm = api.to_torch(api.import_onnx(path))
    for shape in ((1, 3, 32, 32), (2, 3, 48, 64)):
        x = torch.randn(shape, generator=torch.Generator().manual_seed(2))
        (want,) = run_onnx(path, [x])
        with torch.no_grad():
            assert _error(gm(x).numpy(), want.numpy()) < TOLERANCE
    x = torch.randn(2, 3, 48, 64, generator=torch.Generator().manual_seed(3))
    assert OnnxSession(path, [x], "yolo-dynamic").check_exact(0.5).pruned == 3


def test_dynamic_sizes_other_than_powers_of_two_are_a_located_error(tmp_path: Path) -> None:
    """By 1.5, PyTorch's output size (float64) and onnxruntime's (float32) can differ: refused, naming the op."""
    case = Case("linear", "half_pixel", Spatial("dyn", (5, 4), scales=(1.5, 1.5)))
    model = resize_model([case], 13)
    model.graph.input[0].type.tensor_type.shape.dim[2].dim_param = "height"
    onnx.save(onnx.shape_inference.infer_shapes(model), str(tmp_path / "dyn.onnx"))
    program = api.import_onnx(tmp_path / "dyn.onnx")
    with pytest.raises(
        SpaError, match=r"dyn\.onnx: .*__interpolate.* at loc\(\"rs0\"\): resampling \(bilinear, scales"
    ):
        api.to_torch(program)


def test_emitted_resampling_pickles_and_traces(tmp_path: Path) -> None:
    """The separable resampling is one call in the emitted graph: unpickling (which re-traces the GraphModule) and
    torch.fx.symbolic_trace keep it as one node computing the same."""
    import pickle

    onnx.save(conv_resize_conv(PRUNED[0]), str(tmp_path / "model.onnx"))
    gm = api.to_torch(api.import_onnx(tmp_path / "model.onnx"))
    x = torch.randn(1, 3, 5, 4, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        want = gm(x)
        for again in (pickle.loads(pickle.dumps(gm)), torch.fx.symbolic_trace(gm)):
            assert sum(n.target is resample for n in again.graph.nodes) == 1
            assert torch.equal(again(x), want)


@pytest.mark.parametrize("opset", [11, 17])
def test_yolov8_style_unfolded_export(opset: int, tmp_path: Path) -> None:
    """Exported without constant folding, the Resize reads Concat(Constant [1, 1], Constant [2, 2]): those
    Constants are hyper-parameters, not weights (the frontend follows the assembly back from the scales input), so
    the scales are constants of the IR: the faithful file and the PyTorch module both prune exactly."""
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    path = tmp_path / "yolo.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            perturb(YoloNeck().eval()), (x,), str(path), dynamo=False, do_constant_folding=False, opset_version=opset
        )
    program = api.import_onnx(path)
    plan = api.prune_program(program, ratio=0.5, criterion="random", seed=1, only_exact=True).to_json()
    assert sorted(len(g["removed"]) for g in plan["groups"] if g["removed"]) == [4, 4, 8]
    save_onnx(program, tmp_path / "pruned.onnx")
    (got,), (want,) = (
        run_onnx(tmp_path / "pruned.onnx", [x]),
        run_onnx(masked_onnx(onnx.load(str(path)), plan["params"]), [x]),
    )
    assert _error(got.numpy(), want.numpy()) < 1e-4
    with torch.no_grad():
        assert _error(api.to_torch(program)(x).numpy(), want.numpy()) < 1e-4
