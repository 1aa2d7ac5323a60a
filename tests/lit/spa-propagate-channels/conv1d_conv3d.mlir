// RUN: spa-opt --split-input-file %s -p spa-propagate-channels | filecheck %s
// conv1d and conv3d follow conv2d's rule: weight [Cout, Cin, k...], the input's channel dim is coupled
// to Cin and the output's to Cout (and the bias). Shows that the rule is not specific to 2-d: c1's
// output space reaches c2's Cin through a ReLU, and kernel dims are never channels.
// IR from tests/lit/Inputs/tiny_models.py: conv1d (input 1,2,8) and conv3d (input 1,2,2,2,2).

// CHECK-LABEL: builtin.module
// CHECK-DAG: spa.space @s[[IN:[0-9]+]] {size = 2 : i64, origin = "input 0[1]", frozen = [#spa.reason<"model input">]}
// CHECK-DAG: spa.space @s[[C1:[0-9]+]] {size = 4 : i64, origin = "c1.weight[0]"}
// CHECK-DAG: spa.space @s[[K:[0-9]+]] {size = 3 : i64, origin = "c1.weight[2]", frozen = [#spa.reason<"not a channel dimension">]}
// CHECK-DAG: spa.space @s[[OUT:[0-9]+]] {size = 3 : i64, origin = "c2.weight[0]", frozen = [#spa.reason<"model output">]}
// CHECK: func.func @conv1d
// CHECK: spa.param "c1.weight" {{.*}} {spa.dims = [#spa.dims<[s[[C1]], s[[IN]], s[[K]]]>]}
// CHECK: spa.param "c1.bias" {{.*}} {spa.dims = [#spa.dims<[s[[C1]]]>]}
// CHECK: torch.aten.conv1d {{.*}} {spa.dims = [#spa.dims<[_, s[[C1]], _]>]}
// CHECK: torch.aten.relu {{.*}} {spa.dims = [#spa.dims<[_, s[[C1]], _]>]}
// CHECK: spa.param "c2.weight" {{.*}} {spa.dims = [#spa.dims<[s[[OUT]], s[[C1]], _]>]}
// CHECK: torch.aten.conv1d {{.*}} {spa.dims = [#spa.dims<[_, s[[OUT]], _]>]}
func.func @conv1d(%x: !torch.vtensor<[1,2,8],f32>) -> !torch.vtensor<[1,3,8],f32> {
  %c1_weight = spa.param "c1.weight" = dense<0.5> : tensor<4x2x3xf32> : !torch.vtensor<[4,2,3],f32>
  %c1_bias = spa.param "c1.bias" = dense<0.5> : tensor<4xf32> : !torch.vtensor<[4],f32>
  %int1 = torch.constant.int 1
  %0 = torch.prim.ListConstruct %int1 : (!torch.int) -> !torch.list<int>
  %c1 = torch.aten.conv1d %x, %c1_weight, %c1_bias, %0, %0, %0, %int1 : !torch.vtensor<[1,2,8],f32>, !torch.vtensor<[4,2,3],f32>, !torch.vtensor<[4],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,4,8],f32>
  %relu = torch.aten.relu %c1 : !torch.vtensor<[1,4,8],f32> -> !torch.vtensor<[1,4,8],f32>
  %c2_weight = spa.param "c2.weight" = dense<0.5> : tensor<3x4x1xf32> : !torch.vtensor<[3,4,1],f32>
  %c2_bias = spa.param "c2.bias" = dense<0.5> : tensor<3xf32> : !torch.vtensor<[3],f32>
  %int0 = torch.constant.int 0
  %1 = torch.prim.ListConstruct %int0 : (!torch.int) -> !torch.list<int>
  %c2 = torch.aten.conv1d %relu, %c2_weight, %c2_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,4,8],f32>, !torch.vtensor<[3,4,1],f32>, !torch.vtensor<[3],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,3,8],f32>
  return %c2 : !torch.vtensor<[1,3,8],f32>
}

// -----

// CHECK-LABEL: builtin.module
// CHECK-DAG: spa.space @s[[IN3:[0-9]+]] {size = 2 : i64, origin = "input 0[1]", frozen = [#spa.reason<"model input">]}
// CHECK-DAG: spa.space @s[[C3:[0-9]+]] {size = 4 : i64, origin = "c1.weight[0]"}
// CHECK-DAG: spa.space @s[[OUT3:[0-9]+]] {size = 3 : i64, origin = "c2.weight[0]", frozen = [#spa.reason<"model output">]}
// CHECK: func.func @conv3d
// CHECK: spa.param "c1.weight" {{.*}} {spa.dims = [#spa.dims<[s[[C3]], s[[IN3]], _, _, _]>]}
// CHECK: torch.aten.conv3d {{.*}} {spa.dims = [#spa.dims<[_, s[[C3]], _, _, _]>]}
// CHECK: torch.aten.relu {{.*}} {spa.dims = [#spa.dims<[_, s[[C3]], _, _, _]>]}
// CHECK: spa.param "c2.weight" {{.*}} {spa.dims = [#spa.dims<[s[[OUT3]], s[[C3]], _, _, _]>]}
// CHECK: spa.param "c2.bias" {{.*}} {spa.dims = [#spa.dims<[s[[OUT3]]]>]}
// CHECK: torch.aten.conv3d {{.*}} {spa.dims = [#spa.dims<[_, s[[OUT3]], _, _, _]>]}
func.func @conv3d(%x: !torch.vtensor<[1,2,2,2,2],f32>) -> !torch.vtensor<[1,3,2,2,2],f32> {
  %c1_weight = spa.param "c1.weight" = dense<0.5> : tensor<4x2x1x1x1xf32> : !torch.vtensor<[4,2,1,1,1],f32>
  %c1_bias = spa.param "c1.bias" = dense<0.5> : tensor<4xf32> : !torch.vtensor<[4],f32>
  %int1 = torch.constant.int 1
  %0 = torch.prim.ListConstruct %int1, %int1, %int1 : (!torch.int, !torch.int, !torch.int) -> !torch.list<int>
  %int0 = torch.constant.int 0
  %1 = torch.prim.ListConstruct %int0, %int0, %int0 : (!torch.int, !torch.int, !torch.int) -> !torch.list<int>
  %c1 = torch.aten.conv3d %x, %c1_weight, %c1_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,2,2,2,2],f32>, !torch.vtensor<[4,2,1,1,1],f32>, !torch.vtensor<[4],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,4,2,2,2],f32>
  %relu = torch.aten.relu %c1 : !torch.vtensor<[1,4,2,2,2],f32> -> !torch.vtensor<[1,4,2,2,2],f32>
  %c2_weight = spa.param "c2.weight" = dense<0.5> : tensor<3x4x1x1x1xf32> : !torch.vtensor<[3,4,1,1,1],f32>
  %c2_bias = spa.param "c2.bias" = dense<0.5> : tensor<3xf32> : !torch.vtensor<[3],f32>
  %c2 = torch.aten.conv3d %relu, %c2_weight, %c2_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,4,2,2,2],f32>, !torch.vtensor<[3,4,1,1,1],f32>, !torch.vtensor<[3],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,3,2,2,2],f32>
  return %c2 : !torch.vtensor<[1,3,2,2,2],f32>
}
