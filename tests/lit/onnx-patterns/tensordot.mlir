// RUN: spa-opt %s -p spa-propagate-channels,spa-form-groups | filecheck %s
// RUN: spa-opt %s --prune-groups='ratio=0.5 criterion=random' | filecheck %s --check-prefix=PRUNED
// tf2onnx's Tensordot (a Keras Dense on [batch, seq, dim]): tests/unit/test_onnx_patterns.py's tensordot_prod
// (batch "unk__123"), imported by `spa-translate --import-onnx`, weights inlined as splats. The file reshapes to
// Concat(ReduceProd(Gather(Shape(x), [0, 1])), [in]) and back to Concat(Gather(Shape(x), [0, 1]), [out]); the
// import folds the static entries and pins the batch (-1, or a copy of the input's dim), so the dense channels
// pass both reshapes, and pruning rewrites the targets' channel entries.

// CHECK: spa.group @g{{[0-9]+}} {size = 16 : i64, {{.*}}frozen = [#spa.reason<"model input">]}
// CHECK-NEXT: spa.group @g{{[0-9]+}} {size = 32 : i64, space = "[[A:s[0-9]+]]", members = [#spa.member<"d1.kernel"[1]>, #spa.member<"d1.bias"[0]>, #spa.member<"d2.kernel"[0]>], exact = true}
// CHECK-NEXT: spa.group @g{{[0-9]+}} {size = 24 : i64, space = "[[B:s[0-9]+]]", members = [#spa.member<"d2.kernel"[1]>, #spa.member<"d2.bias"[0]>, #spa.member<"d3.kernel"[0]>], exact = true}
// CHECK-NEXT: spa.group @g{{[0-9]+}} {size = 8 : i64, {{.*}}frozen = [#spa.reason<"model output">]}
// CHECK: torch.aten.matmul {{.*}}#spa.dims<[_, [[A]]]>{{.*}}loc("MatMul_8")
// CHECK: torch.aten.reshape {{.*}}#spa.dims<[_, _, [[A]]]>{{.*}}-> !torch.vtensor<[?,5,32],f32> loc("Reshape_11")
// CHECK: torch.aten.reshape {{.*}}#spa.dims<[_, [[A]]]>{{.*}}-> !torch.vtensor<[?,32],f32> loc("Reshape_20")
// CHECK: torch.aten.reshape {{.*}}#spa.dims<[_, _, [[B]]]>{{.*}}-> !torch.vtensor<[?,5,24],f32> loc("Reshape_24")

// PRUNED: %[[N1:[a-z0-9_]+]] = torch.constant.int -1
// PRUNED: %[[F16:[a-z0-9_]+]] = torch.constant.int 16
// PRUNED: torch.prim.ListConstruct %[[N1]], %int5, %[[F16]] : {{.*}} loc(unknown)
// PRUNED-NEXT: torch.aten.reshape {{.*}} -> !torch.vtensor<[?,5,16],f32> loc("Reshape_11")
// PRUNED: torch.aten.reshape {{.*}} -> !torch.vtensor<[?,16],f32> loc("Reshape_20")
// PRUNED: torch.aten.matmul {{.*}} -> !torch.vtensor<[?,12],f32> loc("MatMul_21")
// PRUNED: torch.aten.reshape {{.*}} -> !torch.vtensor<[?,5,12],f32> loc("Reshape_24")

