"""Fix-ups of the converted torch dialect module: `prim.tolist` of literals folded to lists of constants,
weight arguments replaced by `spa.param` ops, the result verified."""

from __future__ import annotations

from collections.abc import Callable, Collection
from pathlib import Path

from torch_mlir import ir

from spa_ir.core.errors import SpaError, first_line
from spa_ir.frontends.mlir_bridge import make_param_op

__all__ = ["FUNC_NAME", "args_to_params", "fold_literal_tolist", "verify_module"]

FUNC_NAME = "main"

# list type -> (attribute class reading the literal's values, constant op, its result type, its value
# attribute's type): the lists `prim.tolist` of a literal can be rebuilt from constants.
_LIST_CONSTANTS: dict[str, tuple[type[ir.DenseElementsAttr], str, str, Callable[[], ir.Type]]] = {
    "!torch.list<int>": (
        ir.DenseIntElementsAttr,
        "torch.constant.int",
        "!torch.int",
        lambda: ir.IntegerType.get_signless(64),
    ),
    "!torch.list<float>": (ir.DenseFPElementsAttr, "torch.constant.float", "!torch.float", ir.F64Type.get),
}


def fold_literal_tolist(module: ir.Module) -> int:
    """Replace `torch.prim.tolist` of a rank-1 `torch.vtensor.literal` by a `torch.prim.ListConstruct`
    of `torch.constant.int`/`float` ops; return how many were folded.

    torch-mlir's ONNX conversion emits `prim.tolist` for sizes held in a tensor (`Split`'s `split`
    input, after `fold_shape_arithmetic` made them a literal). `prim.tolist` has variadic results,
    which spa's generated dialect does not model, and its consumers (`aten.split_with_sizes`) read the
    sizes as an int list anyway. Literals left without users are erased.
    """
    folded = 0
    for op in _ops_named(module, "torch.prim.tolist"):
        values = _literal_list(op)
        if values is None:
            continue
        _, const_name, const_type, attr_type = _LIST_CONSTANTS[str(op.results[0].type)]
        literal = _defining_op(op.operands[0])
        with ir.InsertionPoint(op), op.location:
            items = [
                ir.Operation.create(
                    const_name, results=[ir.Type.parse(const_type)], attributes={"value": _scalar_attr(attr_type(), v)}
                ).result
                for v in values
            ]
            listed = ir.Operation.create("torch.prim.ListConstruct", results=[op.results[0].type], operands=items)
        op.results[0].replace_all_uses_with(listed.result)
        op.erase()
        if literal is not None and not list(literal.results[0].uses):
            literal.erase()
        folded += 1
    return folded


def _literal_list(op: ir.Operation) -> list[int] | list[float] | None:
    """The values a `prim.tolist` of a rank-1 literal produces, or None when it is not one."""
    if len(op.operands) != 1 or len(op.results) != 1:
        return None
    kind = _LIST_CONSTANTS.get(str(op.results[0].type))
    literal = _defining_op(op.operands[0])
    if kind is None or literal is None or literal.name != "torch.vtensor.literal":
        return None
    try:
        dense = kind[0](literal.attributes["value"])
    except ValueError:  # dense_resource blobs and the like: left to fail loudly in the bridge
        return None
    if ir.ShapedType(dense.type).rank != 1:
        return None
    return [dense[i] for i in range(len(dense))]


def _defining_op(value: ir.Value) -> ir.Operation | None:
    """The op defining `value` (None for a block argument); the bindings hand out OpViews."""
    owner = value.owner
    if isinstance(owner, ir.OpView):
        return owner.operation
    return owner if isinstance(owner, ir.Operation) else None


def _scalar_attr(attr_type: ir.Type, value: int | float) -> ir.Attribute:
    if isinstance(attr_type, ir.F64Type):
        return ir.FloatAttr.get(attr_type, value)
    return ir.IntegerAttr.get(attr_type, value)


def _ops_named(module: ir.Module, name: str) -> list[ir.Operation]:
    found: list[ir.Operation] = []

    def visit(op: ir.Operation) -> ir.WalkResult:
        if op.name == name:
            found.append(op)
        return ir.WalkResult.ADVANCE

    module.operation.walk(visit)
    return found


_RUNNING_STATISTICS = {"torch.aten.batch_norm": (3, 4), "torch.aten.native_batch_norm": (3, 4)}
"""Operand positions of a batch norm's running mean and variance: initializers there are buffers, not
parameters (no gradient, and the emitted module must not make them trainable)."""


def _is_running_statistic(arg: ir.Value) -> bool:
    return any(
        use.owner.name in _RUNNING_STATISTICS and use.operand_number in _RUNNING_STATISTICS[use.owner.name]
        for use in arg.uses
    )


def args_to_params(func: ir.Operation, arg_names: list[str], weights: Collection[str]) -> None:
    """Replace each weight argument of `func` by a `spa.param` op and drop it from the signature (a buffer
    where it is a batch norm's running statistic).

        `arg_names` are the ONNX input names in argument order; the arguments left are the model's real
        inputs, whose names are recorded as `spa.input_names` on the function. The function is renamed `main`,
        like the PyTorch frontend's.
    """
    entry = func.regions[0].blocks[0]
    first_op = entry.operations[0]
    weight_args = [(i, n, a) for i, (n, a) in enumerate(zip(arg_names, entry.arguments)) if n in weights]
    for _, name, arg in weight_args:
        with ir.InsertionPoint(first_op), arg.location:
            param = make_param_op(name, arg.type, buffer=_is_running_statistic(arg))
        arg.replace_all_uses_with(param)
    for index, _, _ in reversed(weight_args):
        entry.erase_argument(index)
    with func.context:
        old = ir.FunctionType(ir.TypeAttr(func.attributes["function_type"]).value)
        new = ir.FunctionType.get([a.type for a in entry.arguments], old.results)
        func.attributes["function_type"] = ir.TypeAttr.get(new)
        func.attributes["sym_name"] = ir.StringAttr.get(FUNC_NAME)
        # the model's input names, for calibration data by name (spa_ir/calibration/data.py)
        inputs = [n for n in arg_names if n not in weights]
        func.attributes["spa.input_names"] = ir.ArrayAttr.get([ir.StringAttr.get(n) for n in inputs])


def verify_module(module: ir.Module, path: Path) -> None:
    try:
        module.operation.verify()
    except ir.MLIRError as e:
        raise SpaError(f"imported module does not verify: {first_line(e)}", where=str(path)) from None
