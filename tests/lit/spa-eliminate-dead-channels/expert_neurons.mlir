// RUN: spa-opt %inputs/moe.mlir -p 'spa-propagate-channels,spa-form-groups' | filecheck %s --check-prefix=GROUP
// RUN: rm -rf %t && mkdir -p %t
// RUN: spa-opt %inputs/moe.mlir -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance{criterion=random seed=3},spa-select-channels{ratio=0.4},spa-eliminate-dead-channels' --plan=%t/plan.json | filecheck %s
// RUN: filecheck %s --input-file=%t/plan.json --check-prefix=PLAN
// The experts' neurons (5 per expert; up dim 1, down dim 2), gathered by the router's ids and read row-wise
// (bmm, relu, bmm), are one group of (expert, neuron) pairs: 4 experts x 5 = 20 channels, `slices = 4`.
// GROUP: spa.group @g7 {size = 20 : i64, space = "s7", members = [#spa.member<"moe.experts.up"[1]>, #spa.member<"moe.experts.down"[2]>], exact = true, slices = 4 : i64}

// At 0.4 each expert loses 2 of its 5 neurons, its own two (channel c = expert c // 5, neuron c % 5), and one
// of the 4 experts goes: the fused weights stay rectangular, [3, 3, 8] and [3, 3, 3].
// CHECK: spa.param "moe.experts.up" {{.*}} : !torch.vtensor<[3,3,8],f32>
// CHECK: spa.param "moe.experts.down" {{.*}} : !torch.vtensor<[3,3,3],f32>
// CHECK: torch.aten.index.Tensor %up, {{.*}} -> !torch.vtensor<[12,3,8],f32>
// CHECK: torch.aten.bmm %w1, {{.*}} -> !torch.vtensor<[12,3,1],f32>

// The plan: dim 0 (experts) as one list; the neuron dim keyed by the original expert index, each its own list.
// PLAN:      "moe.experts.down": {
// PLAN-NEXT:  "0": [
// PLAN-NEXT:   0
// PLAN-NEXT:  ],
// PLAN-NEXT:  "2": {
// PLAN-NEXT:   "0": [
// PLAN-NEXT:    0,
// PLAN-NEXT:    4
// PLAN-NEXT:   ],
// PLAN-NEXT:   "1": [
// PLAN-NEXT:    0,
// PLAN-NEXT:    2
// PLAN-NEXT:   ],
// PLAN-NEXT:   "2": [
// PLAN-NEXT:    1,
// PLAN-NEXT:    4
// PLAN-NEXT:   ],
// PLAN-NEXT:   "3": [
// PLAN-NEXT:    1,
// PLAN-NEXT:    4
// PLAN-NEXT:   ]
// PLAN:      "moe.experts.up": {
// PLAN:       "1": {
// PLAN-NEXT:   "0": [
// PLAN-NEXT:    0,
// PLAN-NEXT:    4
// PLAN:      "id": "g7",
// PLAN-NEXT: "size": 20,
// PLAN-NEXT: "removed": [
// PLAN-NEXT:  0,
// PLAN-NEXT:  4,
// PLAN-NEXT:  5,
// PLAN-NEXT:  7,
// PLAN-NEXT:  11,
// PLAN-NEXT:  14,
// PLAN-NEXT:  16,
// PLAN-NEXT:  19
// PLAN-NEXT: ],
// PLAN-NEXT: "exact": true,
// PLAN-NEXT: "criterion": "random",
// PLAN-NEXT: "slices": 4,