builtin.module attributes {spa.onnx_source = {path = "tensordot_prod.onnx", sha256 = "801af7100f7a5a20900309d481071d0d90a2baa99cdbb433fbcb66a1b83d2721"}} {
  func.func @main(%0: !torch.vtensor<[?,5,16],f32> loc(unknown)) -> !torch.vtensor<[?,5,8],f32> attributes {spa.input_names = ["x"], torch.onnx_meta.ir_version = 8 : si64, torch.onnx_meta.opset_version = 17 : si64, torch.onnx_meta.producer_name = "", torch.onnx_meta.producer_version = ""} {
    %1 = spa.param "d1.kernel" = dense<5.000000e-01> : tensor<16x32xf32> : !torch.vtensor<[16,32],f32> loc("d1.kernel")
    %2 = spa.param "d1.bias" = dense<5.000000e-01> : tensor<32xf32> : !torch.vtensor<[32],f32> loc("d1.bias")
    %3 = spa.param "d2.kernel" = dense<5.000000e-01> : tensor<32x24xf32> : !torch.vtensor<[32,24],f32> loc("d2.kernel")
    %4 = spa.param "d2.bias" = dense<5.000000e-01> : tensor<24xf32> : !torch.vtensor<[24],f32> loc("d2.bias")
    %5 = spa.param "d3.kernel" = dense<5.000000e-01> : tensor<24x8xf32> : !torch.vtensor<[24,8],f32> loc("d3.kernel")
    %6 = spa.param "d3.bias" = dense<5.000000e-01> : tensor<8xf32> : !torch.vtensor<[8],f32> loc("d3.bias")
    %int8 = torch.constant.int 8 loc("Reshape_37")
    %int24 = torch.constant.int 24 loc(unknown)
    %int32 = torch.constant.int 32 loc(unknown)
    %int5 = torch.constant.int 5 loc(unknown)
    %int16 = torch.constant.int 16 loc("Reshape_7")
    %int = torch.constant.int -1 loc(unknown)
    %int1 = torch.constant.int 1 loc(unknown)
    %int0 = torch.constant.int 0 loc(unknown)
    %7 = torch.aten.size.int %0, %int0 : !torch.vtensor<[?,5,16],f32>, !torch.int -> !torch.int loc("Reshape_7")
    %8 = torch.prim.NumToTensor.Scalar %7 : !torch.int -> !torch.vtensor<[],si64> loc("Reshape_7")
    %9 = torch.prim.ListConstruct %int, %int16 : (!torch.int, !torch.int) -> !torch.list<int> loc("Reshape_7")
    %10 = torch.aten.reshape %0, %9 : !torch.vtensor<[?,5,16],f32>, !torch.list<int> -> !torch.vtensor<[?,16],f32> loc("Reshape_7")
    %11 = torch.aten.matmul %10, %1 : !torch.vtensor<[?,16],f32>, !torch.vtensor<[16,32],f32> -> !torch.vtensor<[?,32],f32> loc("MatMul_8")
    %12 = torch.aten.size.int %11, %int0 : !torch.vtensor<[?,32],f32>, !torch.int -> !torch.int loc("Reshape_11")
    %13 = torch.prim.NumToTensor.Scalar %12 : !torch.int -> !torch.vtensor<[],si64> loc("Reshape_11")
    %14 = torch.prim.ListConstruct %int, %int5, %int32 : (!torch.int, !torch.int, !torch.int) -> !torch.list<int> loc("Reshape_11")
    %15 = torch.aten.reshape %11, %14 : !torch.vtensor<[?,32],f32>, !torch.list<int> -> !torch.vtensor<[?,5,32],f32> loc("Reshape_11")
    %16 = torch.aten.add.Tensor %15, %2, %int1 : !torch.vtensor<[?,5,32],f32>, !torch.vtensor<[32],f32>, !torch.int -> !torch.vtensor<[?,5,32],f32> loc("Add_12")
    %17 = torch.aten.relu %16 : !torch.vtensor<[?,5,32],f32> -> !torch.vtensor<[?,5,32],f32> loc("Relu_13")
    %18 = torch.aten.size.int %17, %int0 : !torch.vtensor<[?,5,32],f32>, !torch.int -> !torch.int loc("Reshape_20")
    %19 = torch.prim.NumToTensor.Scalar %18 : !torch.int -> !torch.vtensor<[],si64> loc("Reshape_20")
    %20 = torch.prim.ListConstruct %int, %int32 : (!torch.int, !torch.int) -> !torch.list<int> loc("Reshape_20")
    %21 = torch.aten.reshape %17, %20 : !torch.vtensor<[?,5,32],f32>, !torch.list<int> -> !torch.vtensor<[?,32],f32> loc("Reshape_20")
    %22 = torch.aten.matmul %21, %3 : !torch.vtensor<[?,32],f32>, !torch.vtensor<[32,24],f32> -> !torch.vtensor<[?,24],f32> loc("MatMul_21")
    %23 = torch.aten.size.int %22, %int0 : !torch.vtensor<[?,24],f32>, !torch.int -> !torch.int loc("Reshape_24")
    %24 = torch.prim.NumToTensor.Scalar %23 : !torch.int -> !torch.vtensor<[],si64> loc("Reshape_24")
    %25 = torch.prim.ListConstruct %int, %int5, %int24 : (!torch.int, !torch.int, !torch.int) -> !torch.list<int> loc("Reshape_24")
    %26 = torch.aten.reshape %22, %25 : !torch.vtensor<[?,24],f32>, !torch.list<int> -> !torch.vtensor<[?,5,24],f32> loc("Reshape_24")
    %27 = torch.aten.add.Tensor %26, %4, %int1 : !torch.vtensor<[?,5,24],f32>, !torch.vtensor<[24],f32>, !torch.int -> !torch.vtensor<[?,5,24],f32> loc("Add_25")
    %28 = torch.aten.relu %27 : !torch.vtensor<[?,5,24],f32> -> !torch.vtensor<[?,5,24],f32> loc("Relu_26")
    %29 = torch.aten.size.int %28, %int0 : !torch.vtensor<[?,5,24],f32>, !torch.int -> !torch.int loc("Reshape_33")
    %30 = torch.prim.NumToTensor.Scalar %29 : !torch.int -> !torch.vtensor<[],si64> loc("Reshape_33")
    %31 = torch.prim.ListConstruct %int, %int24 : (!torch.int, !torch.int) -> !torch.list<int> loc("Reshape_33")
    %32 = torch.aten.reshape %28, %31 : !torch.vtensor<[?,5,24],f32>, !torch.list<int> -> !torch.vtensor<[?,24],f32> loc("Reshape_33")
    %33 = torch.aten.matmul %32, %5 : !torch.vtensor<[?,24],f32>, !torch.vtensor<[24,8],f32> -> !torch.vtensor<[?,8],f32> loc("MatMul_34")
    %34 = torch.aten.size.int %33, %int0 : !torch.vtensor<[?,8],f32>, !torch.int -> !torch.int loc("Reshape_37")
    %35 = torch.prim.NumToTensor.Scalar %34 : !torch.int -> !torch.vtensor<[],si64> loc("Reshape_37")
    %36 = torch.prim.ListConstruct %int, %int5, %int8 : (!torch.int, !torch.int, !torch.int) -> !torch.list<int> loc("Reshape_37")
    %37 = torch.aten.reshape %33, %36 : !torch.vtensor<[?,8],f32>, !torch.list<int> -> !torch.vtensor<[?,5,8],f32> loc("Reshape_37")
    %38 = torch.aten.add.Tensor %37, %6, %int1 : !torch.vtensor<[?,5,8],f32>, !torch.vtensor<[8],f32>, !torch.int -> !torch.vtensor<[?,5,8],f32> loc("Add_38")
    func.return %38 : !torch.vtensor<[?,5,8],f32> loc(unknown)
  } loc("graph:pattern")
} loc(unknown)
