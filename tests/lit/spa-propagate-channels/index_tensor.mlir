// RUN: spa-opt %s --split-input-file -p spa-propagate-channels | filecheck %s
// RUN: spa-opt %s --split-input-file -p spa-propagate-channels,spa-form-groups | filecheck %s --check-prefix=GROUPS
// aten.index.Tensor (advanced indexing): a dim indexed by a tensor loses its channels (frozen); the index
// tensors' broadcast layout takes the indexed dims' place (adjacent) or goes first (not adjacent); the
// other dims pass through.

// Relative-position bias (Swin): table [num_rel, heads][rel_index]. The heads dim couples to the
// hidden channels it is added to: one group with fc.weight rows and out.weight columns, exact. A weight read
// only here, indexed by a constant, is a position table: its rows are relative offsets, no channel (as a
// kernel's window), so they form no frozen group.
// CHECK-DAG: spa.space @s[[REL:[0-9]+]] {size = 7 : i64, origin = "table[0]", frozen = [#spa.reason<"not a channel dimension">]}
// CHECK-DAG: spa.space @s[[HEADS:[0-9]+]] {size = 4 : i64, origin = "table[1]"}
// CHECK-DAG: spa.space @s[[TOK:[0-9]+]] {size = 16 : i64, origin = "input 0[0]", frozen = [#spa.reason<"model input">, #spa.reason<"meets a dim without channels (a constant, or frozen upstream)", "torch.aten.add.Tensor">, #spa.reason<"model output">]}
// CHECK-DAG: spa.space @s{{[0-9]+}} {size = 16 : i64, origin = "idx[0]", frozen = [#spa.reason<"not a channel dimension">]}
// CHECK: spa.param "table" {{.*}} {spa.dims = [#spa.dims<[s[[REL]], s[[HEADS]]]>]}
// CHECK: spa.param "fc.weight" {{.*}} {spa.dims = [#spa.dims<[s[[HEADS]], s{{[0-9]+}}]>]}
// CHECK: torch.aten.index.Tensor %table, %l {spa.dims = [#spa.dims<[_, s[[HEADS]]]>]}
// GROUPS: spa.group @g{{[0-9]+}} {size = 4 : i64, space = "s{{[0-9]+}}", members = [#spa.member<"table"[1]>, #spa.member<"fc.weight"[0]>, #spa.member<"out.weight"[1]>], exact = true}
func.func @main(%x: !torch.vtensor<[16,2],f32>) -> !torch.vtensor<[16,3],f32> {
  %table = spa.param "table" = dense<0.5> : tensor<7x4xf32> : !torch.vtensor<[7,4],f32>
  %idx = spa.param "idx" buffer = dense<[0, 1, 2, 3, 4, 5, 6, 0, 1, 2, 3, 4, 5, 6, 0, 1]> : tensor<16xi64> : !torch.vtensor<[16],si64>
  %w = spa.param "fc.weight" = dense<1.0> : tensor<4x2xf32> : !torch.vtensor<[4,2],f32>
  %w2 = spa.param "out.weight" = dense<1.0> : tensor<3x4xf32> : !torch.vtensor<[3,4],f32>
  %none = torch.constant.none
  %int1 = torch.constant.int 1
  %l = torch.prim.ListConstruct %idx : (!torch.vtensor<[16],si64>) -> !torch.list<optional<vtensor>>
  %bias = torch.aten.index.Tensor %table, %l : !torch.vtensor<[7,4],f32>, !torch.list<optional<vtensor>> -> !torch.vtensor<[16,4],f32>
  %h = torch.aten.linear %x, %w, %none : !torch.vtensor<[16,2],f32>, !torch.vtensor<[4,2],f32>, !torch.none -> !torch.vtensor<[16,4],f32>
  %s = torch.aten.add.Tensor %h, %bias, %int1 : !torch.vtensor<[16,4],f32>, !torch.vtensor<[16,4],f32>, !torch.int -> !torch.vtensor<[16,4],f32>
  %y = torch.aten.linear %s, %w2, %none : !torch.vtensor<[16,4],f32>, !torch.vtensor<[3,4],f32>, !torch.none -> !torch.vtensor<[16,3],f32>
  return %y : !torch.vtensor<[16,3],f32>
}

