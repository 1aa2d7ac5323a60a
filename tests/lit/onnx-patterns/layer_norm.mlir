// RUN: spa-opt %s -p spa-propagate-channels,spa-form-groups | filecheck %s
// A LayerNorm decomposed (ReduceMean -> Sub -> Pow(2) -> ReduceMean -> Add eps -> Sqrt -> Div -> Mul gamma ->
// Add beta) over a dense layer's channels: tests/unit/test_onnx_patterns.py's layer_norm_pow_div (opset 13,
// batch "N"), imported by `spa-translate --import-onnx`, weights inlined as splats. The channels pass every op of
// the decomposition and gamma, beta join the dense layer's group, which is inexact: the means over channels
// change when one is removed, so removing is not zeroing (only_exact leaves it). The next group is exact.

// CHECK: spa.group @g{{[0-9]+}} {size = 16 : i64, {{.*}}frozen = [#spa.reason<"model input">]}
// CHECK-NEXT: spa.group @g{{[0-9]+}} {size = 32 : i64, space = "[[C:s[0-9]+]]", members = [#spa.member<"d1.kernel"[1]>, #spa.member<"d1.bias"[0]>, #spa.member<"ln.gamma"[0]>, #spa.member<"ln.beta"[0]>, #spa.member<"d2.kernel"[0]>], exact = false, inexact = [#spa.reason<"mean over channels", "torch.aten.mean.dim", "ReduceMean_3">, #spa.reason<"mean over channels", "torch.aten.mean.dim", "ReduceMean_7">]}
// CHECK-NEXT: spa.group @g{{[0-9]+}} {size = 24 : i64, space = "s{{[0-9]+}}", members = [#spa.member<"d2.kernel"[1]>, #spa.member<"d2.bias"[0]>, #spa.member<"d3.kernel"[0]>], exact = true}
// CHECK: torch.aten.mean.dim {{.*}}#spa.dims<[_, s{{[0-9]+}}, _]>{{.*}}-> !torch.vtensor<[?,5,1],f32> loc("ReduceMean_3")
// CHECK-NEXT: torch.aten.sub.Tensor {{.*}}#spa.dims<[_, s{{[0-9]+}}, [[C]]]>{{.*}}loc("Sub_4")
// CHECK-NEXT: torch.aten.pow.Tensor_Scalar {{.*}}#spa.dims<[_, s{{[0-9]+}}, [[C]]]>{{.*}}loc("Pow_6")
// CHECK: torch.aten.sqrt {{.*}}#spa.dims<[_, s{{[0-9]+}}, _]>{{.*}}loc("Sqrt_10")
// CHECK-NEXT: torch.aten.div.Tensor {{.*}}#spa.dims<[_, s{{[0-9]+}}, [[C]]]>{{.*}}loc("Div_11")
// CHECK-NEXT: torch.aten.mul.Tensor {{.*}}#spa.dims<[_, s{{[0-9]+}}, [[C]]]>{{.*}}loc("Mul_12")

