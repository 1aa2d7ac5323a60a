// RUN: spa-opt --split-input-file %s -p spa-propagate-channels,spa-form-groups | filecheck %s
// Groups of normalization layers carry why pruning them is inexact, so that selection can skip them
// (spa-select-channels{only-exact}). Group norm gives two groups over the same 8 channels (2 groups x
// 4): the groups, exact (a whole group goes with its statistics), whose channel k is the block of 4 at 4k; and the per-group channel,
// whose channel k is index k of every group (count 2, period 4). Input as in
// spa-propagate-channels/norms.mlir.

// CHECK-LABEL: builtin.module
// CHECK: spa.group @g{{[0-9]+}} {size = 6 : i64, space = "s{{[0-9]+}}", members = [#spa.member<"fc1.weight"[0]>, #spa.member<"fc1.bias"[0]>, #spa.member<"ln.weight"[0]>, #spa.member<"ln.bias"[0]>, #spa.member<"fc2.weight"[1]>], exact = false, inexact = [#spa.reason<"normalization over channels", "torch.aten.layer_norm">]}
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
// CHECK-DAG: spa.group @g[[G:[0-9]+]] {size = 2 : i64, space = "s[[G]]", members = [#spa.member<"c1.weight"[0], stride 4, block 4>, #spa.member<"c1.bias"[0], stride 4, block 4>, #spa.member<"gn.weight"[0], stride 4, block 4>, #spa.member<"gn.bias"[0], stride 4, block 4>, #spa.member<"c2.weight"[1], stride 4, block 4>], exact = true}
// CHECK-DAG: spa.group @g[[P:[0-9]+]] {size = 4 : i64, space = "s[[P]]", members = [#spa.member<"c1.weight"[0], count 2, period 4>, #spa.member<"c1.bias"[0], count 2, period 4>, #spa.member<"gn.weight"[0], count 2, period 4>, #spa.member<"gn.bias"[0], count 2, period 4>, #spa.member<"c2.weight"[1], count 2, period 4>], exact = false, inexact = [#spa.reason<"normalization over the channels of a group", "torch.aten.group_norm">]}
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
