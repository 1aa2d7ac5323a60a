// RUN: spa-opt %s -p spa-propagate-channels,spa-form-groups | filecheck %s
// A squeeze-excitation block is one group with the conv it gates: c1's output channels, the gate
// MLP's input columns (fc1) and output rows (fc2), the per-channel scale and c3's input columns. The
// bottleneck of the gate MLP (fc1's 2 outputs) is a group of its own. Both are exact: the gated
// product is zero wherever c1's output is. Input as in spa-propagate-channels/broadcast.mlir.

// CHECK: spa.group @g{{[0-9]+}} {size = 4 : i64, space = "s{{[0-9]+}}", members = [#spa.member<"c1.weight"[0]>, #spa.member<"c1.bias"[0]>, #spa.member<"fc1.weight"[1]>, #spa.member<"fc2.weight"[0]>, #spa.member<"fc2.bias"[0]>, #spa.member<"scale"[0]>, #spa.member<"c3.weight"[1]>], exact = true}
// CHECK-NEXT: spa.group @g{{[0-9]+}} {size = 2 : i64, space = "s{{[0-9]+}}", members = [#spa.member<"fc1.weight"[0]>, #spa.member<"fc1.bias"[0]>, #spa.member<"fc2.weight"[1]>], exact = true}
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
