"""The torch dialect in xDSL reads and writes torch-mlir's own text format.

Text printed by torch-mlir must parse in xDSL, and xDSL's print of it must parse in torch-mlir
and re-print exactly as torch-mlir printed the original; xDSL print -> parse -> print must be
a fixed point. Checked on real imported models (FX and ONNX), on every generated op, and on
hand-written corner cases (types, constants, float spellings, regions).
"""

from __future__ import annotations

import io
import math
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch
import torchvision
from torch_mlir import ir
from torch_mlir.dialects import torch as torch_d
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import (
    Builtin,
    DenseIntOrFPElementsAttr,
    IntegerType,
    ModuleOp,
    Signedness,
    f32,
)
from xdsl.dialects.func import Func
from xdsl.ir import Block, Operation, Region
from xdsl.irdl import VerificationContext
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.utils.exceptions import ParseError, VerifyException

from spa.dialects import torch_base
from spa.dialects.torch import (
    GENERATED_OPS,
    AtenConv2dOp,
    ConstantBoolOp,
    ConstantDeviceOp,
    ConstantFloatOp,
    ConstantIntOp,
    ConstantNoneOp,
    ConstantStrOp,
    IntType,
    ListType,
    NonValueTensorType,
    OptionalType,
    PrimListConstructOp,
    Torch,
    TupleType,
    VTensorType,
)

REPO = Path(__file__).resolve().parents[2]

# -- helpers --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def xctx() -> Context:
    """builtin + func + torch; `spa.param` stays an unregistered op (generic syntax)."""
    ctx = Context(allow_unregistered=True)
    for dialect in (Builtin, Func, Torch):
        ctx.load_dialect(dialect)
    return ctx


def tm_context() -> ir.Context:
    ctx = ir.Context()
    torch_d.register_dialect(ctx)
    ctx.allow_unregistered_dialects = True
    return ctx


def tm_print(text: str) -> str:
    """torch-mlir's parse + print (fresh context: resource names are per context)."""
    return str(ir.Module.parse(text, tm_context()))


def x_parse(ctx: Context, text: str) -> ModuleOp:
    return Parser(ctx, text).parse_module()


def x_print(op: Operation) -> str:
    out = io.StringIO()
    Printer(stream=out).print_op(op)
    return out.getvalue()


def assert_interchangeable(ctx: Context, torch_mlir_text: str) -> ModuleOp:
    """torch-mlir text -> xDSL -> torch-mlir is exact; xDSL print/parse is a fixed point."""
    reference = tm_print(torch_mlir_text)
    module = x_parse(ctx, reference)
    module.verify()
    printed = x_print(module)
    assert tm_print(printed) == reference
    assert x_print(x_parse(ctx, printed)) == printed
    unregistered = {op.op_name.data for op in module.walk() if op.name == "builtin.unregistered"}
    assert unregistered <= {"spa.param"}, f"parsed generically: {unregistered}"
    return module


# -- types ----------------------------------------------------------------------------------------

TYPE_SPELLINGS = [
    "!torch.vtensor<[1,3,?,64],f32>",
    "!torch.vtensor<[],si64>",
    "!torch.vtensor",
    "!torch.vtensor<*,unk>",
    "!torch.vtensor<*, f16>",
    "!torch.vtensor<[-1, 2],unk>",
    "!torch.vtensor<[2],bf16>",
    "!torch.vtensor<[2],i1>",
    "!torch.vtensor<[2],ui8>",
    "!torch.vtensor<[2],complex<f64>>",
    "!torch.vtensor<[2],!torch.qint8>",
    "!torch.vtensor<[2],f8E4M3FN>",
    "!torch.tensor<[2,3],f32>",
    "!torch.tensor",
    "!torch.int",
    "!torch.float",
    "!torch.bool",
    "!torch.str",
    "!torch.none",
    "!torch.number",
    "!torch.Device",
    "!torch.Generator",
    "!torch.any",
    "!torch.LinearParams",
    "!torch.list<int>",
    "!torch.list<vtensor>",
    "!torch.list<vtensor<[2],f32>>",
    "!torch.list<optional<vtensor>>",
    "!torch.list<list<float>>",
    "!torch.optional<list<int>>",
    "!torch.tuple<int, float>",
    "!torch.tuple<>",
    "!torch.tuple<vtensor<[1],f32>, list<int>>",
    "!torch.union<int, none>",
    "!torch.dict<str, int>",
    '!torch.nn.Module<"foo">',
]


