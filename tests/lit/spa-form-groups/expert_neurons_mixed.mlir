// RUN: spa-opt %s -p 'spa-propagate-channels,spa-form-groups' | filecheck %s
// The MoE layer of Inputs/moe.mlir with its hidden rows mixed before the down projection (mm by a [12, 12]
// matrix over the gathered rows, each an expert's): row r then holds neuron j of several experts, so the experts
// cannot keep neurons of their own. The neurons stay one group of neuron j of every expert (no `slices`).
// CHECK: spa.group @g{{[0-9]+}} {size = 5 : i64, space = "s{{[0-9]+}}", members = [#spa.member<"moe.experts.up"[1]>, #spa.member<"moe.experts.down"[2]>], exact = true}
// CHECK-NOT: slices
func.func @main(%x: !torch.vtensor<[6,8],f32>, %xr: !torch.vtensor<[12,8,1],f32>) -> (!torch.vtensor<[12,3,1],f32>, !torch.vtensor<[6,2],f32>) {
  %router = spa.param "moe.router.weight" = dense<0.5> : tensor<4x8xf32> : !torch.vtensor<[4,8],f32>
  %up = spa.param "moe.experts.up" = dense<0.25> : tensor<4x5x8xf32> : !torch.vtensor<[4,5,8],f32>
  %down = spa.param "moe.experts.down" = dense<0.125> : tensor<4x3x5xf32> : !torch.vtensor<[4,3,5],f32>
  %mix = spa.param "moe.mix" = dense<0.1> : tensor<12x12xf32> : !torch.vtensor<[12,12],f32>
  %none = torch.constant.none
  %int2 = torch.constant.int 2
  %int-1 = torch.constant.int -1
  %int1 = torch.constant.int 1
  %int5 = torch.constant.int 5
  %int12 = torch.constant.int 12
  %true = torch.constant.bool true
  %logits = torch.aten.linear %x, %router, %none : !torch.vtensor<[6,8],f32>, !torch.vtensor<[4,8],f32>, !torch.none -> !torch.vtensor<[6,4],f32>
  %probs = torch.aten.softmax.int %logits, %int-1, %none : !torch.vtensor<[6,4],f32>, !torch.int, !torch.none -> !torch.vtensor<[6,4],f32>
  %top, %ids = torch.aten.topk %probs, %int2, %int-1, %true, %true : !torch.vtensor<[6,4],f32>, !torch.int, !torch.int, !torch.bool, !torch.bool -> !torch.vtensor<[6,2],f32>, !torch.vtensor<[6,2],si64>
  %flat = torch.prim.ListConstruct %int-1 : (!torch.int) -> !torch.list<int>
  %flat_ids = torch.aten.view %ids, %flat : !torch.vtensor<[6,2],si64>, !torch.list<int> -> !torch.vtensor<[12],si64>
  %l1 = torch.prim.ListConstruct %flat_ids : (!torch.vtensor<[12],si64>) -> !torch.list<optional<vtensor>>
  %w1 = torch.aten.index.Tensor %up, %l1 : !torch.vtensor<[4,5,8],f32>, !torch.list<optional<vtensor>> -> !torch.vtensor<[12,5,8],f32>
  %h = torch.aten.bmm %w1, %xr : !torch.vtensor<[12,5,8],f32>, !torch.vtensor<[12,8,1],f32> -> !torch.vtensor<[12,5,1],f32>
  %a = torch.aten.relu %h : !torch.vtensor<[12,5,1],f32> -> !torch.vtensor<[12,5,1],f32>
  %s2 = torch.prim.ListConstruct %int12, %int5 : (!torch.int, !torch.int) -> !torch.list<int>
  %a2 = torch.aten.view %a, %s2 : !torch.vtensor<[12,5,1],f32>, !torch.list<int> -> !torch.vtensor<[12,5],f32>
  %m = torch.aten.mm %mix, %a2 : !torch.vtensor<[12,12],f32>, !torch.vtensor<[12,5],f32> -> !torch.vtensor<[12,5],f32>
  %s3 = torch.prim.ListConstruct %int12, %int5, %int1 : (!torch.int, !torch.int, !torch.int) -> !torch.list<int>
  %m3 = torch.aten.view %m, %s3 : !torch.vtensor<[12,5],f32>, !torch.list<int> -> !torch.vtensor<[12,5,1],f32>
  %l2 = torch.prim.ListConstruct %flat_ids : (!torch.vtensor<[12],si64>) -> !torch.list<optional<vtensor>>
  %w2 = torch.aten.index.Tensor %down, %l2 : !torch.vtensor<[4,3,5],f32>, !torch.list<optional<vtensor>> -> !torch.vtensor<[12,3,5],f32>
  %y = torch.aten.bmm %w2, %m3 : !torch.vtensor<[12,3,5],f32>, !torch.vtensor<[12,5,1],f32> -> !torch.vtensor<[12,3,1],f32>
  return %y, %top : !torch.vtensor<[12,3,1],f32>, !torch.vtensor<[6,2],f32>
}
