// RUN: spa-opt %s -p spa-propagate-channels,spa-form-groups | filecheck %s
// jax2onnx's dot_general as Einsum: tests/unit/test_onnx_patterns.py's einsum (batch "N"), imported by
// `spa-translate --import-onnx`, weights inlined as splats. Flax's Dense is `...i,ij->...j` (the ellipsis the
// batch and sequence dims), DenseGeneral into heads `bld,dhk->blhk` and out of them `...hk,hkd->...d`: letters
// couple dims across operands, so the heads and the head dims are groups of the in- and out-projections
// (contracted over zero channels of the weights: exact).

// CHECK: spa.group @g{{[0-9]+}} {size = 16 : i64, {{.*}}frozen = [#spa.reason<"model input">]}
// CHECK-NEXT: spa.group @g{{[0-9]+}} {size = 32 : i64, space = "[[D:s[0-9]+]]", members = [#spa.member<"d1.kernel"[1]>, #spa.member<"d1.bias"[0]>, #spa.member<"qkv.kernel"[0]>], exact = true}
// CHECK-NEXT: spa.group @g{{[0-9]+}} {size = 2 : i64, space = "[[H:s[0-9]+]]", members = [#spa.member<"qkv.kernel"[1]>, #spa.member<"o.kernel"[0]>], exact = true}
// CHECK-NEXT: spa.group @g{{[0-9]+}} {size = 6 : i64, space = "[[K:s[0-9]+]]", members = [#spa.member<"qkv.kernel"[2]>, #spa.member<"o.kernel"[1]>], exact = true}
// CHECK-NEXT: spa.group @g{{[0-9]+}} {size = 8 : i64, {{.*}}frozen = [#spa.reason<"model output">]}
// CHECK: torch.constant.str "...hk,hkd->...d"
// CHECK: torch.constant.str "bld,dhk->blhk"
// CHECK: torch.constant.str "...i,ij->...j"
// CHECK: torch.aten.einsum {{.*}}#spa.dims<[_, s{{[0-9]+}}, [[D]]]>{{.*}}loc("Einsum_1")
// CHECK: torch.aten.einsum {{.*}}#spa.dims<[_, s{{[0-9]+}}, [[H]], [[K]]]>{{.*}}loc("Einsum_4")
// CHECK: torch.aten.einsum {{.*}}#spa.dims<[_, s{{[0-9]+}}, s{{[0-9]+}}]>{{.*}}loc("Einsum_6")

builtin.module attributes {spa.onnx_source = {path = "einsum.onnx", sha256 = "a21d4fce46fbe42aad25f5aea9852a4aa720f296b168f989f1e027fd38e77cde"}} {
  func.func @main(%0: !torch.vtensor<[?,5,16],f32> loc(unknown)) -> !torch.vtensor<[?,5,8],f32> attributes {spa.input_names = ["x"], torch.onnx_meta.ir_version = 8 : si64, torch.onnx_meta.opset_version = 17 : si64, torch.onnx_meta.producer_name = "", torch.onnx_meta.producer_version = ""} {
    %1 = spa.param "d1.kernel" = dense<5.000000e-01> : tensor<16x32xf32> : !torch.vtensor<[16,32],f32> loc("d1.kernel")
    %2 = spa.param "d1.bias" = dense<5.000000e-01> : tensor<32xf32> : !torch.vtensor<[32],f32> loc("d1.bias")
    %3 = spa.param "qkv.kernel" = dense<5.000000e-01> : tensor<32x2x6xf32> : !torch.vtensor<[32,2,6],f32> loc("qkv.kernel")
    %4 = spa.param "o.kernel" = dense<5.000000e-01> : tensor<2x6x8xf32> : !torch.vtensor<[2,6,8],f32> loc("o.kernel")
    %str = torch.constant.str "...hk,hkd->...d" loc("Einsum_6")
    %str_1 = torch.constant.str "bld,dhk->blhk" loc("Einsum_4")
    %int1 = torch.constant.int 1 loc("Add_2")
    %str_2 = torch.constant.str "...i,ij->...j" loc("Einsum_1")
    %none = torch.constant.none loc(unknown)
    %5 = torch.prim.ListConstruct %0, %1 : (!torch.vtensor<[?,5,16],f32>, !torch.vtensor<[16,32],f32>) -> !torch.list<vtensor> loc("Einsum_1")
    %6 = torch.aten.einsum %str_2, %5, %none : !torch.str, !torch.list<vtensor>, !torch.none -> !torch.vtensor<[?,5,32],f32> loc("Einsum_1")
    %7 = torch.aten.add.Tensor %6, %2, %int1 : !torch.vtensor<[?,5,32],f32>, !torch.vtensor<[32],f32>, !torch.int -> !torch.vtensor<[?,5,32],f32> loc("Add_2")
    %8 = torch.aten.relu %7 : !torch.vtensor<[?,5,32],f32> -> !torch.vtensor<[?,5,32],f32> loc("Relu_3")
    %9 = torch.prim.ListConstruct %8, %3 : (!torch.vtensor<[?,5,32],f32>, !torch.vtensor<[32,2,6],f32>) -> !torch.list<vtensor> loc("Einsum_4")
    %10 = torch.aten.einsum %str_1, %9, %none : !torch.str, !torch.list<vtensor>, !torch.none -> !torch.vtensor<[?,5,2,6],f32> loc("Einsum_4")
    %11 = torch.aten.relu %10 : !torch.vtensor<[?,5,2,6],f32> -> !torch.vtensor<[?,5,2,6],f32> loc("Relu_5")
    %12 = torch.prim.ListConstruct %11, %4 : (!torch.vtensor<[?,5,2,6],f32>, !torch.vtensor<[2,6,8],f32>) -> !torch.list<vtensor> loc("Einsum_6")
    %13 = torch.aten.einsum %str, %12, %none : !torch.str, !torch.list<vtensor>, !torch.none -> !torch.vtensor<[?,5,8],f32> loc("Einsum_6")
    func.return %13 : !torch.vtensor<[?,5,8],f32> loc(unknown)
  } loc("graph:pattern")
} loc(unknown)
