// RUN: spa-opt %s --split-input-file --verify-diagnostics | filecheck %s
// Operand and result types are checked against the op's PyTorch schema.

func.func @relu_of_int(%i: !torch.int) -> !torch.vtensor<[2],f32> {
  // CHECK: Operation does not verify: operand 'self_' at position 0 does not verify:
  // CHECK-NEXT: Unexpected attribute !torch.int
  %0 = "torch.aten.relu"(%i) : (!torch.int) -> !torch.vtensor<[2],f32>
  return %0 : !torch.vtensor<[2],f32>
}

// -----

func.func @conv_stride_not_a_list(%x: !torch.vtensor<[1,3,8,8],f32>, %w: !torch.vtensor<[4,3,3,3],f32>, %i: !torch.int, %n: !torch.none) {
  // CHECK: operand 'stride' at position 3 does not verify
  %0 = "torch.aten.conv2d"(%x, %w, %n, %i, %i, %i, %i) : (!torch.vtensor<[1,3,8,8],f32>, !torch.vtensor<[4,3,3,3],f32>, !torch.none, !torch.int, !torch.int, !torch.int, !torch.int) -> !torch.vtensor<[1,4,6,6],f32>
  return
}

// -----

func.func @list_construct_result_not_a_list(%i: !torch.int) {
  // CHECK: result 'result' at position 0 does not verify:
  // CHECK-NEXT: !torch.int should be of base attribute torch.list
  %0 = "torch.prim.ListConstruct"(%i) : (!torch.int) -> !torch.int
  return
}
