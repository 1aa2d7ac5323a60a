"""transformers' own modules after apply_plan: attention and MLP attributes, Conv1D widths, and the config.

A transformers model keeps sizes beside its layers: attention modules their head counts and head width
(`num_heads`, `num_key_value_heads`, `num_key_value_groups`, `head_dim`, GPT-2's `split_size`, ...), MLPs their
`intermediate_size`, GPT-2's Conv1D its `nf`, and the config the sizes `from_pretrained` rebuilds the model from.
Each attention module's new heads are read from the plan: its output projection's input columns are heads of
`head_dim` columns, and what the plan removes of each head says whether whole heads went (a head count) or head
dims (a head width); the kv heads likewise from the key projection's rows (or, for a fused qkv projection, from
its rows left after the q heads). Families spell the attributes differently; each spelling the module holds is
set.

The config holds one value per size for all layers. A size that is the same in every layer is written into the
config; one that differs between layers cannot be, and is a line in `applied.limits` naming the layers and their
widths (pruning with uniform=True keeps the same counts in every layer). Whatever the config says is then
checked: the model the config builds (on the meta device, no weights) must have every tensor shape and every
size attribute of the pruned model. Where it does not (a family that derives head_dim from hidden/heads, a
head width that sets the attention scale), the mismatch is a limit too, and `save_pretrained` of that model
raises instead of writing a config that would not reload. The emitted module (spa_ir.api.to_torch) has no such
limits.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from spa_ir.backends.module.layers import kept_per_block
from spa_ir.backends.module.transformers_moe import config_keys, moe_sizes
from spa_ir.core.errors import SpaError

if TYPE_CHECKING:
    from spa_ir.backends.module import AppliedPlan

OUT_PROJECTIONS = ("o_proj", "out_proj", "dense", "c_proj", "out_lin", "o", "Wo")
"""The child of an attention module whose input columns are its heads (Llama, OPT/GPT-J, NeoX/Falcon/Phi, GPT-2,
DistilBERT, T5/MPNet, ModernBERT)."""
MLP_OUTPUTS = ("down_proj", "dense_4h_to_h", "fc2", "fc_out", "c_proj", "output_dense", "lin2")
"""The child (outside attention) whose input columns are an MLP's neurons (Wav2Vec2/HuBERT: output_dense;
DistilBERT: lin2)."""
MLP_SPLIT = ("intermediate", "output", "dense")
"""BERT and its variants: a layer's MLP is two children, `intermediate.dense` and `output.dense`; the width is the
latter's input columns (the attention's own `output.dense` is in a layer without `intermediate`)."""
FUSED_QKV = ("qkv_proj", "query_key_value", "c_attn", "Wqkv")
KEY_PROJECTIONS = ("k_proj", "key", "k_lin", "key_proj", "k")
VALUE_PROJECTIONS = ("value", "value_proj")
"""BERT-style self-attention (query/key/value, `attention_head_size`, `all_head_size`; DeBERTa-v2's *_proj) has no
output projection."""
HEAD_COUNTS = ("num_heads", "num_attention_heads", "n_heads")
KV_COUNTS = ("num_key_value_heads", "num_kv_heads", "kv_heads")
HEAD_WIDTHS = ("head_dim", "head_size", "attention_head_size", "key_value_proj_dim")
FFN_KEYS = ("intermediate_size", "ffn_dim", "n_inner", "ffn_hidden_size", "encoder_ffn_dim", "hidden_dim")
"""The config's name of the MLP width, per family (Llama.., OPT, GPT-2/GPT-J, Falcon, Whisper's encoder, DistilBERT)."""


@dataclass(frozen=True)
class Heads:
    """An attention module's head structure after the plan."""

    heads: int
    kv_heads: int
    head_dim: int


def _input_dim(module: nn.Module) -> int:
    """The weight dim of a projection's inputs: 1 for nn.Linear, 0 for transformers' Conv1D ([in, out])."""
    return 0 if type(module).__name__ == "Conv1D" else 1


def _removed(applied: AppliedPlan, name: str, dim: int) -> set[int]:
    dims: Mapping[Any, list[int]] = applied.plan.params.get(name, {})
    return {int(i) for d, idx in dims.items() if int(d) == dim for i in idx}


def _old_size(applied: AppliedPlan, name: str, tensor: torch.Tensor, dim: int) -> int:
    return applied.changed[name][0][dim] if name in applied.changed else int(tensor.shape[dim])


