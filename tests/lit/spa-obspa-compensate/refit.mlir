// RUN: rm -rf %t && mkdir -p %t
// RUN: %python -c "import torch; torch.manual_seed(0); torch.save(torch.randn(16, 3), '%t/calib.pt')"
// RUN: spa-opt %s --prune-groups='ratio=0.67 criterion=l1 compensate=obspa damp=1.0e-9' --calib %t/calib.pt --plan=%t/plan.json -o %t/p.mlir 2>&1 | filecheck %s --check-prefix=SUMMARY
// RUN: filecheck %s < %t/p.mlir
// RUN: filecheck %s --check-prefix=PLAN < %t/plan.json
// RUN: spa-opt %s --prune-groups='ratio=0.67 criterion=l1' -o %t/plain.mlir 2>&1 | filecheck %s --check-prefix=PLAIN
// RUN: filecheck %s --check-prefix=PLAIN-IR < %t/plain.mlir
// fc1 -> relu -> fc2 (no bias). fc1's channel 1 is the constant relu(3) = 3; channel 2 is exactly twice
// channel 0 (relu(2a) = 2 relu(a)). L1 removes channels 0 and 1 (scores 4.5 and 4 against 8). The refit:
// the constant's contribution 3 * fc2[:, 1] = (1.5, -1.5) reappears in fc2's new bias, and channel 0 is
// absorbed by its double: fc2[:, 2] + fc2[:, 0] / 2 = (1.5, 2.5), so the pruned model is exact.
func.func @main(%x: !torch.vtensor<[4,3],f32>) -> !torch.vtensor<[4,2],f32> {
  %w1 = spa.param "fc1.weight" = dense<[[1.0, -1.0, 0.5], [0.0, 0.0, 0.0], [2.0, -2.0, 1.0]]> : tensor<3x3xf32> : !torch.vtensor<[3,3],f32>
  %b1 = spa.param "fc1.bias" = dense<[0.0, 3.0, 0.0]> : tensor<3xf32> : !torch.vtensor<[3],f32>
  %w2 = spa.param "fc2.weight" = dense<[[1.0, 0.5, 1.0], [1.0, -0.5, 2.0]]> : tensor<2x3xf32> : !torch.vtensor<[2,3],f32>
  %none = torch.constant.none
  %h = torch.aten.linear %x, %w1, %b1 : !torch.vtensor<[4,3],f32>, !torch.vtensor<[3,3],f32>, !torch.vtensor<[3],f32> -> !torch.vtensor<[4,3],f32>
  %r = torch.aten.relu %h : !torch.vtensor<[4,3],f32> -> !torch.vtensor<[4,3],f32>
  %y = torch.aten.linear %r, %w2, %none : !torch.vtensor<[4,3],f32>, !torch.vtensor<[2,3],f32>, !torch.none -> !torch.vtensor<[4,2],f32>
  return %y : !torch.vtensor<[4,2],f32>
}
// SUMMARY: spa-opt: pruned (criterion l1, scope local, ratio=0.67)
// SUMMARY: spa-opt: compensated (source data: 16 samples from {{.*}}calib.pt; order prefix, damp 1e-09): 1 consumers refitted, 0 left as plain removal, 0 batch-norm statistics corrected, 1 biases created; {{.*}}; 2 changed tensors in the plan

// CHECK: spa.param "fc1.weight" = dense<{{\[}}[2.000000e+00, -2.000000e+00, 1.000000e+00]]> : tensor<1x3xf32>
// CHECK: spa.param "fc2.weight" = dense<{{\[}}[1.500000e+00], [2.500000e+00]]> : tensor<2x1xf32>
// CHECK: spa.param "fc2.bias" = dense<[1.500000e+00, -1.500000e+00]> : tensor<2xf32>
// CHECK: torch.aten.linear %{{.*}}, %{{.*}}, %{{.*}} : !torch.vtensor<[4,1],f32>, !torch.vtensor<[2,1],f32>, !torch.vtensor<[2],f32> -> !torch.vtensor<[4,2],f32>

// PLAN: "compensation": {
// PLAN: "source": "data"
// PLAN: "biases": 1

// Without compensation nothing is refitted and no bias appears.
// PLAIN-NOT: compensated
// PLAIN-IR: spa.param "fc2.weight" = dense<{{\[}}[1.000000e+00], [2.000000e+00]]> : tensor<2x1xf32>
// PLAIN-IR-NOT: fc2.bias
