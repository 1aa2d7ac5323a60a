// RUN: spa-opt %s -p spa-propagate-channels,spa-form-groups | filecheck %s
// hard-swish as x * Clip(x + 3, 0, 6) / 6 with Clip's bounds as inputs (opset 11), then a hard-sigmoid
// squeeze-excite gate (GlobalAveragePool -> Conv -> Relu -> Conv -> HardSigmoid -> Mul):
// tests/unit/test_onnx_patterns.py's hard_swish_clip_inputs (batch "unk__123"), imported by
// `spa-translate --import-onnx`, weights inlined as splats. Clip arrives as aten.clamp.Tensor with 0-d literal
// bounds and keeps the conv channels; HardSigmoid arrives as mul, add, minimum, maximum of scalars. The conv's
// channels, the gate's expand conv and the next conv's inputs are one group, the squeeze conv's another.

// CHECK: spa.group @g{{[0-9]+}} {size = 3 : i64, {{.*}}frozen = [#spa.reason<"model input">]}
// CHECK-NEXT: spa.group @g{{[0-9]+}} {size = 8 : i64, space = "[[C:s[0-9]+]]", members = [#spa.member<"c1.weight"[0]>, #spa.member<"c1.bias"[0]>, #spa.member<"se1.weight"[1]>, #spa.member<"se2.weight"[0]>, #spa.member<"se2.bias"[0]>, #spa.member<"c2.weight"[1]>], exact = true}
// CHECK-NEXT: spa.group @g{{[0-9]+}} {size = 4 : i64, space = "[[R:s[0-9]+]]", members = [#spa.member<"se1.weight"[0]>, #spa.member<"se1.bias"[0]>, #spa.member<"se2.weight"[1]>], exact = true}
// CHECK-NEXT: spa.group @g{{[0-9]+}} {size = 4 : i64, {{.*}}frozen = [#spa.reason<"model output">]}
// CHECK: torch.aten.clamp.Tensor {{.*}}#spa.dims<[_, [[C]], _, _]>{{.*}}!torch.vtensor<[],f32>, !torch.vtensor<[],f32> -> {{.*}}loc("Clip_6")
// CHECK-NEXT: torch.aten.mul.Tensor {{.*}}#spa.dims<[_, [[C]], _, _]>{{.*}}loc("Mul_7")
// CHECK-NEXT: torch.aten.div.Tensor {{.*}}#spa.dims<[_, [[C]], _, _]>{{.*}}loc("Div_9")
// CHECK: torch.aten.relu {{.*}}#spa.dims<[_, [[R]], _, _]>{{.*}}loc("Relu_12")
// CHECK: torch.aten.maximum {{.*}}#spa.dims<[_, [[C]], _, _]>{{.*}}loc("HardSigmoid_14")
// CHECK-NEXT: torch.aten.mul.Tensor {{.*}}#spa.dims<[_, [[C]], _, _]>{{.*}}loc("Mul_15")

