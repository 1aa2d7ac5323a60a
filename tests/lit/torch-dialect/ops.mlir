// RUN: spa-opt %s | filecheck %s
// Ops in torch-mlir's default syntax (`%r = torch.aten.x %a, %b : !ta, !tb -> !tr`), multi-result
// ops, `torch.operator` (unregistered aten ops and ONNX ops, with attributes and regions),
// torch.prim.If and dynamic dimensions. Copied from FX- and ONNX-imported models.

// CHECK-LABEL: func.func @fx(
func.func @fx(%x: !torch.vtensor<[?,3,8,8],f32>, %w: !torch.vtensor<[4,3,3,3],f32>, %v: !torch.vtensor<[4],f32>) -> !torch.vtensor<[?,2],si64> {
  %none = torch.constant.none
  %int1 = torch.constant.int 1
  %int-1 = torch.constant.int -1
  %int2 = torch.constant.int 2
  %true = torch.constant.bool true
  %float1.000000e-01 = torch.constant.float 1.000000e-01
  %float1.000000e-05 = torch.constant.float 1.000000e-05
  %0 = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int>
  // CHECK: %[[C:.*]] = torch.aten.conv2d %x, %w, %none, %0, %0, %0, %int1 : !torch.vtensor<[?,3,8,8],f32>, !torch.vtensor<[4,3,3,3],f32>, !torch.none, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[?,4,8,8],f32>
  %1 = torch.aten.conv2d %x, %w, %none, %0, %0, %0, %int1 : !torch.vtensor<[?,3,8,8],f32>, !torch.vtensor<[4,3,3,3],f32>, !torch.none, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[?,4,8,8],f32>
  // CHECK-NEXT: %[[BN:.*]], %{{.*}}, %{{.*}} = torch.operator "torch.aten._native_batch_norm_legit_no_training"(%[[C]], %v, %v, %v, %v, %float1.000000e-01, %float1.000000e-05) : (!torch.vtensor<[?,4,8,8],f32>, !torch.vtensor<[4],f32>, !torch.vtensor<[4],f32>, !torch.vtensor<[4],f32>, !torch.vtensor<[4],f32>, !torch.float, !torch.float) -> (!torch.vtensor<[?,4,8,8],f32>, !torch.vtensor<[0],f32>, !torch.vtensor<[0],f32>)
  %2:3 = torch.operator "torch.aten._native_batch_norm_legit_no_training"(%1, %v, %v, %v, %v, %float1.000000e-01, %float1.000000e-05) : (!torch.vtensor<[?,4,8,8],f32>, !torch.vtensor<[4],f32>, !torch.vtensor<[4],f32>, !torch.vtensor<[4],f32>, !torch.vtensor<[4],f32>, !torch.float, !torch.float) -> (!torch.vtensor<[?,4,8,8],f32>, !torch.vtensor<[0],f32>, !torch.vtensor<[0],f32>) 
  // CHECK-NEXT: %[[R:.*]] = torch.aten.relu %[[BN]] : !torch.vtensor<[?,4,8,8],f32> -> !torch.vtensor<[?,4,8,8],f32>
  %3 = torch.aten.relu %2#0 : !torch.vtensor<[?,4,8,8],f32> -> !torch.vtensor<[?,4,8,8],f32>
  %4 = torch.prim.ListConstruct %int2, %int-1 : (!torch.int, !torch.int) -> !torch.list<int>
  %5 = torch.aten.mean.dim %3, %4, %true, %none : !torch.vtensor<[?,4,8,8],f32>, !torch.list<int>, !torch.bool, !torch.none -> !torch.vtensor<[?,4,1,1],f32>
  %6 = torch.aten.flatten.using_ints %5, %int1, %int-1 : !torch.vtensor<[?,4,1,1],f32>, !torch.int, !torch.int -> !torch.vtensor<[?,4],f32>
  // CHECK: %values, %indices = torch.aten.topk %{{.*}}, %int2, %int-1, %true, %true : !torch.vtensor<[?,4],f32>, !torch.int, !torch.int, !torch.bool, !torch.bool -> !torch.vtensor<[?,2],f32>, !torch.vtensor<[?,2],si64>
  %values, %indices = torch.aten.topk %6, %int2, %int-1, %true, %true : !torch.vtensor<[?,4],f32>, !torch.int, !torch.int, !torch.bool, !torch.bool -> !torch.vtensor<[?,2],f32>, !torch.vtensor<[?,2],si64>
  // CHECK-NEXT: return %indices : !torch.vtensor<[?,2],si64>
  return %indices : !torch.vtensor<[?,2],si64>
}

