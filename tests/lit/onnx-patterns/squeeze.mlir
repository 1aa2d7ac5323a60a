// RUN: spa-opt %s -p spa-propagate-channels,spa-form-groups | filecheck %s
// Squeeze / Unsqueeze with their axes as inputs (opset 13) between a conv, a dense layer and a 1x1 conv, then a
// Flatten: tests/unit/test_onnx_patterns.py's squeeze_unsqueeze_opset13 (batch "unk__123"), imported by
// `spa-translate --import-onnx`, weights inlined as splats. Size-1 dims come and go without touching the
// channels: every layer's outputs are one exact group with the next layer's inputs.

// CHECK: spa.group @g{{[0-9]+}} {size = 3 : i64, {{.*}}frozen = [#spa.reason<"model input">]}
// CHECK-NEXT: spa.group @g{{[0-9]+}} {size = 8 : i64, space = "[[A:s[0-9]+]]", members = [#spa.member<"c1.weight"[0]>, #spa.member<"c1.bias"[0]>, #spa.member<"d1.kernel"[0]>], exact = true}
// CHECK-NEXT: spa.group @g{{[0-9]+}} {size = 16 : i64, space = "[[B:s[0-9]+]]", members = [#spa.member<"d1.kernel"[1]>, #spa.member<"d1.bias"[0]>, #spa.member<"c2.weight"[1]>], exact = true}
// CHECK-NEXT: spa.group @g{{[0-9]+}} {size = 12 : i64, space = "[[C:s[0-9]+]]", members = [#spa.member<"c2.weight"[0]>, #spa.member<"c2.bias"[0]>, #spa.member<"d2.kernel"[0]>], exact = true}
// CHECK-NEXT: spa.group @g{{[0-9]+}} {size = 4 : i64, {{.*}}frozen = [#spa.reason<"model output">]}
// CHECK: torch.prims.squeeze {{.*}}#spa.dims<[_, [[A]]]>{{.*}}-> !torch.vtensor<[?,8],f32> loc("Squeeze_5")
// CHECK: torch.aten.unsqueeze {{.*}}#spa.dims<[_, [[B]], _]>{{.*}}loc("Unsqueeze_10")
// CHECK-NEXT: torch.aten.unsqueeze {{.*}}#spa.dims<[_, [[B]], _, _]>{{.*}}loc("Unsqueeze_10")
// CHECK: torch.prims.squeeze {{.*}}#spa.dims<[_, [[C]], _]>{{.*}}loc("Squeeze_14")
// CHECK-NEXT: torch.aten.unsqueeze {{.*}}#spa.dims<[_, _, [[C]], _]>{{.*}}loc("Unsqueeze_16")
// CHECK-NEXT: torch.prims.collapse {{.*}}#spa.dims<[_, [[C]]]>{{.*}}loc("Flatten_17")

