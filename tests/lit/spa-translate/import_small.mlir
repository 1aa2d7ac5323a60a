// RUN: rm -f %t.mlir %t.safetensors
// RUN: env PYTHONPATH=%inputs spa-translate --import-torch tiny_models:two_conv --input-shape 1,3,8,8 --seed 0 -o %t.mlir
// RUN: filecheck %s < %t.mlir
// RUN: %python -c "from safetensors import safe_open; f = safe_open('%t.safetensors', 'numpy'); print(*(f'{k} {f.get_slice(k).get_shape()}' for k in f.keys()), sep='\n')" | filecheck %s --check-prefix=WEIGHTS
// A tiny conv net (tests/lit/Inputs/tiny_models.py) imported from PyTorch: parameters and buffers become
// spa.params named by their state-dict names, ops are located at the nn.Module that ran them.

// CHECK-LABEL: func.func @main(%0: !torch.vtensor<[1,3,8,8],f32> {{.*}}) -> !torch.vtensor<[1,2],f32>
// CHECK-NEXT: %[[W1:.*]] = spa.param "conv1.weight" : !torch.vtensor<[8,3,3,3],f32> loc("conv1.weight")
// CHECK-NEXT: %[[B1:.*]] = spa.param "conv1.bias" : !torch.vtensor<[8],f32> loc("conv1.bias")
// CHECK: %[[C1:.*]] = torch.aten.conv2d %0, %[[W1]], %[[B1]], {{.*}} -> !torch.vtensor<[1,8,8,8],f32> loc("conv1")
// CHECK: spa.param "bn1.running_mean" buffer : !torch.vtensor<[8],f32> loc("bn1.running_mean")
// CHECK-NEXT: spa.param "bn1.running_var" buffer : !torch.vtensor<[8],f32> loc("bn1.running_var")
// CHECK: %[[BN:.*]], %{{.*}}, %{{.*}} = torch.operator "torch.aten._native_batch_norm_legit_no_training"(%[[C1]], {{.*}} loc("bn1")
// CHECK-NEXT: %[[R:.*]] = torch.aten.relu %[[BN]] : {{.*}} loc("act")
// CHECK-NEXT: %[[W2:.*]] = spa.param "conv2.weight" : !torch.vtensor<[4,8,3,3],f32> loc("conv2.weight")
// CHECK-NEXT: %[[NONE:.*]] = torch.constant.none loc("conv2")
// CHECK: torch.aten.conv2d %[[R]], %[[W2]], %[[NONE]], {{.*}} -> !torch.vtensor<[1,4,4,4],f32> loc("conv2")
// CHECK: torch.aten.mean.dim
// CHECK: spa.param "head.weight" : !torch.vtensor<[2,4],f32> loc("head.weight")
// CHECK: torch.aten.linear {{.*}} -> !torch.vtensor<[1,2],f32> loc("head")
// CHECK-NOT: spa.param

// WEIGHTS-DAG: bn1.bias [8]
// WEIGHTS-DAG: bn1.running_mean [8]
// WEIGHTS-DAG: bn1.running_var [8]
// WEIGHTS-DAG: bn1.weight [8]
// WEIGHTS-DAG: conv1.bias [8]
// WEIGHTS-DAG: conv1.weight [8, 3, 3, 3]
// WEIGHTS-DAG: conv2.weight [4, 8, 3, 3]
// WEIGHTS-DAG: head.bias [2]
// WEIGHTS-DAG: head.weight [2, 4]