// CHECK-LABEL: func.func @onnx(
func.func @onnx(%arg0: !torch.vtensor<[?,3,8,8],f32>, %arg1: !torch.vtensor<[4,3,3,3],f32>) -> !torch.vtensor<[?,4,8,8],f32> attributes {torch.onnx_meta.opset_version = 20 : si64} {
  // CHECK: %[[CONV:.*]] = torch.operator "onnx.Conv"(%arg0, %arg1) {torch.onnx.kernel_shape = [3 : si64, 3 : si64], torch.onnx.pads = [1 : si64, 1 : si64, 1 : si64, 1 : si64]} : (!torch.vtensor<[?,3,8,8],f32>, !torch.vtensor<[4,3,3,3],f32>) -> !torch.vtensor<[?,4,8,8],f32>
  %0 = torch.operator "onnx.Conv"(%arg0, %arg1) {torch.onnx.kernel_shape = [3 : si64, 3 : si64], torch.onnx.pads = [1 : si64, 1 : si64, 1 : si64, 1 : si64]} : (!torch.vtensor<[?,3,8,8],f32>, !torch.vtensor<[4,3,3,3],f32>) -> !torch.vtensor<[?,4,8,8],f32> 
  %1 = torch.operator "onnx.ReduceSum"(%0) {torch.onnx.keepdims = 0 : si64} : (!torch.vtensor<[?,4,8,8],f32>) -> !torch.vtensor<[],f32> 
  %2 = torch.operator "onnx.Cast"(%1) {torch.onnx.to = 9 : si64} : (!torch.vtensor<[],f32>) -> !torch.vtensor<[],i1> 
  // CHECK: torch.operator "onnx.If"(%{{.*}}) : (!torch.vtensor<[],i1>) -> !torch.vtensor<[?,4,8,8],f32> {
  // CHECK-NEXT: torch.operator "onnx.Relu"(%[[CONV]])
  // CHECK-NEXT: torch.operator_terminator %{{.*}} : !torch.vtensor<[?,4,8,8],f32>
  // CHECK-NEXT: }, {
  // CHECK-NEXT: torch.operator_terminator %[[CONV]] : !torch.vtensor<[?,4,8,8],f32>
  // CHECK-NEXT: }
  %3 = torch.operator "onnx.If"(%2) : (!torch.vtensor<[],i1>) -> !torch.vtensor<[?,4,8,8],f32> {
    %4 = torch.operator "onnx.Relu"(%0) : (!torch.vtensor<[?,4,8,8],f32>) -> !torch.vtensor<[?,4,8,8],f32> 
    torch.operator_terminator %4 : !torch.vtensor<[?,4,8,8],f32>
  }, {
    torch.operator_terminator %0 : !torch.vtensor<[?,4,8,8],f32>
  }
  return %3 : !torch.vtensor<[?,4,8,8],f32>
}

// CHECK-LABEL: func.func @prim_if(
func.func @prim_if(%arg0: !torch.vtensor<[2,3],f32>, %arg1: !torch.bool) -> !torch.vtensor<[2,3],f32> {
  // CHECK: %{{.*}} = torch.prim.If %arg1 -> (!torch.vtensor<[2,3],f32>) {
  // CHECK-NEXT: torch.prim.If.yield %arg0 : !torch.vtensor<[2,3],f32>
  // CHECK-NEXT: } else {
  %0 = torch.prim.If %arg1 -> (!torch.vtensor<[2,3],f32>) {
    torch.prim.If.yield %arg0 : !torch.vtensor<[2,3],f32>
  } else {
    %int1 = torch.constant.int 1
    %1 = torch.aten.add.Tensor %arg0, %arg0, %int1 : !torch.vtensor<[2,3],f32>, !torch.vtensor<[2,3],f32>, !torch.int -> !torch.vtensor<[2,3],f32>
    torch.prim.If.yield %1 : !torch.vtensor<[2,3],f32>
  }
  return %0 : !torch.vtensor<[2,3],f32>
}
