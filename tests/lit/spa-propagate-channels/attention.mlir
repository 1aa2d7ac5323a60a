// RUN: spa-opt %s -p spa-propagate-channels | filecheck %s
// Multi-head attention built from linear + view + transpose + scaled_dot_product_attention (2 heads of
// 4). Each projection's 8 outputs are refined into `heads x head_dim` by the view: the heads are one
// space for q, k, v and the output projection's columns (a head is pruned everywhere or nowhere); q and
// k share their head dim (they are contracted), marked inexact since the default softmax scale is
// 1/sqrt(head_dim); v's head dim is its own space and reaches o's columns as `heads x v_head_dim`.
// IR from tests/lit/Inputs/tiny_models.py: attention (input 1,3,8).

// CHECK-DAG: spa.space @s[[H:[0-9]+]] {size = 2 : i64, origin = "torch.aten.view"}{{$}}
// CHECK-DAG: spa.space @s[[E:[0-9]+]] {size = 4 : i64, origin = "torch.aten.view", inexact = [#spa.reason<"attention head dim sets the softmax scale", "torch.aten.scaled_dot_product_attention">]}
// CHECK-DAG: spa.space @s[[EV:[0-9]+]] {size = 4 : i64, origin = "torch.aten.view"}{{$}}
// CHECK: spa.param "q.weight" {{.*}} {spa.dims = [#spa.dims<[s[[H]] x s[[E]], s[[IN:[0-9]+]]]>]}
// CHECK: torch.aten.linear %x, %q_weight, {{.*}} {spa.dims = [#spa.dims<[_, s[[SEQ:[0-9]+]], s[[H]] x s[[E]]]>]}
// CHECK: %view = torch.aten.view %q, %0 {spa.dims = [#spa.dims<[_, s[[SEQ]], s[[H]], s[[E]]]>]}
// CHECK: %transpose = torch.aten.transpose.int %view, %int1, %int2 {spa.dims = [#spa.dims<[_, s[[H]], s[[SEQ]], s[[E]]]>]}
// CHECK: spa.param "k.weight" {{.*}} {spa.dims = [#spa.dims<[s[[H]] x s[[E]], s[[IN]]]>]}
// CHECK: %transpose_1 = {{.*}} {spa.dims = [#spa.dims<[_, s[[H]], s[[SEQ]], s[[E]]]>]}
// CHECK: spa.param "v.weight" {{.*}} {spa.dims = [#spa.dims<[s[[H]] x s[[EV]], s[[IN]]]>]}
// CHECK: %transpose_2 = {{.*}} {spa.dims = [#spa.dims<[_, s[[H]], s[[SEQ]], s[[EV]]]>]}
// CHECK: %sdpa = torch.aten.scaled_dot_product_attention {{.*}} {spa.dims = [#spa.dims<[_, s[[H]], s[[SEQ]], s[[EV]]]>]}
// CHECK: %transpose_3 = {{.*}} {spa.dims = [#spa.dims<[_, s[[SEQ]], s[[H]], s[[EV]]]>]}
// CHECK: %view_3 = torch.aten.view %transpose_3, %1 {spa.dims = [#spa.dims<[_, s[[SEQ]], s[[H]] x s[[EV]]]>]}
// CHECK: spa.param "o.weight" {{.*}} {spa.dims = [#spa.dims<[s{{[0-9]+}}, s[[H]] x s[[EV]]]>]}
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
