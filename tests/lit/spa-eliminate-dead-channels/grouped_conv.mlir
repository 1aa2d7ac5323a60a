// RUN: spa-opt --split-input-file %s -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance,spa-select-channels{ratio=0.5},spa-eliminate-dead-channels' | filecheck %s
// RUN: spa-opt --split-input-file %s -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance,spa-select-channels{ratio=0.5 min-keep=2},spa-eliminate-dead-channels' | filecheck %s --check-prefix=KEEP
// The `groups` operand of a grouped convolution is rewritten to the new channel count over the new
// per-group width, and weights keep whole groups aligned. At ratio 0.5 the grouped conv loses one of
// its 2 groups (groups 2 -> 1) and half of each group's width; with min-keep=2 both groups stay
// (groups stays 2) and each loses the same channels. Depthwise: groups 4 -> 2. A grouped transposed
// conv: groups 2 -> 1, weight [Cin, Cout/groups] sliced on both dims. Distinct bias values show which
// indices survive. Inputs as in spa-propagate-channels/grouped_conv.mlir and transposed_conv.mlir.

// c1's 8 channels are 2 groups x 4: group 0 and channels 0, 1 of every group go (scores grow with
// the bias), so of the bias 0..7 only 6, 7 stay; the grouped conv's 6 outputs (2 x 3) keep 4, 5.
// CHECK-LABEL: func.func @grouped
// CHECK: spa.param "c1.bias" = dense<[6.000000e+00, 7.000000e+00]> : tensor<2xf32> : !torch.vtensor<[2],f32>
// CHECK: spa.param "g.weight" {{.*}} : !torch.vtensor<[2,2,1,1],f32>
// CHECK: spa.param "g.bias" = dense<[4.000000e+00, 5.000000e+00]>
// CHECK: %[[G1:.*]] = torch.constant.int 1
// CHECK-NEXT: %g = torch.aten.conv2d %c1, %g_weight, %g_bias, %0, %1, %0, %[[G1]] : !torch.vtensor<[1,2,4,4],f32>, !torch.vtensor<[2,2,1,1],f32>, !torch.vtensor<[2],f32>, {{.*}} -> !torch.vtensor<[1,2,4,4],f32>
// CHECK: spa.param "c3.weight" {{.*}} : !torch.vtensor<[3,2,1,1],f32>
// KEEP-LABEL: func.func @grouped
// KEEP: spa.param "c1.bias" = dense<[2.000000e+00, 3.000000e+00, 6.000000e+00, 7.000000e+00]>
// KEEP: spa.param "g.weight" {{.*}} : !torch.vtensor<[4,2,1,1],f32>
// KEEP: spa.param "g.bias" = dense<[1.000000e+00, 2.000000e+00, 4.000000e+00, 5.000000e+00]>
// KEEP: %g = torch.aten.conv2d %c1, %g_weight, %g_bias, %0, %1, %0, %int2 : !torch.vtensor<[1,4,4,4],f32>, !torch.vtensor<[4,2,1,1],f32>, !torch.vtensor<[4],f32>, {{.*}} -> !torch.vtensor<[1,4,4,4],f32>
// KEEP: spa.param "c3.weight" {{.*}} : !torch.vtensor<[3,4,1,1],f32>
func.func @grouped(%x: !torch.vtensor<[1,2,4,4],f32>) -> !torch.vtensor<[1,3,4,4],f32> {
  %c1_weight = spa.param "c1.weight" = dense<0.5> : tensor<8x2x1x1xf32> : !torch.vtensor<[8,2,1,1],f32>
  %c1_bias = spa.param "c1.bias" = dense<[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]> : tensor<8xf32> : !torch.vtensor<[8],f32>
  %int1 = torch.constant.int 1
  %0 = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int>
  %int0 = torch.constant.int 0
  %1 = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int>
  %c1 = torch.aten.conv2d %x, %c1_weight, %c1_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,2,4,4],f32>, !torch.vtensor<[8,2,1,1],f32>, !torch.vtensor<[8],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,8,4,4],f32>
  %g_weight = spa.param "g.weight" = dense<0.5> : tensor<6x4x1x1xf32> : !torch.vtensor<[6,4,1,1],f32>
  %g_bias = spa.param "g.bias" = dense<[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]> : tensor<6xf32> : !torch.vtensor<[6],f32>
  %int2 = torch.constant.int 2
  %g = torch.aten.conv2d %c1, %g_weight, %g_bias, %0, %1, %0, %int2 : !torch.vtensor<[1,8,4,4],f32>, !torch.vtensor<[6,4,1,1],f32>, !torch.vtensor<[6],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,6,4,4],f32>
  %c3_weight = spa.param "c3.weight" = dense<0.5> : tensor<3x6x1x1xf32> : !torch.vtensor<[3,6,1,1],f32>
  %c3_bias = spa.param "c3.bias" = dense<0.5> : tensor<3xf32> : !torch.vtensor<[3],f32>
  %c3 = torch.aten.conv2d %g, %c3_weight, %c3_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,6,4,4],f32>, !torch.vtensor<[3,6,1,1],f32>, !torch.vtensor<[3],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,3,4,4],f32>
  return %c3 : !torch.vtensor<[1,3,4,4],f32>
}