def _units(removed: set[int], old: int, width: int, where: str) -> tuple[int, int]:
    """(units kept, width each) of `old` indices in blocks of `width`, given the removed ones: every unit keeps the
    same count or none (a head pruned in part leaves no head structure)."""
    if old % width:
        raise SpaError(f"{old} columns are not heads of {width}", where=where)
    kept = kept_per_block(removed, old // width, width)
    left = {k for k in kept if k}
    if len(left) > 1:
        raise SpaError(f"the plan keeps {sorted(left)} dims in different heads: no head width fits", where=where)
    return sum(1 for k in kept if k), (left.pop() if left else width)


@dataclass(frozen=True)
class Projection:
    """A projection child of a module: its name, its weight, and the weight dim of its inputs."""

    name: str
    weight: torch.Tensor
    input_dim: int

    @property
    def output_dim(self) -> int:
        return 1 - self.input_dim


def _child(module: nn.Module, names: tuple[str, ...]) -> Projection | None:
    for n in names:
        c = getattr(module, n, None)
        w = getattr(c, "weight", None) if isinstance(c, nn.Module) else None
        if isinstance(c, nn.Module) and isinstance(w, torch.Tensor) and w.dim() == 2:
            return Projection(n, w, _input_dim(c))
    return None


def _first_attr(module: Any, names: tuple[str, ...]) -> int | None:
    for n in names:
        v = vars(module).get(n) if isinstance(module, nn.Module) else getattr(module, n, None)
        if isinstance(v, int) and not isinstance(v, bool):
            return v
    return None


def _heads_projection(module: nn.Module) -> Projection | None:
    """The projection whose `input_dim` holds the module's heads: its output projection's input columns or, for
    BERT-style self-attention (the output projection is the sibling `output.dense`), its value projection's rows."""
    found = _child(module, OUT_PROJECTIONS)
    if found is not None:
        return found
    value = _child(module, VALUE_PROJECTIONS)
    return None if value is None else Projection(value.name, value.weight, value.output_dim)


def is_attention(module: nn.Module) -> bool:
    return _first_attr(module, HEAD_WIDTHS) is not None and _heads_projection(module) is not None


def heads_of(path: str, module: nn.Module, applied: AppliedPlan) -> Heads:
    """The attention module's heads after the plan (its tensors are already sliced)."""
    old_dim = _first_attr(module, HEAD_WIDTHS)
    found = _heads_projection(module)
    assert old_dim is not None and found is not None  # is_attention
    name, d = f"{path}.{found.name}.weight", found.input_dim
    old_heads = _old_size(applied, name, found.weight, d) // old_dim
    heads, head_dim = _units(_removed(applied, name, d), old_heads * old_dim, old_dim, path)
    old_kv = _first_attr(module, KV_COUNTS)
    key = _child(module, KEY_PROJECTIONS)
    fused = _child(module, FUSED_QKV)
    if key is not None:
        k_name = f"{path}.{key.name}.weight"
        old_rows = _old_size(applied, k_name, key.weight, 0)
        kv, k_dim = _units(_removed(applied, k_name, 0), old_rows, old_dim, path)
        if k_dim != head_dim:
            raise SpaError(
                f"the plan keeps {k_dim} query/key dims but {head_dim} value dims per head, and "
                f"{type(module).__name__} has one head width (prune with heads=True: head dims stay whole)",
                where=path,
            )
    elif fused is not None and old_kv is not None and old_kv != old_heads:
        rows = int(fused.weight.shape[fused.output_dim])
        kv = (rows // head_dim - heads) // 2
    else:
        kv = heads
    if kv < 1 or heads % kv:
        raise SpaError(f"{heads} q heads over {kv} kv heads: not a grouped-query layout", where=path)
    return Heads(heads, kv, head_dim)


def _set_where_held(applied: AppliedPlan, path: str, module: nn.Module, names: tuple[str, ...], value: int) -> None:
    """Set each of `names` the module holds to `value`, recorded even where it was right already: the size scan
    then knows the adapter answered for it (a kept head_dim times num_key_value_groups can equal a removed width)."""
    for n in names:
        old = vars(module).get(n)
        if isinstance(old, int) and not isinstance(old, bool):
            applied.set_attribute(path, module, n, value)


def update_attention(path: str, module: nn.Module, applied: AppliedPlan) -> Heads:
    """Set the module's head attributes (each spelling it holds) to what its tensors now hold."""
    old_heads, old_dim = _first_attr(module, HEAD_COUNTS), _first_attr(module, HEAD_WIDTHS)
    new = heads_of(path, module, applied)
    split = vars(module).get("split_size")
    _set_where_held(applied, path, module, HEAD_COUNTS, new.heads)
    _set_where_held(applied, path, module, KV_COUNTS, new.kv_heads)
    _set_where_held(applied, path, module, HEAD_WIDTHS, new.head_dim)
    _set_where_held(applied, path, module, ("num_key_value_groups",), new.heads // new.kv_heads)
    _set_where_held(applied, path, module, ("all_head_size", "inner_dim"), new.heads * new.head_dim)
    if isinstance(split, int) and old_heads is not None and old_dim is not None and split == old_heads * old_dim:
        _set_where_held(applied, path, module, ("split_size",), new.heads * new.head_dim)  # GPT-2 splits qkv by it
    if "kv_dim" in vars(module):  # GPT-BigCode splits its fused qkv by (embed_dim, kv_dim, kv_dim)
        _set_where_held(applied, path, module, ("embed_dim",), new.heads * new.head_dim)
        _set_where_held(applied, path, module, ("kv_dim",), new.kv_heads * new.head_dim)
    return new


def _conv1d(model: nn.Module, applied: AppliedPlan) -> None:
    """transformers' Conv1D (GPT-2): `nf`, its output width, is the weight's dim 1."""
    for path, m in model.named_modules():
        if type(m).__name__ == "Conv1D" and isinstance(getattr(m, "weight", None), torch.Tensor):
            _set_where_held(applied, path, m, ("nf",), int(m.weight.shape[1]))
            _set_where_held(applied, path, m, ("nx",), int(m.weight.shape[0]))


def _split_mlp(module: nn.Module) -> Projection | None:
    """The output projection of a BERT-style layer's MLP (`MLP_SPLIT`), None for other modules."""
    first, second, dense = MLP_SPLIT
    out = getattr(module, second, None)
    if isinstance(getattr(module, first, None), nn.Module) and isinstance(out, nn.Module):
        return _child(out, (dense,))
    return None


def _mlp_widths(top: nn.Module, attention: set[str]) -> dict[str, int]:
    """module path -> MLP width (its output projection's input columns), for every MLP outside attention."""
    out: dict[str, int] = {}
    for path, m in top.named_modules():
        if path in attention:
            continue
        found = _child(m, MLP_OUTPUTS) or _split_mlp(m)
        if found is not None:
            out[path] = int(found.weight.shape[found.input_dim])
    return out


def _join(*parts: str) -> str:
    return ".".join(p for p in parts if p)


def _uniform(values: Mapping[str, int]) -> int | None:
    distinct = set(values.values())
    return distinct.pop() if len(distinct) == 1 else None


def _config_key(config: Any, names: tuple[str, ...]) -> str | None:
    return next((n for n in names if hasattr(config, n)), None)


def _write_config(prefix: str, top: Any, sizes: dict[str, dict[str, int]], limits: list[str]) -> None:
    """Write each size that is one value in every layer into the config; name the others."""
    config = top.config
    keys = {
        "heads": "num_attention_heads",
        "kv_heads": _config_key(config, KV_COUNTS),
        "head_dim": "head_dim",
        "ffn": _config_key(config, FFN_KEYS),
        "hidden": "hidden_size",
        **config_keys(config),  # Mixture-of-Experts: expert counts and widths
    }
    for size, by_layer in sizes.items():
        key = keys[size]
        if not by_layer or key is None:
            continue
        value = _uniform(by_layer)
        if value is None:
            widths = ", ".join(f"{p}: {v}" for p, v in by_layer.items())
            limits.append(
                f"{prefix or '<model>'} ({type(top).__name__}): config.{key} is one value for all layers, the plan "
                f"leaves {widths}; prune with uniform=True (same kept counts in every layer) to save it"
            )
        elif (
            not isinstance(getattr(config, key, None), (list, tuple))  # per stage (Swin's heads): the rebuild check's
            and getattr(config, key, None) != value
            and not isinstance(getattr(type(config), key, None), property)
        ):
            setattr(config, key, value)  # a derived size (Falcon's head_dim property) is left to the rebuild check


def _rebuilt_mismatches(top: Any) -> list[str]:
    """What the model the config builds (meta device) differs in from `top`: tensor shapes, size attributes."""
    config = copy.deepcopy(top.config)
    with torch.device("meta"):
        ref = type(top)(config)
    out: list[str] = []
    ours = {n: tuple(t.shape) for n, t in [*top.named_parameters(), *top.named_buffers()]}
    for n, t in [*ref.named_parameters(), *ref.named_buffers()]:
        if n in ours and ours[n] != tuple(t.shape):
            out.append(f"{n} {ours[n]} (config builds {tuple(t.shape)})")
    mods = dict(top.named_modules())
    for path, m in ref.named_modules():
        mine = mods.get(path)
        if mine is None:
            continue
        for attr, value in vars(m).items():
            held = vars(mine).get(attr)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and held != value:
                out.append(f"{path or '<model>'}.{attr} = {held} (config builds {value})")
    return out


def _refuse_save(top: nn.Module, reason: str) -> None:
    """save_pretrained of this model raises `reason` (one line) instead of writing a config that does not reload."""

    def refused(*args: Any, **kwargs: Any) -> None:
        raise SpaError(
            f"save_pretrained would write a config that does not rebuild the pruned model: {reason}; the emitted "
            "module (spa_ir.api.to_torch) or torch.save of the module has no such limit",
            where=type(top).__name__,
        )

    vars(top)["save_pretrained"] = refused  # an instance attribute shadows the method


def _hidden_pruned(prefix: str, top: nn.Module, emb: nn.Embedding, applied: AppliedPlan, hidden: int) -> bool:
    """The plan narrowed the input embeddings from the hidden size (ALBERT/ELECTRA embed narrower than hidden by
    design: an embedding_dim unlike hidden_size says nothing by itself)."""
    path = next((p for p, m in top.named_modules() if m is emb), None)
    change = applied.changed.get(_join(prefix, path or "", "weight")) if path is not None else None
    return change is not None and change[0][1] == hidden != change[1][1]


def _refuse_unknown_attention(prefix: str, top: nn.Module, known: set[str], applied: AppliedPlan) -> None:
    """A module holding a head width whose projections the plan changed, but whose heads this adapter cannot read
    (a spelling it does not know): its forward would split heads by stale sizes and compute something else
    silently, so apply_plan refuses (and restores the model)."""
    for path, m in top.named_modules():
        if path in known or _first_attr(m, HEAD_WIDTHS) is None:
            continue
        children = {_join(prefix, path, c) for c, _ in m.named_children()}
        if any(n.rsplit(".", 1)[0] in children for n in applied.changed):
            raise SpaError(
                f"{type(m).__name__} holds head sizes the transformers adapter cannot read (no known output, key "
                "or value projection): its forward would split heads by stale sizes; the emitted module "
                "(spa_ir.api.to_torch) has no such limit",
                where=_join(prefix, path),
            )


def _update_model(prefix: str, top: Any, applied: AppliedPlan) -> None:
    """`top`: a transformers PreTrainedModel (its config, its input embeddings)."""
    attention = {p: m for p, m in top.named_modules() if is_attention(m)}
    _refuse_unknown_attention(prefix, top, set(attention), applied)
    heads = {p: update_attention(_join(prefix, p), m, applied) for p, m in attention.items()}
    ffn = _mlp_widths(top, set(attention))
    hidden_before = getattr(top.config, "hidden_size", None)  # CNN configs (ResNet, ConvNeXt) have none
    for path, width in ffn.items():
        m = top.get_submodule(path)
        _set_where_held(applied, _join(prefix, path), m, ("intermediate_size",), width)
    sizes: dict[str, dict[str, int]] = {
        "heads": {p: h.heads for p, h in heads.items()},
        "kv_heads": {p: h.kv_heads for p, h in heads.items()},
        "head_dim": {p: h.head_dim for p, h in heads.items()},
        "ffn": ffn,
    }
    sizes.update(moe_sizes(prefix, top, applied, ffn))  # experts' counts and widths, shared experts' widths
    embeddings: Callable[[], nn.Module] | None = getattr(top, "get_input_embeddings", None)
    try:
        emb = embeddings() if embeddings is not None else None
    except NotImplementedError:  # speech models (Wav2Vec2) have no input embeddings and say so by raising
        emb = None
    if isinstance(emb, nn.Embedding) and hidden_before and _hidden_pruned(prefix, top, emb, applied, hidden_before):
        sizes["hidden"] = {"embeddings": emb.embedding_dim}
        for p, m in top.named_modules():
            _set_where_held(applied, _join(prefix, p), m, ("hidden_size", "embed_dim"), emb.embedding_dim)
    limits: list[str] = []
    _write_config(prefix, top, sizes, limits)
    if not limits:
        mismatches = _rebuilt_mismatches(top)
        if mismatches:
            shown = "; ".join(mismatches[:4]) + (f"; and {len(mismatches) - 4} more" if len(mismatches) > 4 else "")
            limits.append(
                f"{prefix or '<model>'} ({type(top).__name__}): its config cannot express the pruned sizes: {shown}"
            )
    if limits:
        applied.limits.extend(limits)
        _refuse_save(top, limits[0])


def _outermost_models(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The transformers PreTrainedModels of `model` not inside another one (a *ForCausalLM, not its base model)."""
    from transformers import PreTrainedModel

    found: list[tuple[str, nn.Module]] = []
    for path, m in model.named_modules():
        if isinstance(m, PreTrainedModel) and not any(path.startswith(f"{p}.") or p == "" for p, _ in found):
            found.append((path, m))
    return found


def update(model: nn.Module, applied: AppliedPlan) -> None:
    """Set transformers modules' size attributes and their models' configs to the pruned sizes (see the module
    docstring); a config that cannot say them is a limit, and that model's save_pretrained refuses."""
    _conv1d(model, applied)
    for prefix, top in _outermost_models(model):
        if applied.changed and any(n.startswith(prefix) for n in applied.changed):
            _update_model(prefix, top, applied)