@pytest.mark.parametrize("spelling", TYPE_SPELLINGS)
def test_type_prints_like_torch_mlir(xctx: Context, spelling: str) -> None:
    expected = str(ir.Type.parse(spelling, tm_context()))
    out = io.StringIO()
    Printer(stream=out).print_attribute(Parser(xctx, spelling).parse_type())
    assert out.getvalue() == expected


def test_vtensor_api() -> None:
    t = VTensorType.from_shape([1, -1, 64], f32)
    assert str(t) == "!torch.vtensor<[1,?,64],f32>"
    assert t.get_shape() == (1, -1, 64)
    assert t.dtype == f32
    assert t.has_sizes() and t.has_dtype() and not t.has_static_shape()
    si64 = IntegerType(64, Signedness.SIGNED)
    assert VTensorType.from_shape([2, 3], si64).has_static_shape()
    assert VTensorType.from_shape([], f32).get_shape() == ()
    unranked = VTensorType.from_shape(None)
    assert str(unranked) == "!torch.vtensor" and not unranked.has_sizes()
    with pytest.raises(ValueError):
        unranked.get_shape()
    assert t.with_shape([4]) == VTensorType.from_shape([4], f32)


def test_types_compare_by_parameters() -> None:
    assert VTensorType.from_shape([2], f32) != VTensorType.from_shape([3], f32)
    assert VTensorType.from_shape([2], f32) == VTensorType.from_shape([2], f32)
    assert VTensorType.from_shape([2], f32) != NonValueTensorType.from_shape([2], f32)
    assert ListType(IntType()) != ListType(torch_base.StrType())
    assert OptionalType(IntType()) != ListType(IntType())
    assert TupleType([IntType()]) != TupleType([torch_base.FloatType()])
    assert len({ListType(IntType()), ListType(IntType())}) == 1


# -- hand-written ops -----------------------------------------------------------------------------


def test_built_constants_print_like_torch_mlir(xctx: Context) -> None:
    """Ops built in Python get torch-mlir's result names, and torch-mlir reads them back."""
    ops: list[Operation] = [
        ConstantIntOp(-1),
        ConstantFloatOp(1e-5),
        ConstantFloatOp(0.1),
        ConstantFloatOp(-math.inf),
        ConstantFloatOp(math.nan),
        ConstantBoolOp(True),
        ConstantNoneOp(),
        ConstantStrOp('a\n"b'),
        ConstantDeviceOp("cuda:0"),
    ]
    ops.append(PrimListConstructOp([ops[0].results[0]] * 2, ListType(IntType())))
    block = Block(ops + [func.ReturnOp()])
    module = ModuleOp([func.FuncOp("f", ([], []), Region(block))])
    module.verify()
    text = x_print(module)
    for line in [
        "%int-1 = torch.constant.int -1",
        "%float1.000000e-05 = torch.constant.float 1.000000e-05",
        "%float1.000000e-01 = torch.constant.float 1.000000e-01",
        "%float-Inf = torch.constant.float 0xfff0000000000000",
        "%floatNaN = torch.constant.float 0x7ff8000000000000",
        "%true = torch.constant.bool true",
        "%none = torch.constant.none",
        '%str = torch.constant.str "a\\0A\\22b"',
        '%cuda3A0 = torch.constant.device "cuda:0"',
        "torch.prim.ListConstruct %int-1, %int-1 : (!torch.int, !torch.int) -> !torch.list<int>",
    ]:
        assert line in text
    reprinted = tm_print(text)
    assert "torch.constant.float 0xFFF0000000000000" in reprinted
    assert x_print(x_parse(xctx, reprinted)) == text


