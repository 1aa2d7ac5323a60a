// RUN: spa-opt %s | filecheck %s
// torch-mlir's type spellings survive a parse/print: shape lists with `?`, rank-0 and unranked
// tensors, unknown dtypes (`unk`), non-value tensors, and nested types, which torch-mlir writes
// without the `!torch.` prefix (except for dtypes such as `!torch.qint8`).

// CHECK-LABEL: func.func @types(
// CHECK-SAME: %a: !torch.vtensor<[1,3,?,64],f32>
// CHECK-SAME: %b: !torch.vtensor<[],si64>
// CHECK-SAME: %c: !torch.vtensor
// CHECK-SAME: %d: !torch.vtensor<*,f16>
// CHECK-SAME: %e: !torch.vtensor<[?],unk>
// CHECK-SAME: %f: !torch.tensor<[2,3],bf16>
// CHECK-SAME: %g: !torch.vtensor<[4],complex<f32>>
// CHECK-SAME: %h: !torch.vtensor<[4],!torch.qint8>
// CHECK-SAME: %i: !torch.list<int>
// CHECK-SAME: %j: !torch.list<vtensor>
// CHECK-SAME: %k: !torch.list<optional<vtensor<[2],f32>>>
// CHECK-SAME: %l: !torch.optional<list<int>>
// CHECK-SAME: %m: !torch.tuple<vtensor<[1],f32>, int>
// CHECK-SAME: %n: !torch.tuple<>
// CHECK-SAME: %o: !torch.union<float, int>
// CHECK-SAME: %p: !torch.dict<str, list<float>>
// CHECK-SAME: %q: !torch.Device
// CHECK-SAME: %r: !torch.Generator
// CHECK-SAME: %s: !torch.number
// CHECK-SAME: %t: !torch.none
func.func @types(%a: !torch.vtensor<[1,3,?,64],f32>, %b: !torch.vtensor<[],si64>,
                 %c: !torch.vtensor<*,unk>, %d: !torch.vtensor<*, f16>, %e: !torch.vtensor<[-1],unk>,
                 %f: !torch.tensor<[2, 3],bf16>, %g: !torch.vtensor<[4],complex<f32>>,
                 %h: !torch.vtensor<[4],!torch.qint8>, %i: !torch.list<int>,
                 %j: !torch.list<vtensor>, %k: !torch.list<optional<vtensor<[2],f32>>>,
                 %l: !torch.optional<list<int>>, %m: !torch.tuple<vtensor<[1],f32>, int>,
                 %n: !torch.tuple<>, %o: !torch.union<float, int>, %p: !torch.dict<str, list<float>>,
                 %q: !torch.Device, %r: !torch.Generator, %s: !torch.number, %t: !torch.none) {
  return
}
