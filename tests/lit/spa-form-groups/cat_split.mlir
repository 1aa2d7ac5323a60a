// RUN: spa-opt %s -p spa-propagate-channels,spa-form-groups | filecheck %s
// Members of concatenated / split channels carry an offset: c2's channel k is column 4 + k of c3's
// weight (after c1's 4 channels), the second piece of split_with_sizes([3, 5]) starts at row 3 of c3,
// the second chunk at row 2 of ca and cb. Input as in spa-propagate-channels/cat_split.mlir.

// CHECK: spa.group @g{{[0-9]+}} {size = 4 : i64, space = "s{{[0-9]+}}", members = [#spa.member<"c1.weight"[0]>, #spa.member<"c1.bias"[0]>, #spa.member<"c3.weight"[1]>], exact = true}
// CHECK-NEXT: spa.group @g{{[0-9]+}} {size = 6 : i64, space = "s{{[0-9]+}}", members = [#spa.member<"c2.weight"[0]>, #spa.member<"c2.bias"[0]>, #spa.member<"c3.weight"[1], offset 4>], exact = true}
// CHECK-NEXT: spa.group @g{{[0-9]+}} {size = 3 : i64, space = "s{{[0-9]+}}", members = [#spa.member<"c3.weight"[0]>, #spa.member<"c3.bias"[0]>, #spa.member<"ca.weight"[1]>], exact = true}
// CHECK-NEXT: spa.group @g{{[0-9]+}} {size = 5 : i64, space = "s{{[0-9]+}}", members = [#spa.member<"c3.weight"[0], offset 3>, #spa.member<"c3.bias"[0], offset 3>, #spa.member<"cb.weight"[1]>], exact = true}
// CHECK-NEXT: spa.group @g{{[0-9]+}} {size = 2 : i64, space = "s{{[0-9]+}}", members = [#spa.member<"ca.weight"[0]>, #spa.member<"ca.bias"[0]>, #spa.member<"cb.weight"[0]>, #spa.member<"cb.bias"[0]>, #spa.member<"cl.weight"[1]>], exact = true}
// CHECK-NEXT: spa.group @g{{[0-9]+}} {size = 2 : i64, space = "s{{[0-9]+}}", members = [#spa.member<"ca.weight"[0], offset 2>, #spa.member<"ca.bias"[0], offset 2>, #spa.member<"cb.weight"[0], offset 2>, #spa.member<"cb.bias"[0], offset 2>, #spa.member<"cr.weight"[1]>], exact = true}
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
