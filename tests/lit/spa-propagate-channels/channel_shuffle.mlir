// RUN: spa-opt %s -p spa-propagate-channels | filecheck %s
// Channel shuffle as ShuffleNet writes it: reshape 8 channels into 2 groups x 4, transpose, reshape
// back. c1's output space is refined into `s_g x s_c` (group-major) and after the shuffle c2 reads
// `s_c x s_g` (channel-major): the same two spaces in the other order, so c2's input columns are
// coupled to c1's output rows through the exact permutation, not index by index.
// IR from tests/lit/Inputs/tiny_models.py: channel_shuffle (input 1,2,2,2).

// CHECK-DAG: spa.space @s[[G:[0-9]+]] {size = 2 : i64, origin = "torch.aten.view"}
// CHECK-DAG: spa.space @s[[C:[0-9]+]] {size = 4 : i64, origin = "torch.aten.view"}
// CHECK: spa.param "c1.weight" {{.*}} {spa.dims = [#spa.dims<[s[[G]] x s[[C]], s{{[0-9]+}}, _, _]>]}
// CHECK: torch.aten.conv2d {{.*}} {spa.dims = [#spa.dims<[_, s[[G]] x s[[C]], _, _]>]}
// CHECK: torch.aten.view {{.*}} {spa.dims = [#spa.dims<[_, s[[G]], s[[C]], _, _]>]}
// CHECK: torch.aten.transpose.int {{.*}} {spa.dims = [#spa.dims<[_, s[[C]], s[[G]], _, _]>]}
// CHECK: torch.aten.clone {{.*}} {spa.dims = [#spa.dims<[_, s[[C]], s[[G]], _, _]>]}
// CHECK: torch.aten._unsafe_view {{.*}} {spa.dims = [#spa.dims<[_, s[[C]] x s[[G]], _, _]>]}
// CHECK: spa.param "c2.weight" {{.*}} {spa.dims = [#spa.dims<[s{{[0-9]+}}, s[[C]] x s[[G]], _, _]>]}
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
