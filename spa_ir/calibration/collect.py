"""Running the emitted module on calibration batches and accumulating statistics (kinds.py) in float64.

The module is the backend's GraphModule (`to_graph_module`), instrumented (sites.py): each consumer call
hands its activation operand, and a 2-D conv its output, to the graph's outputs, so one forward gives the
loss and every tap, under vmap too. Parameters are passed
functionally (`torch.func.functional_call`), so gradients need no `requires_grad` on the module.

Batching follows the IR's batch dims: dynamic -> batches of `--calib-batch`; a batch-1 capture -> each batch
through `torch.func.vmap` over its samples (every inner call sees batch 1); a static batch B > 1 -> chunks of
B (a remainder is left out, and meta says so). FISHER is true per-sample gradients (vmap(grad), or jacrev of
the per-sample losses for a static batch; a per-sample loop where those fail). HG is a second pass: the
mean gradient g first, then Σ_b H_b·g by double backward, over N.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.fx as fx
import torch.nn.functional as F
from torch.func import functional_call, grad, jacrev, vmap
from torch.utils._pytree import tree_map
from xdsl.dialects.builtin import ModuleOp

from spa_ir.calibration import kinds as K
from spa_ir.calibration.data import Bound, Calibration, model_inputs
from spa_ir.calibration.sites import Site, find_sites, instrument, vmappable
from spa_ir.calibration.store import StatsStore, ir_hash
from spa_ir.core.errors import SpaError, first_line
from spa_ir.core.ir import params as param_ops
from spa_ir.core.progress import progress
from spa_ir.core.weights import WeightStore

Tensors = dict[str, torch.Tensor]

# ----------------------------------------------------------------------------------------------- losses


def per_sample_loss(
    out: Any, targets: torch.Tensor | None, mask: torch.Tensor | None, calib: Calibration
) -> torch.Tensor:
    """ℓ_i for each sample of a batch, [B]: the masked positions left out."""
    if isinstance(out, (tuple, list)):
        out = out[0]
    b = out.shape[0]
    if calib.loss_fn is not None:
        r = calib.loss_fn(out, targets)
        return r.reshape(b) if r.numel() == b else r.reshape(()).expand(b)
    if calib.loss == "output-norm":
        per = 0.5 * out.reshape(b, -1, out.shape[-1]).pow(2).sum(-1) if out.dim() > 1 else 0.5 * out.pow(2)
        return _masked_mean(per.reshape(b, -1), mask, summed=True)
    if calib.loss == "mse":
        assert targets is not None
        per = (out - targets.to(out.dtype)).pow(2)
        per = per.reshape(b, -1, out.shape[-1]).mean(-1) if out.dim() > 1 else per
        return _masked_mean(per.reshape(b, -1), mask)
    k = out.shape[-1]
    logits = out.reshape(-1, k)
    if targets is None:
        labels: torch.Tensor = out.detach().argmax(-1).reshape(-1)
    elif targets.is_floating_point():
        labels = targets.to(out.dtype).reshape(-1, k)
    else:
        labels = targets.reshape(-1).long()
    ce = F.cross_entropy(logits, labels, reduction="none")
    return _masked_mean(ce.reshape(b, -1), mask)


def _masked_mean(per: torch.Tensor, mask: torch.Tensor | None, *, summed: bool = False) -> torch.Tensor:
    """Per-sample mean (or sum) over positions [B, P], positions where the mask is 0 left out (when it fits)."""
    if mask is None or mask.reshape(mask.shape[0], -1).shape[1] != per.shape[1]:
        return per.sum(1) if summed else per.mean(1)
    m = mask.reshape(per.shape).to(per.dtype)
    total = (per * m).sum(1)
    return total if summed else total / m.sum(1).clamp(min=1)


# ------------------------------------------------------------------------------------------------ running


@dataclass
class Runner:
    """The instrumented module as a function of (params, batch), batched as the IR's batch dims allow."""

    gm: fx.GraphModule
    path: str
    """"dynamic" | "vmap" | "chunks" | "loop"."""
    chunk: int

    def call(self, params: Tensors, inputs: tuple[torch.Tensor, ...]) -> Any:
        if self.path in ("dynamic", "chunks"):
            return functional_call(self.gm, params, inputs)
        if self.path == "vmap":

            def one(*xs: torch.Tensor) -> Any:
                return functional_call(self.gm, params, tuple(x.unsqueeze(0) for x in xs))

            return tree_map(_merge_samples, vmap(one)(*inputs))
        outs = [functional_call(self.gm, params, tuple(x[i : i + 1] for x in inputs)) for i in range(len(inputs[0]))]
        return tree_map(lambda *ts: torch.cat(ts), *outs)

    def single(self, params: Tensors, xs: tuple[torch.Tensor, ...]) -> Any:
        """One sample (no batch dim) through the model at batch 1."""
        return functional_call(self.gm, params, tuple(x.unsqueeze(0) for x in xs))


