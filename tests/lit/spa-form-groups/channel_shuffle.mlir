// RUN: spa-opt %s -p spa-propagate-channels,spa-form-groups | filecheck %s
// The index maps of a channel shuffle (2 groups x 4 channels, shuffled to 4 x 2). Group channel g is
// rows 4g .. 4g+3 of c1 (stride 4, block 4) but columns g, g+2, g+4, g+6 of c2 (count 4, period 2);
// channel c within a group is rows c, c+4 of c1 (count 2, period 4) but columns 2c, 2c+1 of c2
// (stride 2, block 2). Input as in spa-propagate-channels/channel_shuffle.mlir.

// CHECK: spa.group @g{{[0-9]+}} {size = 2 : i64, space = "s{{[0-9]+}}", members = [#spa.member<"c1.weight"[0], stride 4, block 4>, #spa.member<"c1.bias"[0], stride 4, block 4>, #spa.member<"c2.weight"[1], count 4, period 2>], exact = true}
// CHECK-NEXT: spa.group @g{{[0-9]+}} {size = 4 : i64, space = "s{{[0-9]+}}", members = [#spa.member<"c1.weight"[0], count 2, period 4>, #spa.member<"c1.bias"[0], count 2, period 4>, #spa.member<"c2.weight"[1], stride 2, block 2>], exact = true}
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
