// RUN: spa-opt %s -p spa-propagate-channels | filecheck %s
// A fused projection split by slicing (Phi-3's qkv), with an empty slice at its end (rotary's pass-through part
// when the rotary dims cover the head): the empty slice takes no channel, and the projection's rows are refined
// into the two non-empty parts only.

// CHECK-DAG: spa.space @s[[Q:[0-9]+]] {size = 4 : i64, origin = "torch.aten.slice.Tensor"}
// CHECK-DAG: spa.space @s[[V:[0-9]+]] {size = 8 : i64, origin = "torch.aten.slice.Tensor"}
// CHECK: torch.aten.linear {{.*}} {spa.dims = [#spa.dims<[_, cat(s[[Q]], s[[V]])]>]}
// CHECK: torch.aten.slice.Tensor %3, %int1, %int0, %int4, %int1 {spa.dims = [#spa.dims<[_, s[[Q]]]>]}
// CHECK: torch.aten.slice.Tensor %3, %int1, %int4, %int12, %int1 {spa.dims = [#spa.dims<[_, s[[V]]]>]}
// CHECK: torch.aten.slice.Tensor %3, %int1, %int12, %max, %int1 {spa.dims = [#spa.dims<[_, _]>]}
// CHECK: torch.aten.cat %7, %int {spa.dims = [#spa.dims<[_, s[[V]]]>]}
func.func @main(%0: !torch.vtensor<[1,4],f32>) -> !torch.vtensor<[1,3],f32> {
  %1 = spa.param "qkv.weight" = dense<0.5> : tensor<12x4xf32> : !torch.vtensor<[12,4],f32>
  %2 = spa.param "qkv.bias" = dense<0.0> : tensor<12xf32> : !torch.vtensor<[12],f32>
  %3 = torch.aten.linear %0, %1, %2 : !torch.vtensor<[1,4],f32>, !torch.vtensor<[12,4],f32>, !torch.vtensor<[12],f32> -> !torch.vtensor<[1,12],f32>
  %int1 = torch.constant.int 1
  %int0 = torch.constant.int 0
  %int4 = torch.constant.int 4
  %int12 = torch.constant.int 12
  %max = torch.constant.int 9223372036854775807
  %4 = torch.aten.slice.Tensor %3, %int1, %int0, %int4, %int1 : !torch.vtensor<[1,12],f32>, !torch.int, !torch.int, !torch.int, !torch.int -> !torch.vtensor<[1,4],f32>
  %5 = torch.aten.slice.Tensor %3, %int1, %int4, %int12, %int1 : !torch.vtensor<[1,12],f32>, !torch.int, !torch.int, !torch.int, !torch.int -> !torch.vtensor<[1,8],f32>
  %6 = torch.aten.slice.Tensor %3, %int1, %int12, %max, %int1 : !torch.vtensor<[1,12],f32>, !torch.int, !torch.int, !torch.int, !torch.int -> !torch.vtensor<[1,0],f32>
  %7 = torch.prim.ListConstruct %5, %6 : (!torch.vtensor<[1,8],f32>, !torch.vtensor<[1,0],f32>) -> !torch.list<vtensor>
  %int = torch.constant.int -1
  %8 = torch.aten.cat %7, %int : !torch.list<vtensor>, !torch.int -> !torch.vtensor<[1,8],f32>
  %9 = spa.param "out.weight" = dense<0.5> : tensor<3x8xf32> : !torch.vtensor<[3,8],f32>
  %10 = spa.param "out.bias" = dense<0.0> : tensor<3xf32> : !torch.vtensor<[3],f32>
  %11 = torch.aten.linear %8, %9, %10 : !torch.vtensor<[1,8],f32>, !torch.vtensor<[3,8],f32>, !torch.vtensor<[3],f32> -> !torch.vtensor<[1,3],f32>
  %int_1 = torch.constant.int -1
  %12 = torch.prim.ListConstruct %int_1 : (!torch.int) -> !torch.list<int>
  %true = torch.constant.bool true
  %none = torch.constant.none
  %13 = torch.aten.sum.dim_IntList %4, %12, %true, %none : !torch.vtensor<[1,4],f32>, !torch.list<int>, !torch.bool, !torch.none -> !torch.vtensor<[1,1],f32>
  %14 = torch.aten.add.Tensor %11, %13, %int1 : !torch.vtensor<[1,3],f32>, !torch.vtensor<[1,1],f32>, !torch.int -> !torch.vtensor<[1,3],f32>
  func.return %14 : !torch.vtensor<[1,3],f32>
}
