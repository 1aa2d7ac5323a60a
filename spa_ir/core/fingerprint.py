"""The architecture fingerprint of an IR: what a plan's indices refer to, and nothing else.

A plan names weights, dims and indices, so it fits any IR with the same ops, types (hence every shape),
parameter names and parameter shapes. It must not care about the weight *values* (another checkpoint of the same
architecture, other seed, fine-tuned), about locations or SSA names (a re-import from another path), or about
what spa's passes add on top: the analyses (`spa.space`, `spa.group`) and every `spa.*` attribute (channel
annotations, module records, the ONNX source's path and hash), except `spa.input_names` (part of the model's
interface). `architecture_hash` is that, as 16 hex digits of sha256 over the IR printed without all of the above
(inline `dense<..>` weight literals of lit tests dropped too). Plans record it (`Plan.architecture`, set by
`Program.run` from the IR the pipeline started on) and spa-apply-plan refuses a plan made on another one.
"""

from __future__ import annotations

import hashlib

from xdsl.dialects.builtin import ModuleOp

from spa.dialects.spa import GroupOp, ParamOp, SpaceOp

KEPT_SPA_ATTRIBUTES = frozenset({"spa.input_names"})
"""The `spa.*` attributes that are part of the architecture (the model's input names)."""


def architecture_hash(module: ModuleOp) -> str:
    """The module's architecture fingerprint (see the module docstring): equal for two checkpoints of one model,
    different when an op, a type, a parameter name or shape differs."""
    return canonical_hash(module, inline_values=False)


def canonical_hash(module: ModuleOp, *, inline_values: bool = True) -> str:
    """16 hex digits of sha256 over the module printed without spa's analyses (`spa.space`, `spa.group`), its
    `spa.*` attributes other than KEPT_SPA_ATTRIBUTES, locations and SSA names; `inline_values=False` also drops
    the inline `dense<..>` values of `spa.param`s. The statistics store keys on it with the values kept
    (`spa_ir.calibration.store.ir_hash`), a plan without them (`architecture_hash`)."""
    from spa_ir.core.parsing import print_module

    clone = module.clone()
    for op in list(clone.walk()):
        if isinstance(op, (SpaceOp, GroupOp)):
            op.detach()
            op.erase(safe_erase=False)
            continue
        for name in [n for n in op.attributes if n.startswith("spa.") and n not in KEPT_SPA_ATTRIBUTES]:
            del op.attributes[name]
        if isinstance(op, ParamOp) and not inline_values:
            op.attributes.pop("value", None)
        for result in op.results:
            result.name_hint = None
        for region in op.regions:
            for block in region.blocks:
                for arg in block.args:
                    arg.name_hint = None
    return hashlib.sha256(print_module(clone, debuginfo=False).encode()).hexdigest()[:16]
