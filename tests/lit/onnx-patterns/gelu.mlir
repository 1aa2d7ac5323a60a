// RUN: spa-opt %s -p spa-propagate-channels,spa-form-groups | filecheck %s
// GELU decomposed in its tanh form, x * 0.5 * (1 + Tanh(sqrt(2 / pi) * (x + 0.044715 * x^3))) (jax2onnx's
// approximate GELU): tests/unit/test_onnx_patterns.py's gelu_tanh (batch "unk__123"), imported by
// `spa-translate --import-onnx`, weights inlined as splats. Every op is element-wise and keeps the dense
// channels; x * (...) is zero where x is, so the group is exact.

// CHECK: spa.group @g{{[0-9]+}} {size = 16 : i64, {{.*}}frozen = [#spa.reason<"model input">]}
// CHECK-NEXT: spa.group @g{{[0-9]+}} {size = 32 : i64, space = "[[C:s[0-9]+]]", members = [#spa.member<"d1.kernel"[1]>, #spa.member<"d1.bias"[0]>, #spa.member<"d2.kernel"[0]>], exact = true}
// CHECK-NEXT: spa.group @g{{[0-9]+}} {size = 8 : i64, {{.*}}frozen = [#spa.reason<"model output">]}
// CHECK: torch.aten.pow.Tensor_Scalar {{.*}}#spa.dims<[_, s{{[0-9]+}}, [[C]]]>{{.*}}loc("Pow_4")
// CHECK: torch.aten.tanh {{.*}}#spa.dims<[_, s{{[0-9]+}}, [[C]]]>{{.*}}loc("Tanh_10")
// CHECK: torch.aten.mul.Tensor {{.*}}#spa.dims<[_, s{{[0-9]+}}, [[C]]]>{{.*}}loc("Mul_15")

builtin.module attributes {spa.onnx_source = {path = "gelu_tanh.onnx", sha256 = "974ffccd44bc277d3c78867c764a414fea26455c815e2c7f9e3ccdaa093fce0a"}} {
  func.func @main(%0: !torch.vtensor<[?,5,16],f32> loc(unknown)) -> !torch.vtensor<[?,5,8],f32> attributes {spa.input_names = ["x"], torch.onnx_meta.ir_version = 8 : si64, torch.onnx_meta.opset_version = 17 : si64, torch.onnx_meta.producer_name = "", torch.onnx_meta.producer_version = ""} {
    %1 = spa.param "d1.kernel" = dense<5.000000e-01> : tensor<16x32xf32> : !torch.vtensor<[16,32],f32> loc("d1.kernel")
    %2 = spa.param "d1.bias" = dense<5.000000e-01> : tensor<32xf32> : !torch.vtensor<[32],f32> loc("d1.bias")
    %3 = spa.param "d2.kernel" = dense<5.000000e-01> : tensor<32x8xf32> : !torch.vtensor<[32,8],f32> loc("d2.kernel")
    %4 = spa.param "d2.bias" = dense<5.000000e-01> : tensor<8xf32> : !torch.vtensor<[8],f32> loc("d2.bias")
    %int3 = torch.constant.int 3 loc("Pow_4")
    %int1 = torch.constant.int 1 loc(unknown)
    %5 = torch.vtensor.literal(dense<4.471500e-02> : tensor<f32>) : !torch.vtensor<[],f32> loc("k_5")
    %6 = torch.vtensor.literal(dense<0.797884583> : tensor<f32>) : !torch.vtensor<[],f32> loc("k_8")
    %7 = torch.vtensor.literal(dense<5.000000e-01> : tensor<f32>) : !torch.vtensor<[],f32> loc("k_11")
    %8 = torch.vtensor.literal(dense<1.000000e+00> : tensor<f32>) : !torch.vtensor<[],f32> loc("k_13")
    %9 = torch.aten.matmul %0, %1 : !torch.vtensor<[?,5,16],f32>, !torch.vtensor<[16,32],f32> -> !torch.vtensor<[?,5,32],f32> loc("MatMul_1")
    %10 = torch.aten.add.Tensor %9, %2, %int1 : !torch.vtensor<[?,5,32],f32>, !torch.vtensor<[32],f32>, !torch.int -> !torch.vtensor<[?,5,32],f32> loc("Add_2")
    %11 = torch.aten.pow.Tensor_Scalar %10, %int3 : !torch.vtensor<[?,5,32],f32>, !torch.int -> !torch.vtensor<[?,5,32],f32> loc("Pow_4")
    %12 = torch.aten.mul.Tensor %11, %5 : !torch.vtensor<[?,5,32],f32>, !torch.vtensor<[],f32> -> !torch.vtensor<[?,5,32],f32> loc("Mul_6")
    %13 = torch.aten.add.Tensor %10, %12, %int1 : !torch.vtensor<[?,5,32],f32>, !torch.vtensor<[?,5,32],f32>, !torch.int -> !torch.vtensor<[?,5,32],f32> loc("Add_7")
    %14 = torch.aten.mul.Tensor %13, %6 : !torch.vtensor<[?,5,32],f32>, !torch.vtensor<[],f32> -> !torch.vtensor<[?,5,32],f32> loc("Mul_9")
    %15 = torch.aten.tanh %14 : !torch.vtensor<[?,5,32],f32> -> !torch.vtensor<[?,5,32],f32> loc("Tanh_10")
    %16 = torch.aten.mul.Tensor %10, %7 : !torch.vtensor<[?,5,32],f32>, !torch.vtensor<[],f32> -> !torch.vtensor<[?,5,32],f32> loc("Mul_12")
    %17 = torch.aten.add.Tensor %15, %8, %int1 : !torch.vtensor<[?,5,32],f32>, !torch.vtensor<[],f32>, !torch.int -> !torch.vtensor<[?,5,32],f32> loc("Add_14")
    %18 = torch.aten.mul.Tensor %16, %17 : !torch.vtensor<[?,5,32],f32>, !torch.vtensor<[?,5,32],f32> -> !torch.vtensor<[?,5,32],f32> loc("Mul_15")
    %19 = torch.aten.matmul %18, %3 : !torch.vtensor<[?,5,32],f32>, !torch.vtensor<[32,8],f32> -> !torch.vtensor<[?,5,8],f32> loc("MatMul_16")
    %20 = torch.aten.add.Tensor %19, %4, %int1 : !torch.vtensor<[?,5,8],f32>, !torch.vtensor<[8],f32>, !torch.int -> !torch.vtensor<[?,5,8],f32> loc("Add_17")
    func.return %20 : !torch.vtensor<[?,5,8],f32> loc(unknown)
  } loc("graph:pattern")
} loc(unknown)
