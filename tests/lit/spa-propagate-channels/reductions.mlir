// RUN: spa-opt %s -p spa-propagate-channels | filecheck %s
// Reductions. Over non-channel dims (mean over H, W) the channel dim passes through: c1's channels
// reach the head's columns and stay exact. Over the channel dim the result holds no channel, and the
// reduced space is marked inexact unless removing equals zeroing: a sum of c1's output (zero on
// removed channels) is exact; a sum of sigmoid(c2) is not (sigmoid(0) = 0.5), nor are a mean (the
// count changes) or a max over c3's channels.
// IR from tests/lit/Inputs/tiny_models.py: reductions (input 1,2,3,3).

// CHECK-DAG: spa.space @s[[C1:[0-9]+]] {size = 4 : i64, origin = "c1.weight[0]"}{{$}}
// CHECK-DAG: spa.space @s[[C2:[0-9]+]] {size = 5 : i64, origin = "c2.weight[0]", inexact = [#spa.reason<"sum over channels", "torch.aten.sum.dim_IntList">]}
// CHECK-DAG: spa.space @s[[C3:[0-9]+]] {size = 6 : i64, origin = "c3.weight[0]", inexact = [#spa.reason<"mean over channels", "torch.aten.mean.dim">, #spa.reason<"max over channels", "torch.aten.amax">]}
// CHECK: %c1 = torch.aten.conv2d {{.*}} {spa.dims = [#spa.dims<[_, s[[C1]], _, _]>]}
// CHECK: %sum = torch.aten.sum.dim_IntList %c1, {{.*}} {spa.dims = [#spa.dims<[_, _, _, _]>]}
// CHECK: %sigmoid = torch.aten.sigmoid %c2 {spa.dims = [#spa.dims<[_, s[[C2]], _, _]>]}
// CHECK: %sum_1 = torch.aten.sum.dim_IntList %sigmoid, {{.*}} {spa.dims = [#spa.dims<[_, _, _, _]>]}
// CHECK: %mean = torch.aten.mean.dim %c3, {{.*}} {spa.dims = [#spa.dims<[_, _, _, _]>]}
// CHECK: %amax = torch.aten.amax %c3, {{.*}} {spa.dims = [#spa.dims<[_, _, _, _]>]}
// CHECK: %mean_1 = torch.aten.mean.dim %c1, {{.*}} {spa.dims = [#spa.dims<[_, s[[C1]]]>]}
// CHECK: spa.param "head.weight" {{.*}} {spa.dims = [#spa.dims<[s{{[0-9]+}}, s[[C1]]]>]}
func.func @reductions(%x: !torch.vtensor<[1,2,3,3],f32>) -> !torch.vtensor<[1,3],f32> {
  %c1_weight = spa.param "c1.weight" = dense<0.5> : tensor<4x2x1x1xf32> : !torch.vtensor<[4,2,1,1],f32>
  %c1_bias = spa.param "c1.bias" = dense<0.5> : tensor<4xf32> : !torch.vtensor<[4],f32>
  %int1 = torch.constant.int 1
  %0 = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int>
  %int0 = torch.constant.int 0
  %1 = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int>
  %c1 = torch.aten.conv2d %x, %c1_weight, %c1_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,2,3,3],f32>, !torch.vtensor<[4,2,1,1],f32>, !torch.vtensor<[4],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,4,3,3],f32>
  %2 = torch.prim.ListConstruct %int1 : (!torch.int) -> !torch.list<int>
  %true = torch.constant.bool true
  %none = torch.constant.none
  %sum = torch.aten.sum.dim_IntList %c1, %2, %true, %none : !torch.vtensor<[1,4,3,3],f32>, !torch.list<int>, !torch.bool, !torch.none -> !torch.vtensor<[1,1,3,3],f32>
  %c2_weight = spa.param "c2.weight" = dense<0.5> : tensor<5x2x1x1xf32> : !torch.vtensor<[5,2,1,1],f32>
  %c2_bias = spa.param "c2.bias" = dense<0.5> : tensor<5xf32> : !torch.vtensor<[5],f32>
  %c2 = torch.aten.conv2d %x, %c2_weight, %c2_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,2,3,3],f32>, !torch.vtensor<[5,2,1,1],f32>, !torch.vtensor<[5],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,5,3,3],f32>
  %sigmoid = torch.aten.sigmoid %c2 : !torch.vtensor<[1,5,3,3],f32> -> !torch.vtensor<[1,5,3,3],f32>
  %sum_1 = torch.aten.sum.dim_IntList %sigmoid, %2, %true, %none : !torch.vtensor<[1,5,3,3],f32>, !torch.list<int>, !torch.bool, !torch.none -> !torch.vtensor<[1,1,3,3],f32>
  %c3_weight = spa.param "c3.weight" = dense<0.5> : tensor<6x2x1x1xf32> : !torch.vtensor<[6,2,1,1],f32>
  %c3_bias = spa.param "c3.bias" = dense<0.5> : tensor<6xf32> : !torch.vtensor<[6],f32>
  %c3 = torch.aten.conv2d %x, %c3_weight, %c3_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,2,3,3],f32>, !torch.vtensor<[6,2,1,1],f32>, !torch.vtensor<[6],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,6,3,3],f32>
  %mean = torch.aten.mean.dim %c3, %2, %true, %none : !torch.vtensor<[1,6,3,3],f32>, !torch.list<int>, !torch.bool, !torch.none -> !torch.vtensor<[1,1,3,3],f32>
  %amax = torch.aten.amax %c3, %2, %true : !torch.vtensor<[1,6,3,3],f32>, !torch.list<int>, !torch.bool -> !torch.vtensor<[1,1,3,3],f32>
  %add = torch.aten.add.Tensor %mean, %amax, %int1 : !torch.vtensor<[1,1,3,3],f32>, !torch.vtensor<[1,1,3,3],f32>, !torch.int -> !torch.vtensor<[1,1,3,3],f32>
  %int2 = torch.constant.int 2
  %int3 = torch.constant.int 3
  %3 = torch.prim.ListConstruct %int2, %int3 : (!torch.int, !torch.int) -> !torch.list<int>
  %false = torch.constant.bool false
  %mean_1 = torch.aten.mean.dim %c1, %3, %false, %none : !torch.vtensor<[1,4,3,3],f32>, !torch.list<int>, !torch.bool, !torch.none -> !torch.vtensor<[1,4],f32>
  %head_weight = spa.param "head.weight" = dense<0.5> : tensor<3x4xf32> : !torch.vtensor<[3,4],f32>
  %head_bias = spa.param "head.bias" = dense<0.5> : tensor<3xf32> : !torch.vtensor<[3],f32>
  %head = torch.aten.linear %mean_1, %head_weight, %head_bias : !torch.vtensor<[1,4],f32>, !torch.vtensor<[3,4],f32>, !torch.vtensor<[3],f32> -> !torch.vtensor<[1,3],f32>
  %add_1 = torch.aten.add.Tensor %sum, %sum_1, %int1 : !torch.vtensor<[1,1,3,3],f32>, !torch.vtensor<[1,1,3,3],f32>, !torch.int -> !torch.vtensor<[1,1,3,3],f32>
  %add_2 = torch.aten.add.Tensor %add_1, %add, %int1 : !torch.vtensor<[1,1,3,3],f32>, !torch.vtensor<[1,1,3,3],f32>, !torch.int -> !torch.vtensor<[1,1,3,3],f32>
  %mean_2 = torch.aten.mean.dim %add_2, %3, %false, %none : !torch.vtensor<[1,1,3,3],f32>, !torch.list<int>, !torch.bool, !torch.none -> !torch.vtensor<[1,1],f32>
  %add_3 = torch.aten.add.Tensor %head, %mean_2, %int1 : !torch.vtensor<[1,3],f32>, !torch.vtensor<[1,1],f32>, !torch.int -> !torch.vtensor<[1,3],f32>
  return %add_3 : !torch.vtensor<[1,3],f32>
}
