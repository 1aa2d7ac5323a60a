"""Ultralytics' own modules after apply_plan: the sizes their forwards read from attributes.

The standard layers inside them (Conv2d, BatchNorm2d) got their attributes from their new tensors already; what
is left are the attributes ultralytics' blocks keep beside them (8.4.x):
- the CSP blocks that cut `cv1`'s output into two halves of `c` channels (C2f, C3k2, C2, C2PSA, C2fPSA, PSA,
  RepNCSPELAN4, ELAN1...: `chunk(2, 1)` or `split((self.c, self.c), 1)`): `c` becomes the kept half width. Each
  half is its own channel group, so a plan can keep different counts in them (a global criterion); the forward
  cannot split unequal halves, which is a limit;
- the position-sensitive `Attention` of C2PSA / PSA (`qkv` rows per head: key_dim q, key_dim k, head_dim v):
  `num_heads`, `key_dim`, `head_dim` from the rows the plan keeps in each head (its `scale` stays the original
  key_dim's, as the masked original computes). Its forward views the attention output as the *input's* channel
  count C (`.view(B, C, H, W)`), so num_heads * head_dim must stay equal to C: where the plan makes them differ
  it is a limit, and `psa_ignore(model)` is the `ignore=` regex that keeps those groups whole.
- Detect's box bins, where a plan cut them (only_exact=False: DFL's softmax makes it inexact): `reg_max`, `no`
  and DFL's `c1`. Its classes are model outputs (never pruned), its hidden widths (c2, c3) constructor locals.
Limits are lines in `applied.limits`; the emitted module (spa_ir.api.to_torch) has none of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from torch import nn

if TYPE_CHECKING:
    from spa_ir.backends.module import AppliedPlan

BLOCKS = "ultralytics.nn.modules.block"


def update(model: nn.Module, applied: AppliedPlan) -> None:
    """Set the half widths of CSP blocks and the head sizes of PSA attention from the tensors the plan kept."""
    for path, module in model.named_modules():
        if _is_attention(module):
            _attention(path, module, applied)
        elif _halves_of(module) is not None:
            _halves(path, module, applied)
        elif isinstance(getattr(module, "reg_max", None), int) and isinstance(getattr(module, "dfl", None), nn.Module):
            _box_bins(path, module, applied)


def _box_bins(path: str, head: nn.Module, applied: AppliedPlan) -> None:
    """Detect's box bins (reg_max per side; DFL's softmax over them makes removing one inexact, so only plans with
    only_exact=False cut them): `reg_max`, `no` (outputs per anchor) and DFL's `c1` from DFL's integral conv."""
    name = f"{path}.dfl.conv.weight"
    if name not in applied.changed:
        return
    bins = applied.changed[name][1][1]
    nc = getattr(head, "nc", None)
    applied.set_attribute(path, head, "reg_max", bins)
    if isinstance(nc, int):
        applied.set_attribute(path, head, "no", nc + 4 * bins)
    applied.set_attribute(f"{path}.dfl", head.dfl, "c1", bins)


def psa_ignore(model: nn.Module) -> str:
    """The `ignore=` regex (spa_ir.api.prune_program) that keeps whole the channels of every PSA attention whose forward
    needs num_heads * head_dim equal to its input's width: its value / head channels (the `pe` conv's), its
    block's residual width (the last conv of the block's `ffn` writes the residual stream) and, where an enclosing
    CSP block feeds that stream from one half of its `cv1`, both halves (its `cv1.bn`), which must stay equal. The
    keys (key_dim) stay prunable. Empty when the model has no such attention."""
    parts: list[str] = []
    for path, m in model.named_modules():
        if not _is_attention(m):
            continue
        parts.append(f"{path}.pe.")
        block = path.rpartition(".")[0]
        ffn = getattr(model.get_submodule(block), "ffn", None)
        if isinstance(ffn, nn.Sequential):
            parts.append(f"{block}.ffn.{len(ffn) - 1}.")
        names = block.split(".")
        for k in range(len(names) - 1, 0, -1):
            outer = ".".join(names[:k])
            if _halves_of(model.get_submodule(outer)) is not None:
                parts.append(f"{outer}.cv1.bn.")
                break
    return "|".join("^" + p.replace(".", r"\.") for p in dict.fromkeys(parts))


def _is_attention(module: nn.Module) -> bool:
    return type(module).__module__ == BLOCKS and all(
        hasattr(module, a) for a in ("num_heads", "key_dim", "head_dim", "qkv", "pe")
    )


def _halves_of(module: nn.Module) -> int | None:
    """`c` of a block whose `cv1` (an ultralytics Conv) writes two halves of `c` channels, else None."""
    c = getattr(module, "c", None)
    conv = getattr(getattr(module, "cv1", None), "conv", None)
    if type(module).__module__ != BLOCKS or not isinstance(c, int) or not isinstance(conv, nn.Conv2d):
        return None
    return c


def _removed(applied: AppliedPlan, name: str, dim: int) -> list[int] | None:
    """The indices the plan removes from dim `dim` of tensor `name` (None: the plan leaves that dim)."""
    dims = applied.plan.params.get(name)
    if not dims:
        return None
    for d, idx in dims.items():
        if int(d) == dim:
            return list(idx)
    return None


def _halves(path: str, module: nn.Module, applied: AppliedPlan) -> None:
    c = _halves_of(module)
    name = f"{path}.cv1.conv.weight"
    if c is None or name not in applied.changed or applied.changed[name][0][0] != 2 * c:
        return
    gone = _removed(applied, name, 0) or []
    kept = (c - sum(1 for i in gone if i < c), c - sum(1 for i in gone if i >= c))
    if kept[0] == kept[1]:
        if kept[0] != c:
            applied.set_attribute(path, module, "c", kept[0])
        return
    applied.limits.append(
        f"{path} ({type(module).__name__}).c = {c}: its forward cuts cv1's output into two equal halves, but the plan "
        f"keeps {kept[0]} and {kept[1]} channels in them; the emitted module (spa_ir.api.to_torch) has no such limit"
    )


def _kept_per_head(heads: int, kd: int, hd: int, gone: set[int]) -> list[tuple[int, int, int]]:
    """(q, k, v) rows kept in each head that keeps any ([q key_dim, k key_dim, v head_dim] rows per head)."""
    block = 2 * kd + hd
    out = []
    for h in range(heads):
        kept = [j for j in range(block) if h * block + j not in gone]
        if kept:
            out.append(
                (
                    sum(1 for j in kept if j < kd),
                    sum(1 for j in kept if kd <= j < 2 * kd),
                    sum(1 for j in kept if j >= 2 * kd),
                )
            )
    return out


def _attention(path: str, module: nn.Module, applied: AppliedPlan) -> None:
    """num_heads, key_dim, head_dim from the qkv rows the plan keeps per head; a limit where the heads keep
    different counts or num_heads * head_dim differs from the input width."""
    name = f"{path}.qkv.conv.weight"
    if name not in applied.changed:
        return
    heads, kd, hd = (getattr(module, a) for a in ("num_heads", "key_dim", "head_dim"))
    if not (isinstance(heads, int) and isinstance(kd, int) and isinstance(hd, int)):
        return
    per_head = _kept_per_head(heads, kd, hd, set(_removed(applied, name, 0) or []))
    cls = f"{path} ({type(module).__name__})"
    if len(set(per_head)) != 1 or per_head[0][0] != per_head[0][1]:
        applied.limits.append(
            f"{cls}: the plan keeps different q / k / v counts in its heads ({sorted(set(per_head))}), which "
            "num_heads / key_dim / head_dim cannot say; the emitted module (spa_ir.api.to_torch) has no such limit"
        )
        return
    key_dim, _, head_dim = per_head[0]
    for attr, value in (("num_heads", len(per_head)), ("key_dim", key_dim), ("head_dim", head_dim)):
        if getattr(module, attr) != value:
            applied.set_attribute(path, module, attr, value)
    width = applied.changed[name][1][1]
    if len(per_head) * head_dim != width:
        applied.limits.append(
            f"{cls}: its forward views the attention output as its input's {width} channels (`.view(B, C, H, W)`), "
            f"but the plan keeps num_heads * head_dim = {len(per_head)} * {head_dim}; prune with "
            "ignore=spa_ir.backends.module.ultralytics.psa_ignore(model) to keep them equal, or use the emitted "
            "module (spa_ir.api.to_torch), which has no such limit"
        )
