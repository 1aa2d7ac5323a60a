// RUN: spa-opt %s -p spa-propagate-channels,spa-form-groups | filecheck %s
// Gemm with every (transA, transB), alpha and beta != 1 (and beta = 0), C as [out] and as [1, out]:
// tests/unit/test_onnx_patterns.py's gemm (batch "N"), imported by `spa-translate --import-onnx`, weights inlined
// as splats (the analysis reads no values). The conversion writes transB as a transpose of the weight and transA
// as one of the input, alpha and beta as scalar multiplies: the output channels of each Gemm (B's dim 0 with
// transB, else dim 1) are one group with its C (dim 1 of a [1, out] C) and the next Gemm's input channels.

// CHECK: spa.group @g{{[0-9]+}} {size = 16 : i64, {{.*}}frozen = [#spa.reason<"model input">]}
// CHECK-NEXT: spa.group @g{{[0-9]+}} {size = 32 : i64, space = "[[A:s[0-9]+]]", members = [#spa.member<"g1.w"[0]>, #spa.member<"g1.c"[0]>, #spa.member<"g2.w"[0]>], exact = true}
// CHECK-NEXT: spa.group @g{{[0-9]+}} {size = 24 : i64, space = "[[B:s[0-9]+]]", members = [#spa.member<"g2.w"[1]>, #spa.member<"g2.c"[1]>, #spa.member<"g3.w"[1]>], exact = true}
// CHECK-NEXT: spa.group @g{{[0-9]+}} {size = 20 : i64, space = "[[C:s[0-9]+]]", members = [#spa.member<"g3.w"[0]>, #spa.member<"g3.c"[1]>, #spa.member<"g4.w"[0]>], exact = true}
// CHECK-NEXT: spa.group @g{{[0-9]+}} {size = 8 : i64, {{.*}}frozen = [#spa.reason<"model output">]}
// CHECK: torch.aten.transpose.int {{.*}}#spa.dims<[s{{[0-9]+}}, [[A]]]>{{.*}}-> !torch.vtensor<[16,32],f32> loc("Gemm_1")
// CHECK: torch.aten.add.Tensor {{.*}}#spa.dims<[_, [[A]]]>{{.*}}loc("Gemm_1")
// CHECK: torch.aten.add.Tensor {{.*}}#spa.dims<[_, [[B]]]>{{.*}}!torch.vtensor<[1,24],f32>{{.*}}loc("Gemm_3")
// CHECK: torch.aten.transpose.int {{.*}}#spa.dims<[[[B]], _]>{{.*}}loc("Transpose_5")
// CHECK-NEXT: torch.aten.transpose.int {{.*}}#spa.dims<[_, [[B]]]>{{.*}}loc("Gemm_6")
// CHECK-NEXT: torch.aten.transpose.int {{.*}}#spa.dims<[[[B]], [[C]]]>{{.*}}loc("Gemm_6")
// CHECK: torch.aten.mm {{.*}}#spa.dims<[_, s{{[0-9]+}}]>{{.*}}loc("Gemm_9")

