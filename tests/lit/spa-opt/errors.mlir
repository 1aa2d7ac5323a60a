// RUN: rm -f %t.out.mlir
// RUN: not spa-opt %s -o %t.out.mlir 2>&1 | filecheck %s --check-prefix=PARSE
// RUN: not test -e %t.out.mlir
// RUN: sed -n -e 's|^// VERIFY-INPUT: ||p' %s > %t.verify.mlir
// RUN: not spa-opt %t.verify.mlir 2>&1 | filecheck %s --check-prefix=VERIFY
// RUN: not spa-opt %t.no-such-file.mlir 2>&1 | filecheck %s --check-prefix=MISSING
// Malformed input is one line naming file:line:col, exit code 1, and no output file is written.

// An op name that is not registered: located at the op name (line 15, column 8).
// PARSE: {{^}}spa-opt: error: {{.*}}errors.mlir:15:8: Operation torch.bogus is not registered
// PARSE-NOT: {{\S}}
func.func @main(%x: !torch.vtensor<[2],f32>) -> !torch.vtensor<[2],f32> {
  %0 = torch.aten.relu %x : !torch.vtensor<[2],f32> -> !torch.vtensor<[2],f32>
  %int1 = torch.constant.int 1
  %1 = torch.bogus %0, %int1 : !torch.vtensor<[2],f32>, !torch.int -> !torch.vtensor<[2],f32>
  return %1 : !torch.vtensor<[2],f32>
}

// An op that parses but does not verify: located at the op (line 3 of the extracted input, column 3).
// VERIFY: {{^}}spa-opt: error: {{.*}}verify.mlir:3:3: 'torch.aten.relu' op: operand 'self_' at position 0 does not verify: Unexpected attribute !torch.int
// VERIFY-NOT: {{\S}}
// VERIFY-INPUT: func.func @f(%i: !torch.int) -> !torch.vtensor<[2],f32> {
// VERIFY-INPUT:   %int1 = torch.constant.int 1
// VERIFY-INPUT:   %0 = "torch.aten.relu"(%i) : (!torch.int) -> !torch.vtensor<[2],f32>
// VERIFY-INPUT:   return %0 : !torch.vtensor<[2],f32>
// VERIFY-INPUT: }

// MISSING: {{^}}spa-opt: error: {{.*}}no-such-file.mlir: file not found
// MISSING-NOT: {{\S}}
