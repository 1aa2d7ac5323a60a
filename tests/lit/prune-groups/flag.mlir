// RUN: rm -rf %t && mkdir -p %t
// RUN: spa-opt %inputs/conv_bn_linear.mlir --prune-groups='ratio=0.5 criterion=l1' --plan=%t/plan.json -o %t/p.mlir
// RUN: filecheck %s < %t/p.mlir
// RUN: filecheck %s --check-prefix=PLAN < %t/plan.json
// mlir-opt style flag for the whole pipeline; the view's shape [1, -1] needs no rewrite (-1), the
// linear layer loses 4 columns per removed channel.

// CHECK: spa.param "conv.weight" {{.*}} : !torch.vtensor<[2,2,1,1],f32>
// CHECK: spa.param "fc.weight" {{.*}} : !torch.vtensor<[3,8],f32>
// CHECK: torch.aten.view {{.*}} -> !torch.vtensor<[1,8],f32>
// PLAN: "conv.weight": {
// PLAN-NEXT: "0": [
// PLAN: "fc.weight": {
// PLAN-NEXT: "1": [
