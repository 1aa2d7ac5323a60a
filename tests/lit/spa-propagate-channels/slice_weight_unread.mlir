// RUN: spa-opt %s -p spa-propagate-channels | filecheck %s
// A table read only through a slice (BERT's position_ids[:, :seq], a rotary cache[:seq]): the bound is the
// input's length in the model's code, a constant in the capture. The part past it stays (frozen): a model
// pruned there would be wrong on longer inputs. The part read is refined as any slice's.
// A weight sliced twice (a fused table read in two parts) keeps both parts as they are (the second is an output here).

// CHECK-DAG: spa.space @s{{[0-9]+}} {size = 12 : i64, origin = "torch.aten.slice.Tensor", frozen = [#spa.reason<"part of a weight its one slice does not read", "torch.aten.slice.Tensor">]}
// CHECK-DAG: spa.space @s[[B:[0-9]+]] {size = 12 : i64, origin = "torch.aten.slice.Tensor", frozen = [#spa.reason<"model output">]}{{$}}
// CHECK: spa.param "pos.table" {{.*}} {spa.dims = [#spa.dims<[cat(s0, s[[P:[0-9]+]]), s1]>]}
// CHECK: spa.param "fused.table" {{.*}} {spa.dims = [#spa.dims<[cat(s0, s[[B]]), s1]>]}
func.func @main(%0: !torch.vtensor<[4,8],f32>) -> (!torch.vtensor<[4,8],f32>, !torch.vtensor<[12,8],f32>) {
  %1 = spa.param "pos.table" = dense<0.5> : tensor<16x8xf32> : !torch.vtensor<[16,8],f32>
  %int0 = torch.constant.int 0
  %int1 = torch.constant.int 1
  %int4 = torch.constant.int 4
  %int16 = torch.constant.int 16
  %2 = torch.aten.slice.Tensor %1, %int0, %int0, %int4, %int1 : !torch.vtensor<[16,8],f32>, !torch.int, !torch.int, !torch.int, !torch.int -> !torch.vtensor<[4,8],f32>
  %3 = torch.aten.add.Tensor %0, %2, %int1 : !torch.vtensor<[4,8],f32>, !torch.vtensor<[4,8],f32>, !torch.int -> !torch.vtensor<[4,8],f32>
  %4 = spa.param "fused.table" = dense<0.5> : tensor<16x8xf32> : !torch.vtensor<[16,8],f32>
  %5 = torch.aten.slice.Tensor %4, %int0, %int0, %int4, %int1 : !torch.vtensor<[16,8],f32>, !torch.int, !torch.int, !torch.int, !torch.int -> !torch.vtensor<[4,8],f32>
  %6 = torch.aten.slice.Tensor %4, %int0, %int4, %int16, %int1 : !torch.vtensor<[16,8],f32>, !torch.int, !torch.int, !torch.int, !torch.int -> !torch.vtensor<[12,8],f32>
  %7 = torch.aten.add.Tensor %0, %5, %int1 : !torch.vtensor<[4,8],f32>, !torch.vtensor<[4,8],f32>, !torch.int -> !torch.vtensor<[4,8],f32>
  %8 = torch.aten.relu %6 : !torch.vtensor<[12,8],f32> -> !torch.vtensor<[12,8],f32>
  func.return %7, %8 : !torch.vtensor<[4,8],f32>, !torch.vtensor<[12,8],f32>
}
