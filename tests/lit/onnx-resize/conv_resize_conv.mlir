// RUN: spa-opt %s -p spa-propagate-channels | filecheck %s --check-prefix=DIMS
// RUN: spa-opt %s -p spa-propagate-channels,spa-form-groups | filecheck %s --check-prefix=GROUPS
// RUN: rm -rf %t && mkdir -p %t
// RUN: spa-opt %s --prune-groups='ratio=0.5 criterion=l1' -o %t/p.mlir
// RUN: filecheck %s --check-prefix=PRUNED < %t/p.mlir
// An ONNX Resize (nearest, half_pixel, round_prefer_ceil, scales 2 x 1.5) between two convs, as the ONNX frontend
// imports it: torch-mlir's `__interpolate` with the mode string "nearest_half_pixel,round_prefer_ceil"
// (spa_ir/ops/resampling.py). Resampling never mixes channels: N and C pass through, so conv1's 6 output channels
// are conv2's 6 input channels across the Resize (one exact group), and pruning shrinks the Resize's result type
// (its scales are spatial only: nothing to rewrite).
// IR from `spa-translate --import-onnx` of an onnx.helper graph: x [1,3,5,4] -> Conv conv1 (6, 3x3, pad 1) -> Relu
// -> Resize rs0 -> Conv conv2 (4, 3x3, pad 1); weights written as literals.

// DIMS-DAG: spa.space @s[[C:[0-9]+]] {size = 6 : i64, origin = "conv1.weight[0]"}{{$}}
// DIMS-DAG: spa.space @s[[OUT:[0-9]+]] {size = 4 : i64, origin = "conv2.weight[0]", frozen = [#spa.reason<"model output">]}
// DIMS: spa.param "conv2.weight" {{.*}} {spa.dims = [#spa.dims<[s[[OUT]], s[[C]], s{{[0-9]+}}, s{{[0-9]+}}]>]}
// DIMS: torch.aten.relu {{.*}} {spa.dims = [#spa.dims<[_, s[[C]], _, _]>]}
// DIMS-NEXT: torch.prim.ListConstruct
// DIMS-NEXT: torch.aten.__interpolate.size_list_scale_list {{.*}} {spa.dims = [#spa.dims<[_, s[[C]], _, _]>]} : !torch.vtensor<[1,6,5,4],f32>, {{.*}} -> !torch.vtensor<[1,6,10,6],f32>
// DIMS-NEXT: torch.aten.convolution {{.*}} {spa.dims = [#spa.dims<[_, s[[OUT]], _, _]>]}

// GROUPS: spa.group @g{{[0-9]+}} {size = 6 : i64, space = "s{{[0-9]+}}", members = [#spa.member<"conv1.weight"[0]>, #spa.member<"conv1.bias"[0]>, #spa.member<"conv2.weight"[1]>], exact = true}

// PRUNED: spa.param "conv1.weight" {{.*}} : !torch.vtensor<[3,3,3,3],f32>
// PRUNED: spa.param "conv2.weight" {{.*}} : !torch.vtensor<[4,3,3,3],f32>
// PRUNED: %scales = torch.prim.ListConstruct %float2, %float1.5
// PRUNED-NEXT: torch.aten.__interpolate.size_list_scale_list %r, %none, %scales, %mode, {{.*}} : !torch.vtensor<[1,3,5,4],f32>, {{.*}} -> !torch.vtensor<[1,3,10,6],f32>
func.func @main(%x: !torch.vtensor<[1,3,5,4],f32>) -> !torch.vtensor<[1,4,10,6],f32> {
  %w1 = spa.param "conv1.weight" = dense<0.5> : tensor<6x3x3x3xf32> : !torch.vtensor<[6,3,3,3],f32>
  %b1 = spa.param "conv1.bias" = dense<0.5> : tensor<6xf32> : !torch.vtensor<[6],f32>
  %w2 = spa.param "conv2.weight" = dense<0.25> : tensor<4x6x3x3xf32> : !torch.vtensor<[4,6,3,3],f32>
  %b2 = spa.param "conv2.bias" = dense<0.125> : tensor<4xf32> : !torch.vtensor<[4],f32>
  %float1.5 = torch.constant.float 1.500000e+00
  %float2 = torch.constant.float 2.000000e+00
  %mode = torch.constant.str "nearest_half_pixel,round_prefer_ceil"
  %false = torch.constant.bool false
  %none = torch.constant.none
  %int1 = torch.constant.int 1
  %int0 = torch.constant.int 0
  %ones = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int>
  %zeros = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int>
  %c1 = torch.aten.convolution %x, %w1, %b1, %ones, %ones, %ones, %false, %zeros, %int1 : !torch.vtensor<[1,3,5,4],f32>, !torch.vtensor<[6,3,3,3],f32>, !torch.vtensor<[6],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.bool, !torch.list<int>, !torch.int -> !torch.vtensor<[1,6,5,4],f32>
  %r = torch.aten.relu %c1 : !torch.vtensor<[1,6,5,4],f32> -> !torch.vtensor<[1,6,5,4],f32>
  %scales = torch.prim.ListConstruct %float2, %float1.5 : (!torch.float, !torch.float) -> !torch.list<float>
  %up = torch.aten.__interpolate.size_list_scale_list %r, %none, %scales, %mode, %false, %none, %false : !torch.vtensor<[1,6,5,4],f32>, !torch.none, !torch.list<float>, !torch.str, !torch.bool, !torch.none, !torch.bool -> !torch.vtensor<[1,6,10,6],f32>
  %c2 = torch.aten.convolution %up, %w2, %b2, %ones, %ones, %ones, %false, %zeros, %int1 : !torch.vtensor<[1,6,10,6],f32>, !torch.vtensor<[4,6,3,3],f32>, !torch.vtensor<[4],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.bool, !torch.list<int>, !torch.int -> !torch.vtensor<[1,4,10,6],f32>
  return %c2 : !torch.vtensor<[1,4,10,6],f32>
}
