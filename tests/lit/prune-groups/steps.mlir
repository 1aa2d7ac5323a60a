// RUN: rm -rf %t && mkdir -p %t
// RUN: spa-opt %inputs/two_groups.mlir --prune-groups='keep-flops=0.375 steps=2' --print-between-passes --plan=%t/plan.json -o %t/p.mlir 2>&1 | filecheck %s
// RUN: filecheck %s --check-prefix=PLAN < %t/plan.json
// RUN: spa-opt %inputs/two_groups.mlir --prune-groups='keep-flops=0.375 steps=2' -o %t/q.mlir 2>&1 | filecheck %s --check-prefix=SUMMARY
// RUN: filecheck %s --check-prefix=OUT < %t/p.mlir
// RUN: spa-opt %inputs/two_groups.mlir -p 'spa-prune-groups{ratio=0.75 steps=2}' --print-between-passes -o %t/r.mlir | filecheck %s --check-prefix=RATIO
// RUN: not spa-opt %inputs/two_groups.mlir --prune-groups='steps=0' 2>&1 | filecheck %s --check-prefix=BAD
// RUN: not spa-opt %inputs/two_groups.mlir -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance,spa-select-channels{step=2 steps=2}' 2>&1 | filecheck %s --check-prefix=ORPHAN
// steps=2 runs all the stages twice (scores recomputed on the pruned model). The first select records the
// original cost on the module and aims at 0.375^(1/2) = 0.61 of it (closest local: 3 of 4 kept, 0.656);
// the second aims at 0.375 of the original and removes the record. The plan is in the original indexing.

// CHECK: IR after spa-select-channels:
// CHECK: builtin.module attributes {spa.importance = {criterion = "l1", agg = "sum", norm = "none"}, spa.original_cost = {flops = 64 : i64, params = 32 : i64}, spa.selection = {{{.*}}flops = 6.562500e-01 : f64{{.*}}, step = 1 : i64, steps = 2 : i64}}
// CHECK: IR after spa-eliminate-dead-channels:
// CHECK: spa.param "conv1.weight" {{.*}} : !torch.vtensor<[3,2,1,1],f32>
// CHECK: IR after spa-propagate-channels:
// CHECK: IR after spa-select-channels:
// CHECK-NOT: spa.original_cost
// CHECK: builtin.module attributes {spa.importance = {{{.*}}}, spa.selection = {{{.*}}flops = 3.750000e-01 : f64{{.*}}, step = 2 : i64, steps = 2 : i64}}
// CHECK-NOT: IR after
// SUMMARY: {{^}}spa-opt: pruned (criterion l1, scope local, keep-flops=0.375 in 2 steps): kept 0.375 of the FLOPs, 0.375 of the parameters

// PLAN: "conv1.weight": {
// PLAN-NEXT: "0": [
// PLAN-NEXT: 0,
// PLAN-NEXT: 1
// PLAN-NEXT: ]
// PLAN: "steps": 2
// OUT-NOT: spa.original_cost
// OUT: spa.param "conv1.weight" {{.*}} : !torch.vtensor<[2,2,1,1],f32>
// OUT: spa.param "conv2.weight" {{.*}} : !torch.vtensor<[2,2,1,1],f32>

// ratio under steps: each step removes 1 - (1 - 0.75)^(1/2) = 0.5 of the current channels: 4 -> 2 -> 1.
// RATIO: IR after spa-select-channels:
// RATIO: spa.group @g1 {{.*}}removed = array<i64: 0, 1>}
// RATIO: IR after spa-select-channels:
// RATIO: spa.group @g1 {size = 2 : i64{{.*}}removed = array<i64: 0>}
// BAD: {{^}}spa-opt: error: prune-groups: steps must be an integer >= 1, got (0,)
// ORPHAN: {{^}}spa-opt: error: spa-select-channels: step 2 of 2 needs spa.original_cost, which step 1 records