builtin.module attributes {spa.onnx_source = {path = "gemm.onnx", sha256 = "b8fd111d4a58e99944dba895109f669836ed0543301997bd1034f7a8b8dd2f44"}} {
  func.func @main(%0: !torch.vtensor<[?,16],f32> loc(unknown)) -> !torch.vtensor<[?,8],f32> attributes {spa.input_names = ["x"], torch.onnx_meta.ir_version = 8 : si64, torch.onnx_meta.opset_version = 17 : si64, torch.onnx_meta.producer_name = "", torch.onnx_meta.producer_version = ""} {
    %1 = spa.param "g1.w" = dense<5.000000e-01> : tensor<32x16xf32> : !torch.vtensor<[32,16],f32> loc("g1.w")
    %2 = spa.param "g1.c" = dense<5.000000e-01> : tensor<32xf32> : !torch.vtensor<[32],f32> loc("g1.c")
    %3 = spa.param "g2.w" = dense<5.000000e-01> : tensor<32x24xf32> : !torch.vtensor<[32,24],f32> loc("g2.w")
    %4 = spa.param "g2.c" = dense<5.000000e-01> : tensor<1x24xf32> : !torch.vtensor<[1,24],f32> loc("g2.c")
    %5 = spa.param "g3.w" = dense<5.000000e-01> : tensor<20x24xf32> : !torch.vtensor<[20,24],f32> loc("g3.w")
    %6 = spa.param "g3.c" = dense<5.000000e-01> : tensor<1x20xf32> : !torch.vtensor<[1,20],f32> loc("g3.c")
    %7 = spa.param "g4.w" = dense<5.000000e-01> : tensor<20x8xf32> : !torch.vtensor<[20,8],f32> loc("g4.w")
    %8 = spa.param "g4.c" = dense<5.000000e-01> : tensor<8xf32> : !torch.vtensor<[8],f32> loc("g4.c")
    %float0.000000e00 = torch.constant.float 0.000000e+00 loc("Gemm_9")
    %float1.500000e00 = torch.constant.float 1.500000e+00 loc("Gemm_3")
    %float2.000000e00 = torch.constant.float 2.000000e+00 loc("Gemm_1")
    %float5.000000e-01 = torch.constant.float 5.000000e-01 loc(unknown)
    %int0 = torch.constant.int 0 loc(unknown)
    %int1 = torch.constant.int 1 loc(unknown)
    %9 = torch.aten.transpose.int %1, %int0, %int1 : !torch.vtensor<[32,16],f32>, !torch.int, !torch.int -> !torch.vtensor<[16,32],f32> loc("Gemm_1")
    %10 = torch.aten.mm %0, %9 : !torch.vtensor<[?,16],f32>, !torch.vtensor<[16,32],f32> -> !torch.vtensor<[?,32],f32> loc("Gemm_1")
    %11 = torch.aten.mul.Scalar %10, %float5.000000e-01 : !torch.vtensor<[?,32],f32>, !torch.float -> !torch.vtensor<[?,32],f32> loc("Gemm_1")
    %12 = torch.aten.add.Tensor %11, %2, %float2.000000e00 : !torch.vtensor<[?,32],f32>, !torch.vtensor<[32],f32>, !torch.float -> !torch.vtensor<[?,32],f32> loc("Gemm_1")
    %13 = torch.aten.relu %12 : !torch.vtensor<[?,32],f32> -> !torch.vtensor<[?,32],f32> loc("Relu_2")
    %14 = torch.aten.mm %13, %3 : !torch.vtensor<[?,32],f32>, !torch.vtensor<[32,24],f32> -> !torch.vtensor<[?,24],f32> loc("Gemm_3")
    %15 = torch.aten.mul.Scalar %14, %float1.500000e00 : !torch.vtensor<[?,24],f32>, !torch.float -> !torch.vtensor<[?,24],f32> loc("Gemm_3")
    %16 = torch.aten.add.Tensor %15, %4, %float5.000000e-01 : !torch.vtensor<[?,24],f32>, !torch.vtensor<[1,24],f32>, !torch.float -> !torch.vtensor<[?,24],f32> loc("Gemm_3")
    %17 = torch.aten.relu %16 : !torch.vtensor<[?,24],f32> -> !torch.vtensor<[?,24],f32> loc("Relu_4")
    %18 = torch.aten.transpose.int %17, %int0, %int1 : !torch.vtensor<[?,24],f32>, !torch.int, !torch.int -> !torch.vtensor<[24,?],f32> loc("Transpose_5")
    %19 = torch.aten.transpose.int %18, %int0, %int1 : !torch.vtensor<[24,?],f32>, !torch.int, !torch.int -> !torch.vtensor<[?,24],f32> loc("Gemm_6")
    %20 = torch.aten.transpose.int %5, %int0, %int1 : !torch.vtensor<[20,24],f32>, !torch.int, !torch.int -> !torch.vtensor<[24,20],f32> loc("Gemm_6")
    %21 = torch.aten.mm %19, %20 : !torch.vtensor<[?,24],f32>, !torch.vtensor<[24,20],f32> -> !torch.vtensor<[?,20],f32> loc("Gemm_6")
    %22 = torch.aten.add.Tensor %21, %6, %int1 : !torch.vtensor<[?,20],f32>, !torch.vtensor<[1,20],f32>, !torch.int -> !torch.vtensor<[?,20],f32> loc("Gemm_6")
    %23 = torch.aten.relu %22 : !torch.vtensor<[?,20],f32> -> !torch.vtensor<[?,20],f32> loc("Relu_7")
    %24 = torch.aten.transpose.int %23, %int0, %int1 : !torch.vtensor<[?,20],f32>, !torch.int, !torch.int -> !torch.vtensor<[20,?],f32> loc("Transpose_8")
    %25 = torch.aten.transpose.int %24, %int0, %int1 : !torch.vtensor<[20,?],f32>, !torch.int, !torch.int -> !torch.vtensor<[?,20],f32> loc("Gemm_9")
    %26 = torch.aten.mm %25, %7 : !torch.vtensor<[?,20],f32>, !torch.vtensor<[20,8],f32> -> !torch.vtensor<[?,8],f32> loc("Gemm_9")
    %27 = torch.aten.add.Tensor %26, %8, %float0.000000e00 : !torch.vtensor<[?,8],f32>, !torch.vtensor<[8],f32>, !torch.float -> !torch.vtensor<[?,8],f32> loc("Gemm_9")
    func.return %27 : !torch.vtensor<[?,8],f32> loc(unknown)
  } loc("graph:pattern")
} loc(unknown)
