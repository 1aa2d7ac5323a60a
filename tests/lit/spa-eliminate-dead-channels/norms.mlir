// RUN: spa-opt --split-input-file %s -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance,spa-select-channels{ratio=0.5},spa-eliminate-dead-channels' | filecheck %s
// After pruning, the `normalized_shape` of layer_norm / rms_norm is rewritten to the new channel count
// (a new list; the old one may be shared), and group_norm's group count counts the groups kept: half the
// groups and half the channels of each go (8 = 2 x 4 -> 1 x 2, num_groups 2 -> 1). Input as in spa-propagate-channels/norms.mlir.

// CHECK-LABEL: func.func @layer_norm
// CHECK: spa.param "ln.weight" {{.*}} : !torch.vtensor<[3],f32>
// CHECK: spa.param "ln.bias" {{.*}} : !torch.vtensor<[3],f32>
// CHECK: %[[N:.*]] = torch.constant.int 3
// CHECK-NEXT: %[[S:.*]] = torch.prim.ListConstruct %[[N]] : (!torch.int) -> !torch.list<int>
// CHECK-NEXT: torch.aten.layer_norm %fc1, %[[S]], %ln_weight, %ln_bias, {{.*}} : !torch.vtensor<[1,3,3],f32>, !torch.list<int>, !torch.vtensor<[3],f32>, !torch.vtensor<[3],f32>, {{.*}} -> !torch.vtensor<[1,3,3],f32>
// CHECK: spa.param "fc2.weight" {{.*}} : !torch.vtensor<[3,3],f32>
func.func @layer_norm(%x: !torch.vtensor<[1,3,4],f32>) -> !torch.vtensor<[1,3,3],f32> {
  %fc1_weight = spa.param "fc1.weight" = dense<0.5> : tensor<6x4xf32> : !torch.vtensor<[6,4],f32>
  %fc1_bias = spa.param "fc1.bias" = dense<0.5> : tensor<6xf32> : !torch.vtensor<[6],f32>
  %fc1 = torch.aten.linear %x, %fc1_weight, %fc1_bias : !torch.vtensor<[1,3,4],f32>, !torch.vtensor<[6,4],f32>, !torch.vtensor<[6],f32> -> !torch.vtensor<[1,3,6],f32>
  %int6 = torch.constant.int 6
  %0 = torch.prim.ListConstruct %int6 : (!torch.int) -> !torch.list<int>
  %ln_weight = spa.param "ln.weight" = dense<0.5> : tensor<6xf32> : !torch.vtensor<[6],f32>
  %ln_bias = spa.param "ln.bias" = dense<0.5> : tensor<6xf32> : !torch.vtensor<[6],f32>
  %float1.000000e-05 = torch.constant.float 1.000000e-05
  %false = torch.constant.bool false
  %ln = torch.aten.layer_norm %fc1, %0, %ln_weight, %ln_bias, %float1.000000e-05, %false : !torch.vtensor<[1,3,6],f32>, !torch.list<int>, !torch.vtensor<[6],f32>, !torch.vtensor<[6],f32>, !torch.float, !torch.bool -> !torch.vtensor<[1,3,6],f32>
  %fc2_weight = spa.param "fc2.weight" = dense<0.5> : tensor<3x6xf32> : !torch.vtensor<[3,6],f32>
  %fc2_bias = spa.param "fc2.bias" = dense<0.5> : tensor<3xf32> : !torch.vtensor<[3],f32>
  %fc2 = torch.aten.linear %ln, %fc2_weight, %fc2_bias : !torch.vtensor<[1,3,6],f32>, !torch.vtensor<[3,6],f32>, !torch.vtensor<[3],f32> -> !torch.vtensor<[1,3,3],f32>
  return %fc2 : !torch.vtensor<[1,3,3],f32>
}

// -----

