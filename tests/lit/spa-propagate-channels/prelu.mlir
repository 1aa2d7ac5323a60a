// RUN: spa-opt %s -p spa-propagate-channels | filecheck %s
// PReLU with one slope per channel (weight [4]) couples the slope to the channel dim (dim 1) of its
// input, so the slopes are pruned with the conv's output channels; a single shared slope (weight [1])
// holds no channel and the output channels pass through it.
// IR from tests/lit/Inputs/tiny_models.py: prelu (input 1,2,2,2).

// CHECK-DAG: spa.space @s[[C:[0-9]+]] {size = 4 : i64, origin = "c1.weight[0]"}{{$}}
// CHECK-DAG: spa.space @s[[OUT:[0-9]+]] {size = 3 : i64, origin = "c2.weight[0]", frozen = [#spa.reason<"model output">]}
// CHECK: torch.aten.conv2d %x, {{.*}} {spa.dims = [#spa.dims<[_, s[[C]], _, _]>]}
// CHECK: spa.param "a1.weight" {{.*}} {spa.dims = [#spa.dims<[s[[C]]]>]}
// CHECK: torch.aten.prelu %c1, %a1_weight {spa.dims = [#spa.dims<[_, s[[C]], _, _]>]}
// CHECK: spa.param "c2.weight" {{.*}} {spa.dims = [#spa.dims<[s[[OUT]], s[[C]], _, _]>]}
// CHECK: spa.param "a2.weight" {{.*}} {spa.dims = [#spa.dims<[_]>]}
// CHECK: torch.aten.prelu %c2, %a2_weight {spa.dims = [#spa.dims<[_, s[[OUT]], _, _]>]}
func.func @prelu(%x: !torch.vtensor<[1,2,2,2],f32>) -> !torch.vtensor<[1,3,2,2],f32> {
  %c1_weight = spa.param "c1.weight" = dense<0.5> : tensor<4x2x1x1xf32> : !torch.vtensor<[4,2,1,1],f32>
  %c1_bias = spa.param "c1.bias" = dense<0.5> : tensor<4xf32> : !torch.vtensor<[4],f32>
  %int1 = torch.constant.int 1
  %0 = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int>
  %int0 = torch.constant.int 0
  %1 = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int>
  %c1 = torch.aten.conv2d %x, %c1_weight, %c1_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,2,2,2],f32>, !torch.vtensor<[4,2,1,1],f32>, !torch.vtensor<[4],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,4,2,2],f32>
  %a1_weight = spa.param "a1.weight" = dense<0.5> : tensor<4xf32> : !torch.vtensor<[4],f32>
  %a1 = torch.aten.prelu %c1, %a1_weight : !torch.vtensor<[1,4,2,2],f32>, !torch.vtensor<[4],f32> -> !torch.vtensor<[1,4,2,2],f32>
  %c2_weight = spa.param "c2.weight" = dense<0.5> : tensor<3x4x1x1xf32> : !torch.vtensor<[3,4,1,1],f32>
  %c2_bias = spa.param "c2.bias" = dense<0.5> : tensor<3xf32> : !torch.vtensor<[3],f32>
  %c2 = torch.aten.conv2d %a1, %c2_weight, %c2_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,4,2,2],f32>, !torch.vtensor<[3,4,1,1],f32>, !torch.vtensor<[3],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,3,2,2],f32>
  %a2_weight = spa.param "a2.weight" = dense<0.5> : tensor<1xf32> : !torch.vtensor<[1],f32>
  %a2 = torch.aten.prelu %c2, %a2_weight : !torch.vtensor<[1,3,2,2],f32>, !torch.vtensor<[1],f32> -> !torch.vtensor<[1,3,2,2],f32>
  return %a2 : !torch.vtensor<[1,3,2,2],f32>
}
