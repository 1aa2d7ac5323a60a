// RUN: spa-opt --split-input-file %s -p spa-propagate-channels | filecheck %s
// Grouped convolution: with g groups the input channels are `groups x per-group-input` and the output
// channels `groups x per-group-output`; the groups space is shared by both sides (and by the layer
// that produced the input), so a whole group can go, or the same channels in every group, never a
// ragged set. Depthwise (groups = channels, weight [C, 1, k, k]) couples input and output channels
// one to one. Without this, a pruned grouped conv would mix channels across groups.
// IR from tests/lit/Inputs/tiny_models.py: grouped_conv, depthwise_conv (input 1,2,4,4).

// CHECK-LABEL: builtin.module
// CHECK-DAG: spa.space @s[[PIN:[0-9]+]] {size = 4 : i64, origin = "g.weight[1]"}
// CHECK-DAG: spa.space @s[[G:[0-9]+]] {size = 2 : i64, origin = "torch.aten.conv2d groups"}
// CHECK-DAG: spa.space @s[[POUT:[0-9]+]] {size = 3 : i64, origin = "torch.aten.conv2d"}
// CHECK-DAG: spa.space @s[[OUT:[0-9]+]] {size = 3 : i64, origin = "c3.weight[0]", frozen = [#spa.reason<"model output">]}
// CHECK: func.func @grouped
// CHECK: spa.param "c1.weight" {{.*}} {spa.dims = [#spa.dims<[s[[G]] x s[[PIN]], s{{[0-9]+}}, _, _]>]}
// CHECK: torch.aten.conv2d %x, {{.*}} {spa.dims = [#spa.dims<[_, s[[G]] x s[[PIN]], _, _]>]}
// CHECK: spa.param "g.weight" {{.*}} {spa.dims = [#spa.dims<[s[[G]] x s[[POUT]], s[[PIN]], _, _]>]}
// CHECK: spa.param "g.bias" {{.*}} {spa.dims = [#spa.dims<[s[[G]] x s[[POUT]]]>]}
// CHECK: %g = torch.aten.conv2d {{.*}} {spa.dims = [#spa.dims<[_, s[[G]] x s[[POUT]], _, _]>]}
// CHECK: spa.param "c3.weight" {{.*}} {spa.dims = [#spa.dims<[s[[OUT]], s[[G]] x s[[POUT]], _, _]>]}
func.func @grouped(%x: !torch.vtensor<[1,2,4,4],f32>) -> !torch.vtensor<[1,3,4,4],f32> {
  %c1_weight = spa.param "c1.weight" = dense<0.5> : tensor<8x2x1x1xf32> : !torch.vtensor<[8,2,1,1],f32>
  %c1_bias = spa.param "c1.bias" = dense<0.5> : tensor<8xf32> : !torch.vtensor<[8],f32>
  %int1 = torch.constant.int 1
  %0 = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int>
  %int0 = torch.constant.int 0
  %1 = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int>
  %c1 = torch.aten.conv2d %x, %c1_weight, %c1_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,2,4,4],f32>, !torch.vtensor<[8,2,1,1],f32>, !torch.vtensor<[8],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,8,4,4],f32>
  %g_weight = spa.param "g.weight" = dense<0.5> : tensor<6x4x1x1xf32> : !torch.vtensor<[6,4,1,1],f32>
  %g_bias = spa.param "g.bias" = dense<0.5> : tensor<6xf32> : !torch.vtensor<[6],f32>
  %int2 = torch.constant.int 2
  %g = torch.aten.conv2d %c1, %g_weight, %g_bias, %0, %1, %0, %int2 : !torch.vtensor<[1,8,4,4],f32>, !torch.vtensor<[6,4,1,1],f32>, !torch.vtensor<[6],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,6,4,4],f32>
  %c3_weight = spa.param "c3.weight" = dense<0.5> : tensor<3x6x1x1xf32> : !torch.vtensor<[3,6,1,1],f32>
  %c3_bias = spa.param "c3.bias" = dense<0.5> : tensor<3xf32> : !torch.vtensor<[3],f32>
  %c3 = torch.aten.conv2d %g, %c3_weight, %c3_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,6,4,4],f32>, !torch.vtensor<[3,6,1,1],f32>, !torch.vtensor<[3],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,3,4,4],f32>
  return %c3 : !torch.vtensor<[1,3,4,4],f32>
}

// -----

// CHECK-LABEL: builtin.module
// CHECK-DAG: spa.space @s[[C:[0-9]+]] {size = 4 : i64, origin = "c1.weight[0]"}
// CHECK-DAG: spa.space @s[[OUT2:[0-9]+]] {size = 3 : i64, origin = "c3.weight[0]", frozen = [#spa.reason<"model output">]}
// CHECK: func.func @depthwise
// CHECK: spa.param "c1.weight" {{.*}} {spa.dims = [#spa.dims<[s[[C]], s{{[0-9]+}}, _, _]>]}
// CHECK: spa.param "dw.weight" {{.*}} {spa.dims = [#spa.dims<[s[[C]], _, s{{[0-9]+}}, s{{[0-9]+}}]>]}
// CHECK: spa.param "dw.bias" {{.*}} {spa.dims = [#spa.dims<[s[[C]]]>]}
// CHECK: %dw = torch.aten.conv2d {{.*}} {spa.dims = [#spa.dims<[_, s[[C]], _, _]>]}
// CHECK: spa.param "c3.weight" {{.*}} {spa.dims = [#spa.dims<[s[[OUT2]], s[[C]], _, _]>]}
func.func @depthwise(%x: !torch.vtensor<[1,2,4,4],f32>) -> !torch.vtensor<[1,3,4,4],f32> {
  %c1_weight = spa.param "c1.weight" = dense<0.5> : tensor<4x2x1x1xf32> : !torch.vtensor<[4,2,1,1],f32>
  %c1_bias = spa.param "c1.bias" = dense<0.5> : tensor<4xf32> : !torch.vtensor<[4],f32>
  %int1 = torch.constant.int 1
  %0 = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int>
  %int0 = torch.constant.int 0
  %1 = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int>
  %c1 = torch.aten.conv2d %x, %c1_weight, %c1_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,2,4,4],f32>, !torch.vtensor<[4,2,1,1],f32>, !torch.vtensor<[4],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,4,4,4],f32>
  %dw_weight = spa.param "dw.weight" = dense<0.5> : tensor<4x1x3x3xf32> : !torch.vtensor<[4,1,3,3],f32>
  %dw_bias = spa.param "dw.bias" = dense<0.5> : tensor<4xf32> : !torch.vtensor<[4],f32>
  %int4 = torch.constant.int 4
  %dw = torch.aten.conv2d %c1, %dw_weight, %dw_bias, %0, %0, %0, %int4 : !torch.vtensor<[1,4,4,4],f32>, !torch.vtensor<[4,1,3,3],f32>, !torch.vtensor<[4],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,4,4,4],f32>
  %c3_weight = spa.param "c3.weight" = dense<0.5> : tensor<3x4x1x1xf32> : !torch.vtensor<[3,4,1,1],f32>
  %c3_bias = spa.param "c3.bias" = dense<0.5> : tensor<3xf32> : !torch.vtensor<[3],f32>
  %c3 = torch.aten.conv2d %dw, %c3_weight, %c3_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,4,4,4],f32>, !torch.vtensor<[3,4,1,1],f32>, !torch.vtensor<[3],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,3,4,4],f32>
  return %c3 : !torch.vtensor<[1,3,4,4],f32>
}