// CHECK-LABEL: func.func @rms_norm
// CHECK: spa.param "norm.weight" {{.*}} : !torch.vtensor<[3],f32>
// CHECK: %[[RN:.*]] = torch.constant.int 3
// CHECK-NEXT: %[[RS:.*]] = torch.prim.ListConstruct %[[RN]] : (!torch.int) -> !torch.list<int>
// CHECK-NEXT: torch.aten.rms_norm %fc1, %[[RS]], %norm_weight, %none : !torch.vtensor<[1,3,3],f32>, {{.*}} -> !torch.vtensor<[1,3,3],f32>
func.func @rms_norm(%x: !torch.vtensor<[1,3,4],f32>) -> !torch.vtensor<[1,3,3],f32> {
  %fc1_weight = spa.param "fc1.weight" = dense<0.5> : tensor<6x4xf32> : !torch.vtensor<[6,4],f32>
  %fc1_bias = spa.param "fc1.bias" = dense<0.5> : tensor<6xf32> : !torch.vtensor<[6],f32>
  %fc1 = torch.aten.linear %x, %fc1_weight, %fc1_bias : !torch.vtensor<[1,3,4],f32>, !torch.vtensor<[6,4],f32>, !torch.vtensor<[6],f32> -> !torch.vtensor<[1,3,6],f32>
  %int6 = torch.constant.int 6
  %0 = torch.prim.ListConstruct %int6 : (!torch.int) -> !torch.list<int>
  %norm_weight = spa.param "norm.weight" = dense<0.5> : tensor<6xf32> : !torch.vtensor<[6],f32>
  %none = torch.constant.none
  %norm = torch.aten.rms_norm %fc1, %0, %norm_weight, %none : !torch.vtensor<[1,3,6],f32>, !torch.list<int>, !torch.vtensor<[6],f32>, !torch.none -> !torch.vtensor<[1,3,6],f32>
  %fc2_weight = spa.param "fc2.weight" = dense<0.5> : tensor<3x6xf32> : !torch.vtensor<[3,6],f32>
  %fc2_bias = spa.param "fc2.bias" = dense<0.5> : tensor<3xf32> : !torch.vtensor<[3],f32>
  %fc2 = torch.aten.linear %norm, %fc2_weight, %fc2_bias : !torch.vtensor<[1,3,6],f32>, !torch.vtensor<[3,6],f32>, !torch.vtensor<[3],f32> -> !torch.vtensor<[1,3,3],f32>
  return %fc2 : !torch.vtensor<[1,3,3],f32>
}

// -----

// CHECK-LABEL: func.func @group_norm
// CHECK: spa.param "c1.weight" {{.*}} : !torch.vtensor<[2,2,1],f32>
// CHECK: spa.param "gn.weight" {{.*}} : !torch.vtensor<[2],f32>
// CHECK: spa.param "gn.bias" {{.*}} : !torch.vtensor<[2],f32>
// CHECK: %[[ONE:.*]] = torch.constant.int 1
// CHECK: torch.aten.group_norm %c1, %[[ONE]], %gn_weight, %gn_bias, {{.*}} : !torch.vtensor<[1,2,5],f32>, !torch.int, {{.*}} -> !torch.vtensor<[1,2,5],f32>
// CHECK: spa.param "c2.weight" {{.*}} : !torch.vtensor<[3,2,1],f32>
func.func @group_norm(%x: !torch.vtensor<[1,2,5],f32>) -> !torch.vtensor<[1,3,5],f32> {
  %c1_weight = spa.param "c1.weight" = dense<0.5> : tensor<8x2x1xf32> : !torch.vtensor<[8,2,1],f32>
  %c1_bias = spa.param "c1.bias" = dense<0.5> : tensor<8xf32> : !torch.vtensor<[8],f32>
  %int1 = torch.constant.int 1
  %0 = torch.prim.ListConstruct %int1 : (!torch.int) -> !torch.list<int>
  %int0 = torch.constant.int 0
  %1 = torch.prim.ListConstruct %int0 : (!torch.int) -> !torch.list<int>
  %c1 = torch.aten.conv1d %x, %c1_weight, %c1_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,2,5],f32>, !torch.vtensor<[8,2,1],f32>, !torch.vtensor<[8],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,8,5],f32>
  %int2 = torch.constant.int 2
  %gn_weight = spa.param "gn.weight" = dense<0.5> : tensor<8xf32> : !torch.vtensor<[8],f32>
  %gn_bias = spa.param "gn.bias" = dense<0.5> : tensor<8xf32> : !torch.vtensor<[8],f32>
  %float1.000000e-05 = torch.constant.float 1.000000e-05
  %false = torch.constant.bool false
  %gn = torch.aten.group_norm %c1, %int2, %gn_weight, %gn_bias, %float1.000000e-05, %false : !torch.vtensor<[1,8,5],f32>, !torch.int, !torch.vtensor<[8],f32>, !torch.vtensor<[8],f32>, !torch.float, !torch.bool -> !torch.vtensor<[1,8,5],f32>
  %c2_weight = spa.param "c2.weight" = dense<0.5> : tensor<3x8x1xf32> : !torch.vtensor<[3,8,1],f32>
  %c2_bias = spa.param "c2.bias" = dense<0.5> : tensor<3xf32> : !torch.vtensor<[3],f32>
  %c2 = torch.aten.conv1d %gn, %c2_weight, %c2_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,8,5],f32>, !torch.vtensor<[3,8,1],f32>, !torch.vtensor<[3],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,3,5],f32>
  return %c2 : !torch.vtensor<[1,3,5],f32>
}
