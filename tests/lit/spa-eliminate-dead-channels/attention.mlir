// RUN: spa-opt %s -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance,spa-select-channels{ratio=0.5},spa-eliminate-dead-channels' | filecheck %s
// RUN: spa-opt %s -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance,spa-select-channels{ratio=0.5 only-exact=true},spa-eliminate-dead-channels' | filecheck %s --check-prefix=EXACT
// Pruning attention rewrites the head count and head dims in the reshapes. At ratio 0.5: 1 of 2 heads
// and half of each head dim go, so the views [1, 3, 2, 4] become [1, 3, 1, 2] and the merge view
// [1, 3, 8] becomes [1, 3, 2]. With only-exact the q/k head dim (inexact) stays: q and k views become
// [1, 3, 1, 4] while v's becomes [1, 3, 1, 2], so the one shape list the three views shared is
// replaced by a new list per view. Input as in spa-propagate-channels/attention.mlir.

// CHECK: spa.param "q.weight" {{.*}} : !torch.vtensor<[2,8],f32>
// CHECK: %0 = torch.prim.ListConstruct %int1, %int3, %int2, %int4 :
// CHECK-NEXT: %[[QH:.*]] = torch.constant.int 1
// CHECK-NEXT: %[[QE:.*]] = torch.constant.int 2
// CHECK-NEXT: %[[QS:.*]] = torch.prim.ListConstruct %int1, %int3, %[[QH]], %[[QE]] :
// CHECK-NEXT: %view = torch.aten.view %q, %[[QS]] : !torch.vtensor<[1,3,2],f32>, !torch.list<int> -> !torch.vtensor<[1,3,1,2],f32>
// CHECK: spa.param "k.weight" {{.*}} : !torch.vtensor<[2,8],f32>
// CHECK: %view_1 = torch.aten.view %k, {{.*}} -> !torch.vtensor<[1,3,1,2],f32>
// CHECK: spa.param "v.weight" {{.*}} : !torch.vtensor<[2,8],f32>
// CHECK: %view_2 = torch.aten.view %v, {{.*}} -> !torch.vtensor<[1,3,1,2],f32>
// CHECK: %sdpa = torch.aten.scaled_dot_product_attention {{.*}} : !torch.vtensor<[1,1,3,2],f32>, !torch.vtensor<[1,1,3,2],f32>, !torch.vtensor<[1,1,3,2],f32>, {{.*}} -> !torch.vtensor<[1,1,3,2],f32>
// CHECK: %[[M:.*]] = torch.constant.int 2
// CHECK-NEXT: %[[MS:.*]] = torch.prim.ListConstruct %int1, %int3, %[[M]] : (!torch.int, !torch.int, !torch.int) -> !torch.list<int>
// CHECK-NEXT: %view_3 = torch.aten.view %transpose_3, %[[MS]] : !torch.vtensor<[1,3,1,2],f32>, !torch.list<int> -> !torch.vtensor<[1,3,2],f32>
// CHECK: spa.param "o.weight" {{.*}} : !torch.vtensor<[8,2],f32>

// EXACT: spa.param "q.weight" {{.*}} : !torch.vtensor<[4,8],f32>
// EXACT: %0 = torch.prim.ListConstruct %int1, %int3, %int2, %int4 :
// EXACT-NEXT: %[[H:.*]] = torch.constant.int 1
// EXACT-NEXT: %[[QS:.*]] = torch.prim.ListConstruct %int1, %int3, %[[H]], %int4 :
// EXACT-NEXT: %view = torch.aten.view %q, %[[QS]] : !torch.vtensor<[1,3,4],f32>, !torch.list<int> -> !torch.vtensor<[1,3,1,4],f32>
// EXACT: spa.param "k.weight" {{.*}} : !torch.vtensor<[4,8],f32>
// EXACT: %view_1 = torch.aten.view %k, {{.*}} -> !torch.vtensor<[1,3,1,4],f32>
// EXACT: spa.param "v.weight" {{.*}} : !torch.vtensor<[2,8],f32>
// EXACT: %[[VH:.*]] = torch.constant.int 1
// EXACT-NEXT: %[[VE:.*]] = torch.constant.int 2
// EXACT-NEXT: %[[VS:.*]] = torch.prim.ListConstruct %int1, %int3, %[[VH]], %[[VE]] :
// EXACT-NEXT: %view_2 = torch.aten.view %v, %[[VS]] : !torch.vtensor<[1,3,2],f32>, !torch.list<int> -> !torch.vtensor<[1,3,1,2],f32>
// EXACT: %view_3 = torch.aten.view %transpose_3, {{.*}} -> !torch.vtensor<[1,3,2],f32>
// EXACT: spa.param "o.weight" {{.*}} : !torch.vtensor<[8,2],f32>
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
