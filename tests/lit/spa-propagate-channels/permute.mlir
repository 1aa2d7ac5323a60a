// RUN: spa-opt %s -p spa-propagate-channels | filecheck %s
// permute / transpose move layouts with their dims: the conv's channels go last for a channels-last
// linear layer (its columns are that space), and the linear's outputs come back to dim 1 for the next
// conv (its input columns). A wrong permutation would couple a spatial dim to the weights instead.
// IR from tests/lit/Inputs/tiny_models.py: permute (input 1,2,2,2).

// CHECK-DAG: spa.space @s[[C:[0-9]+]] {size = 4 : i64, origin = "c1.weight[0]"}{{$}}
// CHECK-DAG: spa.space @s[[F:[0-9]+]] {size = 6 : i64, origin = "fc.weight[0]"}{{$}}
// CHECK: torch.aten.conv2d {{.*}} {spa.dims = [#spa.dims<[_, s[[C]], _, _]>]}
// CHECK: torch.aten.permute %c1, %2 {spa.dims = [#spa.dims<[_, _, _, s[[C]]]>]}
// CHECK: spa.param "fc.weight" {{.*}} {spa.dims = [#spa.dims<[s[[F]], s[[C]]]>]}
// CHECK: torch.aten.linear {{.*}} {spa.dims = [#spa.dims<[_, _, _, s[[F]]]>]}
// CHECK: torch.aten.transpose.int %fc, %int1, %int3 {spa.dims = [#spa.dims<[_, s[[F]], _, _]>]}
// CHECK: spa.param "c2.weight" {{.*}} {spa.dims = [#spa.dims<[s{{[0-9]+}}, s[[F]], _, _]>]}
func.func @permute(%x: !torch.vtensor<[1,2,2,2],f32>) -> !torch.vtensor<[1,3,2,2],f32> {
  %c1_weight = spa.param "c1.weight" = dense<0.5> : tensor<4x2x1x1xf32> : !torch.vtensor<[4,2,1,1],f32>
  %c1_bias = spa.param "c1.bias" = dense<0.5> : tensor<4xf32> : !torch.vtensor<[4],f32>
  %int1 = torch.constant.int 1
  %0 = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int>
  %int0 = torch.constant.int 0
  %1 = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int>
  %c1 = torch.aten.conv2d %x, %c1_weight, %c1_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,2,2,2],f32>, !torch.vtensor<[4,2,1,1],f32>, !torch.vtensor<[4],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,4,2,2],f32>
  %int2 = torch.constant.int 2
  %int3 = torch.constant.int 3
  %2 = torch.prim.ListConstruct %int0, %int2, %int3, %int1 : (!torch.int, !torch.int, !torch.int, !torch.int) -> !torch.list<int>
  %permute = torch.aten.permute %c1, %2 : !torch.vtensor<[1,4,2,2],f32>, !torch.list<int> -> !torch.vtensor<[1,2,2,4],f32>
  %fc_weight = spa.param "fc.weight" = dense<0.5> : tensor<6x4xf32> : !torch.vtensor<[6,4],f32>
  %fc_bias = spa.param "fc.bias" = dense<0.5> : tensor<6xf32> : !torch.vtensor<[6],f32>
  %fc = torch.aten.linear %permute, %fc_weight, %fc_bias : !torch.vtensor<[1,2,2,4],f32>, !torch.vtensor<[6,4],f32>, !torch.vtensor<[6],f32> -> !torch.vtensor<[1,2,2,6],f32>
  %transpose = torch.aten.transpose.int %fc, %int1, %int3 : !torch.vtensor<[1,2,2,6],f32>, !torch.int, !torch.int -> !torch.vtensor<[1,6,2,2],f32>
  %c2_weight = spa.param "c2.weight" = dense<0.5> : tensor<3x6x1x1xf32> : !torch.vtensor<[3,6,1,1],f32>
  %c2_bias = spa.param "c2.bias" = dense<0.5> : tensor<3xf32> : !torch.vtensor<[3],f32>
  %c2 = torch.aten.conv2d %transpose, %c2_weight, %c2_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,6,2,2],f32>, !torch.vtensor<[3,6,1,1],f32>, !torch.vtensor<[3],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,3,2,2],f32>
  return %c2 : !torch.vtensor<[1,3,2,2],f32>
}
