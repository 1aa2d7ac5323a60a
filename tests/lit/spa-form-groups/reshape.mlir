// RUN: spa-opt --split-input-file %s -p spa-propagate-channels,spa-form-groups | filecheck %s
// Index maps through reshapes: after a flatten of [4, 7, 7], channel k of the conv is columns
// 49k .. 49k+48 of fc.weight (stride 49, block 49). After an unflatten of 12 into [3, 4], fc1's rows
// hold two groups: the outer (3) owns 4 consecutive rows (stride 4, block 4), the inner (4) owns one
// row in each of the 3 blocks (count 3, period 4); fc2's columns follow the same maps.
// Input as in spa-propagate-channels/reshape.mlir.

// CHECK-LABEL: builtin.module
// CHECK: spa.group @g{{[0-9]+}} {size = 4 : i64, space = "s{{[0-9]+}}", members = [#spa.member<"c1.weight"[0]>, #spa.member<"c1.bias"[0]>, #spa.member<"fc.weight"[1], stride 49, block 49>], exact = true}
func.func @flatten(%x: !torch.vtensor<[1,2,7,7],f32>) -> !torch.vtensor<[1,3],f32> {
  %c1_weight = spa.param "c1.weight" = dense<0.5> : tensor<4x2x1x1xf32> : !torch.vtensor<[4,2,1,1],f32>
  %c1_bias = spa.param "c1.bias" = dense<0.5> : tensor<4xf32> : !torch.vtensor<[4],f32>
  %int1 = torch.constant.int 1
  %0 = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int>
  %int0 = torch.constant.int 0
  %1 = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int>
  %c1 = torch.aten.conv2d %x, %c1_weight, %c1_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,2,7,7],f32>, !torch.vtensor<[4,2,1,1],f32>, !torch.vtensor<[4],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,4,7,7],f32>
  %int196 = torch.constant.int 196
  %2 = torch.prim.ListConstruct %int1, %int196 : (!torch.int, !torch.int) -> !torch.list<int>
  %view = torch.aten.view %c1, %2 : !torch.vtensor<[1,4,7,7],f32>, !torch.list<int> -> !torch.vtensor<[1,196],f32>
  %fc_weight = spa.param "fc.weight" = dense<0.5> : tensor<3x196xf32> : !torch.vtensor<[3,196],f32>
  %fc_bias = spa.param "fc.bias" = dense<0.5> : tensor<3xf32> : !torch.vtensor<[3],f32>
  %fc = torch.aten.linear %view, %fc_weight, %fc_bias : !torch.vtensor<[1,196],f32>, !torch.vtensor<[3,196],f32>, !torch.vtensor<[3],f32> -> !torch.vtensor<[1,3],f32>
  return %fc : !torch.vtensor<[1,3],f32>
}

// -----

// CHECK-LABEL: builtin.module
// CHECK: spa.group @g{{[0-9]+}} {size = 3 : i64, space = "s{{[0-9]+}}", members = [#spa.member<"fc1.weight"[0], stride 4, block 4>, #spa.member<"fc1.bias"[0], stride 4, block 4>, #spa.member<"fc2.weight"[1], stride 4, block 4>], exact = true}
// CHECK-NEXT: spa.group @g{{[0-9]+}} {size = 4 : i64, space = "s{{[0-9]+}}", members = [#spa.member<"fc1.weight"[0], count 3, period 4>, #spa.member<"fc1.bias"[0], count 3, period 4>, #spa.member<"fc2.weight"[1], count 3, period 4>], exact = true}
func.func @unflatten(%x: !torch.vtensor<[1,5,4],f32>) -> !torch.vtensor<[1,5,2],f32> {
  %fc1_weight = spa.param "fc1.weight" = dense<0.5> : tensor<12x4xf32> : !torch.vtensor<[12,4],f32>
  %fc1_bias = spa.param "fc1.bias" = dense<0.5> : tensor<12xf32> : !torch.vtensor<[12],f32>
  %fc1 = torch.aten.linear %x, %fc1_weight, %fc1_bias : !torch.vtensor<[1,5,4],f32>, !torch.vtensor<[12,4],f32>, !torch.vtensor<[12],f32> -> !torch.vtensor<[1,5,12],f32>
  %int-1 = torch.constant.int -1
  %int3 = torch.constant.int 3
  %int4 = torch.constant.int 4
  %0 = torch.prim.ListConstruct %int3, %int4 : (!torch.int, !torch.int) -> !torch.list<int>
  %unflatten = torch.aten.unflatten.int %fc1, %int-1, %0 : !torch.vtensor<[1,5,12],f32>, !torch.int, !torch.list<int> -> !torch.vtensor<[1,5,3,4],f32>
  %relu = torch.aten.relu %unflatten : !torch.vtensor<[1,5,3,4],f32> -> !torch.vtensor<[1,5,3,4],f32>
  %int2 = torch.constant.int 2
  %flatten = torch.aten.flatten.using_ints %relu, %int2, %int-1 : !torch.vtensor<[1,5,3,4],f32>, !torch.int, !torch.int -> !torch.vtensor<[1,5,12],f32>
  %fc2_weight = spa.param "fc2.weight" = dense<0.5> : tensor<2x12xf32> : !torch.vtensor<[2,12],f32>
  %fc2_bias = spa.param "fc2.bias" = dense<0.5> : tensor<2xf32> : !torch.vtensor<[2],f32>
  %fc2 = torch.aten.linear %flatten, %fc2_weight, %fc2_bias : !torch.vtensor<[1,5,12],f32>, !torch.vtensor<[2,12],f32>, !torch.vtensor<[2],f32> -> !torch.vtensor<[1,5,2],f32>
  return %fc2 : !torch.vtensor<[1,5,2],f32>
}