def _merge_samples(t: Any) -> Any:
    """vmap's [B, 1, ...] (each call at batch 1) back to [B, ...]; values without a batch dim keep [B, ...]."""
    if isinstance(t, torch.Tensor) and t.dim() >= 2 and t.shape[1] == 1:
        return t.flatten(0, 1)
    return t


def batching(module: ModuleOp, calib: Calibration, samples: int) -> tuple[str, int, str]:
    """(path, chunk size, the meta's sentence) from the IR's batch dims."""
    dims = {s.shape[0] for s in model_inputs(module)}
    if len(dims) != 1:
        raise calib.fail(f"the model's inputs disagree on the batch dim ({sorted(dims)}): cannot batch them")
    (dim,) = dims
    if dim < 0:
        return "dynamic", calib.batch, f"dynamic batch, batches of {calib.batch}"
    if dim == 1:
        return "vmap", calib.batch, f"vmap over samples of a batch-1 capture, batches of {calib.batch}"
    left = samples % dim
    note = f" ({left} of {samples} samples left out)" if left else ""
    if samples < dim:
        raise calib.fail(f"{samples} samples are fewer than the model's static batch {dim}")
    return "chunks", dim, f"chunks of the static batch {dim}{note}"


def batches(
    bound: Bound, chunk: int, samples: int, exact: bool, device: torch.device | None = None
) -> Iterator[tuple[tuple[torch.Tensor, ...], torch.Tensor | None, torch.Tensor | None]]:
    """Batches of `chunk` samples, each moved to `device` (None: where the data is); `exact` (a static batch):
    only whole chunks."""
    stop = samples - samples % chunk if exact else samples

    def to(t: torch.Tensor) -> torch.Tensor:
        return t if device is None else t.to(device)

    for start in range(0, stop, chunk):
        sl = slice(start, min(start + chunk, stop))
        t = to(bound.targets[sl]) if bound.targets is not None else None
        m = to(bound.mask[sl]) if bound.mask is not None else None
        yield tuple(to(x[sl]) for x in bound.inputs), t, m


def batch_count(chunk: int, samples: int, exact: bool) -> int:
    """How many batches `batches` yields (a progress bar's total)."""
    stop = samples - samples % chunk if exact else samples
    return -(-stop // chunk)


# -------------------------------------------------------------------------------------------- statistics


class Accumulators:
    """float64 sums, keyed `<weight>:<kind>`."""

    def __init__(self) -> None:
        self.sums: Tensors = {}

    def add(self, weight: str, kind: str, value: torch.Tensor) -> None:
        key = K.key(weight, kind)
        v = value.detach().to(torch.float64)
        self.sums[key] = self.sums[key] + v if key in self.sums else v.clone()

    @property
    def bytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self.sums.values())