HAND_WRITTEN_IR = """
func.func @f(%a: !torch.vtensor<[2],f32>, %b: !torch.bool, %n: !torch.int) -> !torch.vtensor<[2],f32> {
  %f0 = torch.constant.float 9.9999997473787516E-6
  %f1 = torch.constant.float -0.0
  %f2 = torch.constant.float 0x7FF0000000000000
  %f3 = torch.constant.float 4.9406564584124654E-324
  %i = torch.constant.int 9223372036854775807
  %s = torch.constant.str ""
  %false = torch.constant.bool false
  %none = torch.constant.none
  %cpu = torch.constant.device "cpu"
  %n1 = "torch.constant.number"() <{value = 1.500000e+00 : f64}> : () -> !torch.number
  %l0 = torch.vtensor.literal(dense<0xFF800000> : tensor<f32>) : !torch.vtensor<[],f32>
  %l1 = torch.vtensor.literal(dense<[1.5, 0.1]> : tensor<2xf16>) : !torch.vtensor<[2],f16>
  %l2 = torch.vtensor.literal(dense<"0x0100000000000000FFFFFFFFFFFFFFFF"> : tensor<2xsi64>) : !torch.vtensor<[2],si64>
  %l3 = torch.tensor.literal(dense<[true, false]> : tensor<2xi1>) : !torch.tensor<[2],i1>
  %t = torch.prim.TupleConstruct %a, %n : !torch.vtensor<[2],f32>, !torch.int -> !torch.tuple<vtensor<[2],f32>, int>
  %x = torch.prim.TupleIndex %t, %n : !torch.tuple<vtensor<[2],f32>, int>, !torch.int -> !torch.vtensor<[2],f32>
  %u:2 = torch.prim.TupleUnpack %t : !torch.tuple<vtensor<[2],f32>, int> -> !torch.vtensor<[2],f32>, !torch.int
  %li = torch.prim.ListConstruct  : () -> !torch.list<int>
  %lu:2 = torch.prim.ListUnpack %li : !torch.list<int> -> !torch.int, !torch.int
  %c = torch.tensor_static_info_cast %a : !torch.vtensor<[2],f32> to !torch.vtensor<*,f32>
  %d = torch.derefine %n : !torch.int to !torch.optional<int>
  %nv = torch.copy.to_tensor %a : !torch.tensor<[2],f32>
  %v = torch.copy.to_vtensor %nv : !torch.vtensor<[2],f32>
  torch.overwrite.tensor.contents %v overwrites %nv : !torch.vtensor<[2],f32>, !torch.tensor<[2],f32>
  torch.runtime.assert %b, "message"
  %0 = torch.prim.If %b -> (!torch.vtensor<[2],f32>) {
    torch.prim.If.yield %a : !torch.vtensor<[2],f32>
  } else {
    torch.prim.If.yield %x : !torch.vtensor<[2],f32>
  }
  torch.prim.If %b -> () {
    torch.prim.If.yield
  } else {
    torch.prim.If.yield
  }
  %1 = torch.prim.Loop %n, %b, init(%a) {
  ^bb0(%iv: !torch.int, %acc: !torch.vtensor<[2],f32>):
    torch.prim.Loop.condition %b, iter(%acc : !torch.vtensor<[2],f32>)
  } : (!torch.int, !torch.bool, !torch.vtensor<[2],f32>) -> !torch.vtensor<[2],f32>
  %2 = torch.operator "onnx.If"(%b) {torch.onnx.name = "if0"} : (!torch.bool) -> !torch.vtensor<[2],f32> {
    torch.operator_terminator %a : !torch.vtensor<[2],f32>
  }, {
    torch.operator_terminator %1 : !torch.vtensor<[2],f32>
  }
  torch.operator "onnx.NoResult"() : () -> ()
  %3:2 = torch.operator "onnx.Split"(%a) {torch.onnx.axis = 0 : si64} : (!torch.vtensor<[2],f32>) -> (!torch.vtensor<[1],f32>, !torch.vtensor<[1],f32>)
  %s0 = torch.symbolic_int "s0" {min_val = 2, max_val = 10} : !torch.int
  torch.bind_symbolic_shape %a, [%s0], affine_map<()[s0] -> (s0)> : !torch.vtensor<[2],f32>
  return %2 : !torch.vtensor<[2],f32>
}
"""


