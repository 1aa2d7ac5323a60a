// RUN: spa-opt %s -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance,spa-select-channels{ratio=0.5},spa-eliminate-dead-channels' --plan=%t.json | filecheck %s
// RUN: %python -m json.tool --compact %t.json | filecheck %s --check-prefix=PLAN
// Pruning through a channel shuffle: group 0 and channels 0, 1 of every group go. c1 keeps rows 6, 7
// (group 1, channels 2, 3); after the shuffle these are c2's columns 5 and 7, so c2 loses columns
// 0-4 and 6, not c1's indices. Both reshapes get new sizes: [1, 2, 4, 2, 2] -> [1, 1, 2, 2, 2] and
// [1, 8, 2, 2] -> [1, 2, 2, 2]. Input as in spa-propagate-channels/channel_shuffle.mlir.

// CHECK: spa.param "c1.weight" {{.*}} : !torch.vtensor<[2,2,1,1],f32>
// CHECK: torch.prim.ListConstruct %int1, %int2, %int4, %int2, %int2 :
// CHECK-NEXT: %[[G:.*]] = torch.constant.int 1
// CHECK-NEXT: %[[C:.*]] = torch.constant.int 2
// CHECK-NEXT: %[[S1:.*]] = torch.prim.ListConstruct %int1, %[[G]], %[[C]], %int2, %int2 :
// CHECK-NEXT: %view = torch.aten.view %c1, %[[S1]] : !torch.vtensor<[1,2,2,2],f32>, !torch.list<int> -> !torch.vtensor<[1,1,2,2,2],f32>
// CHECK-NEXT: torch.aten.transpose.int {{.*}} -> !torch.vtensor<[1,2,1,2,2],f32>
// CHECK: torch.prim.ListConstruct %int1, %int8, %int2, %int2 :
// CHECK-NEXT: %[[N:.*]] = torch.constant.int 2
// CHECK-NEXT: %[[S2:.*]] = torch.prim.ListConstruct %int1, %[[N]], %int2, %int2 :
// CHECK-NEXT: torch.aten._unsafe_view %clone, %[[S2]] : !torch.vtensor<[1,2,1,2,2],f32>, !torch.list<int> -> !torch.vtensor<[1,2,2,2],f32>
// CHECK: spa.param "c2.weight" {{.*}} : !torch.vtensor<[3,2,1,1],f32>
// PLAN: "c1.weight":{"0":[0,1,2,3,4,5]},"c2.weight":{"1":[0,1,2,3,4,6]}
func.func @channel_shuffle(%x: !torch.vtensor<[1,2,2,2],f32>) -> !torch.vtensor<[1,3,2,2],f32> {
  %c1_weight = spa.param "c1.weight" = dense<0.5> : tensor<8x2x1x1xf32> : !torch.vtensor<[8,2,1,1],f32>
  %c1_bias = spa.param "c1.bias" = dense<0.5> : tensor<8xf32> : !torch.vtensor<[8],f32>
  %int1 = torch.constant.int 1
  %0 = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int>
  %int0 = torch.constant.int 0
  %1 = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int>
  %c1 = torch.aten.conv2d %x, %c1_weight, %c1_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,2,2,2],f32>, !torch.vtensor<[8,2,1,1],f32>, !torch.vtensor<[8],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,8,2,2],f32>
  %int2 = torch.constant.int 2
  %int4 = torch.constant.int 4
  %2 = torch.prim.ListConstruct %int1, %int2, %int4, %int2, %int2 : (!torch.int, !torch.int, !torch.int, !torch.int, !torch.int) -> !torch.list<int>
  %view = torch.aten.view %c1, %2 : !torch.vtensor<[1,8,2,2],f32>, !torch.list<int> -> !torch.vtensor<[1,2,4,2,2],f32>
  %transpose = torch.aten.transpose.int %view, %int1, %int2 : !torch.vtensor<[1,2,4,2,2],f32>, !torch.int, !torch.int -> !torch.vtensor<[1,4,2,2,2],f32>
  %clone = torch.aten.clone %transpose, %int0 : !torch.vtensor<[1,4,2,2,2],f32>, !torch.int -> !torch.vtensor<[1,4,2,2,2],f32>
  %int8 = torch.constant.int 8
  %3 = torch.prim.ListConstruct %int1, %int8, %int2, %int2 : (!torch.int, !torch.int, !torch.int, !torch.int) -> !torch.list<int>
  %_unsafe_view = torch.aten._unsafe_view %clone, %3 : !torch.vtensor<[1,4,2,2,2],f32>, !torch.list<int> -> !torch.vtensor<[1,8,2,2],f32>
  %c2_weight = spa.param "c2.weight" = dense<0.5> : tensor<3x8x1x1xf32> : !torch.vtensor<[3,8,1,1],f32>
  %c2_bias = spa.param "c2.bias" = dense<0.5> : tensor<3xf32> : !torch.vtensor<[3],f32>
  %c2 = torch.aten.conv2d %_unsafe_view, %c2_weight, %c2_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,8,2,2],f32>, !torch.vtensor<[3,8,1,1],f32>, !torch.vtensor<[3],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,3,2,2],f32>
  return %c2 : !torch.vtensor<[1,3,2,2],f32>
}
