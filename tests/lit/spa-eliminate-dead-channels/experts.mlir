// RUN: spa-opt %inputs/moe.mlir -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance,spa-select-channels{ratio=0.5},spa-eliminate-dead-channels' | filecheck %s
// Two of four experts removed: the router loses their rows (softmax and top-2 over the 2 left), the fused 3-D
// weights their dim-0 slices; the gathered weights keep one slice per (token, pick) pair. The experts'
// neurons lose 2 of 5 (up dim 1, down dim 2).
// CHECK: spa.param "moe.router.weight" {{.*}} : !torch.vtensor<[2,8],f32>
// CHECK: spa.param "moe.experts.up" {{.*}} : !torch.vtensor<[2,3,8],f32>
// CHECK: spa.param "moe.experts.down" {{.*}} : !torch.vtensor<[2,3,3],f32>
// CHECK: torch.aten.softmax.int {{.*}} -> !torch.vtensor<[6,2],f32>
// CHECK: torch.aten.topk %probs, %int2, {{.*}} : !torch.vtensor<[6,2],f32>, {{.*}} -> !torch.vtensor<[6,2],f32>, !torch.vtensor<[6,2],si64>
// CHECK: torch.aten.index.Tensor %up, {{.*}} -> !torch.vtensor<[12,3,8],f32>
// CHECK: torch.aten.index.Tensor %down, {{.*}} -> !torch.vtensor<[12,3,3],f32>
