// RUN: spa-opt %s -p spa-propagate-channels,spa-form-groups | filecheck %s
// Attention groups: a head (channel k of the heads group) is rows 4k .. 4k+3 of q, k and v and columns
// 4k .. 4k+3 of o; a q/k head-dim channel is one row in every head (count 2, period 4), inexact; a v
// head-dim channel likewise in v's rows and o's columns, exact. Input as in
// spa-propagate-channels/attention.mlir.

// CHECK: spa.group @g{{[0-9]+}} {size = 2 : i64, space = "s{{[0-9]+}}", members = [#spa.member<"q.weight"[0], stride 4, block 4>, #spa.member<"q.bias"[0], stride 4, block 4>, #spa.member<"k.weight"[0], stride 4, block 4>, #spa.member<"k.bias"[0], stride 4, block 4>, #spa.member<"v.weight"[0], stride 4, block 4>, #spa.member<"v.bias"[0], stride 4, block 4>, #spa.member<"o.weight"[1], stride 4, block 4>], exact = true}
// CHECK-NEXT: spa.group @g{{[0-9]+}} {size = 4 : i64, space = "s{{[0-9]+}}", members = [#spa.member<"q.weight"[0], count 2, period 4>, #spa.member<"q.bias"[0], count 2, period 4>, #spa.member<"k.weight"[0], count 2, period 4>, #spa.member<"k.bias"[0], count 2, period 4>], exact = false, inexact = [#spa.reason<"attention head dim sets the softmax scale", "torch.aten.scaled_dot_product_attention">]}
// CHECK-NEXT: spa.group @g{{[0-9]+}} {size = 4 : i64, space = "s{{[0-9]+}}", members = [#spa.member<"v.weight"[0], count 2, period 4>, #spa.member<"v.bias"[0], count 2, period 4>, #spa.member<"o.weight"[1], count 2, period 4>], exact = true}
func.func @attention(%x: !torch.vtensor<[1,3,8],f32>) -> !torch.vtensor<[1,3,8],f32> {
  %q_weight = spa.param "q.weight" = dense<0.5> : tensor<8x8xf32> : !torch.vtensor<[8,8],f32>
  %q_bias = spa.param "q.bias" = dense<0.5> : tensor<8xf32> : !torch.vtensor<[8],f32>
  %q = torch.aten.linear %x, %q_weight, %q_bias : !torch.vtensor<[1,3,8],f32>, !torch.vtensor<[8,8],f32>, !torch.vtensor<[8],f32> -> !torch.vtensor<[1,3,8],f32>
  %int1 = torch.constant.int 1
  %int3 = torch.constant.int 3
  %int2 = torch.constant.int 2
  %int4 = torch.constant.int 4
  %0 = torch.prim.ListConstruct %int1, %int3, %int2, %int4 : (!torch.int, !torch.int, !torch.int, !torch.int) -> !torch.list<int>
  %view = torch.aten.view %q, %0 : !torch.vtensor<[1,3,8],f32>, !torch.list<int> -> !torch.vtensor<[1,3,2,4],f32>
  %transpose = torch.aten.transpose.int %view, %int1, %int2 : !torch.vtensor<[1,3,2,4],f32>, !torch.int, !torch.int -> !torch.vtensor<[1,2,3,4],f32>
  %k_weight = spa.param "k.weight" = dense<0.5> : tensor<8x8xf32> : !torch.vtensor<[8,8],f32>
  %k_bias = spa.param "k.bias" = dense<0.5> : tensor<8xf32> : !torch.vtensor<[8],f32>
  %k = torch.aten.linear %x, %k_weight, %k_bias : !torch.vtensor<[1,3,8],f32>, !torch.vtensor<[8,8],f32>, !torch.vtensor<[8],f32> -> !torch.vtensor<[1,3,8],f32>
  %view_1 = torch.aten.view %k, %0 : !torch.vtensor<[1,3,8],f32>, !torch.list<int> -> !torch.vtensor<[1,3,2,4],f32>
  %transpose_1 = torch.aten.transpose.int %view_1, %int1, %int2 : !torch.vtensor<[1,3,2,4],f32>, !torch.int, !torch.int -> !torch.vtensor<[1,2,3,4],f32>
  %v_weight = spa.param "v.weight" = dense<0.5> : tensor<8x8xf32> : !torch.vtensor<[8,8],f32>
  %v_bias = spa.param "v.bias" = dense<0.5> : tensor<8xf32> : !torch.vtensor<[8],f32>
  %v = torch.aten.linear %x, %v_weight, %v_bias : !torch.vtensor<[1,3,8],f32>, !torch.vtensor<[8,8],f32>, !torch.vtensor<[8],f32> -> !torch.vtensor<[1,3,8],f32>
  %view_2 = torch.aten.view %v, %0 : !torch.vtensor<[1,3,8],f32>, !torch.list<int> -> !torch.vtensor<[1,3,2,4],f32>
  %transpose_2 = torch.aten.transpose.int %view_2, %int1, %int2 : !torch.vtensor<[1,3,2,4],f32>, !torch.int, !torch.int -> !torch.vtensor<[1,2,3,4],f32>
  %none = torch.constant.none
  %float0.000000e00 = torch.constant.float 0.000000e+00
  %false = torch.constant.bool false
  %sdpa = torch.aten.scaled_dot_product_attention %transpose, %transpose_1, %transpose_2, %none, %float0.000000e00, %false, %none, %false : !torch.vtensor<[1,2,3,4],f32>, !torch.vtensor<[1,2,3,4],f32>, !torch.vtensor<[1,2,3,4],f32>, !torch.none, !torch.float, !torch.bool, !torch.none, !torch.bool -> !torch.vtensor<[1,2,3,4],f32>
  %transpose_3 = torch.aten.transpose.int %sdpa, %int1, %int2 : !torch.vtensor<[1,2,3,4],f32>, !torch.int, !torch.int -> !torch.vtensor<[1,3,2,4],f32>
  %int8 = torch.constant.int 8
  %1 = torch.prim.ListConstruct %int1, %int3, %int8 : (!torch.int, !torch.int, !torch.int) -> !torch.list<int>
  %view_3 = torch.aten.view %transpose_3, %1 : !torch.vtensor<[1,3,2,4],f32>, !torch.list<int> -> !torch.vtensor<[1,3,8],f32>
  %o_weight = spa.param "o.weight" = dense<0.5> : tensor<8x8xf32> : !torch.vtensor<[8,8],f32>
  %o_bias = spa.param "o.bias" = dense<0.5> : tensor<8xf32> : !torch.vtensor<[8],f32>
  %o = torch.aten.linear %view_3, %o_weight, %o_bias : !torch.vtensor<[1,3,8],f32>, !torch.vtensor<[8,8],f32>, !torch.vtensor<[8],f32> -> !torch.vtensor<[1,3,8],f32>
  return %o : !torch.vtensor<[1,3,8],f32>
}
