// RUN: spa-opt --split-input-file %s -p spa-propagate-channels | filecheck %s
// Broadcasting element-wise ops unify the dims they align (from the right) unless one side has size 1.
// A residual add makes c1 (the skip) and c2 (the branch) one space: both convs lose the same output
// channels, and c2's input is that space too. A squeeze-excitation gate [1,4,1,1] multiplies the
// feature map [1,4,3,3]: the gate's MLP output (fc2) is coupled to c1's channels, its size-1 spatial
// dims to nothing; a per-channel scale parameter [4,1,1] joins the same space.
// IR from tests/lit/Inputs/tiny_models.py: residual_add (input 1,2,2,2), squeeze_excite (input 1,2,3,3).

// CHECK-LABEL: builtin.module
// CHECK-DAG: spa.space @s[[C:[0-9]+]] {size = 4 : i64, origin = "c1.weight[0]"}
// CHECK: func.func @residual_add
// CHECK: torch.aten.conv2d %x, {{.*}} {spa.dims = [#spa.dims<[_, s[[C]], _, _]>]}
// CHECK: spa.param "c2.weight" {{.*}} {spa.dims = [#spa.dims<[s[[C]], s[[C]], _, _]>]}
// CHECK: spa.param "c2.bias" {{.*}} {spa.dims = [#spa.dims<[s[[C]]]>]}
// CHECK: torch.aten.add.Tensor %c1, %c2, %int1 {spa.dims = [#spa.dims<[_, s[[C]], _, _]>]}
// CHECK: spa.param "c3.weight" {{.*}} {spa.dims = [#spa.dims<[s{{[0-9]+}}, s[[C]], _, _]>]}
func.func @residual_add(%x: !torch.vtensor<[1,2,2,2],f32>) -> !torch.vtensor<[1,3,2,2],f32> {
  %c1_weight = spa.param "c1.weight" = dense<0.5> : tensor<4x2x1x1xf32> : !torch.vtensor<[4,2,1,1],f32>
  %c1_bias = spa.param "c1.bias" = dense<0.5> : tensor<4xf32> : !torch.vtensor<[4],f32>
  %int1 = torch.constant.int 1
  %0 = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int>
  %int0 = torch.constant.int 0
  %1 = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int>
  %c1 = torch.aten.conv2d %x, %c1_weight, %c1_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,2,2,2],f32>, !torch.vtensor<[4,2,1,1],f32>, !torch.vtensor<[4],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,4,2,2],f32>
  %relu = torch.aten.relu %c1 : !torch.vtensor<[1,4,2,2],f32> -> !torch.vtensor<[1,4,2,2],f32>
  %c2_weight = spa.param "c2.weight" = dense<0.5> : tensor<4x4x1x1xf32> : !torch.vtensor<[4,4,1,1],f32>
  %c2_bias = spa.param "c2.bias" = dense<0.5> : tensor<4xf32> : !torch.vtensor<[4],f32>
  %c2 = torch.aten.conv2d %relu, %c2_weight, %c2_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,4,2,2],f32>, !torch.vtensor<[4,4,1,1],f32>, !torch.vtensor<[4],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,4,2,2],f32>
  %add = torch.aten.add.Tensor %c1, %c2, %int1 : !torch.vtensor<[1,4,2,2],f32>, !torch.vtensor<[1,4,2,2],f32>, !torch.int -> !torch.vtensor<[1,4,2,2],f32>
  %c3_weight = spa.param "c3.weight" = dense<0.5> : tensor<3x4x1x1xf32> : !torch.vtensor<[3,4,1,1],f32>
  %c3_bias = spa.param "c3.bias" = dense<0.5> : tensor<3xf32> : !torch.vtensor<[3],f32>
  %c3 = torch.aten.conv2d %add, %c3_weight, %c3_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,4,2,2],f32>, !torch.vtensor<[3,4,1,1],f32>, !torch.vtensor<[3],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,3,2,2],f32>
  return %c3 : !torch.vtensor<[1,3,2,2],f32>
}

// -----

