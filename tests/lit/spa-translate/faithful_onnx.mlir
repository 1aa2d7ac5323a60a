// RUN: rm -f %t.bad.onnx && cp %S/../../data/frameworks/paddle_mbv3_op9.onnx %t.onnx
// RUN: spa-translate --import-onnx %t.onnx -o %t.mlir
// RUN: filecheck %s --check-prefix=IMPORT < %t.mlir
// RUN: spa-opt %t.mlir --prune-groups='ratio=0.5 criterion=l2' -o %t.p.mlir
// RUN: spa-translate --export-onnx %t.p.mlir -o %t.f.onnx
// RUN: %python -c "import onnx; m = onnx.load('%t.f.onnx'); print('opset', m.opset_import[0].version, 'ir', m.ir_version); print(*[i.name for i in m.graph.input], *[o.name for o in m.graph.output]); print(*[n.op_type for n in m.graph.node][:4]); print('nodes', len(m.graph.node))" | filecheck %s --check-prefix=FAITHFUL
// RUN: spa-translate --export-onnx %t.p.mlir --via-torch -o %t.g.onnx
// RUN: %python -c "import onnx; m = onnx.load('%t.g.onnx'); print('producer', m.producer_name)" | filecheck %s --check-prefix=GENERIC
// RUN: echo >> %t.onnx
// RUN: not spa-translate --export-onnx %t.p.mlir -o %t.bad.onnx 2>&1 | filecheck %s --check-prefix=CHANGED
// RUN: test ! -e %t.bad.onnx
// A PaddlePaddle export (paddle2onnx, opset 9) imported: the module records the file and its hash. Pruned, it is
// written back as the original graph (opset 9, input and output names, the 60 nodes in order), or with
// --via-torch re-exported by PyTorch; once the original changes, the faithful route refuses with one line.

// IMPORT: spa.onnx_source = {path = "{{.*}}faithful_onnx.mlir.tmp.onnx", sha256 = "{{[0-9a-f]+}}"}

// FAITHFUL: opset 9 ir [[IR:[0-9]+]]
// FAITHFUL-NEXT: x fetch_name_0
// FAITHFUL-NEXT: Conv BatchNormalization HardSigmoid Mul
// FAITHFUL-NEXT: nodes 60

// GENERIC: producer pytorch

// CHANGED: spa-translate: {{.*}}: the original ONNX file '{{.*}}faithful_onnx.mlir.tmp.onnx' changed since import (use --via-torch)
