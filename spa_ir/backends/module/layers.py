"""The attributes of torch.nn layers after their tensors were sliced, derived from the new shapes.

One table per layer family: attribute <- (the tensors that say it, in order of preference, and their dim; None:
the whole shape). Layers whose attributes are not one dim of one tensor (grouped convolutions, attention,
recurrent layers) have a function. Everything is computed from the new shapes before anything is sliced, so an
impossible layer (a group count that no longer divides) is an error before the model changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from spa_ir.core.errors import SpaError

Shape = tuple[int, ...]
Removed = dict[str, dict[int, list[int]]]
"""tensor attribute -> dim -> removed indices (the plan's entries for one module)."""
Sizes = tuple[tuple[str, tuple[str, ...], int | None], ...]

_NORM: Sizes = (("num_features", ("weight", "bias", "running_mean", "running_var"), 0),)
SIZES: dict[type[nn.Module], Sizes] = {
    nn.Linear: (("in_features", ("weight",), 1), ("out_features", ("weight", "bias"), 0)),
    nn.Bilinear: (("in1_features", ("weight",), 1), ("in2_features", ("weight",), 2), ("out_features", ("weight",), 0)),
    nn.modules.batchnorm._NormBase: _NORM,
    nn.LayerNorm: (("normalized_shape", ("weight", "bias"), None),),
    nn.RMSNorm: (("normalized_shape", ("weight",), None),),
    nn.GroupNorm: (("num_channels", ("weight", "bias"), 0),),
    nn.Embedding: (("num_embeddings", ("weight",), 0), ("embedding_dim", ("weight",), 1)),
    nn.EmbeddingBag: (("num_embeddings", ("weight",), 0), ("embedding_dim", ("weight",), 1)),
    nn.PReLU: (("num_parameters", ("weight",), 0),),
}
"""Layer class -> its size attributes, each from the first of its tensors the plan changed."""


def _sizes(module: nn.Module, table: Sizes, shapes: dict[str, Shape]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for attr, tensors, dim in table:
        for t in tensors:
            if t in shapes:
                out[attr] = tuple(shapes[t]) if dim is None else shapes[t][dim]
                break
    return out


def _shape(module: nn.Module, shapes: dict[str, Shape], name: str) -> Shape:
    """A tensor's new shape, or its current one if the plan leaves it."""
    return shapes[name] if name in shapes else tuple(getattr(module, name).shape)


def _conv(path: str, module: nn.Module, shapes: dict[str, Shape], removed: Removed) -> dict[str, Any]:
    """Conv / ConvTranspose: channels from the weight ([out, in/g, k..], transposed [in, out/g, k..]); a grouped
    conv's group count from the removed indices of the weight's dim 0, whose blocks are the groups: a group whose
    whole block went is gone, every other group must keep the same count."""
    assert isinstance(module, nn.modules.conv._ConvNd)
    w = _shape(module, shapes, "weight")
    groups = module.groups
    if groups > 1:
        gone = removed.get("weight", {}).get(0) or ([] if module.transposed else removed.get("bias", {}).get(0, []))
        per = module.weight.shape[0] // groups
        kept = [per - sum(1 for i in gone if g * per <= i < (g + 1) * per) for g in range(groups)]
        left = {k for k in kept if k}
        if len(left) != 1:
            raise SpaError(
                f"{type(module).__name__} with groups={groups} keeps {sorted(left)} channels in different groups: "
                "a grouped convolution needs the same count in each",
                where=path,
            )
        groups = sum(1 for k in kept if k)
    out: dict[str, Any] = {"groups": groups}
    if module.transposed:
        out["in_channels"], out["out_channels"] = w[0], w[1] * groups
    else:
        out["out_channels"], out["in_channels"] = w[0], w[1] * groups
    return out


def _embedding(path: str, module: nn.Module, shapes: dict[str, Shape], removed: Removed) -> dict[str, Any]:
    """Embedding(Bag): its sizes, and padding_idx moved down by the removed rows before it."""
    out = _sizes(module, SIZES[type(module) if type(module) in SIZES else nn.Embedding], shapes)
    pad = getattr(module, "padding_idx", None)
    rows = removed.get("weight", {}).get(0, [])
    if pad is not None and rows:
        if pad in rows:
            raise SpaError(f"the plan removes row {pad} of {type(module).__name__}, its padding_idx", where=path)
        out["padding_idx"] = pad - sum(1 for r in rows if r < pad)
    return out


def _multihead(path: str, module: nn.Module, shapes: dict[str, Shape], removed: Removed) -> dict[str, Any]:
    """nn.MultiheadAttention: embed_dim from the output projection's rows, kdim/vdim from the separate k/v
    projections' columns. Its forward (F.multi_head_attention_forward) takes the head width from embed_dim, so
    the projections' inner width must stay embed_dim: pruning inside the heads is a located error."""
    assert isinstance(module, nn.MultiheadAttention)
    if module._qkv_same_embed_dim:
        rows, embed = _shape(module, shapes, "in_proj_weight")
        kdim = vdim = embed
        inner = rows // 3
    else:
        inner, embed = _shape(module, shapes, "q_proj_weight")
        kdim = _shape(module, shapes, "k_proj_weight")[1]
        vdim = _shape(module, shapes, "v_proj_weight")[1]
    if inner != embed:
        raise SpaError(
            f"nn.MultiheadAttention cannot hold heads of another width than embed_dim / num_heads (projections "
            f"{inner} wide, embed_dim {embed}); use the emitted module (spa_ir.api.to_torch) or keep the heads "
            "(ignore=...)",
            where=path,
        )
    heads = module.num_heads
    if embed % heads:
        raise SpaError(f"nn.MultiheadAttention: embed_dim {embed} is not divisible by num_heads {heads}", where=path)
    return {"embed_dim": embed, "kdim": kdim, "vdim": vdim, "head_dim": embed // heads}


Update = Callable[[str, nn.Module, dict[str, Shape], Removed], dict[str, Any]]
FUNCTIONS: dict[type[nn.Module], Update] = {
    nn.modules.conv._ConvNd: _conv,
    nn.Embedding: _embedding,
    nn.EmbeddingBag: _embedding,
    nn.MultiheadAttention: _multihead,
}
"""Layer class -> the function deriving its attributes (for layers no table row can say)."""


def _entry(module: nn.Module) -> tuple[Update | None, Sizes | None]:
    for cls in type(module).__mro__:
        if cls in FUNCTIONS:
            return FUNCTIONS[cls], None
        if cls in SIZES:
            return None, SIZES[cls]
    return None, None


def is_standard_layer(module: nn.Module) -> bool:
    """Whether apply_plan derives this module's attributes itself (a torch.nn layer of a table)."""
    return _entry(module) != (None, None)


def layer_updates(path: str, module: nn.Module, shapes: dict[str, Shape], removed: Removed) -> dict[str, Any]:
    """The attributes of `module` (at `path`) once its tensors have the new `shapes` (only the changed ones)."""
    fn, table = _entry(module)
    if fn is not None:
        return fn(path, module, shapes, removed)
    if table is not None:
        out = _sizes(module, table, shapes)
        if isinstance(module, nn.GroupNorm) and "num_channels" in out and out["num_channels"] % module.num_groups:
            raise SpaError(
                f"GroupNorm keeps {out['num_channels']} channels, not divisible by its num_groups {module.num_groups}",
                where=path,
            )
        return out
    return {}


__all__ = ["FUNCTIONS", "SIZES", "is_standard_layer", "layer_updates"]