// CHECK-LABEL: builtin.module
// CHECK-DAG: spa.space @s[[SC:[0-9]+]] {size = 4 : i64, origin = "c1.weight[0]"}
// CHECK-DAG: spa.space @s[[SQ:[0-9]+]] {size = 2 : i64, origin = "fc1.weight[0]"}
// CHECK: func.func @squeeze_excite
// CHECK: torch.aten.adaptive_avg_pool2d {{.*}} {spa.dims = [#spa.dims<[_, s[[SC]], _, _]>]}
// CHECK: spa.param "fc1.weight" {{.*}} {spa.dims = [#spa.dims<[s[[SQ]], s[[SC]], _, _]>]}
// CHECK: spa.param "fc2.weight" {{.*}} {spa.dims = [#spa.dims<[s[[SC]], s[[SQ]], _, _]>]}
// CHECK: spa.param "fc2.bias" {{.*}} {spa.dims = [#spa.dims<[s[[SC]]]>]}
// CHECK: torch.aten.sigmoid {{.*}} {spa.dims = [#spa.dims<[_, s[[SC]], _, _]>]}
// CHECK: torch.aten.mul.Tensor %c1, %sigmoid {spa.dims = [#spa.dims<[_, s[[SC]], _, _]>]}
// CHECK: spa.param "scale" {{.*}} {spa.dims = [#spa.dims<[s[[SC]], _, _]>]}
// CHECK: torch.aten.mul.Tensor %mul, %scale {spa.dims = [#spa.dims<[_, s[[SC]], _, _]>]}
// CHECK: spa.param "c3.weight" {{.*}} {spa.dims = [#spa.dims<[s{{[0-9]+}}, s[[SC]], _, _]>]}
func.func @squeeze_excite(%x: !torch.vtensor<[1,2,3,3],f32>) -> !torch.vtensor<[1,3,3,3],f32> {
  %c1_weight = spa.param "c1.weight" = dense<0.5> : tensor<4x2x1x1xf32> : !torch.vtensor<[4,2,1,1],f32>
  %c1_bias = spa.param "c1.bias" = dense<0.5> : tensor<4xf32> : !torch.vtensor<[4],f32>
  %int1 = torch.constant.int 1
  %0 = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int>
  %int0 = torch.constant.int 0
  %1 = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int>
  %c1 = torch.aten.conv2d %x, %c1_weight, %c1_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,2,3,3],f32>, !torch.vtensor<[4,2,1,1],f32>, !torch.vtensor<[4],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,4,3,3],f32>
  %adaptive_avg_pool2d = torch.aten.adaptive_avg_pool2d %c1, %0 : !torch.vtensor<[1,4,3,3],f32>, !torch.list<int> -> !torch.vtensor<[1,4,1,1],f32>
  %fc1_weight = spa.param "fc1.weight" = dense<0.5> : tensor<2x4x1x1xf32> : !torch.vtensor<[2,4,1,1],f32>
  %fc1_bias = spa.param "fc1.bias" = dense<0.5> : tensor<2xf32> : !torch.vtensor<[2],f32>
  %fc1 = torch.aten.conv2d %adaptive_avg_pool2d, %fc1_weight, %fc1_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,4,1,1],f32>, !torch.vtensor<[2,4,1,1],f32>, !torch.vtensor<[2],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,2,1,1],f32>
  %relu = torch.aten.relu %fc1 : !torch.vtensor<[1,2,1,1],f32> -> !torch.vtensor<[1,2,1,1],f32>
  %fc2_weight = spa.param "fc2.weight" = dense<0.5> : tensor<4x2x1x1xf32> : !torch.vtensor<[4,2,1,1],f32>
  %fc2_bias = spa.param "fc2.bias" = dense<0.5> : tensor<4xf32> : !torch.vtensor<[4],f32>
  %fc2 = torch.aten.conv2d %relu, %fc2_weight, %fc2_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,2,1,1],f32>, !torch.vtensor<[4,2,1,1],f32>, !torch.vtensor<[4],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,4,1,1],f32>
  %sigmoid = torch.aten.sigmoid %fc2 : !torch.vtensor<[1,4,1,1],f32> -> !torch.vtensor<[1,4,1,1],f32>
  %mul = torch.aten.mul.Tensor %c1, %sigmoid : !torch.vtensor<[1,4,3,3],f32>, !torch.vtensor<[1,4,1,1],f32> -> !torch.vtensor<[1,4,3,3],f32>
  %scale = spa.param "scale" = dense<0.5> : tensor<4x1x1xf32> : !torch.vtensor<[4,1,1],f32>
  %mul_1 = torch.aten.mul.Tensor %mul, %scale : !torch.vtensor<[1,4,3,3],f32>, !torch.vtensor<[4,1,1],f32> -> !torch.vtensor<[1,4,3,3],f32>
  %c3_weight = spa.param "c3.weight" = dense<0.5> : tensor<3x4x1x1xf32> : !torch.vtensor<[3,4,1,1],f32>
  %c3_bias = spa.param "c3.bias" = dense<0.5> : tensor<3xf32> : !torch.vtensor<[3],f32>
  %c3 = torch.aten.conv2d %mul_1, %c3_weight, %c3_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,4,3,3],f32>, !torch.vtensor<[3,4,1,1],f32>, !torch.vtensor<[3],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,3,3,3],f32>
  return %c3 : !torch.vtensor<[1,3,3,3],f32>
}
