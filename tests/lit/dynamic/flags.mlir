// RUN: rm -f %t.mlir %t.safetensors %t.p.mlir %t.p.safetensors
// RUN: env PYTHONPATH=%S/Inputs spa-translate --import-torch dyn_models:tokens_and_mask --input-shape 1,6 --input-shape 1,6 --input-dtype int64 --input-dtype int64 --dynamic-batch --dynamic tokens:1=seq 1:1=seq -o %t.mlir
// RUN: filecheck %s < %t.mlir
// RUN: spa-opt %t.mlir --prune-groups='ratio=0.5 only-exact=true' -o %t.p.mlir 2>/dev/null
// RUN: filecheck %s --check-prefix=PRUNED < %t.p.mlir
// RUN: not env PYTHONPATH=%inputs spa-translate --import-torch tiny_models:two_conv --input-shape 1,3,8,8 --dynamic-batch --dynamic x:1=c -o %t.c.mlir 2>&1 | filecheck %s --check-prefix=CHANNEL
// RUN: not spa-translate --import-torch tiny_models:two_conv --input-shape 1,3,8,8 --dynamic 0=batch -o %t.c.mlir 2>&1 | filecheck %s --check-prefix=SYNTAX
// RUN: not spa-translate --import-torch tiny_models:two_conv --input-shape 1,3,8,8 --dynamic 0:0=2b -o %t.c.mlir 2>&1 | filecheck %s --check-prefix=SYNTAX
// RUN: test ! -e %t.c.mlir

// --dynamic-batch makes dim 0 of both inputs one Dim "batch"; --dynamic names the sequence of `tokens` (by name)
// and of input 1 (`mask`, by index) "seq", one Dim. Captured at batch 1 (traced at 2: torch.export specializes 1),
// the IR says `?` in torch-mlir's format and records the names; tied dims are read from either input.
// CHECK-LABEL: func.func @main(%0: !torch.vtensor<[?,?],si64> {{.*}}, %1: !torch.vtensor<[?,?],si64> {{.*}}) -> !torch.vtensor<[?,?,4],f32>
// CHECK-SAME: spa.input_names = ["tokens", "mask"], spa.dim_names = [["batch", "seq"], ["batch", "seq"]]
// CHECK-NOT: _empty_nn_module_stack
// CHECK-DAG: %[[SEQ:.*]] = torch.aten.size.int %{{[01]}}, %int1 :
// CHECK-DAG: %[[BATCH:.*]] = torch.aten.size.int %{{[01]}}, %int0 :
// CHECK: %[[HEADS:.*]] = torch.prim.ListConstruct %[[BATCH]], %[[SEQ]], %int2, %int8 :
// CHECK: torch.aten.view %{{.*}}, %[[HEADS]] : !torch.vtensor<[?,?,16],f32>, !torch.list<int> -> !torch.vtensor<[?,?,2,8],f32>
// CHECK: torch.aten.view %{{.*}} -> !torch.vtensor<[?,?,16],f32>

// The pruned views keep the run-time batch and sequence and take the new static sizes: fc1's 16 outputs, seen as
// 2 heads of 8, keep 1 head of 4; the reshape back reads 4.
// PRUNED-LABEL: func.func @main(%0: !torch.vtensor<[?,?],si64> {{.*}}, %1: !torch.vtensor<[?,?],si64> {{.*}}) -> !torch.vtensor<[?,?,4],f32>
// PRUNED-SAME: spa.dim_names = [["batch", "seq"], ["batch", "seq"]]
// PRUNED-DAG: %[[SEQ:.*]] = torch.aten.size.int %{{[01]}}, %int1 :
// PRUNED-DAG: %[[BATCH:.*]] = torch.aten.size.int %{{[01]}}, %int0 :
// PRUNED: spa.param "fc1.weight" : !torch.vtensor<[4,4],f32>
// PRUNED: %[[ONE:.*]] = torch.constant.int 1
// PRUNED-NEXT: %[[FOUR:.*]] = torch.constant.int 4
// PRUNED-NEXT: %[[HEADS:.*]] = torch.prim.ListConstruct %[[BATCH]], %[[SEQ]], %[[ONE]], %[[FOUR]] :
// PRUNED-NEXT: torch.aten.view %{{.*}}, %[[HEADS]] : !torch.vtensor<[?,?,4],f32>, !torch.list<int> -> !torch.vtensor<[?,?,1,4],f32>
// PRUNED: %[[WIDTH:.*]] = torch.constant.int 4
// PRUNED-NEXT: %[[BACK:.*]] = torch.prim.ListConstruct %[[BATCH]], %[[SEQ]], %[[WIDTH]] :
// PRUNED-NEXT: torch.aten.view %{{.*}}, %[[BACK]] : !torch.vtensor<[?,?,1,4],f32>, !torch.list<int> -> !torch.vtensor<[?,?,4],f32>
// PRUNED: spa.param "fc2.weight" : !torch.vtensor<[4,4],f32>

// A channel dim asked dynamic is refused in one line naming the input and the axis; no file is written.
// CHANNEL: spa-translate: error: tiny_models:two_conv: input 0 ('x') axis 1 cannot be dynamic: the model fixes it to 3
// CHANNEL-NOT: Traceback

// SYNTAX: argument --dynamic: expected INPUT:AXIS=NAME like 0:0=batch or input_ids:1=seq
