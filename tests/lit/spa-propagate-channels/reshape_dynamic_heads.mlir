// RUN: spa-opt --split-input-file %s -p spa-propagate-channels | filecheck %s
// RUN: spa-opt --split-input-file %s -p spa-propagate-channels | spa-opt --split-input-file | filecheck %s
// RUN: spa-opt %s --split-input-file --prune-groups='ratio=0.5 heads=true only_exact=true criterion=l1' | filecheck %s --check-prefix=PRUNED
// A dynamic batch merged with heads, as nn.MultiheadAttention views q: fc1's 8 outputs are 2 heads x 4, viewed
// [?, 8] -> [? * 2, 4] (the size `mul.int(batch, 2)`), then [? * 2, 4] -> [?, 2, 4] and back to [?, 8] for fc2.
// Row-major, the batch is the major factor of `? * 2`: the merged dim is `_ x s_heads` (the IR prints it and parses
// it back), heads and head dims stay prunable, and pruning rewrites the computed size's constant 2 to the heads
// kept (1). Hand-written IR in the form torch.export's capture gives it.

// CHECK-LABEL: builtin.module
// CHECK: func.func @heads
// CHECK: spa.param "fc1.weight" {{.*}} {spa.dims = [#spa.dims<[s[[H:[0-9]+]] x s[[D:[0-9]+]], s{{[0-9]+}}]>]}
// CHECK: spa.param "fc2.weight" {{.*}} {spa.dims = [#spa.dims<[s{{[0-9]+}}, s[[H]] x s[[D]]]>]}
// CHECK: torch.aten.view %fc1, %{{[0-9a-z_]+}} {spa.dims = [#spa.dims<[_ x s[[H]], s[[D]]]>]}
// CHECK: torch.aten.relu {{.*}} {spa.dims = [#spa.dims<[_ x s[[H]], s[[D]]]>]}
// CHECK: torch.aten.view %r, %{{[0-9a-z_]+}} {spa.dims = [#spa.dims<[_, s[[H]], s[[D]]]>]}
// CHECK: torch.aten.view %split, %{{[0-9a-z_]+}} {spa.dims = [#spa.dims<[_, s[[H]] x s[[D]]]>]}
// CHECK-NOT: frozen = [#spa.reason<"{{.*}}", "torch.aten.view">

// PRUNED: func.func @heads(%x: !torch.vtensor<[?,4],f32>) -> !torch.vtensor<[?,3],f32>
// PRUNED: spa.param "fc1.weight" {{.*}} : !torch.vtensor<[4,4],f32>
// PRUNED: spa.param "fc2.weight" {{.*}} : !torch.vtensor<[3,4],f32>
// PRUNED: %[[ONE:[0-9a-z_]+]] = torch.constant.int 1
// PRUNED: %[[BH:[0-9a-z_]+]] = torch.aten.mul.int %b, %[[ONE]]
// PRUNED: %[[L:[0-9]+]] = torch.prim.ListConstruct %[[BH]], %int4
// PRUNED: torch.aten.view %fc1, %[[L]] : {{.*}} -> !torch.vtensor<[?,4],f32>
// PRUNED: torch.aten.view %r, {{.*}} -> !torch.vtensor<[?,1,4],f32>
// PRUNED: torch.aten.view %split, {{.*}} -> !torch.vtensor<[?,4],f32>
func.func @heads(%x: !torch.vtensor<[?,4],f32>) -> !torch.vtensor<[?,3],f32> {
  %w1 = spa.param "fc1.weight" = dense<[[1.0, 0.5, 0.25, 2.0], [0.5, 1.0, 1.5, 0.25], [2.0, 0.5, 1.0, 1.0], [1.0, 1.0, 0.5, 0.5], [0.1, 0.2, 0.1, 0.3], [0.2, 0.1, 0.3, 0.1], [0.1, 0.1, 0.2, 0.2], [0.3, 0.2, 0.1, 0.1]]> : tensor<8x4xf32> : !torch.vtensor<[8,4],f32>
  %w2 = spa.param "fc2.weight" = dense<0.5> : tensor<3x8xf32> : !torch.vtensor<[3,8],f32>
  %none = torch.constant.none
  %int0 = torch.constant.int 0
  %int2 = torch.constant.int 2
  %int4 = torch.constant.int 4
  %int8 = torch.constant.int 8
  %fc1 = torch.aten.linear %x, %w1, %none : !torch.vtensor<[?,4],f32>, !torch.vtensor<[8,4],f32>, !torch.none -> !torch.vtensor<[?,8],f32>
  %b = torch.aten.size.int %x, %int0 : !torch.vtensor<[?,4],f32>, !torch.int -> !torch.int
  %bh = torch.aten.mul.int %b, %int2 : !torch.int, !torch.int -> !torch.int
  %0 = torch.prim.ListConstruct %bh, %int4 : (!torch.int, !torch.int) -> !torch.list<int>
  %merged = torch.aten.view %fc1, %0 : !torch.vtensor<[?,8],f32>, !torch.list<int> -> !torch.vtensor<[?,4],f32>
  %r = torch.aten.relu %merged : !torch.vtensor<[?,4],f32> -> !torch.vtensor<[?,4],f32>
  %1 = torch.prim.ListConstruct %b, %int2, %int4 : (!torch.int, !torch.int, !torch.int) -> !torch.list<int>
  %split = torch.aten.view %r, %1 : !torch.vtensor<[?,4],f32>, !torch.list<int> -> !torch.vtensor<[?,2,4],f32>
  %2 = torch.prim.ListConstruct %b, %int8 : (!torch.int, !torch.int) -> !torch.list<int>
  %back = torch.aten.view %split, %2 : !torch.vtensor<[?,2,4],f32>, !torch.list<int> -> !torch.vtensor<[?,8],f32>
  %fc2 = torch.aten.linear %back, %w2, %none : !torch.vtensor<[?,8],f32>, !torch.vtensor<[3,8],f32>, !torch.none -> !torch.vtensor<[?,3],f32>
  return %fc2 : !torch.vtensor<[?,3],f32>
}

