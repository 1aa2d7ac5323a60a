// RUN: spa-opt %s -p spa-propagate-channels | filecheck %s
// Pooling, upsampling and padding act on the spatial dims only: the conv's channel space passes through
// max_pool2d, avg_pool2d, upsample_nearest2d, pad and adaptive_avg_pool2d unchanged and reaches the
// next conv's input columns, while the spatial dims (whose sizes change) hold no channel.
// IR from tests/lit/Inputs/tiny_models.py: pool_upsample_pad (input 1,2,8,8).

// CHECK-DAG: spa.space @s[[C:[0-9]+]] {size = 4 : i64, origin = "c1.weight[0]"}{{$}}
// CHECK: %c1 = torch.aten.conv2d {{.*}} {spa.dims = [#spa.dims<[_, s[[C]], _, _]>]}
// CHECK: torch.aten.max_pool2d %c1, {{.*}} {spa.dims = [#spa.dims<[_, s[[C]], _, _]>]}
// CHECK: torch.aten.avg_pool2d %max_pool2d, {{.*}} {spa.dims = [#spa.dims<[_, s[[C]], _, _]>]}
// CHECK: torch.aten.upsample_nearest2d.vec %avg_pool2d, {{.*}} {spa.dims = [#spa.dims<[_, s[[C]], _, _]>]}
// CHECK: torch.aten.pad %upsample_nearest2d, {{.*}} {spa.dims = [#spa.dims<[_, s[[C]], _, _]>]}
// CHECK: torch.aten.adaptive_avg_pool2d %pad, {{.*}} {spa.dims = [#spa.dims<[_, s[[C]], _, _]>]}
// CHECK: spa.param "c2.weight" {{.*}} {spa.dims = [#spa.dims<[s{{[0-9]+}}, s[[C]], _, _]>]}
func.func @pool_upsample_pad(%x: !torch.vtensor<[1,2,8,8],f32>) -> !torch.vtensor<[1,3,1,1],f32> {
  %c1_weight = spa.param "c1.weight" = dense<0.5> : tensor<4x2x1x1xf32> : !torch.vtensor<[4,2,1,1],f32>
  %c1_bias = spa.param "c1.bias" = dense<0.5> : tensor<4xf32> : !torch.vtensor<[4],f32>
  %int1 = torch.constant.int 1
  %0 = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int>
  %int0 = torch.constant.int 0
  %1 = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int>
  %c1 = torch.aten.conv2d %x, %c1_weight, %c1_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,2,8,8],f32>, !torch.vtensor<[4,2,1,1],f32>, !torch.vtensor<[4],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,4,8,8],f32>
  %int2 = torch.constant.int 2
  %2 = torch.prim.ListConstruct %int2, %int2 : (!torch.int, !torch.int) -> !torch.list<int>
  %3 = torch.prim.ListConstruct : () -> !torch.list<int>
  %false = torch.constant.bool false
  %max_pool2d = torch.aten.max_pool2d %c1, %2, %3, %1, %0, %false : !torch.vtensor<[1,4,8,8],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.bool -> !torch.vtensor<[1,4,4,4],f32>
  %true = torch.constant.bool true
  %none = torch.constant.none
  %avg_pool2d = torch.aten.avg_pool2d %max_pool2d, %2, %3, %1, %false, %true, %none : !torch.vtensor<[1,4,4,4],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.bool, !torch.bool, !torch.none -> !torch.vtensor<[1,4,2,2],f32>
  %float2.000000e00 = torch.constant.float 2.000000e+00
  %4 = torch.prim.ListConstruct %float2.000000e00, %float2.000000e00 : (!torch.float, !torch.float) -> !torch.list<float>
  %upsample_nearest2d = torch.aten.upsample_nearest2d.vec %avg_pool2d, %none, %4 : !torch.vtensor<[1,4,2,2],f32>, !torch.none, !torch.list<float> -> !torch.vtensor<[1,4,4,4],f32>
  %5 = torch.prim.ListConstruct %int1, %int1, %int1, %int1 : (!torch.int, !torch.int, !torch.int, !torch.int) -> !torch.list<int>
  %str = torch.constant.str "constant"
  %pad = torch.aten.pad %upsample_nearest2d, %5, %str, %none : !torch.vtensor<[1,4,4,4],f32>, !torch.list<int>, !torch.str, !torch.none -> !torch.vtensor<[1,4,6,6],f32>
  %adaptive_avg_pool2d = torch.aten.adaptive_avg_pool2d %pad, %0 : !torch.vtensor<[1,4,6,6],f32>, !torch.list<int> -> !torch.vtensor<[1,4,1,1],f32>
  %c2_weight = spa.param "c2.weight" = dense<0.5> : tensor<3x4x1x1xf32> : !torch.vtensor<[3,4,1,1],f32>
  %c2_bias = spa.param "c2.bias" = dense<0.5> : tensor<3xf32> : !torch.vtensor<[3],f32>
  %c2 = torch.aten.conv2d %adaptive_avg_pool2d, %c2_weight, %c2_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,4,1,1],f32>, !torch.vtensor<[3,4,1,1],f32>, !torch.vtensor<[3],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,3,1,1],f32>
  return %c2 : !torch.vtensor<[1,3,1,1],f32>
}