builtin.module attributes {spa.onnx_source = {path = "squeeze_unsqueeze_opset13.onnx", sha256 = "2d64b1195bbd98d602d768cb04e8f36bc832487b825d003b97127b2c3f9f945c"}} {
  func.func @main(%0: !torch.vtensor<[?,3,8,8],f32> loc(unknown)) -> !torch.vtensor<[?,4],f32> attributes {spa.input_names = ["x"], torch.onnx_meta.ir_version = 8 : si64, torch.onnx_meta.opset_version = 17 : si64, torch.onnx_meta.producer_name = "", torch.onnx_meta.producer_version = ""} {
    %1 = spa.param "c1.weight" = dense<5.000000e-01> : tensor<8x3x3x3xf32> : !torch.vtensor<[8,3,3,3],f32> loc("c1.weight")
    %2 = spa.param "c1.bias" = dense<5.000000e-01> : tensor<8xf32> : !torch.vtensor<[8],f32> loc("c1.bias")
    %3 = spa.param "d1.kernel" = dense<5.000000e-01> : tensor<8x16xf32> : !torch.vtensor<[8,16],f32> loc("d1.kernel")
    %4 = spa.param "d1.bias" = dense<5.000000e-01> : tensor<16xf32> : !torch.vtensor<[16],f32> loc("d1.bias")
    %5 = spa.param "c2.weight" = dense<5.000000e-01> : tensor<12x16x1x1xf32> : !torch.vtensor<[12,16,1,1],f32> loc("c2.weight")
    %6 = spa.param "c2.bias" = dense<5.000000e-01> : tensor<12xf32> : !torch.vtensor<[12],f32> loc("c2.bias")
    %7 = spa.param "d2.kernel" = dense<5.000000e-01> : tensor<12x4xf32> : !torch.vtensor<[12,4],f32> loc("d2.kernel")
    %8 = spa.param "d2.bias" = dense<5.000000e-01> : tensor<4xf32> : !torch.vtensor<[4],f32> loc("d2.bias")
    %int3 = torch.constant.int 3 loc(unknown)
    %int2 = torch.constant.int 2 loc(unknown)
    %int8 = torch.constant.int 8 loc(unknown)
    %false = torch.constant.bool false loc(unknown)
    %none = torch.constant.none loc(unknown)
    %int1 = torch.constant.int 1 loc(unknown)
    %int0 = torch.constant.int 0 loc(unknown)
    %9 = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int> loc("Conv_1")
    %10 = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int> loc("Conv_1")
    %11 = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int> loc("Conv_1")
    %12 = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int> loc("Conv_1")
    %13 = torch.aten.convolution %0, %1, %2, %11, %9, %10, %false, %12, %int1 : !torch.vtensor<[?,3,8,8],f32>, !torch.vtensor<[8,3,3,3],f32>, !torch.vtensor<[8],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.bool, !torch.list<int>, !torch.int -> !torch.vtensor<[?,8,8,8],f32> loc("Conv_1")
    %14 = torch.aten.relu %13 : !torch.vtensor<[?,8,8,8],f32> -> !torch.vtensor<[?,8,8,8],f32> loc("Relu_2")
    %15 = torch.prim.ListConstruct %int8, %int8 : (!torch.int, !torch.int) -> !torch.list<int> loc("GlobalAveragePool_3")
    %16 = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int> loc("GlobalAveragePool_3")
    %17 = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int> loc("GlobalAveragePool_3")
    %18 = torch.aten.avg_pool2d %14, %15, %17, %16, %false, %false, %none : !torch.vtensor<[?,8,8,8],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.bool, !torch.bool, !torch.none -> !torch.vtensor<[?,8,1,1],f32> loc("GlobalAveragePool_3")
    %19 = torch.prim.ListConstruct %int2, %int3 : (!torch.int, !torch.int) -> !torch.list<int> loc("Squeeze_5")
    %20 = torch.prims.squeeze %18, %19 : !torch.vtensor<[?,8,1,1],f32>, !torch.list<int> -> !torch.vtensor<[?,8],f32> loc("Squeeze_5")
    %21 = torch.aten.matmul %20, %3 : !torch.vtensor<[?,8],f32>, !torch.vtensor<[8,16],f32> -> !torch.vtensor<[?,16],f32> loc("MatMul_6")
    %22 = torch.aten.add.Tensor %21, %4, %int1 : !torch.vtensor<[?,16],f32>, !torch.vtensor<[16],f32>, !torch.int -> !torch.vtensor<[?,16],f32> loc("Add_7")
    %23 = torch.aten.relu %22 : !torch.vtensor<[?,16],f32> -> !torch.vtensor<[?,16],f32> loc("Relu_8")
    %24 = torch.aten.unsqueeze %23, %int2 : !torch.vtensor<[?,16],f32>, !torch.int -> !torch.vtensor<[?,16,1],f32> loc("Unsqueeze_10")
    %25 = torch.aten.unsqueeze %24, %int3 : !torch.vtensor<[?,16,1],f32>, !torch.int -> !torch.vtensor<[?,16,1,1],f32> loc("Unsqueeze_10")
    %26 = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int> loc("Conv_11")
    %27 = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int> loc("Conv_11")
    %28 = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int> loc("Conv_11")
    %29 = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int> loc("Conv_11")
    %30 = torch.aten.convolution %25, %5, %6, %28, %26, %27, %false, %29, %int1 : !torch.vtensor<[?,16,1,1],f32>, !torch.vtensor<[12,16,1,1],f32>, !torch.vtensor<[12],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.bool, !torch.list<int>, !torch.int -> !torch.vtensor<[?,12,1,1],f32> loc("Conv_11")
    %31 = torch.aten.relu %30 : !torch.vtensor<[?,12,1,1],f32> -> !torch.vtensor<[?,12,1,1],f32> loc("Relu_12")
    %32 = torch.prim.ListConstruct %int3 : (!torch.int) -> !torch.list<int> loc("Squeeze_14")
    %33 = torch.prims.squeeze %31, %32 : !torch.vtensor<[?,12,1,1],f32>, !torch.list<int> -> !torch.vtensor<[?,12,1],f32> loc("Squeeze_14")
    %34 = torch.aten.unsqueeze %33, %int1 : !torch.vtensor<[?,12,1],f32>, !torch.int -> !torch.vtensor<[?,1,12,1],f32> loc("Unsqueeze_16")
    %35 = torch.prims.collapse %34, %int1, %int3 : !torch.vtensor<[?,1,12,1],f32>, !torch.int, !torch.int -> !torch.vtensor<[?,12],f32> loc("Flatten_17")
    %36 = torch.prims.collapse %35, %int0, %int0 : !torch.vtensor<[?,12],f32>, !torch.int, !torch.int -> !torch.vtensor<[?,12],f32> loc("Flatten_17")
    %37 = torch.aten.matmul %36, %7 : !torch.vtensor<[?,12],f32>, !torch.vtensor<[12,4],f32> -> !torch.vtensor<[?,4],f32> loc("MatMul_18")
    %38 = torch.aten.add.Tensor %37, %8, %int1 : !torch.vtensor<[?,4],f32>, !torch.vtensor<[4],f32>, !torch.int -> !torch.vtensor<[?,4],f32> loc("Add_19")
    func.return %38 : !torch.vtensor<[?,4],f32> loc(unknown)
  } loc("graph:pattern")
} loc(unknown)
