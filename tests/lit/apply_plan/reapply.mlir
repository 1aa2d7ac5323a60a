// RUN: rm -rf %t && mkdir -p %t
// RUN: spa-opt %inputs/bn_ranked.mlir --prune-groups='ratio=0.5 criterion=l1' --plan=%t/plan.json -o %t/p.mlir
// The same IR: the plan re-applied gives the pruning run's IR and plan byte for byte.
// RUN: spa-opt %inputs/bn_ranked.mlir -p 'spa-propagate-channels,spa-form-groups,spa-apply-plan{plan="%t/plan.json"},spa-eliminate-dead-channels' --plan=%t/again.json -o %t/again.mlir
// RUN: cmp %t/p.mlir %t/again.mlir
// RUN: cmp %t/plan.json %t/again.json
// RUN: filecheck %s --check-prefix=PLAN < %t/plan.json
// Another checkpoint (other weights, same architecture) is tests/unit/test_apply_plan_ir.py's, against its masked
// original; the pass spelled out is the lit test of its `plan` option.
// Another architecture (a weight renamed): refused in one line naming both fingerprints, nothing written.
// RUN: sed 's/"conv2.weight"/"head.weight"/' %inputs/bn_ranked.mlir > %t/renamed.mlir
// RUN: not spa-opt %t/renamed.mlir --apply-plan=%t/plan.json -o %t/renamed_p.mlir 2> %t/err.txt
// RUN: filecheck %s --check-prefix=ERR < %t/err.txt
// RUN: not test -e %t/renamed_p.mlir

// The plan removes channels 1 and 2 of conv1 / bn (l1 over the group's members) and records the fingerprint.
// PLAN: "bn.bias": {
// PLAN-NEXT: "0": [
// PLAN-NEXT: 1,
// PLAN-NEXT: 2
// PLAN: "architecture": "{{[0-9a-f]+}}"

// RUN: filecheck %s < %t/again.mlir
// CHECK: spa.param "bn.bias" = dense<[1.000000e-01, 4.000000e-01]> : tensor<2xf32> : !torch.vtensor<[2],f32>
// CHECK: spa.param "conv2.weight" {{.*}} : !torch.vtensor<[3,2,1,1],f32>

// ERR: spa-opt: error: spa-apply-plan: {{.*}}plan.json was made on architecture {{[0-9a-f]+}}, this IR is {{[0-9a-f]+}} (no weight 'conv2.weight' here)
// ERR-NOT: Traceback
