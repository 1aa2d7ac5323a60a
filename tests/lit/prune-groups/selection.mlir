// RUN: rm -rf %t && mkdir -p %t
// RUN: spa-opt %inputs/two_groups.mlir --prune-groups='keep-flops=0.5 scope=global' --plan=%t/plan.json -o %t/p.mlir 2>&1 | filecheck %s --check-prefix=SUMMARY
// RUN: filecheck %s --check-prefix=PLAN < %t/plan.json
// RUN: filecheck %s --check-prefix=IR < %t/p.mlir
// RUN: spa-opt %inputs/two_groups.mlir --prune-groups='ratio=0.5 ignore="conv1\\."' -o %t/i.mlir
// RUN: filecheck %s --check-prefix=IGNORE < %t/i.mlir
// RUN: spa-opt %inputs/two_groups.mlir -p 'spa-prune-groups{ratio=0.5 ignore="conv1\\."}' -o %t/i2.mlir
// RUN: filecheck %s --check-prefix=IGNORE < %t/i2.mlir
// RUN: spa-opt %inputs/two_groups.mlir --prune-groups='ratio=0.5 overrides="conv3:0.25,conv1:0"' -o %t/o.mlir
// RUN: filecheck %s --check-prefix=OVERRIDE < %t/o.mlir
// RUN: spa-opt %inputs/two_groups.mlir -p 'spa-prune-groups{ratio=0.5 overrides="conv3:0.25,conv1:0"}' -o %t/o2.mlir
// RUN: filecheck %s --check-prefix=OVERRIDE < %t/o2.mlir
// RUN: spa-opt %inputs/two_groups.mlir --prune-groups='ratio=0.3 round-to=2' -o %t/r.mlir
// RUN: filecheck %s --check-prefix=ROUND < %t/r.mlir
// RUN: spa-opt %inputs/two_groups.mlir -p 'spa-prune-groups{ratio=0.3 round-to=2}' -o %t/r2.mlir
// RUN: filecheck %s --check-prefix=ROUND < %t/r2.mlir
// The selection options travel through the named pipeline (both spellings) to spa-select-channels; its
// record (scope, target, achieved) reaches the plan and the line spa-opt prints. Quoted values keep their
// quotes inside the flag's own quotes; a backslash in a regex is written twice (MLIR string escapes).

// SUMMARY: {{^}}spa-opt: pruned (criterion l1, scope global, keep-flops=0.5): kept 0.500 of the FLOPs, 0.500 of the parameters
// PLAN: "selection": {
// PLAN-NEXT: "scope": "global",
// PLAN-NEXT: "target": {
// PLAN-NEXT: "kind": "keep-flops",
// PLAN-NEXT: "value": 0.5
// PLAN: "achieved": {
// PLAN-NEXT: "flops": 0.5,
// PLAN-NEXT: "params": 0.5
// IR-NOT: spa.selection
// IR: spa.param "conv1.weight" {{.*}} : !torch.vtensor<[3,2,1,1],f32>
// IR: spa.param "conv2.weight" {{.*}} : !torch.vtensor<[2,3,1,1],f32>

// IGNORE: spa.param "conv1.weight" {{.*}} : !torch.vtensor<[4,2,1,1],f32>
// IGNORE: spa.param "conv2.weight" {{.*}} : !torch.vtensor<[2,4,1,1],f32>
// OVERRIDE: spa.param "conv1.weight" {{.*}} : !torch.vtensor<[4,2,1,1],f32>
// OVERRIDE: spa.param "conv2.weight" {{.*}} : !torch.vtensor<[3,4,1,1],f32>
// 30% of 4 is 1 channel; 3 kept rounds up to 4: nothing goes.
// ROUND: spa.param "conv1.weight" {{.*}} : !torch.vtensor<[4,2,1,1],f32>
// ROUND: spa.param "conv2.weight" {{.*}} : !torch.vtensor<[4,4,1,1],f32>
