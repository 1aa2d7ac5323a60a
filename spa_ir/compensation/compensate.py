"""Refitting the consumers of pruned groups before their slices are deleted: the OBS update of the kept input
weights, the removed channels' mean folded into the bias, and the batch norms behind them corrected.

Sources of the input second moments H̃ (obs.py):
- `data` (calibration batches, also `synthetic` inputs): consumer by consumer in graph order, on the inputs the
  already pruned and compensated prefix produces (`order=prefix`, the default, as OBC / SparseGPT do: each layer
  is refitted on the inputs it will really see, earlier removals included, not on activations the pruned model
  never produces), or on the original model's activations (`order=original`, for comparison). The batch norms
  after a refitted consumer are re-estimated on the same batches.
- `stats`: per-channel means and variances derived from the network's batch norms (moments/); with
  independent features the update is the bias shift W_R·μ_R, and the batch norms after it lose the removed share
  of the variance analytically.
- `identity`: plain removal.

The prefix is the masked original with the compensated weights written in: groups already handled are zeroed on
all their members, groups that no weight reads as inputs (q·kᵀ head dims) from the start, and the groups of the
unit being fitted not at all, so its consumers see the removed channels as they would be.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import torch
import torch.fx as fx
from xdsl.dialects.builtin import DenseArrayBase, ModuleOp, i64

from spa_ir.calibration.collect import Runner, batches, batching, conv_rows
from spa_ir.calibration.data import Calibration
from spa_ir.calibration.sites import instrument, vmappable
from spa_ir.channels.annotations import group_ops
from spa_ir.compensation import obs
from spa_ir.compensation.bias import add_bias, bias_name
from spa_ir.compensation.consumers import Consumer, Graph, Layout, PrunedGroup, Unit, emit, pruned_groups
from spa_ir.compensation.norms import Norm, batch_statistics, following, graph_order, kept_variance
from spa_ir.core.errors import SpaError
from spa_ir.core.ir import params as param_ops
from spa_ir.core.progress import progress
from spa_ir.core.records import pop_record, put_record
from spa_ir.core.weights import WeightStore, param_tensor, store_param

COMPENSATION_ATTR = "spa.compensation"
"""The module record spa-obspa-compensate leaves (source, order, counts, the names of the tensors it changed),
which spa-eliminate-dead-channels moves into the plan with the changed tensors."""

SOURCES = ("auto", "data", "synthetic", "stats", "identity")
ORDERS = ("prefix", "original")

Tensors = dict[str, torch.Tensor]
SyntheticCache = dict[str, "Calibration | None"]
"""Synthetic inputs made for one IR (key: its hash, seed and count), so the criterion and compensation share them."""


@dataclass(frozen=True)
class Options:
    source: str = "auto"
    damp: float = 0.01
    sequential: bool = False
    order: str = "prefix"
    seed: int = 0
    samples: int = 64
    """How many synthetic inputs to make."""


@dataclass
class Report:
    """What compensation did, as data (the plan's `compensation`, printed by spa-opt)."""

    source: str
    order: str
    damp: float
    sequential: bool
    refitted: int = 0
    plain: dict[str, str] = field(default_factory=dict)
    """Consumer weight -> why it was left as plain removal."""
    norms: int = 0
    biases: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    peak_bytes: int = 0
    """The largest H̃ held at once (one consumer's, or a unit's with sequential=true)."""
    samples: int = 0
    method: str = ""

    def record(self) -> dict[str, str | int | float]:
        return {
            "source": self.source,
            "order": self.order,
            "damp": self.damp,
            "sequential": int(self.sequential),
            "refitted": self.refitted,
            "plain": len(self.plain),
            "norms": self.norms,
            "biases": len(self.biases),
            "peak_bytes": self.peak_bytes,
            "samples": self.samples,
            "method": self.method,
            "changed": ",".join(self.changed),
        }


def compensate(
    module: ModuleOp,
    weights: WeightStore,
    calib: Calibration | None,
    options: Options,
    synthetic: SyntheticCache | None = None,
    device: torch.device | None = None,
) -> Report:
    """Refit every consumer of the module's pruned groups in place (weights, new biases, running statistics);
    the data path runs the model and fits on `device` (None: the CPU), the weight store stays on the CPU."""
    from spa_ir.compensation import sources

    device = torch.device("cpu") if device is None else device
    if options.source not in SOURCES:
        raise SpaError(f"spa-obspa-compensate: unknown source '{options.source}' (known: {', '.join(SOURCES)})")
    if options.order not in ORDERS:
        raise SpaError(f"spa-obspa-compensate: unknown order '{options.order}' (known: {', '.join(ORDERS)})")
    if not pruned_groups(module):  # nothing to refit: the program need not even emit (opaque control flow)
        return Report(options.source, options.order, options.damp, options.sequential)
    graph = emit(module, weights)
    if not graph.layout.units:
        return Report(options.source, options.order, options.damp, options.sequential)
    source, calib, method = sources.resolve(options, calib, synthetic, module, graph.gm, graph.tensors, device)
    report = Report(source, options.order, options.damp, options.sequential, method=method)
    for c in _refitted(graph.layout):
        if (reason := c.skip_reason()) is not None:
            report.plain[c.weight] = reason
    if source == "identity":
        report.plain.update(
            {c.weight: "source=identity" for c in _refitted(graph.layout) if c.weight not in report.plain}
        )
        return report
    if _add_biases(module, weights, graph, report):
        graph = emit(module, weights)
    if source != "stats":
        graph = graph.to(device)  # the data path runs the model; the analytic one does not
    before = dict(graph.tensors)
    if source == "stats":
        _by_moments(module, graph, options, report)
    else:
        assert calib is not None
        _Fit(module, graph, calib, options, report, device).run()
    for p in param_ops(module):
        name = p.weight_name
        if name in graph.tensors and graph.tensors[name] is not before[name]:
            old = param_tensor(p, weights)
            new = graph.tensors[name].to(device=old.device, dtype=old.dtype)  # back into the weight store
            if not torch.equal(old, new):
                store_param(p, weights, new)
                report.changed.append(name)
    # a created bias is in the plan even where the refit left it zero: the plan's slices of it name a weight
    report.changed = sorted(set(report.changed) | set(report.biases))
    return report


def record_compensation(module: ModuleOp, report: Report) -> None:
    put_record(module, COMPENSATION_ATTR, report.record())


def take_compensation(module: ModuleOp) -> tuple[dict[str, str | int | float] | None, list[str]]:
    """Remove the record from the module: (the plan's `compensation`, the names of the tensors it changed)."""
    record = pop_record(module, COMPENSATION_ATTR)
    if record is None:
        return None, []
    changed = str(record.pop("changed", ""))
    return record, [n for n in changed.split(",") if n]


def _refitted(lay: Layout) -> Iterator[Consumer]:
    for u in lay.units:
        yield from u.consumers


def _add_biases(module: ModuleOp, weights: WeightStore, graph: Graph, report: Report) -> bool:
    """A zero bias for each refitted consumer that has none (where a batch norm alone reads it, the shift goes
    into the norm's running mean instead)."""
    for c in _refitted(graph.layout):
        if c.weight in report.plain or c.bias is not None or c.norm_only:
            continue
        name = bias_name(module, c.weight)
        if not add_bias(module, c.weight, name):
            weights.set(name, torch.zeros(c.outputs, dtype=graph.tensors[c.weight].dtype))
        report.biases.append(name)
    return bool(report.biases)


def _apply(graph: Graph, c: Consumer, matrix: torch.Tensor, norms: list[Norm]) -> torch.Tensor:
    """Write a refitted augmented matrix into the graph's tensors; returns the bias shift (what went into the
    bias, or into the running means of the norms that alone read a bias-less consumer)."""
    t = graph.tensors
    w, b = c.split(matrix, t[c.weight])
    t[c.weight] = w
    old_bias = t[c.bias] if c.bias is not None else torch.zeros_like(b)
    shift = b.to(torch.float64) - old_bias.to(torch.float64)
    if c.bias is not None:
        t[c.bias] = b.to(old_bias.dtype)
    else:
        for n in norms:
            t[n.mean] = (t[n.mean].to(torch.float64) - shift).to(t[n.mean].dtype)
    return shift


def _consumer_stops(graph: Graph) -> set[fx.Node]:
    return {s.y for s in graph.sites}


# ---------------------------------------------------------------------------------------------- stats source


def _by_moments(module: ModuleOp, graph: Graph, options: Options, report: Report) -> None:
    from spa_ir.compensation.moments import consumer_input_moments, meta_inputs

    moments = consumer_input_moments(
        graph.gm, graph.tensors, graph.sites, example_inputs=meta_inputs(module), per_position_norms=False
    )
    stops = _consumer_stops(graph)
    for c in _refitted(graph.layout):
        if c.weight in report.plain:
            continue
        m = moments.derived.get(c.weight)
        if m is None:
            report.plain[c.weight] = f"no moments: {moments.missing.get(c.weight, 'unknown input')}"
            continue
        kk = c.kernel_positions
        mean, var = m.mean.repeat_interleave(kk), m.var.repeat_interleave(kk)
        h = obs.from_moments(mean, var)
        report.peak_bytes = max(report.peak_bytes, h.numel() * 8)
        removed = torch.from_numpy(c.removed_features())
        matrix = c.matrix(graph.tensors[c.weight], graph.tensors[c.bias] if c.bias else None)
        refit = obs.update(matrix, h, removed, damp=options.damp)
        direct = following(c.site.y, graph.norms, stops, linear_only=True)
        _apply(graph, c, refit, direct if c.bias is None and c.norm_only else [])
        # the removed share Σ_r W[o, r]² σ_r² / Σ_f W[o, f]² σ_f² of the output's variance
        lost = (matrix[:, removed].pow(2) * var[removed]).sum(1)
        share = lost / (matrix[:, :-1].pow(2) * var).sum(1).clamp(min=1e-30)
        for n in direct:
            if graph.tensors[n.var].shape[0] == share.shape[0]:
                graph.tensors[n.var] = kept_variance(graph.tensors[n.var], share, n.eps)
                report.norms += 1
        report.refitted += 1


# ----------------------------------------------------------------------------------------------- data source


class _Fit:
    """The data path: units in graph order, each fitted on the prefix's inputs, its norms re-estimated."""

    def __init__(
        self, module: ModuleOp, graph: Graph, calib: Calibration, options: Options, report: Report, device: torch.device
    ):
        self.module, self.graph, self.options, self.report, self.device = module, graph, options, report, device
        bound = calib.bind(module)
        self.bound = bound
        self.samples = int(bound.inputs[0].shape[0])
        path, chunk, _ = batching(module, calib, self.samples)
        norms = list(graph.norms.values())
        positions = instrument(graph.gm, graph.sites, True, False, [n.input for n in norms])
        self.norm_tap = {n.node: i for n, i in zip(norms, positions)}
        vmappable(graph.gm)
        self.runner = Runner(graph.gm, path, chunk)
        self.exact = path == "chunks"
        self.original = dict(graph.tensors)
        self.ones = {n.var for n in norms}
        self.masked: list[PrunedGroup] = list(graph.layout.without_consumers)
        report.samples = self.samples

    def state(self) -> Tensors:
        """The prefix's tensors: the compensated ones with every handled group's slices masked."""
        out = dict(self.graph.tensors)
        for pg in self.masked:
            for sl in pg.slices():
                if sl.param not in out:
                    continue
                t = out[sl.param].clone()
                index = torch.from_numpy(sl.indices).to(t.device)
                part, dim = (t, sl.dim) if sl.at is None else (t[sl.at], sl.dim - 1)  # one expert's slice
                part.index_fill_(dim, index, 1.0 if sl.param in self.ones else 0.0)
                out[sl.param] = t
        return out

    def taps(self, tensors: Tensors) -> Iterator[tuple[tuple[torch.Tensor, ...], torch.Tensor | None]]:
        for inputs, _, mask in batches(self.bound, self.runner.chunk, self.samples, self.exact, self.device):
            with torch.no_grad():
                _, taps = self.runner.call(tensors, inputs)
            yield taps, mask

    def rows(self, taps: tuple[torch.Tensor, ...], mask: torch.Tensor | None, c: Consumer) -> torch.Tensor:
        """One batch of a consumer's input feature rows, with the constant 1 appended, float64."""
        x = taps[c.site.tap_x].detach()  # type: ignore[index]  # every site's input is tapped
        r = conv_rows(x, c.site) if c.site.consumer.op == "conv" else x.reshape(-1, c.features).to(torch.float64)
        if mask is not None and c.site.consumer.op != "conv" and mask.numel() == r.shape[0]:
            r = r[mask.reshape(-1).bool()]
        return torch.cat([r, torch.ones(r.shape[0], 1, dtype=torch.float64, device=r.device)], dim=1)

    def moments(self, tensors: Tensors, c: Consumer) -> torch.Tensor:
        """H̃ of the consumer's inputs under `tensors`, over all batches, in float64."""
        f1 = c.features + 1
        second = torch.zeros(f1, f1, dtype=torch.float64, device=self.device)
        rows = 0
        for inputs, _, mask in batches(self.bound, self.runner.chunk, self.samples, self.exact, self.device):
            with torch.no_grad():
                r = self.rows(self.runner.call(tensors, inputs)[1], mask, c)
            second += r.T @ r
            rows += r.shape[0]
        return second / max(rows, 1)

    def run(self) -> None:
        stops = _consumer_stops(self.graph)
        for unit in progress(self.graph.layout.units, "compensation", unit="unit"):
            tensors = self.state() if self.options.order == "prefix" else self.original
            todo = [c for c in unit.consumers if c.weight not in self.report.plain]
            if self.options.sequential:
                self.choose(unit, todo, tensors)
            fitted = []
            for c in todo:
                h = self.moments(tensors, c)
                self.report.peak_bytes = max(self.report.peak_bytes, h.numel() * 8)
                removed = torch.from_numpy(c.removed_features()).to(self.device)
                matrix = c.matrix(self.graph.tensors[c.weight], self.graph.tensors[c.bias] if c.bias else None)
                refit = obs.update(matrix, h, removed, damp=self.options.damp)
                norms = following(c.site.y, self.graph.norms, stops, linear_only=False)
                _apply(self.graph, c, refit, norms if c.bias is None and c.norm_only else [])
                fitted.append(c)
                self.report.refitted += 1
            self.masked.extend(unit.groups)
            self.reestimate(fitted, stops)

    def reestimate(self, fitted: list[Consumer], stops: set[fx.Node]) -> None:
        """The running statistics of the norms after the unit's consumers, from the prefix's batches."""
        seen: dict[fx.Node, Norm] = {}
        for c in fitted:
            for n in following(c.site.y, self.graph.norms, stops, linear_only=False):
                seen.setdefault(n.node, n)
        for n in sorted(seen.values(), key=lambda n: graph_order(n.node)):
            tap = self.norm_tap[n.node]
            mean, var = batch_statistics(taps[tap] for taps, _ in self.taps(self.state()))
            t = self.graph.tensors
            t[n.mean] = mean.to(t[n.mean].dtype)
            t[n.var] = var.clamp(min=n.eps).to(t[n.var].dtype)
            self.report.norms += 1

    def choose(self, unit: Unit, todo: list[Consumer], tensors: Tensors) -> None:
        """sequential=true: each group's removed set chosen greedily under its consumers' H̃ (OBC); the chosen
        set replaces the selection's in the IR."""
        hs = {c.weight: obs.damped(self.moments(tensors, c), self.options.damp) for c in todo}
        self.report.peak_bytes = max(self.report.peak_bytes, sum(h.numel() * 8 for h in hs.values()))
        for pg in unit.groups:
            readers = [(c, m) for c in todo for g, m in c.reads if g is pg]
            if not readers:
                continue
            size = pg.group.size
            ws = [c.matrix(self.graph.tensors[c.weight], None) for c, _ in readers]
            blocks = [
                [torch.from_numpy(row).to(self.device) for row in c.channel_features(m, size)] for c, m in readers
            ]
            order = obs.greedy(ws, [hs[c.weight] for c, _ in readers], blocks, len(pg.removed))
            pg.removed = sorted(order)
            _set_removed(self.module, pg.group.name, pg.removed)


def _set_removed(module: ModuleOp, name: str, removed: list[int]) -> None:
    for g in group_ops(module):
        if g.sym_name.data == name:
            g.attributes["removed"] = DenseArrayBase.from_list(i64, removed)
