// RUN: spa-opt %inputs/bn_ranked.mlir --prune-groups='ratio=0.5 criterion=l1 compensate=obspa source=stats damp=1.0e-9' -o %t.mlir 2>&1 | filecheck %s --check-prefix=SUMMARY
// RUN: filecheck %s < %t.mlir
// source=stats, no data: conv1 -> BN -> ReLU -> conv2. L1 removes channels 1 and 2 (BN beta 0.2, 0.3; gamma
// -0.1, 0.5; running stats 0 / 1). The BN gives each channel N(beta, gamma^2) (times rv / (rv + eps)); through
// the ReLU its mean is the rectified Gaussian's, m Phi(m/s) + s phi(m/s) = 0.20000 and 0.38519. With independent
// channels the refit is the bias shift: conv2 reads every channel with weight 0.5, so its new bias is
// 0.5 * (0.20000 + 0.38519) = 0.29259 for each output; its kept weights do not change.

// SUMMARY: spa-opt: compensated (source stats; order prefix, damp 1e-09): 1 consumers refitted, 0 left as plain removal, 0 batch-norm statistics corrected, 1 biases created

// CHECK: spa.param "conv2.weight" = dense<5.000000e-01> : tensor<3x2x1x1xf32>
// CHECK: spa.param "conv2.bias" = dense<0.29259{{[0-9]*}}> : tensor<3xf32>
