// RUN: spa-opt --split-input-file %s -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance,spa-select-channels{ratio=0.5},spa-eliminate-dead-channels' | filecheck %s
// The size constants of reshapes follow the pruned shapes: view [1, 196] becomes [1, 98] (2 channels x
// 49 left), unflatten's sizes [3, 4] become [2, 2]; flatten.using_ints has only dims, so only its type
// changes. New constant lists are built (the old ones may be shared).
// Input as in spa-propagate-channels/reshape.mlir.

// CHECK-LABEL: func.func @flatten
// CHECK: %[[N98:.*]] = torch.constant.int 98
// CHECK-NEXT: %[[SHAPE:.*]] = torch.prim.ListConstruct %int1, %[[N98]] : (!torch.int, !torch.int) -> !torch.list<int>
// CHECK-NEXT: torch.aten.view %c1, %[[SHAPE]] : !torch.vtensor<[1,2,7,7],f32>, !torch.list<int> -> !torch.vtensor<[1,98],f32>
// CHECK: spa.param "fc.weight" {{.*}} : !torch.vtensor<[3,98],f32>
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

// CHECK-LABEL: func.func @unflatten
// CHECK: spa.param "fc1.weight" {{.*}} : !torch.vtensor<[4,4],f32>
// CHECK: %[[A:.*]] = torch.constant.int 2
// CHECK-NEXT: %[[B:.*]] = torch.constant.int 2
// CHECK-NEXT: %[[SIZES:.*]] = torch.prim.ListConstruct %[[A]], %[[B]] : (!torch.int, !torch.int) -> !torch.list<int>
// CHECK-NEXT: torch.aten.unflatten.int %fc1, %int-1, %[[SIZES]] : !torch.vtensor<[1,5,4],f32>, !torch.int, !torch.list<int> -> !torch.vtensor<[1,5,2,2],f32>
// CHECK: torch.aten.flatten.using_ints %relu, {{.*}} : !torch.vtensor<[1,5,2,2],f32>, !torch.int, !torch.int -> !torch.vtensor<[1,5,4],f32>
// CHECK: spa.param "fc2.weight" {{.*}} : !torch.vtensor<[2,4],f32>
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
