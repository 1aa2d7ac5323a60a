// RUN: rm -rf %t && mkdir -p %t
// RUN: spa-translate --export-torch-mlir %s -o %t/t.mlir
// RUN: filecheck %s < %t/t.mlir
// RUN: torch-mlir-opt %t/t.mlir --pass-pipeline='builtin.module(torchdynamo-export-to-torch-backend-pipeline,torch-backend-to-linalg-on-tensors-backend-pipeline)' -o %t/l.mlir
// RUN: filecheck %s --check-prefix=LINALG < %t/l.mlir
// RUN: not grep -c 'torch\.' %t/l.mlir
// Core aten ops torch-mlir has no named op for, as their families write them for torch-mlir (OpSpec.legalize):
// concat -> cat, _unsafe_index -> index.Tensor, sym_size -> size.int, the training batch norms -> native_batch_norm
// (no_stats: None for the running statistics); then torch-mlir's linalg pipeline leaves no torch op.

// CHECK-NOT: torch.operator
// CHECK: torch.aten.cat %{{.*}}, %int0 : !torch.list<vtensor>, !torch.int -> !torch.vtensor<[4,3],f32>
// CHECK: torch.aten.index.Tensor %arg0, %{{.*}} : !torch.vtensor<[2,3],f32>, !torch.list<optional<vtensor>>
// CHECK: torch.aten.size.int %arg0, %int0
// CHECK: torch.aten.size.int %arg0, %int1
// CHECK: %[[NONE:.*]] = torch.constant.none
// CHECK: torch.aten.native_batch_norm %arg2, %{{.*}}, %{{.*}}, %[[NONE]], %[[NONE]], %true,
// CHECK: torch.aten.native_batch_norm %arg2, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %true,
// CHECK-NOT: torch.operator

// LINALG-LABEL: func.func @main
// LINALG: tensor.concat dim(0)
// LINALG: return {{.*}} : tensor<4x3xf32>, tensor<2x3xf32>, tensor<3x2xf32>, tensor<2x3x4xf32>, tensor<2x3x4xf32>

func.func @main(%x: !torch.vtensor<[2,3],f32>, %i: !torch.vtensor<[2],si64>, %y: !torch.vtensor<[2,3,4],f32>) -> (!torch.vtensor<[4,3],f32>, !torch.vtensor<[2,3],f32>, !torch.vtensor<[3,2],f32>, !torch.vtensor<[2,3,4],f32>, !torch.vtensor<[2,3,4],f32>) {
  %int0 = torch.constant.int 0
  %int1 = torch.constant.int 1
  %true = torch.constant.bool true
  %none = torch.constant.none
  %mom = torch.constant.float 1.000000e-01
  %eps = torch.constant.float 1.000000e-05
  %l = torch.prim.ListConstruct %x, %x : (!torch.vtensor<[2,3],f32>, !torch.vtensor<[2,3],f32>) -> !torch.list<vtensor>
  %c = torch.operator "torch.aten.concat"(%l, %int0) : (!torch.list<vtensor>, !torch.int) -> !torch.vtensor<[4,3],f32>
  %il = torch.prim.ListConstruct %i : (!torch.vtensor<[2],si64>) -> !torch.list<optional<vtensor>>
  %g = torch.operator "torch.aten._unsafe_index.Tensor"(%x, %il) : (!torch.vtensor<[2,3],f32>, !torch.list<optional<vtensor>>) -> !torch.vtensor<[2,3],f32>
  %n0 = torch.operator "torch.aten.sym_size.int"(%x, %int0) : (!torch.vtensor<[2,3],f32>, !torch.int) -> !torch.int
  %n1 = torch.operator "torch.aten.sym_size.int"(%x, %int1) : (!torch.vtensor<[2,3],f32>, !torch.int) -> !torch.int
  %shape = torch.prim.ListConstruct %n1, %n0 : (!torch.int, !torch.int) -> !torch.list<int>
  %v = torch.aten.view %x, %shape : !torch.vtensor<[2,3],f32>, !torch.list<int> -> !torch.vtensor<[3,2],f32>
  %w = spa.param "w" = dense<2.0> : tensor<3xf32> : !torch.vtensor<[3],f32>
  %b = spa.param "b" = dense<0.5> : tensor<3xf32> : !torch.vtensor<[3],f32>
  %s:3 = torch.operator "torch.aten._native_batch_norm_legit.no_stats"(%y, %w, %b, %true, %mom, %eps) : (!torch.vtensor<[2,3,4],f32>, !torch.vtensor<[3],f32>, !torch.vtensor<[3],f32>, !torch.bool, !torch.float, !torch.float) -> (!torch.vtensor<[2,3,4],f32>, !torch.vtensor<[3],f32>, !torch.vtensor<[3],f32>)
  %m = spa.param "m" buffer = dense<0.0> : tensor<3xf32> : !torch.vtensor<[3],f32>
  %r = spa.param "r" buffer = dense<1.0> : tensor<3xf32> : !torch.vtensor<[3],f32>
  %t:3 = torch.operator "torch.aten._native_batch_norm_legit"(%y, %w, %b, %m, %r, %true, %mom, %eps) : (!torch.vtensor<[2,3,4],f32>, !torch.vtensor<[3],f32>, !torch.vtensor<[3],f32>, !torch.vtensor<[3],f32>, !torch.vtensor<[3],f32>, !torch.bool, !torch.float, !torch.float) -> (!torch.vtensor<[2,3,4],f32>, !torch.vtensor<[3],f32>, !torch.vtensor<[3],f32>)
  return %c, %g, %v, %s#0, %t#0 : !torch.vtensor<[4,3],f32>, !torch.vtensor<[2,3],f32>, !torch.vtensor<[3,2],f32>, !torch.vtensor<[2,3,4],f32>, !torch.vtensor<[2,3,4],f32>
}
