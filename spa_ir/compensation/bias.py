"""New biases in the IR: where a refitted consumer has none, the removed channels' mean contribution needs one.

Which op reads a weight as a consumer and where its bias goes are the op families' roles (spa_ir/ops: FILTER, BIAS,
RIGHT_FACTOR, TRANSPOSED). A conv / linear gets a `spa.param` in its bias operand; a matmul (an ONNX MatMul, x @ W)
gets an `aten.add.Tensor` of the new parameter after it. The new parameter is annotated with the consumer's output
channel layout, so spa-eliminate-dead-channels slices it with the outputs and the plan lists it. Names: a PyTorch
weight `<module>.weight` gets `<module>.bias` (what nn.Conv2d / nn.Linear call theirs, so the masked original and
apply_plan can set it); an ONNX consumer gets `<node>.spa_bias`, after the node its location names.
"""

from __future__ import annotations

from xdsl.dialects.builtin import ArrayAttr, DenseIntOrFPElementsAttr, ModuleOp, TensorType
from xdsl.ir import Operation, SSAValue
from xdsl.rewriter import InsertPoint, Rewriter

from spa.dialects.spa import DimsAttr, ParamOp
from spa.dialects.torch import AtenAddTensorOp
from spa.dialects.torch_base import ConstantIntOp
from spa_ir.channels.annotations import DIMS_ATTR, annotated_dims
from spa_ir.core.errors import SpaError
from spa_ir.core.ir import main_function, params, site
from spa_ir.ops.registry import operand_roles, spec_of
from spa_ir.ops.spec import BIAS, FILTER, RIGHT_FACTOR, TRANSPOSED, operand_names

ONNX_ORIGIN_ATTR = "torch.onnx_meta.opset_version"


def _consumer_op(param: ParamOp) -> Operation | None:
    """The conv / linear (the weight is its FILTER) or matmul (its RIGHT_FACTOR, directly or through a 2-D
    transpose) that reads activations through this weight: the op families' roles say which."""
    for use in param.result.uses:
        op = use.operation
        roles = operand_roles(op, use.index)
        if FILTER in roles or RIGHT_FACTOR in roles:
            return op
        if TRANSPOSED in roles:
            for inner in op.results[0].uses:
                if RIGHT_FACTOR in operand_roles(inner.operation, inner.index):
                    return inner.operation
    return None


def _bias_index(op: Operation) -> int | None:
    """The position of the op's BIAS operand (None: a matmul, which has none)."""
    spec = spec_of(op)
    names = operand_names(op)
    bias = next((name for name, role in (spec.roles if spec else ()) if role == BIAS), None)
    return names.index(bias) if bias in names else None


def bias_name(module: ModuleOp, weight: str) -> str:
    """The name a new bias of the consumer reading `weight` gets."""
    taken = {p.weight_name for p in params(module)}
    fn = main_function(module)
    if ONNX_ORIGIN_ATTR in fn.attributes:
        param = next(p for p in params(module) if p.weight_name == weight)
        op = _consumer_op(param)
        node = site(op).at if op is not None else ""
        name = f"{node or weight}.spa_bias"
    elif weight.endswith(".weight") and weight[: -len("weight")] + "bias" not in taken:
        name = weight[: -len("weight")] + "bias"
    else:
        name = f"{weight}.spa_bias"
    if name in taken:
        raise SpaError(f"cannot add a bias to the consumer of '{weight}': the name '{name}' is taken")
    return name


def add_bias(module: ModuleOp, weight: str, name: str) -> bool:
    """Give the consumer of `weight` the bias parameter `name`, zero. It is inline (a `dense<0.0>` literal) when
    the weight is (lit tests), and True is returned; else its value belongs in the weight store."""
    param = next((p for p in params(module) if p.weight_name == weight), None)
    op = _consumer_op(param) if param is not None else None
    if param is None or op is None:
        raise SpaError(f"no conv, linear or matmul reads '{weight}': cannot give it a bias")
    dims = annotated_dims(op)
    result = op.results[0]
    shape = result.type.get_shape()  # type: ignore[attr-defined]  # consumers return tensors
    index = _bias_index(op)
    conv = index is not None and len(param.result.type.get_shape()) > 2  # type: ignore[attr-defined]  # a tensor
    channel = 1 if conv else len(shape) - 1
    bias_type = param.result.type.with_shape([shape[channel]])  # type: ignore[attr-defined]  # a tensor type
    zero = None
    if param.value is not None:
        zero = DenseIntOrFPElementsAttr.from_list(TensorType(param.value.get_element_type(), [shape[channel]]), [0.0])
    bias = ParamOp(name, bias_type, zero)
    if dims is not None:
        bias.attributes[DIMS_ATTR] = ArrayAttr([DimsAttr((dims[0][channel],))])
    Rewriter.insert_op(bias, InsertPoint.after(param))
    if index is not None:
        op.operands[index] = bias.result
        return zero is not None
    one = ConstantIntOp(1)
    add = AtenAddTensorOp(operands=[result, bias.result, one.result], result_types=[result.type])
    if dims is not None:
        add.attributes[DIMS_ATTR] = ArrayAttr([DimsAttr(dims[0])])
    Rewriter.insert_op([one, add], InsertPoint.after(op))
    _redirect(result, add.results[0], add)
    return zero is not None


def _redirect(old: SSAValue, new: SSAValue, except_in: Operation) -> None:
    for use in list(old.uses):
        if use.operation is not except_in:
            use.operation.operands[use.index] = new
