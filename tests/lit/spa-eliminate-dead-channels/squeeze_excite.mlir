// RUN: spa-opt %s -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance,spa-select-channels{ratio=0.5},spa-eliminate-dead-channels' | filecheck %s
// Pruning a squeeze-excitation block: the gate [1,C,1,1] and the per-channel scale [C,1,1] shrink with
// the feature map they multiply (C 4 -> 2), the gate bottleneck 2 -> 1. The broadcast ops need no
// rewrite, only new types. Input as in spa-propagate-channels/broadcast.mlir.

// CHECK: torch.aten.conv2d %x, {{.*}} -> !torch.vtensor<[1,2,3,3],f32>
// CHECK: torch.aten.adaptive_avg_pool2d %c1, {{.*}} -> !torch.vtensor<[1,2,1,1],f32>
// CHECK: spa.param "fc1.weight" {{.*}} : !torch.vtensor<[1,2,1,1],f32>
// CHECK: spa.param "fc2.weight" {{.*}} : !torch.vtensor<[2,1,1,1],f32>
// CHECK: spa.param "fc2.bias" {{.*}} : !torch.vtensor<[2],f32>
// CHECK: torch.aten.sigmoid %fc2 : !torch.vtensor<[1,2,1,1],f32> -> !torch.vtensor<[1,2,1,1],f32>
// CHECK: torch.aten.mul.Tensor %c1, %sigmoid : !torch.vtensor<[1,2,3,3],f32>, !torch.vtensor<[1,2,1,1],f32> -> !torch.vtensor<[1,2,3,3],f32>
// CHECK: spa.param "scale" {{.*}} : !torch.vtensor<[2,1,1],f32>
// CHECK: torch.aten.mul.Tensor %mul, %scale : !torch.vtensor<[1,2,3,3],f32>, !torch.vtensor<[2,1,1],f32> -> !torch.vtensor<[1,2,3,3],f32>
// CHECK: spa.param "c3.weight" {{.*}} : !torch.vtensor<[3,2,1,1],f32>
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