builtin.module attributes {spa.onnx_source = {path = "hard_swish_clip_inputs.onnx", sha256 = "01a524067f2304dc1f87f24d0ed8db90179f628efda925f7b32235c8303a34f6"}} {
  func.func @main(%0: !torch.vtensor<[?,3,8,8],f32> loc(unknown)) -> !torch.vtensor<[?,4,8,8],f32> attributes {spa.input_names = ["x"], torch.onnx_meta.ir_version = 8 : si64, torch.onnx_meta.opset_version = 17 : si64, torch.onnx_meta.producer_name = "", torch.onnx_meta.producer_version = ""} {
    %1 = spa.param "c1.weight" = dense<5.000000e-01> : tensor<8x3x3x3xf32> : !torch.vtensor<[8,3,3,3],f32> loc("c1.weight")
    %2 = spa.param "c1.bias" = dense<5.000000e-01> : tensor<8xf32> : !torch.vtensor<[8],f32> loc("c1.bias")
    %3 = spa.param "se1.weight" = dense<5.000000e-01> : tensor<4x8x1x1xf32> : !torch.vtensor<[4,8,1,1],f32> loc("se1.weight")
    %4 = spa.param "se1.bias" = dense<5.000000e-01> : tensor<4xf32> : !torch.vtensor<[4],f32> loc("se1.bias")
    %5 = spa.param "se2.weight" = dense<5.000000e-01> : tensor<8x4x1x1xf32> : !torch.vtensor<[8,4,1,1],f32> loc("se2.weight")
    %6 = spa.param "se2.bias" = dense<5.000000e-01> : tensor<8xf32> : !torch.vtensor<[8],f32> loc("se2.bias")
    %7 = spa.param "c2.weight" = dense<5.000000e-01> : tensor<4x8x3x3xf32> : !torch.vtensor<[4,8,3,3],f32> loc("c2.weight")
    %8 = spa.param "c2.bias" = dense<5.000000e-01> : tensor<4xf32> : !torch.vtensor<[4],f32> loc("c2.bias")
    %9 = torch.vtensor.literal(dense<1.000000e+00> : tensor<f32>) : !torch.vtensor<[],f32> loc("HardSigmoid_14")
    %float1.000000e00 = torch.constant.float 1.000000e+00 loc("HardSigmoid_14")
    %float5.000000e-01 = torch.constant.float 5.000000e-01 loc("HardSigmoid_14")
    %float1.666667e-01 = torch.constant.float 0.1666666716337204 loc("HardSigmoid_14")
    %int8 = torch.constant.int 8 loc(unknown)
    %false = torch.constant.bool false loc(unknown)
    %10 = torch.vtensor.literal(dense<3.000000e+00> : tensor<f32>) : !torch.vtensor<[],f32> loc("k_2")
    %11 = torch.vtensor.literal(dense<0.000000e+00> : tensor<f32>) : !torch.vtensor<[],f32> loc(unknown)
    %12 = torch.vtensor.literal(dense<6.000000e+00> : tensor<f32>) : !torch.vtensor<[],f32> loc(unknown)
    %none = torch.constant.none loc(unknown)
    %int1 = torch.constant.int 1 loc(unknown)
    %int0 = torch.constant.int 0 loc(unknown)
    %13 = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int> loc("Conv_1")
    %14 = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int> loc("Conv_1")
    %15 = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int> loc("Conv_1")
    %16 = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int> loc("Conv_1")
    %17 = torch.aten.convolution %0, %1, %2, %15, %13, %14, %false, %16, %int1 : !torch.vtensor<[?,3,8,8],f32>, !torch.vtensor<[8,3,3,3],f32>, !torch.vtensor<[8],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.bool, !torch.list<int>, !torch.int -> !torch.vtensor<[?,8,8,8],f32> loc("Conv_1")
    %18 = torch.aten.add.Tensor %17, %10, %int1 : !torch.vtensor<[?,8,8,8],f32>, !torch.vtensor<[],f32>, !torch.int -> !torch.vtensor<[?,8,8,8],f32> loc("Add_3")
    %19 = torch.aten.clamp.Tensor %18, %11, %12 : !torch.vtensor<[?,8,8,8],f32>, !torch.vtensor<[],f32>, !torch.vtensor<[],f32> -> !torch.vtensor<[?,8,8,8],f32> loc("Clip_6")
    %20 = torch.aten.mul.Tensor %17, %19 : !torch.vtensor<[?,8,8,8],f32>, !torch.vtensor<[?,8,8,8],f32> -> !torch.vtensor<[?,8,8,8],f32> loc("Mul_7")
    %21 = torch.aten.div.Tensor %20, %12 : !torch.vtensor<[?,8,8,8],f32>, !torch.vtensor<[],f32> -> !torch.vtensor<[?,8,8,8],f32> loc("Div_9")
    %22 = torch.prim.ListConstruct %int8, %int8 : (!torch.int, !torch.int) -> !torch.list<int> loc("GlobalAveragePool_10")
    %23 = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int> loc("GlobalAveragePool_10")
    %24 = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int> loc("GlobalAveragePool_10")
    %25 = torch.aten.avg_pool2d %21, %22, %24, %23, %false, %false, %none : !torch.vtensor<[?,8,8,8],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.bool, !torch.bool, !torch.none -> !torch.vtensor<[?,8,1,1],f32> loc("GlobalAveragePool_10")
    %26 = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int> loc("Conv_11")
    %27 = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int> loc("Conv_11")
    %28 = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int> loc("Conv_11")
    %29 = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int> loc("Conv_11")
    %30 = torch.aten.convolution %25, %3, %4, %28, %26, %27, %false, %29, %int1 : !torch.vtensor<[?,8,1,1],f32>, !torch.vtensor<[4,8,1,1],f32>, !torch.vtensor<[4],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.bool, !torch.list<int>, !torch.int -> !torch.vtensor<[?,4,1,1],f32> loc("Conv_11")
    %31 = torch.aten.relu %30 : !torch.vtensor<[?,4,1,1],f32> -> !torch.vtensor<[?,4,1,1],f32> loc("Relu_12")
    %32 = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int> loc("Conv_13")
    %33 = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int> loc("Conv_13")
    %34 = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int> loc("Conv_13")
    %35 = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int> loc("Conv_13")
    %36 = torch.aten.convolution %31, %5, %6, %34, %32, %33, %false, %35, %int1 : !torch.vtensor<[?,4,1,1],f32>, !torch.vtensor<[8,4,1,1],f32>, !torch.vtensor<[8],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.bool, !torch.list<int>, !torch.int -> !torch.vtensor<[?,8,1,1],f32> loc("Conv_13")
    %37 = torch.aten.mul.Scalar %36, %float1.666667e-01 : !torch.vtensor<[?,8,1,1],f32>, !torch.float -> !torch.vtensor<[?,8,1,1],f32> loc("HardSigmoid_14")
    %38 = torch.aten.add.Scalar %37, %float5.000000e-01, %float1.000000e00 : !torch.vtensor<[?,8,1,1],f32>, !torch.float, !torch.float -> !torch.vtensor<[?,8,1,1],f32> loc("HardSigmoid_14")
    %39 = torch.aten.minimum %9, %38 : !torch.vtensor<[],f32>, !torch.vtensor<[?,8,1,1],f32> -> !torch.vtensor<[?,8,1,1],f32> loc("HardSigmoid_14")
    %40 = torch.aten.maximum %11, %39 : !torch.vtensor<[],f32>, !torch.vtensor<[?,8,1,1],f32> -> !torch.vtensor<[?,8,1,1],f32> loc("HardSigmoid_14")
    %41 = torch.aten.mul.Tensor %21, %40 : !torch.vtensor<[?,8,8,8],f32>, !torch.vtensor<[?,8,1,1],f32> -> !torch.vtensor<[?,8,8,8],f32> loc("Mul_15")
    %42 = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int> loc("Conv_16")
    %43 = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int> loc("Conv_16")
    %44 = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int> loc("Conv_16")
    %45 = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int> loc("Conv_16")
    %46 = torch.aten.convolution %41, %7, %8, %44, %42, %43, %false, %45, %int1 : !torch.vtensor<[?,8,8,8],f32>, !torch.vtensor<[4,8,3,3],f32>, !torch.vtensor<[4],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.bool, !torch.list<int>, !torch.int -> !torch.vtensor<[?,4,8,8],f32> loc("Conv_16")
    func.return %46 : !torch.vtensor<[?,4,8,8],f32> loc(unknown)
  } loc("graph:pattern")
} loc(unknown)
