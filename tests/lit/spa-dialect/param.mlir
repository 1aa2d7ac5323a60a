// RUN: %python -c "import numpy as np; from safetensors.numpy import save_file; save_file({'fc.weight': np.ones((2, 2), np.float32), 'bn.running_mean': np.zeros(2, np.float32)}, '%t.safetensors')"
// RUN: spa-opt %s --split-input-file --verify-diagnostics --weights %t.safetensors > %t.out
// RUN: filecheck %s < %t.out
// What spa-opt prints parses back to the same text, in the custom and in the generic form:
// RUN: sed -e '/^\/\/ -----/,$d' -e '/^$/d' %t.out > %t.first.mlir
// RUN: spa-opt %t.first.mlir --weights %t.safetensors > %t.again.mlir
// RUN: diff %t.first.mlir %t.again.mlir
// RUN: spa-opt %t.first.mlir --weights %t.safetensors --print-op-generic > %t.generic.mlir
// RUN: filecheck %s --check-prefix=GENERIC < %t.generic.mlir
// RUN: spa-opt %t.generic.mlir --weights %t.safetensors > %t.from_generic.mlir
// RUN: diff %t.first.mlir %t.from_generic.mlir

// spa.param: a named weight in the weights file, a buffer, or a small value held inline.
// CHECK-LABEL: func.func @main
// CHECK-NEXT: %w = spa.param "fc.weight" : !torch.vtensor<[2,2],f32> loc("fc.weight")
// CHECK-NEXT: %m = spa.param "bn.running_mean" buffer : !torch.vtensor<[2],f32> loc("bn.running_mean")
// CHECK-NEXT: %s = spa.param "scale" = dense<1.500000e+00> : tensor<2xf32> : !torch.vtensor<[2],f32> loc("scale")
// CHECK-NEXT: %v = spa.param "bn.running_var" buffer = dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32> : !torch.vtensor<[2],f32> loc("bn.running_var")
// CHECK-NEXT: %i = spa.param "idx" buffer = dense<{{\[\[}}0, 1]]> : tensor<1x2xi64> : !torch.vtensor<[1,2],si64> loc("idx")
// CHECK-NEXT: %y = torch.aten.linear %x, %w, %m
// GENERIC: %w = "spa.param"() {name = "fc.weight"} : () -> !torch.vtensor<[2,2],f32> loc("fc.weight")
// GENERIC: %m = "spa.param"() {name = "bn.running_mean", buffer} : () -> !torch.vtensor<[2],f32>
// GENERIC: %s = "spa.param"() {name = "scale", value = dense<1.500000e+00> : tensor<2xf32>} : () -> !torch.vtensor<[2],f32>
func.func @main(%x: !torch.vtensor<[1,2],f32> loc("x")) -> !torch.vtensor<[1,2],f32> {
  %w = spa.param "fc.weight" : !torch.vtensor<[2,2],f32> loc("fc.weight")
  %m = spa.param "bn.running_mean" buffer : !torch.vtensor<[2],f32> loc("bn.running_mean")
  %s = spa.param "scale" = dense<1.5> : tensor<2xf32> : !torch.vtensor<[2],f32> loc("scale")
  %v = spa.param "bn.running_var" buffer = dense<[1.0, 2.0]> : tensor<2xf32> : !torch.vtensor<[2],f32> loc("bn.running_var")
  %i = spa.param "idx" buffer = dense<[[0, 1]]> : tensor<1x2xi64> : !torch.vtensor<[1,2],si64> loc("idx")
  %y = torch.aten.linear %x, %w, %m : !torch.vtensor<[1,2],f32>, !torch.vtensor<[2,2],f32>, !torch.vtensor<[2],f32> -> !torch.vtensor<[1,2],f32> loc("fc")
  return %y : !torch.vtensor<[1,2],f32> loc("output")
} loc("main")

// -----

// The inline value must have the shape of the result type.
// CHECK: {{//}} {{-----}}
// CHECK-NEXT: spa.param 'w': inline value shape (3,) does not match result type shape (2,)
func.func @inline_shape_mismatch() {
  %0 = spa.param "w" = dense<1.0> : tensor<3xf32> : !torch.vtensor<[2],f32>
  return
}

// -----

// CHECK: {{//}} {{-----}}
// CHECK-NEXT: spa.param needs a non-empty name
func.func @empty_name() {
  %0 = spa.param "" : !torch.vtensor<[2],f32>
  return
}
