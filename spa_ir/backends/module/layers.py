"""The attributes of torch.nn layers after their tensors were sliced, derived from the new shapes.

One table per layer family: attribute <- (the tensors that say it, in order of preference, and their dim; None:
the whole shape). Layers whose attributes are not one dim of one tensor (grouped convolutions, attention,
recurrent layers) have a function. Everything is computed from the new shapes before anything is sliced, so an
impossible layer (a group count that no longer divides) is an error before the model changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

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


def kept_per_block(removed: Iterable[int], blocks: int, width: int, offset: int = 0) -> list[int]:
    """How many indices each of `blocks` consecutive blocks of `width` (from `offset`) keeps after `removed`: a
    grouped conv's or GroupNorm's groups, attention heads."""
    kept = [width] * blocks
    for i in removed:
        if offset <= i < offset + blocks * width:
            kept[(i - offset) // width] -= 1
    return kept


def _conv(path: str, module: nn.Module, shapes: dict[str, Shape], removed: Removed) -> dict[str, Any]:
    """Conv / ConvTranspose: channels from the weight ([out, in/g, k..], transposed [in, out/g, k..]); a grouped
    conv's group count from the removed indices of the weight's dim 0, whose blocks are the groups: a group whose
    whole block went is gone, every other group must keep the same count."""
    assert isinstance(module, nn.modules.conv._ConvNd)
    w = _shape(module, shapes, "weight")
    groups = module.groups
    if groups > 1:
        gone = removed.get("weight", {}).get(0) or ([] if module.transposed else removed.get("bias", {}).get(0, []))
        kept = kept_per_block(gone, groups, module.weight.shape[0] // groups)
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


def _head_counts(path: str, removed: list[int], offset: int, heads: int, width: int, what: str) -> dict[int, int]:
    """Kept entries per head of one projection's rows [offset, offset + heads * width); heads all gone omitted."""
    kept = {h: n for h, n in enumerate(kept_per_block(removed, heads, width, offset)) if n}
    if len(set(kept.values())) > 1:
        raise SpaError(
            f"nn.MultiheadAttention's {what} heads keep {sorted(set(kept.values()))} channels: one module holds "
            "heads of one width",
            where=path,
        )
    return kept


def _multihead(path: str, module: nn.Module, shapes: dict[str, Shape], removed: Removed) -> dict[str, Any]:
    """nn.MultiheadAttention: the kept heads and their widths from the removed rows of the q / k / v
    projections, embed_dim (and kdim / vdim) from their columns. torch's forward takes the head width from
    embed_dim / num_heads and the softmax scale from it, so a module whose heads are now narrower, or not
    embed_dim wide together, becomes a PrunedMultiheadAttention (same tensors and state-dict names, the
    original scale)."""
    assert isinstance(module, nn.MultiheadAttention)
    heads, width = module.num_heads, module.head_dim
    widths = (width, width, getattr(module, "v_head_dim", width))  # an already pruned one: v may differ
    if module._qkv_same_embed_dim:
        rows = removed.get("in_proj_weight", {}).get(0) or removed.get("in_proj_bias", {}).get(0, [])
        parts = [(rows, i * heads * width) for i in range(3)]
        embed = _shape(module, shapes, "in_proj_weight")[1]
        kdim = vdim = embed
    else:
        parts = [(removed.get(f"{n}_proj_weight", {}).get(0, []), 0) for n in "qkv"]
        embed = _shape(module, shapes, "q_proj_weight")[1]
        kdim = _shape(module, shapes, "k_proj_weight")[1]
        vdim = _shape(module, shapes, "v_proj_weight")[1]
    q, k, v = (_head_counts(path, r, o, heads, w, n) for (r, o), w, n in zip(parts, widths, "qkv", strict=True))
    if not q or not (q.keys() == k.keys() == v.keys()) or q != k:
        raise SpaError("nn.MultiheadAttention: the plan keeps no heads, or other heads of q, k and v", where=path)
    kept = len(q)
    qk_width, v_width = next(iter(q.values())), next(iter(v.values()))
    out: dict[str, Any] = {"embed_dim": embed, "kdim": kdim, "vdim": vdim, "num_heads": kept, "head_dim": qk_width}
    if qk_width == v_width == width and kept * width == embed and not isinstance(module, PrunedMultiheadAttention):
        return out
    if module.bias_k is not None or module.add_zero_attn:
        raise SpaError(
            "nn.MultiheadAttention with add_bias_kv / add_zero_attn cannot hold pruned heads; use the emitted "
            "module (spa_ir.api.to_torch)",
            where=path,
        )
    scale = getattr(module, "scale", width**-0.5)  # the original model's, through every step
    return {**out, "v_head_dim": v_width, "scale": scale, "__class__": PrunedMultiheadAttention}


