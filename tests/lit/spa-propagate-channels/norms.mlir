// RUN: spa-opt --split-input-file %s -p spa-propagate-channels | filecheck %s
// Normalization layers. Batch norm (eval) is per channel: its 4 parameters and buffers join the
// conv's output space, and pruning stays exact. Layer norm and RMSNorm over the channel dim couple
// their weight (and bias) to it and mark it inexact: the statistics are over all channels, so removing
// channels is not the same as zeroing them. Group norm splits the channels into `groups x per-group`:
// whole groups are exact (num_groups is rewritten), the per-group channels are prunable, but inexact.
// IR from tests/lit/Inputs/tiny_models.py: batch_norm (input 1,2,2,2), layer_norm and rms_norm
// (input 1,3,4), group_norm (input 1,2,5).

// CHECK-LABEL: builtin.module
// CHECK-DAG: spa.space @s[[BC:[0-9]+]] {size = 4 : i64, origin = "c1.weight[0]"}{{$}}
// CHECK: func.func @batch_norm
// CHECK: torch.aten.conv2d %x, {{.*}} {spa.dims = [#spa.dims<[_, s[[BC]], _, _]>]}
// CHECK: spa.param "bn.weight" {{.*}} {spa.dims = [#spa.dims<[s[[BC]]]>]}
// CHECK: spa.param "bn.bias" {{.*}} {spa.dims = [#spa.dims<[s[[BC]]]>]}
// CHECK: spa.param "bn.running_mean" buffer {{.*}} {spa.dims = [#spa.dims<[s[[BC]]]>]}
// CHECK: spa.param "bn.running_var" buffer {{.*}} {spa.dims = [#spa.dims<[s[[BC]]]>]}
// CHECK: torch.operator "torch.aten._native_batch_norm_legit_no_training"{{.*}} {spa.dims = [#spa.dims<[_, s[[BC]], _, _]>, #spa.dims<[_]>, #spa.dims<[_]>]}
// CHECK: spa.param "c2.weight" {{.*}} {spa.dims = [#spa.dims<[s{{[0-9]+}}, s[[BC]], _, _]>]}
func.func @batch_norm(%x: !torch.vtensor<[1,2,2,2],f32>) -> !torch.vtensor<[1,3,2,2],f32> {
  %c1_weight = spa.param "c1.weight" = dense<0.5> : tensor<4x2x1x1xf32> : !torch.vtensor<[4,2,1,1],f32>
  %c1_bias = spa.param "c1.bias" = dense<0.5> : tensor<4xf32> : !torch.vtensor<[4],f32>
  %int1 = torch.constant.int 1
  %0 = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int>
  %int0 = torch.constant.int 0
  %1 = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int>
  %c1 = torch.aten.conv2d %x, %c1_weight, %c1_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,2,2,2],f32>, !torch.vtensor<[4,2,1,1],f32>, !torch.vtensor<[4],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,4,2,2],f32>
  %bn_weight = spa.param "bn.weight" = dense<0.5> : tensor<4xf32> : !torch.vtensor<[4],f32>
  %bn_bias = spa.param "bn.bias" = dense<0.5> : tensor<4xf32> : !torch.vtensor<[4],f32>
  %bn_running_mean = spa.param "bn.running_mean" buffer = dense<0.5> : tensor<4xf32> : !torch.vtensor<[4],f32>
  %bn_running_var = spa.param "bn.running_var" buffer = dense<0.5> : tensor<4xf32> : !torch.vtensor<[4],f32>
  %float1.000000e-01 = torch.constant.float 1.000000e-01
  %float1.000000e-05 = torch.constant.float 1.000000e-05
  %bn, %bn_1, %bn_2 = torch.operator "torch.aten._native_batch_norm_legit_no_training"(%c1, %bn_weight, %bn_bias, %bn_running_mean, %bn_running_var, %float1.000000e-01, %float1.000000e-05) : (!torch.vtensor<[1,4,2,2],f32>, !torch.vtensor<[4],f32>, !torch.vtensor<[4],f32>, !torch.vtensor<[4],f32>, !torch.vtensor<[4],f32>, !torch.float, !torch.float) -> (!torch.vtensor<[1,4,2,2],f32>, !torch.vtensor<[0],f32>, !torch.vtensor<[0],f32>)
  %c2_weight = spa.param "c2.weight" = dense<0.5> : tensor<3x4x1x1xf32> : !torch.vtensor<[3,4,1,1],f32>
  %c2_bias = spa.param "c2.bias" = dense<0.5> : tensor<3xf32> : !torch.vtensor<[3],f32>
  %c2 = torch.aten.conv2d %bn, %c2_weight, %c2_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,4,2,2],f32>, !torch.vtensor<[3,4,1,1],f32>, !torch.vtensor<[3],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,3,2,2],f32>
  return %c2 : !torch.vtensor<[1,3,2,2],f32>
}

