// RUN: spa-opt --split-input-file %s -p spa-propagate-channels | filecheck %s
// Transposed convolution stores its weight the other way round, [Cin, Cout/groups, k, k]: the input's
// channels couple to weight dim 0 and the output's to weight dim 1 (and the bias). With groups, dim 0
// is `groups x per-group-input` and the output `groups x per-group-output` (weight dim 1). Getting the
// dims swapped would slice the wrong axis of the weight.
// IR from tests/lit/Inputs/tiny_models.py: transposed_conv (input 1,2,2,2); the second function is
// the same with ConvTranspose2d(4, 6, 2, stride=2, groups=2), edited by hand.

// CHECK-LABEL: builtin.module
// CHECK-DAG: spa.space @s[[C:[0-9]+]] {size = 4 : i64, origin = "c1.weight[0]"}
// CHECK-DAG: spa.space @s[[UP:[0-9]+]] {size = 6 : i64, origin = "up.weight[1]"}
// CHECK-DAG: spa.space @s[[OUT:[0-9]+]] {size = 3 : i64, origin = "c3.weight[0]", frozen = [#spa.reason<"model output">]}
// CHECK: func.func @transposed
// CHECK: torch.aten.conv2d %x, {{.*}} {spa.dims = [#spa.dims<[_, s[[C]], _, _]>]}
// CHECK: spa.param "up.weight" {{.*}} {spa.dims = [#spa.dims<[s[[C]], s[[UP]], s{{[0-9]+}}, s{{[0-9]+}}]>]}
// CHECK: spa.param "up.bias" {{.*}} {spa.dims = [#spa.dims<[s[[UP]]]>]}
// CHECK: torch.aten.conv_transpose2d.input {{.*}} {spa.dims = [#spa.dims<[_, s[[UP]], _, _]>]}
// CHECK: spa.param "c3.weight" {{.*}} {spa.dims = [#spa.dims<[s[[OUT]], s[[UP]], _, _]>]}
func.func @transposed(%x: !torch.vtensor<[1,2,2,2],f32>) -> !torch.vtensor<[1,3,4,4],f32> {
  %c1_weight = spa.param "c1.weight" = dense<0.5> : tensor<4x2x1x1xf32> : !torch.vtensor<[4,2,1,1],f32>
  %c1_bias = spa.param "c1.bias" = dense<0.5> : tensor<4xf32> : !torch.vtensor<[4],f32>
  %int1 = torch.constant.int 1
  %0 = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int>
  %int0 = torch.constant.int 0
  %1 = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int>
  %c1 = torch.aten.conv2d %x, %c1_weight, %c1_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,2,2,2],f32>, !torch.vtensor<[4,2,1,1],f32>, !torch.vtensor<[4],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,4,2,2],f32>
  %up_weight = spa.param "up.weight" = dense<0.5> : tensor<4x6x2x2xf32> : !torch.vtensor<[4,6,2,2],f32>
  %up_bias = spa.param "up.bias" = dense<0.5> : tensor<6xf32> : !torch.vtensor<[6],f32>
  %int2 = torch.constant.int 2
  %2 = torch.prim.ListConstruct %int2, %int2 : (!torch.int, !torch.int) -> !torch.list<int>
  %up = torch.aten.conv_transpose2d.input %c1, %up_weight, %up_bias, %2, %1, %1, %int1, %0 : !torch.vtensor<[1,4,2,2],f32>, !torch.vtensor<[4,6,2,2],f32>, !torch.vtensor<[6],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int, !torch.list<int> -> !torch.vtensor<[1,6,4,4],f32>
  %c3_weight = spa.param "c3.weight" = dense<0.5> : tensor<3x6x1x1xf32> : !torch.vtensor<[3,6,1,1],f32>
  %c3_bias = spa.param "c3.bias" = dense<0.5> : tensor<3xf32> : !torch.vtensor<[3],f32>
  %c3 = torch.aten.conv2d %up, %c3_weight, %c3_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,6,4,4],f32>, !torch.vtensor<[3,6,1,1],f32>, !torch.vtensor<[3],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,3,4,4],f32>
  return %c3 : !torch.vtensor<[1,3,4,4],f32>
}

