// Two attention blocks (2 heads of 4 dims over width 8, MLP width 6) from tests/lit/Inputs/tiny_models.py.
// RUN: env PYTHONPATH=%inputs spa-translate --import-torch tiny_models:two_attention_layers --input-shape 1,4,8 --seed 0 -o %t.mlir
// RUN: spa-opt %t.mlir --prune-groups='ratio=0.5' -o %t.a.mlir && filecheck %s --check-prefix=FREE < %t.a.mlir
// RUN: spa-opt %t.mlir --prune-groups='ratio=0.5 heads=true' -o %t.b.mlir && filecheck %s --check-prefix=HEADS < %t.b.mlir
// RUN: spa-opt %t.mlir -p 'spa-prune-groups{heads=true scope=global ratio=0.4}' -o %t.c.mlir && filecheck %s --check-prefix=GLOBAL < %t.c.mlir
// RUN: spa-opt %t.mlir --prune-groups='heads=true scope=global ratio=0.4 uniform=true' -o %t.d.mlir 2>&1 | filecheck %s --check-prefix=SUMMARY
// RUN: filecheck %s --check-prefix=UNIFORM < %t.d.mlir

// Without heads=true the head dims are pruned too: 1 head of 2 dims is left of q's 8 rows.
// FREE: spa.param "layers.0.q.weight" : !torch.vtensor<[2,8],f32>
// heads=true: whole heads only (the head-dim group stays): 1 head of 4 dims; the MLP still loses half.
// HEADS: spa.param "layers.0.q.weight" : !torch.vtensor<[4,8],f32>
// HEADS: spa.param "layers.0.up.weight" : !torch.vtensor<[3,8],f32>
// Global scope lets the layers differ: layer 1 keeps both heads and its whole MLP here.
// GLOBAL: spa.param "layers.0.q.weight" : !torch.vtensor<[4,8],f32>
// GLOBAL: spa.param "layers.0.up.weight" : !torch.vtensor<[3,8],f32>
// GLOBAL: spa.param "layers.1.q.weight" : !torch.vtensor<[8,8],f32>
// GLOBAL: spa.param "layers.1.up.weight" : !torch.vtensor<[4,8],f32>
// uniform=true: corresponding groups of both layers keep one count (removing 6 of the 16 channels, 0.4).
// SUMMARY: spa-opt: pruned (criterion l1, scope global, ratio=0.4)
// UNIFORM: spa.param "layers.0.q.weight" : !torch.vtensor<[4,8],f32>
// UNIFORM: spa.param "layers.0.up.weight" : !torch.vtensor<[4,8],f32>
// UNIFORM: spa.param "layers.1.q.weight" : !torch.vtensor<[4,8],f32>
// UNIFORM: spa.param "layers.1.up.weight" : !torch.vtensor<[4,8],f32>