def test_hand_written_ops_interchangeable(xctx: Context) -> None:
    module = assert_interchangeable(xctx, HAND_WRITTEN_IR)
    names = {op.name for op in module.walk()}
    assert {op.name for op in torch_base.HAND_WRITTEN_OPS} <= names


def test_dense_hex_floats_are_bit_patterns(xctx: Context) -> None:
    """MLIR spells -inf in a float literal as `0xFF800000`; xDSL 0.74 alone reads a number."""
    module = x_parse(
        xctx,
        'func.func @f() { %0 = torch.vtensor.literal(dense<[0xFF800000, 1.0]> : tensor<2xf32>)'
        " : !torch.vtensor<[2],f32> \n return }",
    )
    literal = next(op for op in module.walk() if isinstance(op, torch_base.VTensorLiteralOp))
    assert isinstance(literal.value, DenseIntOrFPElementsAttr)
    assert literal.value.get_values() == (-math.inf, 1.0)


def test_wrong_operand_type_is_a_located_error(xctx: Context) -> None:
    text = (
        "func.func @f(%i: !torch.int) {\n"
        "  %0 = torch.aten.relu %i : !torch.int -> !torch.vtensor<[2],f32>\n  return\n}"
    )
    with pytest.raises(ParseError, match="'torch.aten.relu' op: Unexpected attribute !torch.int"):
        x_parse(xctx, text)
    generic = text.replace(
        "torch.aten.relu %i : !torch.int -> ", '"torch.aten.relu"(%i) : (!torch.int) -> '
    )
    with pytest.raises(VerifyException, match="operand 'self_' at position 0"):
        x_parse(xctx, generic).verify()


# -- generated ops --------------------------------------------------------------------------------


def test_generated_op_definitions() -> None:
    names = [op.name for op in Torch.operations]
    assert len(names) == len(set(names))
    assert len(GENERATED_OPS) > 700
    conv = AtenConv2dOp.get_irdl_definition()
    assert [name for name, _ in conv.operands] == [
        "input", "weight", "bias", "stride", "padding", "dilation", "groups"
    ]  # fmt: skip
    ctx = VerificationContext()
    conv.operands[3][1].constr.verify((ListType(IntType()),), ctx)
    with pytest.raises(VerifyException):
        conv.operands[3][1].constr.verify((IntType(),), ctx)


# Ops whose torch-mlir verifier rejects the sample operands for reasons other than their types.
SEMANTIC_VERIFIER_FAILURES = {
    "torch.aten._scaled_mm",  # needs FP8/FP4 tensors
    "torch.aten._scaled_mm_v2",
    "torch.aten.count_nonzero.dim_IntList",  # needs a prim.ListConstruct operand
    "torch.aten.renorm",  # needs rank >= 2
    "torch.global_slot.init",  # needs a torch.global_slot parent
}