// -----

// Outside that case the run is frozen as before: a merged size that is no `mul.int` by a multiple of the heads
// (here another input's batch: the heads stay), and a dynamic dim that is not first in its run ([?, 8] -> [2, ? * 4]
// mixes the channels).

// CHECK-LABEL: builtin.module
// CHECK-DAG: spa.space @s{{[0-9]+}} {size = 2 : i64, origin = "torch.aten.view", frozen = [#spa.reason<"size computed at run time", "torch.aten.view">]}
// CHECK-DAG: spa.space @s{{[0-9]+}} {size = 8 : i64, origin = "fc2.weight[0]", frozen = [#spa.reason<"merged with a dynamic dim", "torch.aten.view">]}
// CHECK: torch.aten.view %fc1, %{{[0-9a-z_]+}} {spa.dims = [#spa.dims<[_ x s{{[0-9]+}}, s{{[0-9]+}}]>]}
// CHECK: torch.aten.view %merged, %{{[0-9a-z_]+}} {spa.dims = [#spa.dims<[_, s{{[0-9]+}} x s{{[0-9]+}}]>]}
// CHECK: torch.aten.view %fc2, %{{[0-9a-z_]+}} {spa.dims = [#spa.dims<[_, _]>]}
// PRUNED-LABEL: func.func @frozen
// PRUNED: spa.param "fc1.weight" {{.*}} : !torch.vtensor<[8,4],f32>
// PRUNED: spa.param "fc2.weight" {{.*}} : !torch.vtensor<[8,4],f32>
// PRUNED: torch.aten.view %fc1, {{.*}} -> !torch.vtensor<[?,4],f32>
// PRUNED: spa.param "fc3.weight" {{.*}} : !torch.vtensor<[3,8],f32>
func.func @frozen(%x: !torch.vtensor<[?,4],f32>, %y: !torch.vtensor<[?,4],f32>) -> (!torch.vtensor<[?,3],f32>, !torch.vtensor<[2,?],f32>) {
  %w1 = spa.param "fc1.weight" = dense<0.5> : tensor<8x4xf32> : !torch.vtensor<[8,4],f32>
  %w2 = spa.param "fc2.weight" = dense<0.5> : tensor<8x4xf32> : !torch.vtensor<[8,4],f32>
  %none = torch.constant.none
  %int0 = torch.constant.int 0
  %int4 = torch.constant.int 4
  %int2 = torch.constant.int 2
  %int-1 = torch.constant.int -1
  %fc1 = torch.aten.linear %x, %w1, %none : !torch.vtensor<[?,4],f32>, !torch.vtensor<[8,4],f32>, !torch.none -> !torch.vtensor<[?,8],f32>
  %n = torch.aten.size.int %y, %int0 : !torch.vtensor<[?,4],f32>, !torch.int -> !torch.int
  %0 = torch.prim.ListConstruct %n, %int4 : (!torch.int, !torch.int) -> !torch.list<int>
  %merged = torch.aten.view %fc1, %0 : !torch.vtensor<[?,8],f32>, !torch.list<int> -> !torch.vtensor<[?,4],f32>
  %int8 = torch.constant.int 8
  %back_sizes = torch.prim.ListConstruct %n, %int8 : (!torch.int, !torch.int) -> !torch.list<int>
  %back = torch.aten.view %merged, %back_sizes : !torch.vtensor<[?,4],f32>, !torch.list<int> -> !torch.vtensor<[?,8],f32>
  %w3 = spa.param "fc3.weight" = dense<0.5> : tensor<3x8xf32> : !torch.vtensor<[3,8],f32>
  %fc3 = torch.aten.linear %back, %w3, %none : !torch.vtensor<[?,8],f32>, !torch.vtensor<[3,8],f32>, !torch.none -> !torch.vtensor<[?,3],f32>
  %fc2 = torch.aten.linear %x, %w2, %none : !torch.vtensor<[?,4],f32>, !torch.vtensor<[8,4],f32>, !torch.none -> !torch.vtensor<[?,8],f32>
  %1 = torch.prim.ListConstruct %int2, %int-1 : (!torch.int, !torch.int) -> !torch.list<int>
  %mixed = torch.aten.view %fc2, %1 : !torch.vtensor<[?,8],f32>, !torch.list<int> -> !torch.vtensor<[2,?],f32>
  return %fc3, %mixed : !torch.vtensor<[?,3],f32>, !torch.vtensor<[2,?],f32>
}
