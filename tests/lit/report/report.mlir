// spa-opt's report of a pruning pipeline: the table on stderr (--report), the JSON (--report-json), the PNG (--plot);
// --quiet prints nothing; a pipeline that does not prune is a one-line error and writes nothing.
// conv (4 channels) -> batch norm -> relu -> flatten -> fc[3, 16]: ratio=0.5 removes 2 of the 4 channels, so conv
// keeps 2x2x1x1 of 4x2x1x1, fc 3x8 of 3x16; params 71 -> 37, FLOPs 160 -> 80 (2 per MAC: conv 4*2*4, fc 3*16).
// RUN: spa-opt %inputs/conv_bn_linear.mlir --prune-groups='ratio=0.5' --report --report-json %t.json --plot %t.png \
// RUN:   -o %t.mlir 2>&1 | filecheck %s
// RUN: filecheck --check-prefix=JSON --input-file=%t.json %s
// RUN: %python -c "import matplotlib.image as m, sys; a = m.imread(sys.argv[1]); assert a.ndim == 3 and a.size" \
// RUN:   %t.png
// RUN: spa-opt %inputs/conv_bn_linear.mlir --prune-groups='ratio=0.5' --quiet -o %t.quiet.mlir 2>&1 \
// RUN:   | filecheck --allow-empty --check-prefix=QUIET %s
// RUN: rm -f %t.none.json
// RUN: not spa-opt %inputs/conv_bn_linear.mlir -p spa-propagate-channels --report-json %t.none.json \
// RUN:   -o %t.none.mlir 2>&1 | filecheck --check-prefix=ERR %s
// RUN: not test -e %t.none.json
// RUN: not test -e %t.none.mlir

// CHECK:      spa-opt: pruned (criterion l1, scope local, ratio=0.5): kept 0.500 of the FLOPs, 0.521 of the parameters
// CHECK-NEXT: groups: 1 of 3 pruned
// CHECK-NEXT: group  width   removal  layers
// CHECK-NEXT: {{^-----  ------  -------  -+$}}
// CHECK-NEXT: g3     4 -> 2  exact    conv.weight, conv.bias, bn.weight, bn.bias, bn.running_mean, {{.*}} (+1 more)
// CHECK-EMPTY:
// CHECK-NEXT: layers: 7 of 8 weights changed (2 matrices listed, the biases, norms and buffers beside them follow)
// CHECK-NEXT: weight       before       after
// CHECK-NEXT: -----------  -------  --  -------
// CHECK-NEXT: conv.weight  4x2x1x1  ->  2x2x1x1
// CHECK-NEXT: fc.weight    3x16     ->  3x8
// CHECK-EMPTY:
// CHECK-NEXT: totals
// CHECK-NEXT: {{^ +before +after   kept$}}
// CHECK-NEXT: {{^-+  -+  -+  -----$}}
// CHECK-NEXT: params {{ +}}71 {{ +}}37  0.521
// CHECK-NEXT: FLOPs {{ +}}160 {{ +}}80  0.500
// CHECK-NEXT: weights file {{ +}}0 B {{ +}}0 B {{ +}}-
// CHECK-NEXT: CPU latency (1x2x2x2) {{ *[0-9.]+}} ms {{ *[0-9.]+}} ms {{ *[0-9.]+}}

// JSON:      "groups": [
// JSON:        "id": "g3",
// JSON-NEXT:   "layers": [
// JSON-NEXT:    "conv.weight",
// JSON:        "width": {
// JSON-NEXT:    "before": 4,
// JSON-NEXT:    "after": 2
// JSON-NEXT:   },
// JSON-NEXT:   "exact": true,
// JSON-NEXT:   "frozen": false
// JSON:      "layers": [
// JSON:        "weight": "fc.weight",
// JSON-NEXT:   "buffer": false,
// JSON-NEXT:   "shape": {
// JSON-NEXT:    "before": [
// JSON-NEXT:     3,
// JSON-NEXT:     16
// JSON-NEXT:    ],
// JSON-NEXT:    "after": [
// JSON-NEXT:     3,
// JSON-NEXT:     8
// JSON:      "totals": {
// JSON-NEXT:  "params": {
// JSON-NEXT:   "before": 71,
// JSON-NEXT:   "after": 37
// JSON:       "flops": {
// JSON-NEXT:   "before": 160,
// JSON-NEXT:   "after": 80
// JSON:       "latency_ms": {
// JSON-NEXT:   "before": {{[0-9.e-]+}},
// JSON:      "selection": {
// JSON-NEXT:  "scope": "local",

// QUIET-NOT: {{.}}

// ERR: spa-opt: error: --report, --report-json and --plot need one input and a pipeline that prunes
// ERR-SAME: (--prune-groups or spa-eliminate-dead-channels)
// ERR-NOT: {{.}}