builtin.module attributes {spa.onnx_source = {path = "layer_norm_pow_div.onnx", sha256 = "dae7987994229b0791b2d4e3b6ec883b8c9c44333a1acdbea5dcdd5d321f49df"}} {
  func.func @main(%0: !torch.vtensor<[?,5,16],f32> loc(unknown)) -> !torch.vtensor<[?,5,8],f32> attributes {spa.input_names = ["x"], torch.onnx_meta.ir_version = 8 : si64, torch.onnx_meta.opset_version = 17 : si64, torch.onnx_meta.producer_name = "", torch.onnx_meta.producer_version = ""} {
    %1 = spa.param "d1.kernel" = dense<5.000000e-01> : tensor<16x32xf32> : !torch.vtensor<[16,32],f32> loc("d1.kernel")
    %2 = spa.param "d1.bias" = dense<5.000000e-01> : tensor<32xf32> : !torch.vtensor<[32],f32> loc("d1.bias")
    %3 = spa.param "ln.gamma" = dense<5.000000e-01> : tensor<32xf32> : !torch.vtensor<[32],f32> loc("ln.gamma")
    %4 = spa.param "ln.beta" = dense<5.000000e-01> : tensor<32xf32> : !torch.vtensor<[32],f32> loc("ln.beta")
    %5 = spa.param "d2.kernel" = dense<5.000000e-01> : tensor<32x24xf32> : !torch.vtensor<[32,24],f32> loc("d2.kernel")
    %6 = spa.param "d2.bias" = dense<5.000000e-01> : tensor<24xf32> : !torch.vtensor<[24],f32> loc("d2.bias")
    %7 = spa.param "d3.kernel" = dense<5.000000e-01> : tensor<24x8xf32> : !torch.vtensor<[24,8],f32> loc("d3.kernel")
    %8 = spa.param "d3.bias" = dense<5.000000e-01> : tensor<8xf32> : !torch.vtensor<[8],f32> loc("d3.bias")
    %int2 = torch.constant.int 2 loc("Pow_6")
    %true = torch.constant.bool true loc(unknown)
    %int = torch.constant.int -1 loc(unknown)
    %int1 = torch.constant.int 1 loc(unknown)
    %9 = torch.vtensor.literal(dense<1.000000e-05> : tensor<f32>) : !torch.vtensor<[],f32> loc("k_8")
    %none = torch.constant.none loc(unknown)
    %10 = torch.aten.matmul %0, %1 : !torch.vtensor<[?,5,16],f32>, !torch.vtensor<[16,32],f32> -> !torch.vtensor<[?,5,32],f32> loc("MatMul_1")
    %11 = torch.aten.add.Tensor %10, %2, %int1 : !torch.vtensor<[?,5,32],f32>, !torch.vtensor<[32],f32>, !torch.int -> !torch.vtensor<[?,5,32],f32> loc("Add_2")
    %12 = torch.prim.ListConstruct %int : (!torch.int) -> !torch.list<int> loc("ReduceMean_3")
    %13 = torch.aten.mean.dim %11, %12, %true, %none : !torch.vtensor<[?,5,32],f32>, !torch.list<int>, !torch.bool, !torch.none -> !torch.vtensor<[?,5,1],f32> loc("ReduceMean_3")
    %14 = torch.aten.sub.Tensor %11, %13, %int1 : !torch.vtensor<[?,5,32],f32>, !torch.vtensor<[?,5,1],f32>, !torch.int -> !torch.vtensor<[?,5,32],f32> loc("Sub_4")
    %15 = torch.aten.pow.Tensor_Scalar %14, %int2 : !torch.vtensor<[?,5,32],f32>, !torch.int -> !torch.vtensor<[?,5,32],f32> loc("Pow_6")
    %16 = torch.prim.ListConstruct %int : (!torch.int) -> !torch.list<int> loc("ReduceMean_7")
    %17 = torch.aten.mean.dim %15, %16, %true, %none : !torch.vtensor<[?,5,32],f32>, !torch.list<int>, !torch.bool, !torch.none -> !torch.vtensor<[?,5,1],f32> loc("ReduceMean_7")
    %18 = torch.aten.add.Tensor %17, %9, %int1 : !torch.vtensor<[?,5,1],f32>, !torch.vtensor<[],f32>, !torch.int -> !torch.vtensor<[?,5,1],f32> loc("Add_9")
    %19 = torch.aten.sqrt %18 : !torch.vtensor<[?,5,1],f32> -> !torch.vtensor<[?,5,1],f32> loc("Sqrt_10")
    %20 = torch.aten.div.Tensor %14, %19 : !torch.vtensor<[?,5,32],f32>, !torch.vtensor<[?,5,1],f32> -> !torch.vtensor<[?,5,32],f32> loc("Div_11")
    %21 = torch.aten.mul.Tensor %20, %3 : !torch.vtensor<[?,5,32],f32>, !torch.vtensor<[32],f32> -> !torch.vtensor<[?,5,32],f32> loc("Mul_12")
    %22 = torch.aten.add.Tensor %21, %4, %int1 : !torch.vtensor<[?,5,32],f32>, !torch.vtensor<[32],f32>, !torch.int -> !torch.vtensor<[?,5,32],f32> loc("Add_13")
    %23 = torch.aten.matmul %22, %5 : !torch.vtensor<[?,5,32],f32>, !torch.vtensor<[32,24],f32> -> !torch.vtensor<[?,5,24],f32> loc("MatMul_14")
    %24 = torch.aten.add.Tensor %23, %6, %int1 : !torch.vtensor<[?,5,24],f32>, !torch.vtensor<[24],f32>, !torch.int -> !torch.vtensor<[?,5,24],f32> loc("Add_15")
    %25 = torch.aten.relu %24 : !torch.vtensor<[?,5,24],f32> -> !torch.vtensor<[?,5,24],f32> loc("Relu_16")
    %26 = torch.aten.matmul %25, %7 : !torch.vtensor<[?,5,24],f32>, !torch.vtensor<[24,8],f32> -> !torch.vtensor<[?,5,8],f32> loc("MatMul_17")
    %27 = torch.aten.add.Tensor %26, %8, %int1 : !torch.vtensor<[?,5,8],f32>, !torch.vtensor<[8],f32>, !torch.int -> !torch.vtensor<[?,5,8],f32> loc("Add_18")
    func.return %27 : !torch.vtensor<[?,5,8],f32> loc(unknown)
  } loc("graph:pattern")
} loc(unknown)
