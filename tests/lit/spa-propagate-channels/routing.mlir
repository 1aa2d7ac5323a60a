// RUN: spa-opt %inputs/moe.mlir -p spa-propagate-channels,spa-form-groups | filecheck %s
// RUN: spa-opt %s --split-input-file -p spa-propagate-channels | filecheck %s --check-prefix=PLAIN
// A router's top-k (topk(softmax(linear(x, W)))) picks experts: its ids, through views, index the experts'
// dim 0 of the fused 3-D weights, which joins the router's rows in one group, exact (removed experts are -inf
// logits in the masked original, not zeros: softmax's normalization over channels does not apply). The
// experts' neurons (up dim 1, down dim 2, gathered rows through row-wise bmm/relu) are one group of (expert, neuron)
// pairs: 4 experts x 5 neurons, `slices = 4` (each expert its own neurons). Topk's outputs hold no channel.
// CHECK-DAG: spa.group @g{{[0-9]+}} {size = 4 : i64, space = "s{{[0-9]+}}", members = [#spa.member<"moe.router.weight"[0]>, #spa.member<"moe.experts.up"[0]>, #spa.member<"moe.experts.down"[0]>], exact = true}
// CHECK-DAG: spa.group @g{{[0-9]+}} {size = 20 : i64, space = "s{{[0-9]+}}", members = [#spa.member<"moe.experts.up"[1]>, #spa.member<"moe.experts.down"[2]>], exact = true, slices = 4 : i64}
// CHECK: torch.aten.topk {{.*}} {spa.dims = [#spa.dims<[_, _]>, #spa.dims<[_, _]>]}

// A top-k over channels that are no router's (no softmax of a linear) picks them by value: frozen.
// PLAIN: spa.space @s{{[0-9]+}} {size = 4 : i64, origin = "w[0]", frozen = [#spa.reason<"top-k picks entries by value", "torch.aten.topk">]}
func.func @main(%x: !torch.vtensor<[6,8],f32>) -> !torch.vtensor<[6,2],si64> {
  %w = spa.param "w" = dense<0.5> : tensor<4x8xf32> : !torch.vtensor<[4,8],f32>
  %none = torch.constant.none
  %int2 = torch.constant.int 2
  %int-1 = torch.constant.int -1
  %true = torch.constant.bool true
  %s = torch.aten.linear %x, %w, %none : !torch.vtensor<[6,8],f32>, !torch.vtensor<[4,8],f32>, !torch.none -> !torch.vtensor<[6,4],f32>
  %top, %ids = torch.aten.topk %s, %int2, %int-1, %true, %true : !torch.vtensor<[6,4],f32>, !torch.int, !torch.int, !torch.bool, !torch.bool -> !torch.vtensor<[6,2],f32>, !torch.vtensor<[6,2],si64>
  return %ids : !torch.vtensor<[6,2],si64>
}

// -----

// A router whose ids something other than an index reads (here returned: their numbers would change) is no
// router: its experts' dim is frozen, as is the top-k's.
// PLAIN: spa.space @s{{[0-9]+}} {size = 4 : i64, origin = "r[0]", frozen = [#spa.reason<"top-k picks entries by value", "torch.aten.topk">]{{.*}}}
// PLAIN: spa.space @s{{[0-9]+}} {size = 4 : i64, origin = "e[0]", frozen = [#spa.reason<"indexed by a tensor", "torch.aten.index.Tensor">]}
func.func @main(%x: !torch.vtensor<[6,8],f32>) -> (!torch.vtensor<[12,3],f32>, !torch.vtensor<[6,2],si64>) {
  %r = spa.param "r" = dense<0.5> : tensor<4x8xf32> : !torch.vtensor<[4,8],f32>
  %e = spa.param "e" = dense<0.5> : tensor<4x3xf32> : !torch.vtensor<[4,3],f32>
  %none = torch.constant.none
  %int2 = torch.constant.int 2
  %int-1 = torch.constant.int -1
  %true = torch.constant.bool true
  %logits = torch.aten.linear %x, %r, %none : !torch.vtensor<[6,8],f32>, !torch.vtensor<[4,8],f32>, !torch.none -> !torch.vtensor<[6,4],f32>
  %probs = torch.aten.softmax.int %logits, %int-1, %none : !torch.vtensor<[6,4],f32>, !torch.int, !torch.none -> !torch.vtensor<[6,4],f32>
  %top, %ids = torch.aten.topk %probs, %int2, %int-1, %true, %true : !torch.vtensor<[6,4],f32>, !torch.int, !torch.int, !torch.bool, !torch.bool -> !torch.vtensor<[6,2],f32>, !torch.vtensor<[6,2],si64>
  %flat = torch.prim.ListConstruct %int-1 : (!torch.int) -> !torch.list<int>
  %flat_ids = torch.aten.view %ids, %flat : !torch.vtensor<[6,2],si64>, !torch.list<int> -> !torch.vtensor<[12],si64>
  %l = torch.prim.ListConstruct %flat_ids : (!torch.vtensor<[12],si64>) -> !torch.list<optional<vtensor>>
  %g = torch.aten.index.Tensor %e, %l : !torch.vtensor<[4,3],f32>, !torch.list<optional<vtensor>> -> !torch.vtensor<[12,3],f32>
  return %g, %ids : !torch.vtensor<[12,3],f32>, !torch.vtensor<[6,2],si64>
}
