"""The torch backend on IR that torch-mlir writes for dynamic shapes (what ONNX imports hold)."""

from __future__ import annotations

import torch

from spa_ir.backends.export import export_program
from spa_ir.core.program import Program

# x [?, 6] viewed as [2 * n, 3] when n >= 1: sizes read with size.int and combined with int arithmetic.
DYNAMIC_SIZES = """
func.func @main(%x: !torch.vtensor<[?,6],f32>) -> !torch.vtensor<[?,3],f32> {
  %int0 = torch.constant.int 0
  %int1 = torch.constant.int 1
  %int2 = torch.constant.int 2
  %int3 = torch.constant.int 3
  %n = torch.aten.size.int %x, %int0 : !torch.vtensor<[?,6],f32>, !torch.int -> !torch.int
  %rows = torch.aten.mul.int %n, %int2 : !torch.int, !torch.int -> !torch.int
  %positive = torch.aten.ge.int %n, %int1 : !torch.int, !torch.int -> !torch.bool
  torch.runtime.assert %positive, "empty batch"
  %sizes = torch.prim.ListConstruct %rows, %int3 : (!torch.int, !torch.int) -> !torch.list<int>
  %y = torch.aten.view %x, %sizes : !torch.vtensor<[?,6],f32>, !torch.list<int> -> !torch.vtensor<[?,3],f32>
  return %y : !torch.vtensor<[?,3],f32>
}
"""


def test_dynamic_sizes_stay_symbolic_in_exports() -> None:
    """size.int and scalar int ops are emitted so torch.export keeps the batch symbolic (aten.size.int
    would specialize it to the example size, aten.ge.int rejects SymInts): the exported program runs
    at batches other than the one it was traced with."""
    module = export_program(Program.parse(DYNAMIC_SIZES)).module()
    for n in (1, 5):
        x = torch.randn(n, 6)
        torch.testing.assert_close(module(x), x.view(2 * n, 3))
