// A Mixture-of-Experts layer as transformers' batched_mm experts lower: the router's top-2 over 4 experts
// (linear -> softmax -> topk), the ids flattened and used to gather the experts' fused 3-D weights, two bmm.
func.func @main(%x: !torch.vtensor<[6,8],f32>, %xr: !torch.vtensor<[12,8,1],f32>) -> (!torch.vtensor<[12,3,1],f32>, !torch.vtensor<[6,2],f32>) {
  %router = spa.param "moe.router.weight" = dense<0.5> : tensor<4x8xf32> : !torch.vtensor<[4,8],f32>
  %up = spa.param "moe.experts.up" = dense<0.25> : tensor<4x5x8xf32> : !torch.vtensor<[4,5,8],f32>
  %down = spa.param "moe.experts.down" = dense<0.125> : tensor<4x3x5xf32> : !torch.vtensor<[4,3,5],f32>
  %none = torch.constant.none
  %int2 = torch.constant.int 2
  %int-1 = torch.constant.int -1
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
  %l2 = torch.prim.ListConstruct %flat_ids : (!torch.vtensor<[12],si64>) -> !torch.list<optional<vtensor>>
  %w2 = torch.aten.index.Tensor %down, %l2 : !torch.vtensor<[4,3,5],f32>, !torch.list<optional<vtensor>> -> !torch.vtensor<[12,3,5],f32>
  %y = torch.aten.bmm %w2, %a : !torch.vtensor<[12,3,5],f32>, !torch.vtensor<[12,5,1],f32> -> !torch.vtensor<[12,3,1],f32>
  return %y, %top : !torch.vtensor<[12,3,1],f32>, !torch.vtensor<[6,2],f32>
}