def test_every_generated_op_prints_in_torch_mlir_syntax(xctx: Context) -> None:
    """Build each generated op in xDSL with types both sides accept; torch-mlir must read it."""
    from spa.tools.gen_torch_dialect import PROBE_TYPES, TorchMlirProbe

    samples = [Parser(xctx, text).parse_type() for text, _ in PROBE_TYPES]
    probe = TorchMlirProbe()
    tctx = tm_context()
    vctx = VerificationContext()

    def pick(constraint: object, accepted: list[int]) -> int:
        for index in accepted:
            try:
                constraint.verify((samples[index],), vctx)  # type: ignore[attr-defined]
                return index
            except VerifyException:
                pass
        raise AssertionError("no sample type satisfies both xDSL and torch-mlir")

    failures: dict[str, str] = {}
    for cls in GENERATED_OPS:
        definition = cls.get_irdl_definition()
        accepted = probe.accepted(cls.name, len(definition.operands), len(definition.results))
        assert accepted is not None, cls.name
        operands, results = definition.operands, definition.results
        operand_types = [pick(d.constr, a) for (_, d), a in zip(operands, accepted[0], strict=True)]
        result_types = [pick(d.constr, a) for (_, d), a in zip(results, accepted[1], strict=True)]
        block = Block(arg_types=samples)
        block.add_op(
            cls.create(
                operands=[block.args[i] for i in operand_types],
                result_types=[samples[i] for i in result_types],
            )
        )
        block.add_op(func.ReturnOp())
        module = ModuleOp([func.FuncOp("f", (samples, []), Region(block))])
        module.verify()
        text = x_print(module)
        try:
            reference = str(ir.Module.parse(text, tctx))
        except ir.MLIRError as err:
            failures[cls.name] = str(err)
            continue
        assert str(ir.Module.parse(x_print(x_parse(xctx, reference)), tctx)) == reference
    assert set(failures) == SEMANTIC_VERIFIER_FAILURES, failures
    for name, message in failures.items():
        assert f"'{name}' op" in message  # parsed, then rejected by its verifier