// -----

// LeViT: biases[:, idxs] with biases [heads, num_rel], idxs [2, 3]: the index's dims replace dim 1 in place; a
// table indexed by constants, its rows (relative offsets) and the index's dims (position pairs) hold no channel.
// CHECK: spa.space @s[[R:[0-9]+]] {size = 7 : i64, origin = "biases[1]", frozen = [#spa.reason<"not a channel dimension">]}
// CHECK: spa.param "biases" {{.*}} {spa.dims = [#spa.dims<[s[[H:[0-9]+]], s[[R]]]>]}
// CHECK: spa.param "idxs" buffer {{.*}} {spa.dims = [#spa.dims<[s{{[0-9]+}}, s{{[0-9]+}}]>]}
// CHECK: torch.aten.index.Tensor %biases, %l {spa.dims = [#spa.dims<[s[[H]], _, _]>]}
func.func @main() -> !torch.vtensor<[4,2,3],f32> {
  %biases = spa.param "biases" = dense<0.5> : tensor<4x7xf32> : !torch.vtensor<[4,7],f32>
  %idxs = spa.param "idxs" buffer = dense<[[0, 1, 2], [3, 4, 5]]> : tensor<2x3xi64> : !torch.vtensor<[2,3],si64>
  %none = torch.constant.none
  %l = torch.prim.ListConstruct %none, %idxs : (!torch.none, !torch.vtensor<[2,3],si64>) -> !torch.list<optional<vtensor>>
  %b = torch.aten.index.Tensor %biases, %l : !torch.vtensor<[4,7],f32>, !torch.list<optional<vtensor>> -> !torch.vtensor<[4,2,3],f32>
  return %b : !torch.vtensor<[4,2,3],f32>
}

// -----

// x[i, :, j] of an activation (relu(p): no table): the index tensors are not adjacent, so their broadcast dim goes
// first; i and j broadcast together (one space); dim 1 passes through; dims 0 and 2 are frozen channels.
// CHECK: spa.space @s[[P0:[0-9]+]] {size = 3 : i64, origin = "p[0]", frozen = [#spa.reason<"indexed by a tensor", "torch.aten.index.Tensor">]}
// CHECK: spa.space @s[[P2:[0-9]+]] {size = 5 : i64, origin = "p[2]", frozen = [#spa.reason<"indexed by a tensor", "torch.aten.index.Tensor">]}
// CHECK: spa.param "p" {{.*}} {spa.dims = [#spa.dims<[s[[P0]], s[[P1:[0-9]+]], s[[P2]]]>]}
// CHECK: spa.param "i" buffer {{.*}} {spa.dims = [#spa.dims<[s[[B:[0-9]+]]]>]}
// CHECK: spa.param "j" buffer {{.*}} {spa.dims = [#spa.dims<[s[[B]]]>]}
// CHECK: torch.aten.index.Tensor %pa, %l {spa.dims = [#spa.dims<[s[[B]], s[[P1]]]>]}
func.func @main() -> !torch.vtensor<[2,4],f32> {
  %p = spa.param "p" = dense<0.5> : tensor<3x4x5xf32> : !torch.vtensor<[3,4,5],f32>
  %i = spa.param "i" buffer = dense<[0, 2]> : tensor<2xi64> : !torch.vtensor<[2],si64>
  %j = spa.param "j" buffer = dense<[1, 4]> : tensor<2xi64> : !torch.vtensor<[2],si64>
  %none = torch.constant.none
  %pa = torch.aten.relu %p : !torch.vtensor<[3,4,5],f32> -> !torch.vtensor<[3,4,5],f32>
  %l = torch.prim.ListConstruct %i, %none, %j : (!torch.vtensor<[2],si64>, !torch.none, !torch.vtensor<[2],si64>) -> !torch.list<optional<vtensor>>
  %r = torch.aten.index.Tensor %pa, %l : !torch.vtensor<[3,4,5],f32>, !torch.list<optional<vtensor>> -> !torch.vtensor<[2,4],f32>
  return %r : !torch.vtensor<[2,4],f32>
}

