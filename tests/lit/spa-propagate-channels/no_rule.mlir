// RUN: spa-opt %s -p spa-propagate-channels | filecheck %s
// An op with no channel rule (aten.cumsum here) is handled conservatively: every channel reaching it is
// frozen, with the op's name and location (the nn.Module that ran it) in the reason, and its result
// holds no channel, so the next conv's input columns are frozen too. Nothing is pruned across an op
// spa does not understand. IR from tests/lit/Inputs/tiny_models.py: no_rule (input 1,2,3,3), with the
// locations kept on the three ops.

// CHECK-DAG: spa.space @s[[C1:[0-9]+]] {size = 4 : i64, origin = "c1.weight[0]", frozen = [#spa.reason<"no channel rule for op", "torch.aten.cumsum", "acc">]}
// CHECK-DAG: spa.space @s[[C2IN:[0-9]+]] {size = 4 : i64, origin = "c2.weight[1]", frozen = [#spa.reason<"meets a dim without channels (a constant, or frozen upstream)", "torch.aten.conv2d", "c2">]}
// CHECK: %c1 = torch.aten.conv2d {{.*}} {spa.dims = [#spa.dims<[_, s[[C1]], _, _]>]} {{.*}} loc("c1")
// CHECK: %acc = torch.aten.cumsum %c1, %int2, %none {spa.dims = [#spa.dims<[_, _, _, _]>]} {{.*}} loc("acc")
// CHECK: spa.param "c2.weight" {{.*}} {spa.dims = [#spa.dims<[s{{[0-9]+}}, s[[C2IN]], _, _]>]}
func.func @no_rule(%x: !torch.vtensor<[1,2,3,3],f32>) -> !torch.vtensor<[1,3,3,3],f32> {
  %c1_weight = spa.param "c1.weight" = dense<0.5> : tensor<4x2x1x1xf32> : !torch.vtensor<[4,2,1,1],f32>
  %c1_bias = spa.param "c1.bias" = dense<0.5> : tensor<4xf32> : !torch.vtensor<[4],f32>
  %int1 = torch.constant.int 1
  %0 = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int>
  %int0 = torch.constant.int 0
  %1 = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int>
  %c1 = torch.aten.conv2d %x, %c1_weight, %c1_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,2,3,3],f32>, !torch.vtensor<[4,2,1,1],f32>, !torch.vtensor<[4],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,4,3,3],f32> loc("c1")
  %int2 = torch.constant.int 2
  %none = torch.constant.none
  %acc = torch.aten.cumsum %c1, %int2, %none : !torch.vtensor<[1,4,3,3],f32>, !torch.int, !torch.none -> !torch.vtensor<[1,4,3,3],f32> loc("acc")
  %c2_weight = spa.param "c2.weight" = dense<0.5> : tensor<3x4x1x1xf32> : !torch.vtensor<[3,4,1,1],f32>
  %c2_bias = spa.param "c2.bias" = dense<0.5> : tensor<3xf32> : !torch.vtensor<[3],f32>
  %c2 = torch.aten.conv2d %acc, %c2_weight, %c2_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,4,3,3],f32>, !torch.vtensor<[3,4,1,1],f32>, !torch.vtensor<[3],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,3,3,3],f32> loc("c2")
  return %c2 : !torch.vtensor<[1,3,3,3],f32>
}