def test_generator_output_is_checked_in(tmp_path: Path) -> None:
    """The generator is deterministic and dialects/torch.py is its current output."""
    out = tmp_path / "torch.py"
    subprocess.run(
        [sys.executable, "-m", "spa.tools.gen_torch_dialect", "-o", str(out)],  # the installed name
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    assert out.read_text() == (REPO / "dialects" / "torch.py").read_text()


# -- real models ----------------------------------------------------------------------------------


class _LSTM(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = torch.nn.LSTM(16, 32, num_layers=2, batch_first=True)
        self.fc = torch.nn.Linear(32, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, _ = self.lstm(x)
        return self.fc(y[:, -1])


class _Masked(torch.nn.Module):
    """-inf constants, multi-result topk and a dynamic batch dimension."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y = self.conv(x).mean(dim=(2, 3))
        y = torch.where(y > 0, y, torch.tensor(float("-inf")))
        values, indices = torch.topk(y, 2)
        return values.masked_fill(values < -1e30, float("-inf")), indices


def _segmentation() -> torch.nn.Module:
    return torchvision.models.segmentation.deeplabv3_mobilenet_v3_large(
        weights=None, weights_backbone=None, aux_loss=False
    )


def _fcn() -> torch.nn.Module:
    return torchvision.models.segmentation.fcn_resnet50(
        weights=None, weights_backbone=None, aux_loss=False
    )


FX_MODELS: dict[str, tuple[Callable[[], torch.nn.Module], tuple[int, ...]]] = {
    "resnet18": (torchvision.models.resnet18, (1, 3, 64, 64)),
    "mobilenet_v3_small": (torchvision.models.mobilenet_v3_small, (1, 3, 64, 64)),
    "vit_b_16": (torchvision.models.vit_b_16, (1, 3, 224, 224)),
    "densenet121": (torchvision.models.densenet121, (1, 3, 64, 64)),
    "lstm": (_LSTM, (2, 5, 16)),
    "deeplabv3": (_segmentation, (1, 3, 64, 64)),
    "fcn": (_fcn, (1, 3, 64, 64)),
    "masked_dynamic_batch": (_Masked, (4, 3, 16, 16)),
}


def fx_import(name: str) -> str:
    """torch-mlir text for a model, weights as generic `spa.param` ops (no literals)."""
    from torch_mlir.extras.fx_importer import FxImporter, FxImporterHooks

    class Hooks(FxImporterHooks):
        def resolve_input(self, gni, value, info):  # type: ignore[no-untyped-def]
            with ir.Location.name(info.input_spec.target, context=gni._c):
                op = ir.Operation.create(
                    "spa.param",
                    results=[info.ir_type],
                    attributes={"name": ir.StringAttr.get(info.input_spec.target)},
                )
            return op.result

    factory, shape = FX_MODELS[name]
    torch.manual_seed(0)
    model = factory().eval()
    dynamic = None
    if name.startswith("masked"):
        dynamic = {"x": {0: torch.export.Dim("batch", min=2, max=64)}}
    program = torch.export.export(
        model, (torch.randn(*shape),), dynamic_shapes=dynamic, strict=False
    ).run_decompositions({})
    importer = FxImporter(context=tm_context(), hooks=Hooks())
    importer.import_program(program, func_name="main")
    return str(importer.module)


@pytest.mark.filterwarnings("ignore:The tensor attributes")  # nn.LSTM's flat weights
@pytest.mark.parametrize("name", sorted(FX_MODELS))
def test_fx_model_interchangeable(xctx: Context, name: str) -> None:
    assert_interchangeable(xctx, fx_import(name))


class _Branchy(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.sum() > 0:
            return x * 2
        return x - 1


def onnx_import(path: Path) -> tuple[str, str]:
    """(raw `onnx.*` import, after convert-torch-onnx-to-torch + canonicalize)."""
    import onnx
    from torch_mlir.extras import onnx_importer
    from torch_mlir.passmanager import PassManager

    model = onnx.shape_inference.infer_shapes(onnx.load(path), data_prop=True)
    ctx = tm_context()
    info = onnx_importer.ModelInfo(model)
    module = info.create_module(context=ctx).operation
    onnx_importer.NodeImporter.define_function(info.main_graph, module).import_all()
    raw = str(module)
    with ctx:
        PassManager.parse(
            "builtin.module(func.func(convert-torch-onnx-to-torch),canonicalize)"
        ).run(module)
    return raw, str(module)


@pytest.fixture(scope="module")
def onnx_texts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[str, str]]]:
    import warnings

    tmp = tmp_path_factory.mktemp("onnx")
    texts: dict[str, tuple[str, str]] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mobilenet = tmp / "mobilenet_v3_small.onnx"
        torch.onnx.export(
            torchvision.models.mobilenet_v3_small().eval(), (torch.randn(1, 3, 64, 64),),
            str(mobilenet), dynamo=False, do_constant_folding=False, input_names=["x"],
            dynamic_axes={"x": {0: "batch"}},
        )  # fmt: skip
        texts["mobilenet_v3_small"] = onnx_import(mobilenet)
        branchy = tmp / "branchy.onnx"
        torch.onnx.export(
            torch.jit.script(_Branchy()), (torch.randn(2, 3),), str(branchy), dynamo=False
        )
        texts["if"] = onnx_import(branchy)
    yield texts


@pytest.mark.xdist_group("onnx_texts")  # one worker makes the module fixture (two ONNX exports) once
@pytest.mark.parametrize("name", ["mobilenet_v3_small", "if"])
def test_onnx_model_interchangeable(
    xctx: Context, onnx_texts: dict[str, tuple[str, str]], name: str
) -> None:
    raw, converted = onnx_texts[name]
    assert_interchangeable(xctx, converted)
    # The raw import keeps weights as `dense_resource` blobs, which xDSL's printer drops:
    # everything but the blob section must survive. (No xDSL fixed point here: xDSL keeps
    # resource keys process-wide in the builtin dialect and renames a key it has seen, `_x`
    # -> `_x_0`, when the same text is parsed twice.)
    reference = tm_print(raw)
    module = x_parse(xctx, reference)
    module.verify()
    printed = x_print(module)
    assert "{-#" not in printed
    assert tm_print(printed) == reference.split("\n{-#")[0].rstrip() + "\n"
