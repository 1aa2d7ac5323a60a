// RUN: not spa-opt %s 2>&1 | filecheck %s
// In torch-mlir's custom op syntax the operand and result types are checked while parsing;
// the error points at the op.

func.func @relu_of_int(%i: !torch.int) {
  // CHECK: parse-error.mlir:[[# @LINE + 1]]:{{[0-9]+}}: 'torch.aten.relu' op: Unexpected attribute !torch.int
  %0 = torch.aten.relu %i : !torch.int -> !torch.vtensor<[2],f32>
  return
}