// -----

// CHECK-LABEL: builtin.module
// CHECK-DAG: spa.space @s[[PO:[0-9]+]] {size = 3 : i64, origin = "up.weight[1]"}
// CHECK-DAG: spa.space @s[[G:[0-9]+]] {size = 2 : i64, origin = "torch.aten.conv_transpose2d.input groups"}
// CHECK-DAG: spa.space @s[[PI:[0-9]+]] {size = 2 : i64, origin = "torch.aten.conv_transpose2d.input"}
// CHECK: func.func @transposed_grouped
// CHECK: torch.aten.conv2d %x, {{.*}} {spa.dims = [#spa.dims<[_, s[[G]] x s[[PI]], _, _]>]}
// CHECK: spa.param "up.weight" {{.*}} {spa.dims = [#spa.dims<[s[[G]] x s[[PI]], s[[PO]], s{{[0-9]+}}, s{{[0-9]+}}]>]}
// CHECK: spa.param "up.bias" {{.*}} {spa.dims = [#spa.dims<[s[[G]] x s[[PO]]]>]}
// CHECK: torch.aten.conv_transpose2d.input {{.*}} {spa.dims = [#spa.dims<[_, s[[G]] x s[[PO]], _, _]>]}
// CHECK: spa.param "c3.weight" {{.*}} {spa.dims = [#spa.dims<[s{{[0-9]+}}, s[[G]] x s[[PO]], _, _]>]}
func.func @transposed_grouped(%x: !torch.vtensor<[1,2,2,2],f32>) -> !torch.vtensor<[1,3,4,4],f32> {
  %c1_weight = spa.param "c1.weight" = dense<0.5> : tensor<4x2x1x1xf32> : !torch.vtensor<[4,2,1,1],f32>
  %c1_bias = spa.param "c1.bias" = dense<0.5> : tensor<4xf32> : !torch.vtensor<[4],f32>
  %int1 = torch.constant.int 1
  %0 = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int>
  %int0 = torch.constant.int 0
  %1 = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int>
  %c1 = torch.aten.conv2d %x, %c1_weight, %c1_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,2,2,2],f32>, !torch.vtensor<[4,2,1,1],f32>, !torch.vtensor<[4],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,4,2,2],f32>
  %up_weight = spa.param "up.weight" = dense<0.5> : tensor<4x3x2x2xf32> : !torch.vtensor<[4,3,2,2],f32>
  %up_bias = spa.param "up.bias" = dense<0.5> : tensor<6xf32> : !torch.vtensor<[6],f32>
  %int2 = torch.constant.int 2
  %2 = torch.prim.ListConstruct %int2, %int2 : (!torch.int, !torch.int) -> !torch.list<int>
  %up = torch.aten.conv_transpose2d.input %c1, %up_weight, %up_bias, %2, %1, %1, %int2, %0 : !torch.vtensor<[1,4,2,2],f32>, !torch.vtensor<[4,3,2,2],f32>, !torch.vtensor<[6],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int, !torch.list<int> -> !torch.vtensor<[1,6,4,4],f32>
  %c3_weight = spa.param "c3.weight" = dense<0.5> : tensor<3x6x1x1xf32> : !torch.vtensor<[3,6,1,1],f32>
  %c3_bias = spa.param "c3.bias" = dense<0.5> : tensor<3xf32> : !torch.vtensor<[3],f32>
  %c3 = torch.aten.conv2d %up, %c3_weight, %c3_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,6,4,4],f32>, !torch.vtensor<[3,6,1,1],f32>, !torch.vtensor<[3],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,3,4,4],f32>
  return %c3 : !torch.vtensor<[1,3,4,4],f32>
}
