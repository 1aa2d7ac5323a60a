// RUN: spa-opt %s -p spa-propagate-channels,spa-form-groups | filecheck %s
// A Keras CNN as tf2onnx writes it: tests/unit/test_onnx_patterns.py's keras_cnn (batch "unk__123"), imported
// by `spa-translate --import-onnx`, weights inlined as splats (the analysis reads no values). The HWIO filter is
// transposed in the graph, so its dim 3 holds the conv's output channels; SAME padding is a Pad of the spatial
// dims; the folded batch norm is a [1, 1, 1, C] Mul/Add in NHWC; GlobalAveragePooling is a ReduceMean over H, W;
// Flatten in NHWC order makes the channel the inner factor (`16 x c`), so channel k is rows k, k+8, ... of d1.

// CHECK: spa.group @g{{[0-9]+}} {size = 3 : i64, space = "s{{[0-9]+}}", members = [#spa.member<"c1.hwio"[2]>], exact = true, frozen = [#spa.reason<"model input">]}
// CHECK-NEXT: spa.group @g{{[0-9]+}} {size = 8 : i64, space = "[[C:s[0-9]+]]", members = [#spa.member<"c1.hwio"[3]>, #spa.member<"c1.bias"[0]>, #spa.member<"bn.mul"[3]>, #spa.member<"bn.add"[3]>, #spa.member<"d1.kernel"[0], count 16, period 8>, #spa.member<"d2.kernel"[0]>], exact = true}
// CHECK-NEXT: spa.group @g{{[0-9]+}} {size = 16 : i64, space = "s{{[0-9]+}}", members = [#spa.member<"d1.kernel"[1]>, #spa.member<"d1.bias"[0]>, #spa.member<"d2.kernel"[1]>, #spa.member<"d2.bias"[0]>, #spa.member<"d3.kernel"[0]>], exact = true}
// CHECK-NEXT: spa.group @g{{[0-9]+}} {size = 4 : i64, {{.*}}frozen = [#spa.reason<"model output">]}
// CHECK: func.func @main(%0: !torch.vtensor<[?,8,8,3],f32>
// CHECK: torch.aten.transpose.int {{.*}}#spa.dims<[[[C]], s{{[0-9]+}}, s{{[0-9]+}}, s{{[0-9]+}}]>{{.*}}-> !torch.vtensor<[8,3,3,3],f32> loc("Transpose_1")
// CHECK: torch.aten.constant_pad_nd {{.*}}#spa.dims<[_, s{{[0-9]+}}, cat(1, s{{[0-9]+}}, 1), cat(1, s{{[0-9]+}}, 1)]>{{.*}}loc("Pad_4")
// CHECK: torch.aten.convolution {{.*}}#spa.dims<[_, [[C]], _, _]>{{.*}}loc("Conv_5")
// CHECK: torch.aten.mul.Tensor {{.*}}#spa.dims<[_, _, _, [[C]]]>{{.*}}!torch.vtensor<[1,1,1,8],f32>{{.*}}loc("Mul_7")
// CHECK: torch.aten.mean.dim {{.*}}#spa.dims<[_, [[C]]]>{{.*}}loc("ReduceMean_10")
// CHECK: torch.aten.reshape {{.*}}#spa.dims<[_, 16 x [[C]]]>{{.*}}loc("Reshape_18")

