// RUN: spa-opt %s -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance,spa-select-channels{ratio=0.5},spa-eliminate-dead-channels' --plan=%t.json -o %t.mlir
// RUN: filecheck %s < %t.mlir
// RUN: %python -m json.tool --compact %t.json | filecheck %s --check-prefix=PLAN
// Pruning through cat and split: the cat needs no rewrite (its type shrinks to 2 + 3), the sizes of
// split_with_sizes [3, 5] become [2, 3], and the uniform split of 4 channels into 2 + 2 becomes
// split_with_sizes [1, 1] (a uniform split size could not say that). The plan shows the offsets: c1's
// channels 0, 1 and c2's channels 0-2 (smallest biases) are c3's columns 0, 1 and 4, 5, 6.
// Input as in spa-propagate-channels/cat_split.mlir.

// CHECK: %cat = torch.aten.cat %2, %int1 : !torch.list<vtensor>, !torch.int -> !torch.vtensor<[1,5,2,2],f32>
// CHECK: spa.param "c3.weight" {{.*}} : !torch.vtensor<[5,5,1,1],f32>
// CHECK: %[[S2:.*]] = torch.constant.int 2
// CHECK-NEXT: %[[S3:.*]] = torch.constant.int 3
// CHECK-NEXT: %[[SIZES:.*]] = torch.prim.ListConstruct %[[S2]], %[[S3]] : (!torch.int, !torch.int) -> !torch.list<int>
// CHECK-NEXT: torch.aten.split_with_sizes %c3, %[[SIZES]], %int1 : !torch.vtensor<[1,5,2,2],f32>, !torch.list<int>, !torch.int -> !torch.list<vtensor>
// CHECK-NEXT: torch.prim.ListUnpack %split_with_sizes : !torch.list<vtensor> -> !torch.vtensor<[1,2,2,2],f32>, !torch.vtensor<[1,3,2,2],f32>
// CHECK: spa.param "ca.weight" {{.*}} : !torch.vtensor<[2,2,1,1],f32>
// CHECK: spa.param "cb.weight" {{.*}} : !torch.vtensor<[2,3,1,1],f32>
// CHECK: %[[H1:.*]] = torch.constant.int 1
// CHECK-NEXT: %[[H2:.*]] = torch.constant.int 1
// CHECK-NEXT: %[[HALVES:.*]] = torch.prim.ListConstruct %[[H1]], %[[H2]] : (!torch.int, !torch.int) -> !torch.list<int>
// CHECK-NEXT: %split = torch.aten.split_with_sizes %add, %[[HALVES]], %int1 : !torch.vtensor<[1,2,2,2],f32>, !torch.list<int>, !torch.int -> !torch.list<vtensor>
// CHECK-NEXT: torch.prim.ListUnpack %split : !torch.list<vtensor> -> !torch.vtensor<[1,1,2,2],f32>, !torch.vtensor<[1,1,2,2],f32>
// CHECK: spa.param "cl.weight" {{.*}} : !torch.vtensor<[3,1,1,1],f32>
// CHECK: spa.param "cr.weight" {{.*}} : !torch.vtensor<[3,1,1,1],f32>
// PLAN: "c3.weight":{"0":[0,3,4],"1":[0,1,4,5,6]}
// PLAN-SAME: "ca.weight":{"0":[0,2],"1":[0]}
// PLAN-SAME: "cb.weight":{"0":[0,2],"1":[0,1]}
func.func @cat_split(%x: !torch.vtensor<[1,2,2,2],f32>) -> !torch.vtensor<[1,3,2,2],f32> {
  %c1_weight = spa.param "c1.weight" = dense<0.5> : tensor<4x2x1x1xf32> : !torch.vtensor<[4,2,1,1],f32>
  %c1_bias = spa.param "c1.bias" = dense<[0.0, 1.0, 2.0, 3.0]> : tensor<4xf32> : !torch.vtensor<[4],f32>
  %int1 = torch.constant.int 1
  %0 = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int>
  %int0 = torch.constant.int 0
  %1 = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int>
  %c1 = torch.aten.conv2d %x, %c1_weight, %c1_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,2,2,2],f32>, !torch.vtensor<[4,2,1,1],f32>, !torch.vtensor<[4],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,4,2,2],f32>
  %c2_weight = spa.param "c2.weight" = dense<0.5> : tensor<6x2x1x1xf32> : !torch.vtensor<[6,2,1,1],f32>
  %c2_bias = spa.param "c2.bias" = dense<[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]> : tensor<6xf32> : !torch.vtensor<[6],f32>
  %c2 = torch.aten.conv2d %x, %c2_weight, %c2_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,2,2,2],f32>, !torch.vtensor<[6,2,1,1],f32>, !torch.vtensor<[6],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,6,2,2],f32>
  %2 = torch.prim.ListConstruct %c1, %c2 : (!torch.vtensor<[1,4,2,2],f32>, !torch.vtensor<[1,6,2,2],f32>) -> !torch.list<vtensor>
  %cat = torch.aten.cat %2, %int1 : !torch.list<vtensor>, !torch.int -> !torch.vtensor<[1,10,2,2],f32>
  %c3_weight = spa.param "c3.weight" = dense<0.5> : tensor<8x10x1x1xf32> : !torch.vtensor<[8,10,1,1],f32>
  %c3_bias = spa.param "c3.bias" = dense<0.5> : tensor<8xf32> : !torch.vtensor<[8],f32>
  %c3 = torch.aten.conv2d %cat, %c3_weight, %c3_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,10,2,2],f32>, !torch.vtensor<[8,10,1,1],f32>, !torch.vtensor<[8],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,8,2,2],f32>
  %int3 = torch.constant.int 3
  %int5 = torch.constant.int 5
  %3 = torch.prim.ListConstruct %int3, %int5 : (!torch.int, !torch.int) -> !torch.list<int>
  %split_with_sizes = torch.aten.split_with_sizes %c3, %3, %int1 : !torch.vtensor<[1,8,2,2],f32>, !torch.list<int>, !torch.int -> !torch.list<vtensor>
  %4, %5 = torch.prim.ListUnpack %split_with_sizes : !torch.list<vtensor> -> !torch.vtensor<[1,3,2,2],f32>, !torch.vtensor<[1,5,2,2],f32>
  %ca_weight = spa.param "ca.weight" = dense<0.5> : tensor<4x3x1x1xf32> : !torch.vtensor<[4,3,1,1],f32>
  %ca_bias = spa.param "ca.bias" = dense<0.5> : tensor<4xf32> : !torch.vtensor<[4],f32>
  %ca = torch.aten.conv2d %4, %ca_weight, %ca_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,3,2,2],f32>, !torch.vtensor<[4,3,1,1],f32>, !torch.vtensor<[4],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,4,2,2],f32>
  %cb_weight = spa.param "cb.weight" = dense<0.5> : tensor<4x5x1x1xf32> : !torch.vtensor<[4,5,1,1],f32>
  %cb_bias = spa.param "cb.bias" = dense<0.5> : tensor<4xf32> : !torch.vtensor<[4],f32>
  %cb = torch.aten.conv2d %5, %cb_weight, %cb_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,5,2,2],f32>, !torch.vtensor<[4,5,1,1],f32>, !torch.vtensor<[4],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,4,2,2],f32>
  %add = torch.aten.add.Tensor %ca, %cb, %int1 : !torch.vtensor<[1,4,2,2],f32>, !torch.vtensor<[1,4,2,2],f32>, !torch.int -> !torch.vtensor<[1,4,2,2],f32>
  %int2 = torch.constant.int 2
  %split = torch.aten.split.Tensor %add, %int2, %int1 : !torch.vtensor<[1,4,2,2],f32>, !torch.int, !torch.int -> !torch.list<vtensor>
  %6, %7 = torch.prim.ListUnpack %split : !torch.list<vtensor> -> !torch.vtensor<[1,2,2,2],f32>, !torch.vtensor<[1,2,2,2],f32>
  %cl_weight = spa.param "cl.weight" = dense<0.5> : tensor<3x2x1x1xf32> : !torch.vtensor<[3,2,1,1],f32>
  %cl_bias = spa.param "cl.bias" = dense<0.5> : tensor<3xf32> : !torch.vtensor<[3],f32>
  %cl = torch.aten.conv2d %6, %cl_weight, %cl_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,2,2,2],f32>, !torch.vtensor<[3,2,1,1],f32>, !torch.vtensor<[3],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,3,2,2],f32>
  %cr_weight = spa.param "cr.weight" = dense<0.5> : tensor<3x2x1x1xf32> : !torch.vtensor<[3,2,1,1],f32>
  %cr_bias = spa.param "cr.bias" = dense<0.5> : tensor<3xf32> : !torch.vtensor<[3],f32>
  %cr = torch.aten.conv2d %7, %cr_weight, %cr_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,2,2,2],f32>, !torch.vtensor<[3,2,1,1],f32>, !torch.vtensor<[3],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,3,2,2],f32>
  %add_1 = torch.aten.add.Tensor %cl, %cr, %int1 : !torch.vtensor<[1,3,2,2],f32>, !torch.vtensor<[1,3,2,2],f32>, !torch.int -> !torch.vtensor<[1,3,2,2],f32>
  return %add_1 : !torch.vtensor<[1,3,2,2],f32>
}
