// RUN: rm -rf %t && mkdir -p %t
// RUN: spa-opt %inputs/conv_bn_linear.mlir --prune-groups='ratio=0.5 criterion=l1' -o %t/p.mlir 2>/dev/null
// RUN: spa-translate --export-torch-mlir %t/p.mlir -o %t/p.torch.mlir
// RUN: filecheck %s --check-prefix=TORCH < %t/p.torch.mlir
// RUN: torch-mlir-opt %t/p.torch.mlir --pass-pipeline='builtin.module(torchdynamo-export-to-torch-backend-pipeline,torch-backend-to-linalg-on-tensors-backend-pipeline)' -o %t/l.mlir
// RUN: filecheck %s < %t/l.mlir
// RUN: torch-mlir-opt %t/p.torch.mlir --pass-pipeline='builtin.module(torchdynamo-export-to-torch-backend-pipeline,torch-backend-to-tosa-backend-pipeline)' -o %t/t.mlir
// RUN: filecheck %s --check-prefix=TOSA < %t/t.mlir
// RUN: torch-mlir-opt %t/p.torch.mlir --pass-pipeline='builtin.module(torchdynamo-export-to-torch-backend-pipeline,torch-backend-to-stablehlo-backend-pipeline)' -o %t/h.mlir
// RUN: filecheck %s --check-prefix=HLO < %t/h.mlir
// RUN: spa-translate --export-torch-mlir %t/p.mlir --lower linalg -o %t/p.linalg.mlir
// RUN: filecheck %s < %t/p.linalg.mlir
// RUN: not grep -c 'torch\.' %t/l.mlir %t/t.mlir %t/h.mlir %t/p.linalg.mlir
// A pruned conv -> batch norm -> relu -> linear chain goes through torch-mlir's own pipelines (torch-mlir-opt and
// spa-translate --lower): the inference batch norm torch.export writes, which torch-mlir has no op for, is written
// as aten.batch_norm(training=false); conv keeps 2 of 4 filters, the linear layer 8 of 16 columns.

// TORCH-NOT: torch.operator
// TORCH: torch.vtensor.literal(dense_resource<conv.weight> : tensor<2x2x1x1xf32>)
// TORCH: %[[BN:.*]] = torch.aten.batch_norm %{{.*}}, %false{{.*}}, %false{{.*}} : !torch.vtensor<[1,2,2,2],f32>
// TORCH: torch.aten.relu %[[BN]]
// TORCH-NOT: torch.operator

// CHECK-LABEL: func.func @main(%arg0: tensor<1x2x2x2xf32>) -> tensor<1x3xf32>
// CHECK: linalg.conv_2d_nchw_fchw {{.*}} ins(%arg0, %{{.*}} : tensor<1x2x2x2xf32>, tensor<2x2x1x1xf32>)
// CHECK: math.rsqrt
// CHECK: arith.cmpf ugt
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<1x8xf32>, tensor<8x3xf32>)
// CHECK: return {{.*}} : tensor<1x3xf32>

// TOSA-LABEL: func.func @main
// TOSA: tosa.conv2d {{.*}} -> tensor<1x2x2x2xf32>
// TOSA: tosa.rsqrt
// TOSA: tosa.clamp
// TOSA: tosa.matmul

// HLO-LABEL: func.func @main
// HLO: stablehlo.convolution{{.*}} -> tensor<1x2x2x2xf32>
// HLO: stablehlo.rsqrt
// HLO: stablehlo.maximum
// HLO: stablehlo.dot_general
