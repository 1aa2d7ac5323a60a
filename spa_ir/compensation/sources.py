"""Where OBSPA's input statistics come from (`source=auto|data|synthetic|stats|identity`), for the criterion
(through spa-collect-stats' store) and for compensation alike.

`auto` (the default) is `data` when calibration data was given and `synthetic` otherwise, so the same command works
with and without --calib. `synthetic` falls back to `stats` for a model with neither batch norms nor a token
embedding to synthesize from (synthetic.py says which); `stats` leaves a consumer whose input moments cannot be
derived to `identity` (plain removal), and the report counts them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import torch
import torch.fx as fx
from xdsl.dialects.builtin import ModuleOp

from spa_ir.calibration import kinds as K
from spa_ir.calibration.data import Calibration, model_inputs
from spa_ir.calibration.store import StatsStore, ir_hash
from spa_ir.channels.annotations import group_ops
from spa_ir.core.errors import SpaError

if TYPE_CHECKING:
    from spa_ir.compensation.compensate import Options, SyntheticCache
    from spa_ir.core.weights import WeightStore


def resolve(
    options: Options,
    calib: Calibration | None,
    cache: SyntheticCache | None,
    module: ModuleOp,
    gm: fx.GraphModule,
    tensors: Mapping[str, torch.Tensor],
    device: torch.device | None = None,
) -> tuple[str, Calibration | None, str]:
    """(the source that runs, the data it runs on, one line on where that came from); synthetic inputs are
    made by running the model on `device`."""
    source = options.source
    if source == "auto":
        source = "data" if calib is not None else "synthetic"
    if source == "data":
        if calib is None:
            raise SpaError(
                "obspa source=data needs calibration data: give --calib FILE (or calib= in the API), or use "
                "source=synthetic|stats|identity"
            )
        return "data", calib, f"{calib.samples} samples from {calib.source}"
    if source == "synthetic":
        synthetic, method = synthetic_calibration(module, gm, tensors, options.seed, options.samples, cache, device)
        return ("synthetic", synthetic, method) if synthetic is not None else ("stats", None, method)
    return source, None, ""


def synthetic_calibration(
    module: ModuleOp,
    gm: fx.GraphModule,
    tensors: Mapping[str, torch.Tensor],
    seed: int,
    samples: int,
    cache: SyntheticCache | None,
    device: torch.device | None = None,
) -> tuple[Calibration | None, str]:
    """Synthetic inputs for this IR (made once per IR, seed and count when a cache is given)."""
    from spa_ir.compensation.synthetic import synthesize

    key = f"{ir_hash(module)}:{seed}:{samples}"
    if cache is not None and key in cache:
        hit = cache[key]
        return hit, hit.source if hit is not None else _NO_SYNTHETIC
    made = synthesize(gm, tensors, _input_specs(module), samples=samples, seed=seed, device=device)
    calib = Calibration(made.inputs, source=f"synthetic inputs ({made.method})") if made is not None else None
    if cache is not None:
        cache[key] = calib
    return calib, calib.source if calib is not None else _NO_SYNTHETIC


def _input_specs(module: ModuleOp) -> list[tuple[tuple[int, ...], torch.dtype]]:
    """The model inputs' shapes and dtypes for synthesis: -1 for dynamic dims, except a non-batch dim with a
    recorded upper bound (`spa.dim_max`: BERT's sequence at most its position table) below the synthetic size."""
    from spa_ir.compensation.synthetic import DYNAMIC_DIM
    from spa_ir.core.dims import dim_maxima, dim_names
    from spa_ir.core.ir import main_function

    fn = main_function(module)
    names, maxima = dim_names(fn), dim_maxima(fn)
    specs = []
    for i, spec in enumerate(model_inputs(module)):
        named = names[i] if names is not None else [""] * len(spec.shape)
        shape = tuple(
            maxima[n] if d < 0 and k > 0 and (n := named[k]) in maxima and maxima[n] < DYNAMIC_DIM else d
            for k, d in enumerate(spec.shape)
        )
        specs.append((shape, spec.dtype))
    return specs


_NO_SYNTHETIC = "no batch norm or token embedding to synthesize inputs from: analytic statistics (source=stats)"


def statistics(
    options: Options,
    calib: Calibration | None,
    cache: SyntheticCache | None,
    module: ModuleOp,
    weights: WeightStore,
    kinds: frozenset[str],
    device: torch.device | None = None,
) -> StatsStore:
    """The store the obspa criterion reads: collected input moments (data, synthetic), analytic per-channel ones
    (stats: IN_SUM / IN_SQ / IN_COUNT of independent features), or only the consumers (identity)."""
    from spa_ir.calibration.collect import collect
    from spa_ir.compensation.consumers import emit

    if all(g.frozen for g in group_ops(module)):  # nothing to score: the program need not even emit
        return StatsStore({}, meta={"ir_hash": ir_hash(module), "source": "none", "obspa_source": options.source})
    graph = emit(module, weights)
    source, data, method = resolve(options, calib, cache, module, graph.gm, graph.tensors, device)
    meta = {"ir_hash": ir_hash(module), "source": method or source, "obspa_source": options.source, "samples": "0"}
    consumers = {s.weight: s.consumer for s in graph.sites}
    if data is not None:
        store = collect(module, weights, data.source, data, kinds, device)
        store.meta["obspa_source"] = options.source
        return store
    tensors: dict[str, torch.Tensor] = {}
    if source == "stats":
        from spa_ir.compensation.moments import consumer_input_moments, meta_inputs

        moments = consumer_input_moments(
            graph.gm, graph.tensors, graph.sites, example_inputs=meta_inputs(module), per_position_norms=False
        )
        for weight, m in moments.derived.items():
            tensors[K.key(weight, K.IN_SUM)] = m.mean.to(torch.float64)
            tensors[K.key(weight, K.IN_SQ)] = (m.var + m.mean.pow(2)).to(torch.float64)
            tensors[K.key(weight, K.IN_COUNT)] = torch.tensor(1.0, dtype=torch.float64)
        meta["missing"] = str(len(moments.missing))
    meta["kinds"] = ",".join(sorted({K.split_key(n)[1] for n in tensors}))
    return StatsStore(tensors, meta=meta, consumers=consumers)
