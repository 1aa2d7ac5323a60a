// RUN: rm -f %t.mlir %t.safetensors %t.eval.mlir
// RUN: env PYTHONPATH=%inputs spa-translate --import-torch tiny_models:aux_head --input-shape 2,3,8,8 --train -o %t.mlir
// RUN: filecheck %s < %t.mlir
// RUN: env PYTHONPATH=%inputs spa-translate --import-torch tiny_models:aux_head --input-shape 2,3,8,8 -o %t.eval.mlir
// RUN: filecheck %s --check-prefix=EVAL < %t.eval.mlir
// RUN: spa-opt %t.mlir --prune-groups='ratio=0.5' -o %t.p.mlir && filecheck %s --check-prefix=PRUNED < %t.p.mlir
// RUN: not spa-translate --import-pt2 %t.pt2 --train -o %t.x.mlir 2>&1 | filecheck %s --check-prefix=ERR
// --train captures the training-mode forward of tests/lit/Inputs/tiny_models.py's aux_head: the aux head that
// runs only in training is a second result, dropout is in the IR, and the batch norm is aten.batch_norm with
// training = true on its running statistics (batch statistics normalize; the emitted module updates the running
// ones in place, as nn.BatchNorm does). Pruned, the aux head loses conv1's removed channels like conv2 does.

// CHECK-LABEL: func.func @main(%0: !torch.vtensor<[2,3,8,8],f32> {{.*}}) -> (!torch.vtensor<[2,2],f32>, !torch.vtensor<[2,3],f32>)
// CHECK: %[[MEAN:.*]] = spa.param "bn1.running_mean" buffer : !torch.vtensor<[8],f32>
// CHECK-NEXT: %[[VAR:.*]] = spa.param "bn1.running_var" buffer : !torch.vtensor<[8],f32>
// CHECK: torch.aten.batch_norm %{{.*}}, %{{.*}}, %{{.*}}, %[[MEAN]], %[[VAR]], %true, {{.*}} -> !torch.vtensor<[2,8,8,8],f32> loc("bn1")
// CHECK: torch.aten.native_dropout {{.*}} loc("drop")
// CHECK: spa.param "aux.weight" : !torch.vtensor<[3,8],f32>
// CHECK: %[[AUX:.*]] = torch.aten.linear {{.*}} -> !torch.vtensor<[2,3],f32> loc("aux")
// CHECK: func.return %{{.*}}, %[[AUX]] :
// CHECK-NOT: num_batches_tracked

// EVAL-LABEL: func.func @main(%0: !torch.vtensor<[2,3,8,8],f32> {{.*}}) -> !torch.vtensor<[2,2],f32>
// EVAL: torch.operator "torch.aten._native_batch_norm_legit_no_training"
// EVAL-NOT: dropout
// EVAL-NOT: aux.weight

// PRUNED: spa.param "conv1.weight" : !torch.vtensor<[4,3,3,3],f32>
// PRUNED: spa.param "bn1.running_var" buffer : !torch.vtensor<[4],f32>
// PRUNED: spa.param "conv2.weight" : !torch.vtensor<[2,4,3,3],f32>
// PRUNED: spa.param "aux.weight" : !torch.vtensor<[3,4],f32>

// ERR: spa-translate: error: --train applies to --import-torch only
