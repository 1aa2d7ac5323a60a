// RUN: spa-opt %s -p spa-propagate-channels | filecheck %s
// Weight normalization (nn.utils.parametrizations.weight_norm, Wav2Vec2's positional conv): the conv weight is
// _weight_norm(v, g, dim) = v * g / ||v||, the norm over every dim but `dim`. The result has v's channels and
// g (size 1 but at dim 0 here) holds those of dim 0, so the conv's output channels are pruned with g. A removed
// input channel is zero in the masked v and adds nothing to the norms: exact. A removed output channel zeroed is
// 0/0 (its whole row is the norm's input): removing it is not zeroing it, so that space is inexact.
// IR from nn.Conv2d(2, 4, 1) -> weight_norm(nn.Conv2d(4, 6, 1), dim=0) -> relu -> nn.Conv2d(6, 3, 1), input 1,2,2,2.

// CHECK-DAG: spa.space @s[[IN:[0-9]+]] {size = 4 : i64, origin = "c1.weight[0]"}{{$}}
// CHECK-DAG: spa.space @s[[OUT:[0-9]+]] {size = 6 : i64, origin = "c2.v[0]", inexact = [#spa.reason<"weight norm of a zeroed slice is 0/0", "torch.aten._weight_norm">]}
// CHECK: spa.param "c2.v" {{.*}} {spa.dims = [#spa.dims<[s[[OUT]], s[[IN]], _, _]>]}
// CHECK: spa.param "c2.g" {{.*}} {spa.dims = [#spa.dims<[s[[OUT]], _, _, _]>]}
// CHECK: torch.operator "torch.aten._weight_norm"{{.*}} {spa.dims = [#spa.dims<[s[[OUT]], s[[IN]], _, _]>]}
// CHECK: torch.aten.conv2d %c1, %wn, {{.*}} {spa.dims = [#spa.dims<[_, s[[OUT]], _, _]>]}
// CHECK: spa.param "c3.weight" {{.*}} {spa.dims = [#spa.dims<[s{{[0-9]+}}, s[[OUT]], _, _]>]}
func.func @weight_norm(%x: !torch.vtensor<[1,2,2,2],f32>) -> !torch.vtensor<[1,3,2,2],f32> {
  %c1_weight = spa.param "c1.weight" = dense<0.5> : tensor<4x2x1x1xf32> : !torch.vtensor<[4,2,1,1],f32>
  %c1_bias = spa.param "c1.bias" = dense<0.5> : tensor<4xf32> : !torch.vtensor<[4],f32>
  %int1 = torch.constant.int 1
  %0 = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int>
  %int0 = torch.constant.int 0
  %1 = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int>
  %c1 = torch.aten.conv2d %x, %c1_weight, %c1_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,2,2,2],f32>, !torch.vtensor<[4,2,1,1],f32>, !torch.vtensor<[4],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,4,2,2],f32>
  %v = spa.param "c2.v" = dense<0.5> : tensor<6x4x1x1xf32> : !torch.vtensor<[6,4,1,1],f32>
  %g = spa.param "c2.g" = dense<0.5> : tensor<6x1x1x1xf32> : !torch.vtensor<[6,1,1,1],f32>
  %wn = torch.operator "torch.aten._weight_norm"(%v, %g, %int0) : (!torch.vtensor<[6,4,1,1],f32>, !torch.vtensor<[6,1,1,1],f32>, !torch.int) -> !torch.vtensor<[6,4,1,1],f32>
  %c2_bias = spa.param "c2.bias" = dense<0.5> : tensor<6xf32> : !torch.vtensor<[6],f32>
  %c2 = torch.aten.conv2d %c1, %wn, %c2_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,4,2,2],f32>, !torch.vtensor<[6,4,1,1],f32>, !torch.vtensor<[6],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,6,2,2],f32>
  %r = torch.aten.relu %c2 : !torch.vtensor<[1,6,2,2],f32> -> !torch.vtensor<[1,6,2,2],f32>
  %c3_weight = spa.param "c3.weight" = dense<0.5> : tensor<3x6x1x1xf32> : !torch.vtensor<[3,6,1,1],f32>
  %c3_bias = spa.param "c3.bias" = dense<0.5> : tensor<3xf32> : !torch.vtensor<[3],f32>
  %c3 = torch.aten.conv2d %r, %c3_weight, %c3_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,6,2,2],f32>, !torch.vtensor<[3,6,1,1],f32>, !torch.vtensor<[3],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,3,2,2],f32>
  return %c3 : !torch.vtensor<[1,3,2,2],f32>
}
