"""The spa dialect: what pruning adds to torch-mlir's IR.

`spa.param` names a weight or buffer held in the weight store beside the IR (`model.safetensors`),
keyed by its original state-dict or ONNX initializer name. Keeping weights out of the IR keeps it
small, fast to parse and readable; small lit tests may carry the value inline as `dense<...>`.
"""

from __future__ import annotations

from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, StringAttr, UnitAttr
from xdsl.ir import Attribute, Dialect
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    opt_attr_def,
    attr_def,
    result_def,
)
from xdsl.utils.exceptions import VerifyException


@irdl_op_definition
class ParamOp(IRDLOperation):
    """A named weight: `%w = spa.param "layer1.0.conv1.weight" : !torch.vtensor<[64,64,3,3],f32>`.

    Buffers say so (`spa.param "bn1.running_mean" buffer : ...`) so the backend rebuilds them as buffers.
    """

    name = "spa.param"

    param_name = attr_def(StringAttr, attr_name="name")
    value = opt_attr_def(DenseIntOrFPElementsAttr)
    buffer = opt_attr_def(UnitAttr)
    """Set for buffers (running statistics, ...) as opposed to trainable parameters."""
    result = result_def(Attribute)

    assembly_format = "$name (`buffer` $buffer^)? (`=` $value^)? attr-dict `:` type($result)"

    def __init__(
        self,
        name: str,
        result_type: Attribute,
        value: DenseIntOrFPElementsAttr | None = None,
        *,
        buffer: bool = False,
    ):
        attributes: dict[str, Attribute] = {"name": StringAttr(name)}
        if value is not None:
            attributes["value"] = value
        if buffer:
            attributes["buffer"] = UnitAttr()
        super().__init__(attributes=attributes, result_types=[result_type])

    @property
    def weight_name(self) -> str:
        return self.param_name.data

    @property
    def is_buffer(self) -> bool:
        return self.buffer is not None

    def verify_(self) -> None:
        if not self.param_name.data:
            raise VerifyException("spa.param needs a non-empty name")
        if self.value is not None:
            shape = getattr(self.result.type, "get_shape", None)
            if shape is not None and tuple(self.value.get_shape()) != tuple(shape()):
                raise VerifyException(
                    f"spa.param '{self.weight_name}': inline value shape {tuple(self.value.get_shape())} "
                    f"does not match result type shape {tuple(shape())}"
                )


Spa = Dialect("spa", [ParamOp], [])