// -----

// CHECK-LABEL: builtin.module
// CHECK-DAG: spa.space @s[[LH:[0-9]+]] {size = 6 : i64, origin = "fc1.weight[0]", inexact = [#spa.reason<"normalization over channels", "torch.aten.layer_norm">]}
// CHECK: func.func @layer_norm
// CHECK: torch.aten.linear %x, {{.*}} {spa.dims = [#spa.dims<[_, s{{[0-9]+}}, s[[LH]]]>]}
// CHECK: spa.param "ln.weight" {{.*}} {spa.dims = [#spa.dims<[s[[LH]]]>]}
// CHECK: spa.param "ln.bias" {{.*}} {spa.dims = [#spa.dims<[s[[LH]]]>]}
// CHECK: torch.aten.layer_norm {{.*}} {spa.dims = [#spa.dims<[_, s{{[0-9]+}}, s[[LH]]]>]}
// CHECK: spa.param "fc2.weight" {{.*}} {spa.dims = [#spa.dims<[s{{[0-9]+}}, s[[LH]]]>]}
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

// CHECK-LABEL: builtin.module
// CHECK-DAG: spa.space @s[[GG:[0-9]+]] {size = 2 : i64, origin = "torch.aten.group_norm groups"}{{$}}
// CHECK-DAG: spa.space @s[[GP:[0-9]+]] {size = 4 : i64, origin = "torch.aten.group_norm", inexact = [#spa.reason<"normalization over the channels of a group", "torch.aten.group_norm">]}
// CHECK: func.func @group_norm
// CHECK: spa.param "c1.weight" {{.*}} {spa.dims = [#spa.dims<[s[[GG]] x s[[GP]], s{{[0-9]+}}, _]>]}
// CHECK: torch.aten.conv1d %x, {{.*}} {spa.dims = [#spa.dims<[_, s[[GG]] x s[[GP]], _]>]}
// CHECK: spa.param "gn.weight" {{.*}} {spa.dims = [#spa.dims<[s[[GG]] x s[[GP]]]>]}
// CHECK: spa.param "gn.bias" {{.*}} {spa.dims = [#spa.dims<[s[[GG]] x s[[GP]]]>]}
// CHECK: torch.aten.group_norm {{.*}} {spa.dims = [#spa.dims<[_, s[[GG]] x s[[GP]], _]>]}
// CHECK: spa.param "c2.weight" {{.*}} {spa.dims = [#spa.dims<[s{{[0-9]+}}, s[[GG]] x s[[GP]], _]>]}
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

// -----

// nn.RMSNorm lowers to aten.rms_norm (weight only).
// CHECK-LABEL: builtin.module
// CHECK-DAG: spa.space @s[[RH:[0-9]+]] {size = 6 : i64, origin = "fc1.weight[0]", inexact = [#spa.reason<"normalization over channels", "torch.aten.rms_norm">]}
// CHECK: func.func @rms_norm
// CHECK: spa.param "norm.weight" {{.*}} {spa.dims = [#spa.dims<[s[[RH]]]>]}
// CHECK: torch.aten.rms_norm {{.*}} {spa.dims = [#spa.dims<[_, s{{[0-9]+}}, s[[RH]]]>]}
// CHECK: spa.param "fc2.weight" {{.*}} {spa.dims = [#spa.dims<[s{{[0-9]+}}, s[[RH]]]>]}
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