// -----

// Channels 2, 3 have the smallest depthwise bias: they go from c1, dw and c3 alike.
// CHECK-LABEL: func.func @depthwise
// CHECK: spa.param "c1.weight" {{.*}} : !torch.vtensor<[2,2,1,1],f32>
// CHECK: spa.param "dw.weight" {{.*}} : !torch.vtensor<[2,1,3,3],f32>
// CHECK: spa.param "dw.bias" = dense<[4.000000e+00, 3.000000e+00]>
// CHECK: %[[G2:.*]] = torch.constant.int 2
// CHECK-NEXT: %dw = torch.aten.conv2d %c1, %dw_weight, %dw_bias, %0, %0, %0, %[[G2]] : !torch.vtensor<[1,2,4,4],f32>, !torch.vtensor<[2,1,3,3],f32>, {{.*}} -> !torch.vtensor<[1,2,4,4],f32>
// CHECK: spa.param "c3.weight" {{.*}} : !torch.vtensor<[3,2,1,1],f32>
func.func @depthwise(%x: !torch.vtensor<[1,2,4,4],f32>) -> !torch.vtensor<[1,3,4,4],f32> {
  %c1_weight = spa.param "c1.weight" = dense<0.5> : tensor<4x2x1x1xf32> : !torch.vtensor<[4,2,1,1],f32>
  %c1_bias = spa.param "c1.bias" = dense<0.5> : tensor<4xf32> : !torch.vtensor<[4],f32>
  %int1 = torch.constant.int 1
  %0 = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int>
  %int0 = torch.constant.int 0
  %1 = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int>
  %c1 = torch.aten.conv2d %x, %c1_weight, %c1_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,2,4,4],f32>, !torch.vtensor<[4,2,1,1],f32>, !torch.vtensor<[4],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,4,4,4],f32>
  %dw_weight = spa.param "dw.weight" = dense<0.5> : tensor<4x1x3x3xf32> : !torch.vtensor<[4,1,3,3],f32>
  %dw_bias = spa.param "dw.bias" = dense<[4.0, 3.0, 2.0, 1.0]> : tensor<4xf32> : !torch.vtensor<[4],f32>
  %int4 = torch.constant.int 4
  %dw = torch.aten.conv2d %c1, %dw_weight, %dw_bias, %0, %0, %0, %int4 : !torch.vtensor<[1,4,4,4],f32>, !torch.vtensor<[4,1,3,3],f32>, !torch.vtensor<[4],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,4,4,4],f32>
  %c3_weight = spa.param "c3.weight" = dense<0.5> : tensor<3x4x1x1xf32> : !torch.vtensor<[3,4,1,1],f32>
  %c3_bias = spa.param "c3.bias" = dense<0.5> : tensor<3xf32> : !torch.vtensor<[3],f32>
  %c3 = torch.aten.conv2d %dw, %c3_weight, %c3_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,4,4,4],f32>, !torch.vtensor<[3,4,1,1],f32>, !torch.vtensor<[3],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,3,4,4],f32>
  return %c3 : !torch.vtensor<[1,3,4,4],f32>
}

// -----

// CHECK-LABEL: func.func @transposed_grouped
// CHECK: spa.param "up.weight" {{.*}} : !torch.vtensor<[1,2,2,2],f32>
// CHECK: spa.param "up.bias" {{.*}} : !torch.vtensor<[2],f32>
// CHECK: %[[T1:.*]] = torch.constant.int 1
// CHECK-NEXT: %up = torch.aten.conv_transpose2d.input %c1, %up_weight, %up_bias, %2, %1, %1, %[[T1]], %0 : !torch.vtensor<[1,1,2,2],f32>, !torch.vtensor<[1,2,2,2],f32>, {{.*}} -> !torch.vtensor<[1,2,4,4],f32>
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
