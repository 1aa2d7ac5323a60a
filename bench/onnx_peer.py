"""spa vs onnxsim's structured pruning on ONNX files from several converters, file in -> file out.

    .venv/bin/python bench/onnx_peer.py [--quick] [--obspa-source stats|identity|synthetic] [model ...]
    (make bench installs onnxsim)

The models: every file of tests/data/frameworks (Keras via tf2onnx, Flax via jax2onnx, Paddle via paddle2onnx, as
listed in its manifest), and torch.onnx exports made here in a temp dir (legacy exporter, dynamo=False, static
batch): torchvision resnet18, mobilenet_v3_small, densenet121 (the exporter's Identity copies of equal BN scales),
a BERT-style encoder (transformers BertModel, eager attention, opset 17, constant folding on and off), a
YOLOv8-style CNN (conv-BN-SiLU, C2f chunk + concat, SPPF, nearest upsample, opsets 11 and 17), and two convs with
one bias: `shared_bias` (a tied Parameter: one initializer both Conv nodes read) and `equal_bias` (equal values:
torch.onnx de-duplicates them into an Identity copy). Torch models get random BN running statistics, as trained
ones have (their BN scales stay equal, so the Identity copies stay); BERT's constant parameters get noise.

Methods, at the same channel sparsity s in {0.3, 0.5} (spa ratio=s, onnxsim sparsity=s):
  spa-l2      api.import_onnx -> api.prune_program(criterion=l2, only_exact=True) -> save_onnx (the faithful ONNX file);
  spa-obspa   the same with criterion=obspa, data-free: source=stats by default (analytic moments; the synthetic
              source optimizes inputs against every BN for 300 Adam steps: minutes per model on 2 cores);
  onnxsim     onnxsim.apply_structured_pruning(model, sparsity=s, importance_norm="l2") on the file as it is;
  onnxsim+sim the same after onnxsim.simplify (BN fused into convs: what its pruner expects).
Then at the same FLOPs: spa-l2 and spa-obspa with keep_flops = the FLOPs fraction kept by onnxsim's better variant
at that s (the one that runs and keeps fewer FLOPs), wherever it pruned something: "@F" rows (local scope), "@Fg"
where one shared ratio cannot land within 0.02 of it (small models' coarse steps) and global scope is used.

Columns: time (s, file to file: spa's import, measured once per model, plus prune and emit; onnxsim's load,
simplify, prune and save; both tools warmed up first); cut: layers (Conv/Gemm/MatMul/recurrent nodes) whose weight
shrank, not the BN nodes beside them that simplify fuses away; FLOPs and params kept, as fractions of the original
file (2 x the MACs of Conv/ConvTranspose/Gemm/MatMul, spa's cost conventions, and of the com.microsoft
FusedMatMul/Attention simplify fuses them into, from onnx.shape_inference on a static-batch copy; float weight
elements); runs in onnxruntime (yes, or no [n] with the first error line below the table); exact: the file vs its
masked original in onnxruntime, max|a-b|/max|b| < 1e-4 (spa: the original with the plan's slices zeroed and its
tensors written in, spa_ir.verify.masked_onnx; onnxsim: the file it pruned with the slices it removed zeroed,
found by matching the kept weight slices by value to the unpruned ones; n/a where that fails); agreement with the
original file on one seeded random batch: cosine similarity of all outputs, and top-1 agreement for models with
one [batch, classes] output. Then spa/onnxsim per model: time and layers cut at the same s, agreement at the same
FLOPs. Measured numbers only: no verdict is printed.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import onnxsim  # type: ignore[import-untyped]  # ships no type hints
import torch
import torchvision

from spa_ir import api
from spa_ir.backends.export import save_onnx
from spa_ir.core.errors import SpaError, first_line
from spa_ir.core.program import Program
from spa_ir.core.weights import WeightStore
from spa_ir.frontends.onnx.weights import weight_values
from spa_ir.verify import PlanParams, masked_onnx

ROOT = Path(__file__).resolve().parents[1]
FRAMEWORKS = ROOT / "tests" / "data" / "frameworks"
SPARSITIES = (0.3, 0.5)
TOLERANCE = 1e-4
BATCH = 8
"""The batch of the seeded random input (dynamic-batch files) and of the torch exports (static batch)."""
QUICK = ("keras_resnet_op15", "paddle_mbv3_op11", "resnet18", "yolo_op17", "shared_bias")
WEIGHTED_OPS = frozenset({"Conv", "ConvTranspose", "Gemm", "MatMul", "FusedMatMul", "Attention"})
"""The ops FLOPs are counted for: spa's (conv, linear, matmul) and the com.microsoft ones onnxsim.simplify fuses them
into (FusedMatMul, Attention: its QKV projection and both attention products)."""

LAYER_OPS = WEIGHTED_OPS | {"Einsum", "LSTM", "GRU", "RNN"}
"""The nodes counted as layers cut when a weight of theirs shrank (not the BN / norm nodes beside them: a file with
BN fused would count fewer for the same cut)."""

Feeds = dict[str, np.ndarray]
Outputs = list[np.ndarray]


# -- the models --------------------------------------------------------------------------------------------------


@dataclass
class Case:
    """One ONNX file and what every method is measured against: its outputs on a seeded random batch, its cost."""

    name: str
    path: Path
    original: onnx.ModelProto
    feeds: Feeds
    want: Outputs
    flops: int
    params: int
    classifier: bool
    """One [batch, classes] output: top-1 agreement is measured."""

    @classmethod
    def load(cls, name: str, path: Path) -> Case:
        original = onnx.load(str(path))
        feeds = _random_feeds(original)
        want = run_onnx(original, feeds)
        classifier = len(want) == 1 and want[0].ndim == 2 and want[0].shape[1] > 1
        return cls(
            name, path, original, feeds, want, onnx_flops(original, feeds), float_weight_elements(original), classifier
        )


def _random_feeds(model: onnx.ModelProto, seed: int = 0) -> Feeds:
    """A seeded random batch for every graph input: normal floats, ids below 100 for ints (token ids)."""
    rng = np.random.default_rng(seed)
    feeds: Feeds = {}
    for inp in model.graph.input:
        tensor = inp.type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") else BATCH for d in tensor.shape.dim]
        dtype = onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type)
        if np.issubdtype(dtype, np.floating):
            feeds[inp.name] = rng.standard_normal(dims).astype(dtype)
        else:
            feeds[inp.name] = rng.integers(0, 100, dims).astype(dtype)
    return feeds


def _randomize_bn(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Random BN running statistics (mean N(0, 0.1^2), variance in [0.5, 1.5]), as a trained model has; the BN
    scales stay as they are, so the exporter's Identity copies of equal ones stay too."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.running_mean is not None:
                assert m.running_var is not None
                m.running_mean.copy_(0.1 * torch.randn(m.running_mean.shape, generator=g))
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=g))
    return model.eval()


def _vary_constants(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Every parameter whose entries are all equal (zero biases, LayerNorm's ones) gets N(0, 0.1^2) noise added, as
    trained ones differ: equal entries would hide a wrong slice and make removed slices unrecoverable by value."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            if p.numel() > 1 and bool((p == p.reshape(-1)[0]).all()):
                p.add_(0.1 * torch.randn(p.shape, generator=g))
    return model


def _export(model: torch.nn.Module, args: tuple[Any, ...], path: Path, opset: int, folding: bool = False) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, args, str(path), dynamo=False, do_constant_folding=folding, opset_version=opset)
    return path


def _torchvision(name: str) -> Callable[[Path], Path]:
    def build(path: Path) -> Path:
        torch.manual_seed(0)
        model = _randomize_bn(torchvision.models.get_model(name, weights=None))
        return _export(model, (torch.randn(BATCH, 3, 64, 64),), path, 17)

    return build


class _BertOutputs(torch.nn.Module):
    """BertModel's two outputs as a tuple (the legacy exporter's usual input)."""

    def __init__(self) -> None:
        super().__init__()
        from transformers import BertConfig, BertModel

        settings: dict[str, Any] = {"attn_implementation": "eager"}  # a config kwarg its typed signature lacks
        config = BertConfig(
            vocab_size=100,
            hidden_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            intermediate_size=128,
            max_position_embeddings=32,
            **settings,
        )
        self.bert = _vary_constants(BertModel(config).eval())

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.bert(input_ids=ids, attention_mask=mask)
        return out.last_hidden_state, out.pooler_output


def _bert(folding: bool) -> Callable[[Path], Path]:
    def build(path: Path) -> Path:
        torch.manual_seed(0)
        ids = torch.randint(0, 100, (BATCH, 16))
        return _export(_BertOutputs().eval(), (ids, torch.ones_like(ids)), path, 17, folding)

    return build


class _ConvBnSiLU(torch.nn.Sequential):
    def __init__(self, c1: int, c2: int, k: int = 1, s: int = 1):
        super().__init__(torch.nn.Conv2d(c1, c2, k, s, k // 2, bias=False), torch.nn.BatchNorm2d(c2), torch.nn.SiLU())


class _Bottleneck(torch.nn.Module):
    def __init__(self, c: int, shortcut: bool):
        super().__init__()
        self.cv1, self.cv2, self.add = _ConvBnSiLU(c, c, 3), _ConvBnSiLU(c, c, 3), shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class _C2f(torch.nn.Module):
    """YOLOv8's C2f: a 1x1 conv chunked in two, bottlenecks on the second half, everything concatenated."""

    def __init__(self, c1: int, c2: int, n: int = 1, shortcut: bool = True):
        super().__init__()
        self.c = c2 // 2
        self.cv1 = _ConvBnSiLU(c1, 2 * self.c)
        self.m = torch.nn.ModuleList(_Bottleneck(self.c, shortcut) for _ in range(n))
        self.cv2 = _ConvBnSiLU((2 + n) * self.c, c2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = list(self.cv1(x).chunk(2, 1))
        y.extend(m(y[-1]) for m in self.m)
        return self.cv2(torch.cat(y, 1))


class _SPPF(torch.nn.Module):
    def __init__(self, c1: int, c2: int):
        super().__init__()
        self.cv1, self.cv2 = _ConvBnSiLU(c1, c1 // 2), _ConvBnSiLU(c1 * 2, c2)
        self.pool = torch.nn.MaxPool2d(5, 1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = [self.cv1(x)]
        y.extend(self.pool(y[-1]) for _ in range(3))
        return self.cv2(torch.cat(y, 1))


class _Yolo(torch.nn.Module):
    """A YOLOv8-n-like detector: backbone to P3/P4, an upsample-concat neck, two heads flattened and concatenated."""

    def __init__(self, classes: int = 8):
        super().__init__()
        self.p3 = torch.nn.Sequential(
            _ConvBnSiLU(3, 16, 3, 2), _ConvBnSiLU(16, 32, 3, 2), _C2f(32, 32), _ConvBnSiLU(32, 64, 3, 2), _C2f(64, 64)
        )
        self.p4 = torch.nn.Sequential(_ConvBnSiLU(64, 128, 3, 2), _C2f(128, 128), _SPPF(128, 128))
        self.up = torch.nn.Upsample(scale_factor=2, mode="nearest")
        self.n3 = _C2f(192, 64, shortcut=False)
        out = 16 + classes
        self.h3 = torch.nn.Sequential(_ConvBnSiLU(64, 64, 3), torch.nn.Conv2d(64, out, 1))
        self.h4 = torch.nn.Sequential(_ConvBnSiLU(128, 64, 3), torch.nn.Conv2d(64, out, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p3 = self.p3(x)
        p4 = self.p4(p3)
        n3 = self.n3(torch.cat([self.up(p4), p3], 1))
        return torch.cat([self.h3(n3).flatten(2), self.h4(p4).flatten(2)], 2)


def _yolo(opset: int) -> Callable[[Path], Path]:
    def build(path: Path) -> Path:
        torch.manual_seed(0)
        return _export(_randomize_bn(_Yolo()), (torch.randn(BATCH, 3, 64, 64),), path, opset)

    return build


class _TwoBiases(torch.nn.Module):
    """Two convs with one bias: the same Parameter (`tied`: one initializer both Conv nodes read) or equal values
    (torch.onnx's de-duplication of equal initializers: the second conv reads an Identity copy)."""

    def __init__(self, tied: bool) -> None:
        super().__init__()
        self.stem = torch.nn.Sequential(torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.BatchNorm2d(16), torch.nn.ReLU())
        self.a = torch.nn.Conv2d(16, 16, 3, padding=1)
        self.b = torch.nn.Conv2d(16, 16, 3, padding=1)
        if tied:
            self.b.bias = self.a.bias
        else:
            assert self.a.bias is not None and self.b.bias is not None
            with torch.no_grad():
                self.b.bias.copy_(self.a.bias)
        self.fc = torch.nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.b(torch.relu(self.a(self.stem(x)))))
        return self.fc(y.mean((2, 3)))


def _two_biases(tied: bool) -> Callable[[Path], Path]:
    def build(path: Path) -> Path:
        torch.manual_seed(0)
        _export(_randomize_bn(_TwoBiases(tied)), (torch.randn(BATCH, 3, 32, 32),), path, 17)
        graph = onnx.load(str(path)).graph
        copies = {n.output[0]: n.input[0] for n in graph.node if n.op_type == "Identity"}
        biases = [n.input[2] for n in graph.node if n.op_type == "Conv" and len(n.input) > 2]
        shared = [b for b in biases if biases.count(b) > 1] if tied else [b for b in biases if b in copies]
        if not shared:
            raise SpaError(f"the export has no {'shared' if tied else 'Identity-copied'} conv bias", where=str(path))
        return path

    return build


def _framework_file(name: str) -> Callable[[Path], Path]:
    return lambda _: FRAMEWORKS / name


def model_table() -> dict[str, Callable[[Path], Path]]:
    """Name -> a function writing (or finding) the ONNX file, given a path it may write."""
    files = json.loads((FRAMEWORKS / "manifest.json").read_text())["files"]
    table: dict[str, Callable[[Path], Path]] = {Path(f).stem: _framework_file(f) for f in files}
    table.update({n: _torchvision(n) for n in ("resnet18", "mobilenet_v3_small", "densenet121")})
    table.update({"bert_fold": _bert(True), "bert_nofold": _bert(False)})
    table.update({"yolo_op11": _yolo(11), "yolo_op17": _yolo(17), "shared_bias": _two_biases(True)})
    table["equal_bias"] = _two_biases(False)
    return table


# -- measuring an ONNX file ----------------------------------------------------------------------------------------


def run_onnx(model: onnx.ModelProto | Path, feeds: Feeds) -> Outputs:
    source = model.SerializeToString() if isinstance(model, onnx.ModelProto) else str(model)
    options = ort.SessionOptions()
    options.log_severity_level = 4  # a failing run raises; its error log would repeat it
    session = ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
    return [np.asarray(o) for o in session.run(None, feeds)]


def float_weight_elements(model: onnx.ModelProto) -> int:
    return sum(int(v.size) for v in weight_values(model).values() if np.issubdtype(v.dtype, np.floating))


def _static_copy(model: onnx.ModelProto, feeds: Feeds) -> onnx.ModelProto:
    """The model with every graph input's dims set to the fed shapes (and stale value_info dropped)."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    del out.graph.value_info[:]
    for inp in out.graph.input:
        if inp.name in feeds:
            dims = inp.type.tensor_type.shape.dim
            for d, size in zip(dims, feeds[inp.name].shape):
                d.Clear()
                d.dim_value = int(size)
    return out


def _known_shapes(model: onnx.ModelProto) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {i.name: tuple(i.dims) for i in model.graph.initializer}
    graph = model.graph
    for vi in [*graph.input, *graph.value_info, *graph.output]:
        if not vi.type.HasField("tensor_type") or not vi.type.tensor_type.HasField("shape"):
            continue
        dims = vi.type.tensor_type.shape.dim
        if all(d.HasField("dim_value") for d in dims):
            shapes[vi.name] = tuple(d.dim_value for d in dims)
    for node in graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            shapes[node.output[0]] = tuple(node.attribute[0].t.dims)
    return shapes


def _measured_shapes(model: onnx.ModelProto, names: Sequence[str], feeds: Feeds) -> dict[str, tuple[int, ...]]:
    """Shapes shape inference left open, from a run of the model with those values as extra outputs."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    present = {o.name for o in out.graph.output}
    for n in names:
        if n not in present:
            out.graph.output.append(onnx.helper.make_empty_tensor_value_info(n))
    session = ort.InferenceSession(out.SerializeToString(), providers=["CPUExecutionProvider"])
    wanted = list(names)
    return {n: tuple(np.asarray(v).shape) for n, v in zip(wanted, session.run(wanted, feeds))}


def _macs(node: onnx.NodeProto, shapes: dict[str, tuple[int, ...]]) -> int:
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    if node.op_type == "Conv":
        w = shapes[node.input[1]]
        return math.prod(shapes[node.output[0]]) * math.prod(w[1:])
    if node.op_type == "ConvTranspose":
        w = shapes[node.input[1]]
        return math.prod(shapes[node.input[0]]) * math.prod(w[1:])
    if node.op_type == "Gemm":
        a = shapes[node.input[0]]
        k = a[0] if attrs.get("transA", 0) else a[1]
        return math.prod(shapes[node.output[0]]) * k
    if node.op_type == "Attention":  # com.microsoft: input [B, S, D] x weights [D, q + k + v], then QK^T and AV
        x, w = shapes[node.input[0]], shapes[node.input[1]]
        sizes = list(attrs.get("qkv_hidden_sizes", [])) or [w[1] // 3] * 3
        tokens, seq = math.prod(x[:-1]), x[-2]
        return tokens * w[0] * w[1] + tokens * seq * (sizes[0] + sizes[2])
    a = shapes[node.input[0]]  # MatMul, FusedMatMul (with transA)
    k = a[-2] if attrs.get("transA", 0) and len(a) > 1 else a[-1]
    return math.prod(shapes[node.output[0]]) * k


def onnx_flops(model: onnx.ModelProto, feeds: Feeds) -> int:
    """2 x the MACs of every Conv / ConvTranspose / Gemm / MatMul of the main graph (spa's cost model counts the
    same ops: flop_counter's conventions), from shapes inferred on a static-batch copy; shapes inference leaves
    open (run-time reshapes) are measured in onnxruntime."""
    static = _static_copy(model, feeds)
    inferred = onnx.shape_inference.infer_shapes(static, data_prop=True)
    shapes = _known_shapes(inferred)
    nodes = [n for n in inferred.graph.node if n.op_type in WEIGHTED_OPS]
    needed = {x for n in nodes for x in (*n.input[:2], n.output[0]) if x}
    missing = sorted(needed - set(shapes))
    if missing:
        shapes.update(_measured_shapes(static, missing, feeds))
    return 2 * sum(_macs(n, shapes) for n in nodes)


_WEIGHT_VIEWS = frozenset({"Transpose", "Identity", "Cast", "Reshape", "Unsqueeze", "Squeeze"})
"""Ops a layer may read its weight through (torch.onnx without constant folding: MatMul(x, Transpose(W)))."""


def _weight_sizes(model: onnx.ModelProto) -> dict[str, int]:
    """Elements of every weight, and of every value computed from one weight by _WEIGHT_VIEWS, by value name."""
    sizes = {n: int(v.size) for n, v in weight_values(model).items()}
    for node in model.graph.node:
        if node.op_type in _WEIGHT_VIEWS and node.input and node.input[0] in sizes:
            sizes[node.output[0]] = sizes[node.input[0]]
    return sizes


def layers_cut(reference: onnx.ModelProto, pruned: onnx.ModelProto) -> int:
    """Layers (LAYER_OPS nodes) of `pruned` with a weight input smaller than the same node's in `reference` (nodes
    matched by their first output's name, which both tools keep)."""
    before, after = _weight_sizes(reference), _weight_sizes(pruned)
    ref_nodes = {n.output[0]: n for n in reference.graph.node if n.output}
    cut = 0
    for node in pruned.graph.node:
        ref = ref_nodes.get(node.output[0]) if node.output else None
        if ref is None or ref.op_type != node.op_type or node.op_type not in LAYER_OPS:
            continue
        if any(x in after and y in before and after[x] < before[y] for x, y in zip(node.input, ref.input)):
            cut += 1
    return cut


def max_relative_error(got: Outputs, want: Outputs) -> float:
    err = 0.0
    for g, w in zip(got, want):
        if g.shape != w.shape:
            return math.inf
        scale = float(np.abs(w).max()) if w.size else 0.0
        err = max(err, float(np.abs(g.astype(np.float64) - w).max()) / max(scale, 1e-30) if w.size else 0.0)
    return err


def cosine(got: Outputs, want: Outputs) -> float:
    a = np.concatenate([g.astype(np.float64).ravel() for g in got])
    b = np.concatenate([w.astype(np.float64).ravel() for w in want])
    return float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-300))


def top1(got: Outputs, want: Outputs) -> float:
    return float(np.mean(got[0].argmax(-1) == want[0].argmax(-1)))


# -- onnxsim's removed slices --------------------------------------------------------------------------------------


def _kept_along(before: np.ndarray, after: np.ndarray, axis: int) -> list[int] | None:
    """The indices along `axis` of `before` whose slices `after`'s are (other axes may be cut too): each slice of
    `after` is found by the values it holds that occur once in `before`, then checked to be inside that slice."""
    if not before.any():
        return list(range(after.shape[axis]))  # all zeros: which slices go changes nothing the mask writes
    a = np.moveaxis(before, axis, 0).reshape(before.shape[axis], -1)
    b = np.moveaxis(after, axis, 0).reshape(after.shape[axis], -1)
    flat = a.ravel()
    values, first, counts = np.unique(flat, return_index=True, return_counts=True)
    unique_rows = dict(zip(values[counts == 1].tolist(), (first[counts == 1] // a.shape[1]).tolist()))
    kept: list[int] = []
    for row in b:
        hits = [unique_rows[v] for v in row.tolist() if v in unique_rows]
        if not hits:
            return None
        j = max(set(hits), key=hits.count)
        if not np.isin(row, a[j]).all():
            return None
        kept.append(j)
    return kept if kept == sorted(set(kept)) else None


def removed_slices(reference: onnx.ModelProto, pruned: onnx.ModelProto) -> PlanParams | str:
    """What onnxsim removed from `reference`, as a plan's params (weight -> dim -> removed indices), or why it
    cannot be told."""
    before, after = weight_values(reference), weight_values(pruned)
    removed: PlanParams = {}
    for name, value in after.items():
        if name not in before:
            return f"new weight {name}"
        old = before[name]
        if old.shape == value.shape:
            continue
        if old.ndim != value.ndim:
            return f"{name} changed rank"
        for axis, (n, k) in enumerate(zip(old.shape, value.shape)):
            if k < n:
                kept = _kept_along(old, value, axis)
                if kept is None:
                    return f"{name} dim {axis}: kept slices not found"
                removed.setdefault(name, {})[str(axis)] = sorted(set(range(n)) - set(kept))
    return removed


# -- the methods ---------------------------------------------------------------------------------------------------


@dataclass
class Result:
    model: str
    method: str
    target: str
    seconds: float | None = None
    layers: int | None = None
    flops: float | None = None
    params: float | None = None
    runs: bool | None = None
    error: str | None = None
    exact: str = "n/a"
    cos: float | None = None
    top1: float | None = None
    note: str = ""


def _failed(result: Result, stage: str, e: Exception) -> Result:
    kind = "" if isinstance(e, SpaError) else f"{type(e).__name__}: "
    result.error = f"{stage}: {kind}{first_line(e)}"
    result.runs = False
    return result


def measure(
    result: Result, case: Case, path: Path, reference: onnx.ModelProto, masked: Callable[[], onnx.ModelProto | str]
) -> Result:
    """Everything about the written file `path`: structure, cost, whether it runs, exactness, agreement."""
    pruned = onnx.load(str(path))
    result.layers = layers_cut(reference, pruned)
    result.params = float_weight_elements(pruned) / case.params
    try:
        result.flops = onnx_flops(pruned, case.feeds) / case.flops
        got = run_onnx(pruned, case.feeds)
    except Exception as e:
        return _failed(result, "onnxruntime", e)
    if [g.shape for g in got] != [w.shape for w in case.want]:
        result.runs, result.error = False, f"output shapes {[g.shape for g in got]}"
        return result
    result.runs = True
    result.cos = cosine(got, case.want)
    result.top1 = top1(got, case.want) if case.classifier else None
    try:
        reference_model = masked()
        if isinstance(reference_model, str):
            result.exact = f"n/a ({reference_model})"
        else:
            err = max_relative_error(got, run_onnx(reference_model, case.feeds))
            result.exact = f"{'yes' if err < TOLERANCE else 'no'} {err:.0e}"
    except Exception as e:
        result.exact = f"n/a (mask: {first_line(e)})"
    return result


def clone_program(prog: Program) -> Program:
    return Program(prog.module.clone(), WeightStore(dict(prog.weights.items())), prog.source)


def run_spa(
    case: Case, program: Program, import_s: float, method: str, options: dict[str, Any], target: str, out: Path
) -> Result:
    result = Result(case.name, method, target)
    prog = clone_program(program)
    t0 = time.perf_counter()
    try:
        plan = api.prune_program(prog, only_exact=True, **options)
    except Exception as e:
        return _failed(result, "prune", e)
    try:
        save_onnx(prog, out)
    except Exception as e:
        return _failed(result, "save_onnx", e)
    result.seconds = import_s + time.perf_counter() - t0
    params = plan.to_json()["params"]
    return measure(result, case, out, case.original, lambda: masked_onnx(case.original, params, plan.tensors))


def run_onnxsim(case: Case, sparsity: float, simplify: bool, out: Path) -> Result:
    result = Result(case.name, "onnxsim+sim" if simplify else "onnxsim", f"s={sparsity}")
    t0 = time.perf_counter()
    try:
        model = onnx.load(str(case.path))
        if simplify:
            model, ok = onnxsim.simplify(model)
            if not ok:
                raise RuntimeError("onnxsim.simplify's check failed")
        pruned = onnxsim.apply_structured_pruning(model, sparsity=sparsity, importance_norm="l2")
        onnx.save(pruned, str(out))
    except Exception as e:
        return _failed(result, "onnxsim", e)
    result.seconds = time.perf_counter() - t0
    if simplify:
        counted = onnx_flops(model, case.feeds)
        if abs(counted - case.flops) > 0.01 * case.flops:
            result.note = f"simplify changed the counted FLOPs {case.flops:.3g} -> {counted:.3g}"

    def masked() -> onnx.ModelProto | str:
        removed = removed_slices(model, pruned)
        return removed if isinstance(removed, str) else masked_onnx(model, removed)

    return measure(result, case, out, model, masked)


def _better(a: Result, b: Result) -> Result:
    """onnxsim's better variant: the one that runs and keeps fewer FLOPs (then higher agreement)."""

    def key(r: Result) -> tuple[bool, float, float]:
        return (bool(r.runs), -(r.flops if r.flops is not None else 1.0), r.cos or -1.0)

    return max((a, b), key=key)


def _at_flops(
    case: Case,
    program: Program,
    import_s: float,
    method: str,
    options: dict[str, Any],
    flops: float,
    s: float,
    tmp: Path,
) -> Result:
    """spa at keep_flops = what onnxsim kept: local scope (one ratio for every group, as onnxsim's per-layer cut), or
    global scope where the one ratio cannot land within 0.02 of it (a small model's coarse steps)."""
    target = {"keep_flops": round(flops, 4)}
    out = tmp / f"{case.name}.{method}.F{s}.onnx"
    result = run_spa(case, program, import_s, method, {**options, **target}, f"@F s={s}", out)
    if result.error is not None and "out of reach under scope local" in result.error:
        result = run_spa(case, program, import_s, method, {**options, **target, "scope": "global"}, f"@Fg s={s}", out)
    return result


def bench_model(name: str, build: Callable[[Path], Path], tmp: Path, obspa: dict[str, Any]) -> list[Result]:
    try:
        case = Case.load(name, build(tmp / f"{name}.onnx"))
    except Exception as e:
        return [_failed(Result(name, "build", "-"), "build/export", e)]
    t0 = time.perf_counter()
    try:
        program = api.import_onnx(case.path)
    except Exception as e:
        program, spa_failure = None, _failed(Result(name, "spa", "-"), "import_onnx", e)
    import_s = time.perf_counter() - t0
    print(f"# {name}: spa import {import_s:.2f} s", flush=True)
    methods = {"spa-l2": {"criterion": "l2"}, "spa-obspa": {"criterion": "obspa", **obspa}}
    results: list[Result] = []
    for s in SPARSITIES:
        peers = [run_onnxsim(case, s, simp, tmp / f"{name}.onnxsim{int(simp)}.{s}.onnx") for simp in (False, True)]
        spa_rows: list[Result] = []
        for method, options in methods.items():
            if program is None:
                spa_rows.append(Result(name, method, f"s={s}", error=spa_failure.error, runs=False))
                continue
            out = tmp / f"{name}.{method}.{s}.onnx"
            spa_rows.append(run_spa(case, program, import_s, method, {**options, "ratio": s}, f"s={s}", out))
        best = _better(*peers)
        if program is not None and best.runs and best.flops is not None and best.flops < 0.995:
            for method, options in methods.items():
                spa_rows.append(_at_flops(case, program, import_s, method, options, best.flops, s, tmp))
        results.extend([*spa_rows, *peers])
    return results


# -- the table -----------------------------------------------------------------------------------------------------


def _num(x: float | None, fmt: str) -> str:
    return "-" if x is None else format(x, fmt)


def print_table(results: list[Result]) -> None:
    errors: list[str] = []
    head = f"{'model':<22}{'method':<12}{'target':<12}{'time s':>8}{'cut':>5}{'FLOPs':>7}{'params':>7}"
    print(head + f"  {'runs':<8}{'exact':<14}{'cos':>8}{'top-1':>7}")
    for r in results:
        runs = "-" if r.runs is None else "yes"
        if r.error is not None:
            errors.append(f"[{len(errors) + 1}] {r.model} {r.method} {r.target}: {r.error}")
            runs = f"no [{len(errors)}]"
        print(
            f"{r.model:<22}{r.method:<12}{r.target:<12}{_num(r.seconds, '.2f'):>8}{_num(r.layers, 'd'):>5}"
            f"{_num(r.flops, '.3f'):>7}{_num(r.params, '.3f'):>7}  {runs:<8}{r.exact[:13]:<14}"
            f"{_num(r.cos, '.4f'):>8}{_num(r.top1, '.2f'):>7}"
        )
    for line in errors:
        print(line)
    notes = sorted({f"{r.model} {r.method} {r.target}: exact {r.exact}" for r in results if len(r.exact) > 13})
    notes += [f"{r.model} {r.method} {r.target}: {r.note}" for r in results if r.note]
    for line in notes:
        print(line)


def _find(results: list[Result], model: str, method: str, target: str) -> Result | None:
    return next((r for r in results if (r.model, r.method, r.target) == (model, method, target)), None)


def _ratio(x: float | None, y: float | None) -> str:
    return "-" if x is None or y is None or y == 0 else f"{x / y:.3f}"


def _diff(x: float | None, y: float | None, fmt: str) -> str:
    return "-" if x is None or y is None else format(x - y, fmt)


def _at_same_flops(results: list[Result], model: str, method: str, s: float) -> Result:
    found = _find(results, model, method, f"@F s={s}") or _find(results, model, method, f"@Fg s={s}")
    return found or Result(model, method, "-")


def print_ratios(results: list[Result]) -> None:
    """spa/onnxsim per model and sparsity, against onnxsim's better variant: time and layers cut at the same
    sparsity (spa-l2), agreement at the same FLOPs (cosine ratio, top-1 difference)."""
    print()
    print(
        f"{'model':<22}{'s':>5}{'onnxsim':>13}{'time l2/peer':>14}{'cut l2-peer':>13}{'cos l2@F/peer':>15}"
        f"{'cos obspa@F/peer':>18}{'top1 l2@F-peer':>16}"
    )
    time_ratios: list[float] = []
    for model in dict.fromkeys(r.model for r in results):
        for s in SPARSITIES:
            a, b = _find(results, model, "onnxsim", f"s={s}"), _find(results, model, "onnxsim+sim", f"s={s}")
            if a is None or b is None:
                continue
            peer = _better(a, b)
            l2 = _find(results, model, "spa-l2", f"s={s}") or Result(model, "spa-l2", "-")
            l2f, obf = _at_same_flops(results, model, "spa-l2", s), _at_same_flops(results, model, "spa-obspa", s)
            if l2.seconds and peer.seconds:
                time_ratios.append(l2.seconds / peer.seconds)
            print(
                f"{model:<22}{s:>5}{peer.method:>13}{_ratio(l2.seconds, peer.seconds):>14}"
                f"{_diff(l2.layers, peer.layers, '+d'):>13}{_ratio(l2f.cos, peer.cos):>15}"
                f"{_ratio(obf.cos, peer.cos):>18}{_diff(l2f.top1, peer.top1, '+.2f'):>16}"
            )
    if time_ratios:
        geo = math.exp(sum(math.log(r) for r in time_ratios) / len(time_ratios))
        print(f"time spa-l2/onnxsim: geometric mean {geo:.2f}, max {max(time_ratios):.2f} over {len(time_ratios)}")


def warm_up(tmp: Path) -> None:
    """One prune by each tool on a small file first: one-time imports (torch-mlir, xDSL, onnxsim) are not timed."""
    path = FRAMEWORKS / "keras_mlp_op15.onnx"
    prog = api.import_onnx(path)
    api.prune_program(prog, ratio=0.3, criterion="l2", only_exact=True)
    save_onnx(prog, tmp / "warm.onnx")
    onnxsim.apply_structured_pruning(onnxsim.simplify(onnx.load(str(path)))[0], sparsity=0.3)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*")
    parser.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)}")
    parser.add_argument("--obspa-source", default="stats", choices=("stats", "identity", "synthetic"))
    args = parser.parse_args(argv)
    table = model_table()
    names = args.models or (list(QUICK) if args.quick else list(table))
    unknown = [n for n in names if n not in table]
    if unknown:
        parser.error(f"unknown models {unknown} (known: {', '.join(table)})")
    obspa = {"source": args.obspa_source}
    t0 = time.perf_counter()
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="onnx_peer.") as d:
        tmp = Path(d)
        warm_up(tmp)
        for name in names:
            t = time.perf_counter()
            results.extend(bench_model(name, table[name], tmp, obspa))
            print(f"# {name}: {time.perf_counter() - t:.1f} s", flush=True)
    print()
    print(f"spa-obspa: criterion=obspa source={args.obspa_source} (no data); FLOPs/params: fractions of the file")
    print_table(results)
    print_ratios(results)
    print(f"total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
