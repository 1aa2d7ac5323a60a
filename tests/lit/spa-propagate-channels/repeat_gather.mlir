// RUN: spa-opt %s --split-input-file -p spa-propagate-channels | filecheck %s
// RUN: spa-opt %s --split-input-file -p spa-propagate-channels,spa-form-groups | filecheck %s --check-prefix=GROUPS

// aten.repeat tiles its input: a dim repeated twice holds two copies of its channels in a row
// (`2 x s`), a new leading dim holds none. The second linear's columns k and k + 4 belong to channel k
// (count 2, period 4); the repeat factors need no rewriting when channels go.
// CHECK: spa.param "fc.weight" {{.*}} {spa.dims = [#spa.dims<[s[[C:[0-9]+]], s{{[0-9]+}}]>]}
// CHECK: torch.aten.repeat %h, %reps {spa.dims = [#spa.dims<[_, s{{[0-9]+}}, 2 x s[[C]]]>]}
// GROUPS: spa.group @g{{[0-9]+}} {size = 4 : i64, space = "s{{[0-9]+}}", members = [#spa.member<"fc.weight"[0]>, #spa.member<"out.weight"[1], count 2, period 4>], exact = true}
func.func @main(%x: !torch.vtensor<[5,2],f32>) -> !torch.vtensor<[3,5,3],f32> {
  %w = spa.param "fc.weight" = dense<1.0> : tensor<4x2xf32> : !torch.vtensor<[4,2],f32>
  %w2 = spa.param "out.weight" = dense<1.0> : tensor<3x8xf32> : !torch.vtensor<[3,8],f32>
  %none = torch.constant.none
  %int1 = torch.constant.int 1
  %int2 = torch.constant.int 2
  %int3 = torch.constant.int 3
  %h = torch.aten.linear %x, %w, %none : !torch.vtensor<[5,2],f32>, !torch.vtensor<[4,2],f32>, !torch.none -> !torch.vtensor<[5,4],f32>
  %reps = torch.prim.ListConstruct %int3, %int1, %int2 : (!torch.int, !torch.int, !torch.int) -> !torch.list<int>
  %t = torch.aten.repeat %h, %reps : !torch.vtensor<[5,4],f32>, !torch.list<int> -> !torch.vtensor<[3,5,8],f32>
  %y = torch.aten.linear %t, %w2, %none : !torch.vtensor<[3,5,8],f32>, !torch.vtensor<[3,8],f32>, !torch.none -> !torch.vtensor<[3,5,3],f32>
  return %y : !torch.vtensor<[3,5,3],f32>
}

// -----

// aten.gather(x, 1, index): x's gathered dim is frozen; the result has index's layout. Where index and
// x have the same size (dim 2) they are coupled: the index buffer's columns go with the hidden channels.
// CHECK: spa.space @s[[TOK:[0-9]+]] {size = 6 : i64, origin = "input 0[1]", frozen = [#spa.reason<"model input">, #spa.reason<"gathered by index", "torch.aten.gather">]}
// CHECK: spa.param "fc.weight" {{.*}} {spa.dims = [#spa.dims<[s[[C:[0-9]+]], s{{[0-9]+}}]>]}
// CHECK: spa.param "pick" buffer {{.*}} {spa.dims = [#spa.dims<[_, s[[K:[0-9]+]], s[[C]]]>]}
// CHECK: torch.aten.gather %h, %int1, %pick, %false {spa.dims = [#spa.dims<[_, s[[K]], s[[C]]]>]}
// GROUPS: spa.group @g{{[0-9]+}} {size = 4 : i64, space = "s{{[0-9]+}}", members = [#spa.member<"fc.weight"[0]>, #spa.member<"pick"[2]>, #spa.member<"out.weight"[1]>], exact = true}
func.func @main(%x: !torch.vtensor<[1,6,2],f32>) -> !torch.vtensor<[1,2,3],f32> {
  %w = spa.param "fc.weight" = dense<1.0> : tensor<4x2xf32> : !torch.vtensor<[4,2],f32>
  %pick = spa.param "pick" buffer = dense<[[[0, 1, 2, 3], [5, 4, 3, 2]]]> : tensor<1x2x4xi64> : !torch.vtensor<[1,2,4],si64>
  %w2 = spa.param "out.weight" = dense<1.0> : tensor<3x4xf32> : !torch.vtensor<[3,4],f32>
  %none = torch.constant.none
  %false = torch.constant.bool false
  %int1 = torch.constant.int 1
  %h = torch.aten.linear %x, %w, %none : !torch.vtensor<[1,6,2],f32>, !torch.vtensor<[4,2],f32>, !torch.none -> !torch.vtensor<[1,6,4],f32>
  %g = torch.aten.gather %h, %int1, %pick, %false : !torch.vtensor<[1,6,4],f32>, !torch.int, !torch.vtensor<[1,2,4],si64>, !torch.bool -> !torch.vtensor<[1,2,4],f32>
  %y = torch.aten.linear %g, %w2, %none : !torch.vtensor<[1,2,4],f32>, !torch.vtensor<[3,4],f32>, !torch.none -> !torch.vtensor<[1,2,3],f32>
  return %y : !torch.vtensor<[1,2,3],f32>
}

// -----

// An index covering only a prefix of x's dim 1 (2 of 4 columns) would shift when channels go: both frozen.
// CHECK: spa.space @s{{[0-9]+}} {size = 4 : i64, origin = "p[1]", frozen = [#spa.reason<"gather index covers part of the dim", "torch.aten.gather">]}
// CHECK: spa.space @s{{[0-9]+}} {size = 2 : i64, origin = "idx[1]", frozen = [#spa.reason<"gather index covers part of the dim", "torch.aten.gather">, #spa.reason<"model output">]}
func.func @main() -> !torch.vtensor<[3,2],f32> {
  %p = spa.param "p" = dense<0.5> : tensor<5x4xf32> : !torch.vtensor<[5,4],f32>
  %idx = spa.param "idx" buffer = dense<[[0, 1], [2, 3], [4, 0]]> : tensor<3x2xi64> : !torch.vtensor<[3,2],si64>
  %false = torch.constant.bool false
  %int0 = torch.constant.int 0
  %g = torch.aten.gather %p, %int0, %idx, %false : !torch.vtensor<[5,4],f32>, !torch.int, !torch.vtensor<[3,2],si64>, !torch.bool -> !torch.vtensor<[3,2],f32>
  return %g : !torch.vtensor<[3,2],f32>
}