builtin.module attributes {spa.onnx_source = {path = "keras_cnn.onnx", sha256 = "35e4105b57b1bea046ef73aec0fdf11d59e33b7feeb13f962933ae419b9ccfd8"}} {
  func.func @main(%0: !torch.vtensor<[?,8,8,3],f32> loc(unknown)) -> !torch.vtensor<[?,4],f32> attributes {spa.input_names = ["x"], torch.onnx_meta.ir_version = 8 : si64, torch.onnx_meta.opset_version = 17 : si64, torch.onnx_meta.producer_name = "", torch.onnx_meta.producer_version = ""} {
    %1 = spa.param "c1.hwio" = dense<5.000000e-01> : tensor<3x3x3x8xf32> : !torch.vtensor<[3,3,3,8],f32> loc("c1.hwio")
    %2 = spa.param "c1.bias" = dense<5.000000e-01> : tensor<8xf32> : !torch.vtensor<[8],f32> loc("c1.bias")
    %3 = spa.param "bn.mul" = dense<5.000000e-01> : tensor<1x1x1x8xf32> : !torch.vtensor<[1,1,1,8],f32> loc("bn.mul")
    %4 = spa.param "bn.add" = dense<5.000000e-01> : tensor<1x1x1x8xf32> : !torch.vtensor<[1,1,1,8],f32> loc("bn.add")
    %5 = spa.param "d1.kernel" = dense<5.000000e-01> : tensor<128x16xf32> : !torch.vtensor<[128,16],f32> loc("d1.kernel")
    %6 = spa.param "d1.bias" = dense<5.000000e-01> : tensor<16xf32> : !torch.vtensor<[16],f32> loc("d1.bias")
    %7 = spa.param "d2.kernel" = dense<5.000000e-01> : tensor<8x16xf32> : !torch.vtensor<[8,16],f32> loc("d2.kernel")
    %8 = spa.param "d2.bias" = dense<5.000000e-01> : tensor<16xf32> : !torch.vtensor<[16],f32> loc("d2.bias")
    %9 = spa.param "d3.kernel" = dense<5.000000e-01> : tensor<16x4xf32> : !torch.vtensor<[16,4],f32> loc("d3.kernel")
    %10 = spa.param "d3.bias" = dense<5.000000e-01> : tensor<4xf32> : !torch.vtensor<[4],f32> loc("d3.bias")
    %int = torch.constant.int -1 loc("Reshape_18")
    %false = torch.constant.bool false loc(unknown)
    %float0.000000e00 = torch.constant.float 0.000000e+00 loc("Pad_4")
    %int2 = torch.constant.int 2 loc(unknown)
    %int1 = torch.constant.int 1 loc(unknown)
    %none = torch.constant.none loc(unknown)
    %int0 = torch.constant.int 0 loc(unknown)
    %int3 = torch.constant.int 3 loc(unknown)
    %11 = torch.aten.transpose.int %1, %int0, %int3 : !torch.vtensor<[3,3,3,8],f32>, !torch.int, !torch.int -> !torch.vtensor<[8,3,3,3],f32> loc("Transpose_1")
    %12 = torch.aten.transpose.int %11, %int1, %int2 : !torch.vtensor<[8,3,3,3],f32>, !torch.int, !torch.int -> !torch.vtensor<[8,3,3,3],f32> loc("Transpose_1")
    %13 = torch.aten.transpose.int %12, %int2, %int3 : !torch.vtensor<[8,3,3,3],f32>, !torch.int, !torch.int -> !torch.vtensor<[8,3,3,3],f32> loc("Transpose_1")
    %14 = torch.aten.transpose.int %0, %int1, %int3 : !torch.vtensor<[?,8,8,3],f32>, !torch.int, !torch.int -> !torch.vtensor<[?,3,8,8],f32> loc("Transpose_2")
    %15 = torch.aten.transpose.int %14, %int2, %int3 : !torch.vtensor<[?,3,8,8],f32>, !torch.int, !torch.int -> !torch.vtensor<[?,3,8,8],f32> loc("Transpose_2")
    %16 = torch.prim.ListConstruct %int1, %int1, %int1, %int1, %int0, %int0, %int0, %int0 : (!torch.int, !torch.int, !torch.int, !torch.int, !torch.int, !torch.int, !torch.int, !torch.int) -> !torch.list<int> loc("Pad_4")
    %17 = torch.aten.constant_pad_nd %15, %16, %float0.000000e00 : !torch.vtensor<[?,3,8,8],f32>, !torch.list<int>, !torch.float -> !torch.vtensor<[?,3,10,10],f32> loc("Pad_4")
    %18 = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int> loc("Conv_5")
    %19 = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int> loc("Conv_5")
    %20 = torch.prim.ListConstruct %int2, %int2 : (!torch.int, !torch.int) -> !torch.list<int> loc("Conv_5")
    %21 = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int> loc("Conv_5")
    %22 = torch.aten.convolution %17, %13, %2, %20, %18, %19, %false, %21, %int1 : !torch.vtensor<[?,3,10,10],f32>, !torch.vtensor<[8,3,3,3],f32>, !torch.vtensor<[8],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.bool, !torch.list<int>, !torch.int -> !torch.vtensor<[?,8,4,4],f32> loc("Conv_5")
    %23 = torch.aten.transpose.int %22, %int1, %int2 : !torch.vtensor<[?,8,4,4],f32>, !torch.int, !torch.int -> !torch.vtensor<[?,4,8,4],f32> loc("Transpose_6")
    %24 = torch.aten.transpose.int %23, %int2, %int3 : !torch.vtensor<[?,4,8,4],f32>, !torch.int, !torch.int -> !torch.vtensor<[?,4,4,8],f32> loc("Transpose_6")
    %25 = torch.aten.mul.Tensor %24, %3 : !torch.vtensor<[?,4,4,8],f32>, !torch.vtensor<[1,1,1,8],f32> -> !torch.vtensor<[?,4,4,8],f32> loc("Mul_7")
    %26 = torch.aten.add.Tensor %25, %4, %int1 : !torch.vtensor<[?,4,4,8],f32>, !torch.vtensor<[1,1,1,8],f32>, !torch.int -> !torch.vtensor<[?,4,4,8],f32> loc("Add_8")
    %27 = torch.aten.relu %26 : !torch.vtensor<[?,4,4,8],f32> -> !torch.vtensor<[?,4,4,8],f32> loc("Relu_9")
    %28 = torch.prim.ListConstruct %int1, %int2 : (!torch.int, !torch.int) -> !torch.list<int> loc("ReduceMean_10")
    %29 = torch.aten.mean.dim %27, %28, %false, %none : !torch.vtensor<[?,4,4,8],f32>, !torch.list<int>, !torch.bool, !torch.none -> !torch.vtensor<[?,8],f32> loc("ReduceMean_10")
    %30 = torch.aten.size.int %27, %int0 : !torch.vtensor<[?,4,4,8],f32>, !torch.int -> !torch.int loc("Reshape_18")
    %31 = torch.prim.NumToTensor.Scalar %30 : !torch.int -> !torch.vtensor<[],si64> loc("Reshape_18")
    %32 = torch.prim.ListConstruct %30, %int : (!torch.int, !torch.int) -> !torch.list<int> loc("Reshape_18")
    %33 = torch.aten.reshape %27, %32 : !torch.vtensor<[?,4,4,8],f32>, !torch.list<int> -> !torch.vtensor<[?,128],f32> loc("Reshape_18")
    %34 = torch.aten.matmul %33, %5 : !torch.vtensor<[?,128],f32>, !torch.vtensor<[128,16],f32> -> !torch.vtensor<[?,16],f32> loc("MatMul_19")
    %35 = torch.aten.add.Tensor %34, %6, %int1 : !torch.vtensor<[?,16],f32>, !torch.vtensor<[16],f32>, !torch.int -> !torch.vtensor<[?,16],f32> loc("Add_20")
    %36 = torch.aten.relu %35 : !torch.vtensor<[?,16],f32> -> !torch.vtensor<[?,16],f32> loc("Relu_21")
    %37 = torch.aten.matmul %29, %7 : !torch.vtensor<[?,8],f32>, !torch.vtensor<[8,16],f32> -> !torch.vtensor<[?,16],f32> loc("MatMul_22")
    %38 = torch.aten.add.Tensor %37, %8, %int1 : !torch.vtensor<[?,16],f32>, !torch.vtensor<[16],f32>, !torch.int -> !torch.vtensor<[?,16],f32> loc("Add_23")
    %39 = torch.aten.relu %38 : !torch.vtensor<[?,16],f32> -> !torch.vtensor<[?,16],f32> loc("Relu_24")
    %40 = torch.aten.add.Tensor %36, %39, %int1 : !torch.vtensor<[?,16],f32>, !torch.vtensor<[?,16],f32>, !torch.int -> !torch.vtensor<[?,16],f32> loc("Add_25")
    %41 = torch.aten.matmul %40, %9 : !torch.vtensor<[?,16],f32>, !torch.vtensor<[16,4],f32> -> !torch.vtensor<[?,4],f32> loc("MatMul_26")
    %42 = torch.aten.add.Tensor %41, %10, %int1 : !torch.vtensor<[?,4],f32>, !torch.vtensor<[4],f32>, !torch.int -> !torch.vtensor<[?,4],f32> loc("Add_27")
    func.return %42 : !torch.vtensor<[?,4],f32> loc(unknown)
  } loc("graph:pattern")
} loc(unknown)