class PrunedMultiheadAttention(nn.MultiheadAttention):
    """nn.MultiheadAttention after pruning inside or across its heads: `num_heads` heads of `head_dim` (q, k)
    and `v_head_dim` (v) channels, softmax scale `scale` (the original 1/sqrt(head width)), embed_dim the
    input and output width. torch's forward cannot: it reads the head width from embed_dim / num_heads."""

    v_head_dim: int
    scale: float

    def _project(self, q: Tensor, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        nq, nv = self.num_heads * self.head_dim, self.num_heads * self.v_head_dim
        b = self.in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else (b[:nq], b[nq : 2 * nq], b[2 * nq :])
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            wq, wk, wv = w[:nq], w[nq : 2 * nq], w[2 * nq : 2 * nq + nv]
        else:
            wq, wk, wv = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        return F.linear(q, wq, bq), F.linear(k, wk, bk), F.linear(v, wv, bv)

    def _mask(
        self,
        attn_mask: Tensor | None,
        padding: Tensor | None,
        shape: tuple[int, int, int],
        dtype: torch.dtype,
        is_causal: bool,
    ) -> Tensor | None:
        """attn_mask ([L, S] or [B * heads, L, S]) and key_padding_mask ([B, S]) as one additive [B, H, L, S]
        mask (True: not attended)."""
        batch, tgt, src = shape
        mask: Tensor | None = None
        if attn_mask is None and is_causal:
            attn_mask = torch.ones(tgt, src, dtype=torch.bool).triu(1)
        if attn_mask is not None:
            mask = _additive(attn_mask, dtype)
            if mask.dim() == 3:
                mask = mask.reshape(batch, self.num_heads, tgt, src)
        if padding is not None:
            pad = _additive(padding, dtype).reshape(batch, 1, 1, src)
            mask = pad if mask is None else mask + pad
        return mask

    def forward(  # torch's signature, without its fast path
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Tensor | None = None,
        need_weights: bool = True,
        attn_mask: Tensor | None = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        batched = query.dim() == 3
        if not batched:
            query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
            key_padding_mask = None if key_padding_mask is None else key_padding_mask.unsqueeze(0)
        elif self.batch_first:
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        q, k, v = self._project(query, key, value)  # [L, B, H * d]
        tgt, batch, src, heads = q.shape[0], q.shape[1], k.shape[0], self.num_heads
        q = q.reshape(tgt, batch, heads, self.head_dim).permute(1, 2, 0, 3)
        k = k.reshape(src, batch, heads, self.head_dim).permute(1, 2, 0, 3)
        v = v.reshape(src, batch, heads, self.v_head_dim).permute(1, 2, 0, 3)
        scores = q @ k.transpose(-2, -1) * self.scale
        mask = self._mask(attn_mask, key_padding_mask, (batch, tgt, src), scores.dtype, is_causal)
        weights = torch.softmax(scores if mask is None else scores + mask, dim=-1)
        dropped = F.dropout(weights, self.dropout) if self.training and self.dropout > 0 else weights
        out = self.out_proj((dropped @ v).permute(2, 0, 1, 3).reshape(tgt, batch, heads * self.v_head_dim))
        if not batched:
            out, weights = out.squeeze(1), weights.squeeze(0)
        elif self.batch_first:
            out = out.transpose(0, 1)
        if not need_weights:
            return out, None
        return out, weights.mean(dim=-3) if average_attn_weights else weights


def _additive(mask: Tensor, dtype: torch.dtype) -> Tensor:
    """A boolean mask (True: masked out) as -inf / 0; a float mask as it is."""
    if mask.dtype == torch.bool:
        return torch.zeros(mask.shape, dtype=dtype).masked_fill(mask, float("-inf"))
    return mask.to(dtype)


_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def _recurrent(path: str, module: nn.Module, shapes: dict[str, Shape], removed: Removed) -> dict[str, Any]:
    """LSTM / GRU / RNN: hidden_size from every layer's (and direction's) w_hh rows over the gate count,
    input_size from layer 0's w_ih columns, proj_size from w_hr rows. One module holds one hidden size, so
    layers pruned to different widths are an error."""
    assert isinstance(module, nn.RNNBase)
    gates = _GATES[module.mode]
    names = module._flat_weights_names
    hidden = {_shape(module, shapes, n)[0] // gates for n in names if n.startswith("weight_hh")}
    if len(hidden) != 1:
        raise SpaError(
            f"{type(module).__name__} layers keep hidden sizes {sorted(hidden)}: one module holds one hidden size; "
            "use the emitted module (spa_ir.api.to_torch)",
            where=path,
        )
    out: dict[str, Any] = {"hidden_size": hidden.pop(), "input_size": _shape(module, shapes, "weight_ih_l0")[1]}
    if module.proj_size:
        proj = {_shape(module, shapes, n)[0] for n in names if n.startswith("weight_hr")}
        if len(proj) != 1:
            raise SpaError(f"LSTM layers keep projection sizes {sorted(proj)}", where=path)
        out["proj_size"] = proj.pop()
    return out


Update = Callable[[str, nn.Module, dict[str, Shape], Removed], dict[str, Any]]


def _group_norm(path: str, module: nn.Module, shapes: dict[str, Shape], removed: Removed) -> dict[str, Any]:
    """num_channels from the new affine; num_groups counts the groups that keep a channel, each keeping as many."""
    assert isinstance(module, nn.GroupNorm)
    gone = next((removed[t].get(0, []) for t in ("weight", "bias") if t in removed), [])
    kept = kept_per_block(gone, module.num_groups, module.num_channels // module.num_groups)
    widths = {k for k in kept if k}
    if len(widths) != 1:
        raise SpaError(f"GroupNorm keeps {kept} channels of its {module.num_groups} groups: not one width", where=path)
    return {"num_channels": sum(kept), "num_groups": sum(1 for k in kept if k)}


FUNCTIONS: dict[type[nn.Module], Update] = {
    nn.modules.conv._ConvNd: _conv,
    nn.GroupNorm: _group_norm,
    nn.Embedding: _embedding,
    nn.EmbeddingBag: _embedding,
    nn.MultiheadAttention: _multihead,
    nn.RNNBase: _recurrent,
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
    return _sizes(module, table, shapes) if table is not None else {}


__all__ = ["FUNCTIONS", "SIZES", "PrunedMultiheadAttention", "is_standard_layer", "kept_per_block", "layer_updates"]