// -----

// A boolean mask selects by value, with a data-dependent size: no rule applies, everything is frozen.
// CHECK: spa.space @s{{[0-9]+}} {size = 4 : i64, origin = "p[1]", frozen = [#spa.reason<"indexing with masks", "torch.aten.index.Tensor">]}
// CHECK: torch.aten.index.Tensor %p, %l {spa.dims = [#spa.dims<[_, _]>]}
func.func @main(%m: !torch.vtensor<[3],i1>) -> !torch.vtensor<[?,4],f32> {
  %p = spa.param "p" = dense<0.5> : tensor<3x4xf32> : !torch.vtensor<[3,4],f32>
  %l = torch.prim.ListConstruct %m : (!torch.vtensor<[3],i1>) -> !torch.list<optional<vtensor>>
  %r = torch.aten.index.Tensor %p, %l : !torch.vtensor<[3,4],f32>, !torch.list<optional<vtensor>> -> !torch.vtensor<[?,4],f32>
  return %r : !torch.vtensor<[?,4],f32>
}

// -----

// Channels picked by a constant index (h[:, idx], h an activation) and a weight indexed by the model's input: both
// are frozen channels, reported ("indexed by a tensor"); only a weight read once by a constant index is a table.
// CHECK: spa.space @s{{[0-9]+}} {size = 6 : i64, origin = "w[0]", frozen = [#spa.reason<"indexed by a tensor", "torch.aten.index.Tensor">]}
// CHECK: spa.space @s{{[0-9]+}} {size = 5 : i64, origin = "t[0]", frozen = [#spa.reason<"indexed by a tensor", "torch.aten.index.Tensor">]}
func.func @main(%x: !torch.vtensor<[2,3],f32>, %ids: !torch.vtensor<[4],si64>) -> (!torch.vtensor<[2,4],f32>, !torch.vtensor<[4,2],f32>) {
  %w = spa.param "w" = dense<0.5> : tensor<6x3xf32> : !torch.vtensor<[6,3],f32>
  %t = spa.param "t" = dense<0.5> : tensor<5x2xf32> : !torch.vtensor<[5,2],f32>
  %idx = spa.param "idx" buffer = dense<[0, 2, 4, 5]> : tensor<4xi64> : !torch.vtensor<[4],si64>
  %none = torch.constant.none
  %h = torch.aten.linear %x, %w, %none : !torch.vtensor<[2,3],f32>, !torch.vtensor<[6,3],f32>, !torch.none -> !torch.vtensor<[2,6],f32>
  %l = torch.prim.ListConstruct %none, %idx : (!torch.none, !torch.vtensor<[4],si64>) -> !torch.list<optional<vtensor>>
  %picked = torch.aten.index.Tensor %h, %l : !torch.vtensor<[2,6],f32>, !torch.list<optional<vtensor>> -> !torch.vtensor<[2,4],f32>
  %l2 = torch.prim.ListConstruct %ids : (!torch.vtensor<[4],si64>) -> !torch.list<optional<vtensor>>
  %rows = torch.aten.index.Tensor %t, %l2 : !torch.vtensor<[5,2],f32>, !torch.list<optional<vtensor>> -> !torch.vtensor<[4,2],f32>
  return %picked, %rows : !torch.vtensor<[2,4],f32>, !torch.vtensor<[4,2],f32>
}