def conv_rows(x: torch.Tensor, site: Site) -> torch.Tensor:
    """The conv's input feature rows [rows, C_in/g·kh·kw] (weight.reshape(C_out, -1)'s column order)."""
    c = site.consumer
    if site.conv["transposed"] or len(c.kernel) not in (1, 2):
        raise SpaError(
            f"in_cov of a {len(c.kernel)}-D{' transposed' if site.conv['transposed'] else ''} conv is not supported",
            where=site.weight,
        )
    geo = {
        k: [int(v) for v in site.conv[k]] if not isinstance(site.conv[k], str) else site.conv[k]
        for k in ("stride", "padding", "dilation")
    }
    kernel = list(c.kernel)
    pad = geo["padding"]
    if isinstance(pad, str):
        if pad == "valid":
            pad = [0] * len(kernel)
        elif all((d * (k - 1)) % 2 == 0 for d, k in zip(geo["dilation"], kernel)):
            pad = [d * (k - 1) // 2 for d, k in zip(geo["dilation"], kernel)]
        else:
            raise SpaError("in_cov of a conv with asymmetric 'same' padding is not supported", where=site.weight)
    stride, dil = geo["stride"], geo["dilation"]
    if len(kernel) == 1:
        x, kernel, pad, stride, dil = x.unsqueeze(2), [1, *kernel], [0, *pad], [1, *stride], [1, *dil]
    cols = F.unfold(x.to(torch.float64), tuple(kernel), tuple(dil), tuple(pad), tuple(stride))  # [B, C·kk, L]
    b, fk, length = cols.shape
    per_group = fk // c.groups
    return cols.reshape(b, c.groups, per_group, length).permute(0, 1, 3, 2).reshape(-1, per_group)


def add_activations(
    acc: Accumulators,
    sites: list[Site],
    taps: tuple[torch.Tensor, ...],
    kinds: frozenset[str],
    mask: torch.Tensor | None,
) -> None:
    for s in sites:
        if s.tap_x is not None:
            x = taps[s.tap_x].detach()
            if s.consumer.op == "conv":
                dims = [d for d in range(x.dim()) if d != 1]
                xd = x.to(torch.float64)
                acc.add(s.weight, K.IN_SUM, xd.sum(dims))
                acc.add(s.weight, K.IN_SQ, xd.pow(2).sum(dims))
                acc.add(s.weight, K.IN_COUNT, _count(x.numel() // x.shape[1], x))
                if K.IN_COV in kinds:
                    rows = conv_rows(x, s)
                    acc.add(s.weight, K.IN_COV, rows.T @ rows)
                    acc.add(s.weight, K.IN_ROW_SUM, rows.sum(0))
                    acc.add(s.weight, K.IN_COV_COUNT, _count(rows.shape[0], x))
            else:
                rows = x.reshape(-1, x.shape[-1]).to(torch.float64)
                if mask is not None and mask.numel() == rows.shape[0]:
                    rows = rows[mask.reshape(-1)]
                acc.add(s.weight, K.IN_SUM, rows.sum(0))
                acc.add(s.weight, K.IN_SQ, rows.pow(2).sum(0))
                acc.add(s.weight, K.IN_COUNT, _count(rows.shape[0], x))
                if K.IN_COV in kinds:
                    acc.add(s.weight, K.IN_COV, rows.T @ rows)
                    acc.add(s.weight, K.IN_ROW_SUM, rows.sum(0))
                    acc.add(s.weight, K.IN_COV_COUNT, _count(rows.shape[0], x))
        if s.tap_y is not None:
            y = taps[s.tap_y].detach().to(torch.float64)
            acc.add(s.weight, K.OUT_RANK, torch.linalg.matrix_rank(y).to(torch.float64).sum(0))


def _count(n: int, like: torch.Tensor) -> torch.Tensor:
    """A row count as a float64 scalar beside the activations it counts (summed with them on their device)."""
    return torch.tensor(float(n), dtype=torch.float64, device=like.device)


def _grads(loss: torch.Tensor, params: Tensors, *, create_graph: bool = False) -> list[torch.Tensor]:
    values = list(params.values())
    gs = torch.autograd.grad(loss, values, create_graph=create_graph, allow_unused=True)
    return [torch.zeros_like(v) if g is None else g for g, v in zip(gs, values)]


# -------------------------------------------------------------------------------------------- the driver


def collect(
    module: ModuleOp,
    weights: WeightStore,
    source: str,
    calib: Calibration,
    kinds: frozenset[str],
    device: torch.device | None = None,
) -> StatsStore:
    """Run the module on the calibration data on `device` (None: the CPU) and return the statistics of `kinds`
    (and their companions), on the CPU."""
    from spa_ir.backends.torch_fx import to_graph_module
    from spa_ir.calibration.device import on_device
    from spa_ir.core.program import Program

    kinds = K.closure(kinds)
    unknown = kinds - K.ALL_KINDS
    if unknown:
        raise SpaError(f"unknown statistic kind '{sorted(unknown)[0]}' (known: {', '.join(sorted(K.ALL_KINDS))})")
    bound = calib.bind(module)
    samples = int(bound.inputs[0].shape[0])
    path, chunk, note = batching(module, calib, samples)
    device = torch.device("cpu") if device is None else device
    gm = on_device(to_graph_module(Program(module, weights, source)), device)
    stored = {p.weight_name for p in param_ops(module) if not p.is_buffer}
    params: Tensors = {n: p.detach() for n, p in gm.named_parameters() if n in stored and p.is_floating_point()}
    sites = find_sites(gm, set(params), {n: tuple(p.shape) for n, p in params.items()})
    instrument(gm, sites, bool(kinds & K.INPUT_KINDS), K.OUT_RANK in kinds)
    vmappable(gm)
    try:
        run = _Run(Runner(gm, path, chunk), params, sites, kinds, calib, device)
        run.over(bound, samples)
    except SpaError:
        raise
    except Exception as e:  # the model's own failure at run time, or an op vmap has no rule for
        if path != "vmap":
            raise SpaError(f"calibration run failed: {first_line(e, named=True)}", where=source) from None
        note = f"one sample per forward (vmap over samples failed: {first_line(e, named=True)})"
        try:
            run = _Run(Runner(gm, "loop", chunk), params, sites, kinds, calib, device)
            run.over(bound, samples)
        except SpaError:
            raise
        except Exception as e2:  # the model's own failure at run time
            raise SpaError(f"calibration run failed: {first_line(e2, named=True)}", where=source) from None
    meta = {
        "ir_hash": ir_hash(module),
        "source": calib.source,
        "loss": calib.loss_name,
        "label_source": calib.label_source,
        "batching": note,
        "samples": str(run.used),
        "bytes": str(run.acc.bytes),
        "kinds": ",".join(sorted(kinds)),
    }
    if run.fisher_note:
        meta["fisher"] = run.fisher_note
    return StatsStore(_finish(run.acc, run.used, kinds), meta=meta, consumers={s.weight: s.consumer for s in sites})


@dataclass
class _Run:
    """One collection over all batches: the first pass (loss gradient, taps, per-sample gradients), then HG."""

    runner: Runner
    params: Tensors
    sites: list[Site]
    kinds: frozenset[str]
    calib: Calibration
    device: torch.device
    acc: Accumulators = field(default_factory=Accumulators)
    used: int = 0
    fisher_note: str = ""

    def over(self, bound: Bound, samples: int) -> None:
        exact = self.runner.path == "chunks"
        need_grad = bool(self.kinds & {K.GRAD, K.HG})
        todo = batches(bound, self.runner.chunk, samples, exact, self.device)
        total = batch_count(self.runner.chunk, samples, exact)
        for inputs, targets, mask in progress(todo, "calibration", total=total, unit="batch"):
            if need_grad:
                live = {n: p.detach().requires_grad_(True) for n, p in self.params.items()}
                out, taps = self.runner.call(live, inputs)
                loss = per_sample_loss(out, targets, mask, self.calib).sum()
                for n, g in zip(live, _grads(loss, live)):
                    self.acc.add(n, K.GRAD, g)
            else:
                with torch.no_grad():
                    out, taps = self.runner.call(self.params, inputs)
            add_activations(self.acc, self.sites, taps, self.kinds, mask)
            if K.FISHER in self.kinds:
                sums, self.fisher_note = _fisher(self.runner, self.params, inputs, targets, mask, self.calib)
                for n, v in sums.items():
                    self.acc.add(n, K.FISHER, v)
            self.used += int(inputs[0].shape[0])
        if K.HG in self.kinds:
            self._hg(bound, samples, exact)

    def _hg(self, bound: Bound, samples: int, exact: bool) -> None:
        """Σ_b H_b·g with g the mean gradient: the gradient of g_b·stopgrad(g) (double backward)."""
        mean_grad = [self.acc.sums[K.key(n, K.GRAD)] / self.used for n in self.params]
        for inputs, targets, mask in batches(bound, self.runner.chunk, samples, exact, self.device):
            live = {n: p.detach().requires_grad_(True) for n, p in self.params.items()}
            out, _ = self.runner.call(live, inputs)
            gs = _grads(per_sample_loss(out, targets, mask, self.calib).sum(), live, create_graph=True)
            dot = torch.stack([(g * m.to(g.dtype)).sum() for g, m in zip(gs, mean_grad)]).sum()
            for n, hv in zip(live, _grads(dot, live)):
                self.acc.add(n, K.HG, hv)


def _finish(acc: Accumulators, used: int, kinds: frozenset[str]) -> Tensors:
    """Sums -> the kinds' definitions: gradients and ranks are means over samples; input moments stay sums. On
    the CPU, where the store keeps them."""
    out: Tensors = {}
    for key, value in acc.sums.items():
        kind = K.split_key(key)[1]
        if kind not in kinds:
            continue
        out[key] = (value / used if kind in (K.GRAD, K.FISHER, K.HG, K.OUT_RANK) else value).cpu()
    return out


def _fisher(
    runner: Runner,
    params: Tensors,
    inputs: tuple[torch.Tensor, ...],
    targets: torch.Tensor | None,
    mask: torch.Tensor | None,
    calib: Calibration,
) -> tuple[Tensors, str]:
    """Σ over the batch's samples of each squared per-sample gradient, and how it was computed."""
    sums: Tensors = {}

    def add(n: str, v: torch.Tensor) -> None:
        v = v.detach().to(torch.float64)
        sums[n] = sums[n] + v if n in sums else v

    if runner.path == "chunks":

        def losses(p: Tensors) -> torch.Tensor:
            return per_sample_loss(runner.call(p, inputs)[0], targets, mask, calib)

        try:
            jac = jacrev(losses)(params)
            return {n: jac[n].to(torch.float64).pow(2).sum(0) for n in params}, "jacrev of the per-sample losses"
        except Exception:  # an op without a vmap rule: one backward per sample
            live = {n: p.detach().requires_grad_(True) for n, p in params.items()}
            ls = per_sample_loss(runner.call(live, inputs)[0], targets, mask, calib)
            for i in range(ls.shape[0]):
                gs = torch.autograd.grad(ls[i], list(live.values()), retain_graph=True, allow_unused=True)
                for n, g in zip(live, gs):
                    add(n, torch.zeros_like(live[n]) if g is None else g.pow(2))
            return sums, "per-sample backward loop"

    def one(p: Tensors, xs: tuple[torch.Tensor, ...], t: Any, m: Any) -> torch.Tensor:
        out = runner.single(p, xs)[0]
        t1 = None if t is None else t.unsqueeze(0)
        m1 = None if m is None else m.unsqueeze(0)
        return per_sample_loss(out, t1, m1, calib).sum()

    numel = sum(p.numel() for p in params.values())
    sub = max(1, min(len(inputs[0]), (1 << 25) // max(numel, 1)))
    in_dims = (None, 0, None if targets is None else 0, None if mask is None else 0)
    try:
        for start in range(0, len(inputs[0]), sub):
            sl = slice(start, start + sub)
            t = None if targets is None else targets[sl]
            m = None if mask is None else mask[sl]
            per = vmap(grad(one), in_dims=in_dims)(params, tuple(x[sl] for x in inputs), t, m)
            for n in params:
                add(n, per[n].to(torch.float64).pow(2).sum(0))
        return sums, "vmap(grad) over samples"
    except Exception:  # an op without a vmap rule: one gradient per sample
        sums.clear()
        for i in range(len(inputs[0])):
            t = None if targets is None else targets[i]
            m = None if mask is None else mask[i]
            g = grad(one)(params, tuple(x[i] for x in inputs), t, m)
            for n in params:
                add(n, g[n].to(torch.float64).pow(2))
        return sums, "per-sample grad loop"
