// RUN: spa-opt %inputs/ranked.mlir -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance,spa-select-channels{ratio=0.5},spa-eliminate-dead-channels' | filecheck %s
// Channels 0 and 2 of conv1 are removed from conv1's weight and bias, from conv2's input columns, and
// from the types in between; the annotations are gone afterwards.

// CHECK-NOT: spa.group
// CHECK-NOT: spa.space
// CHECK: spa.param "conv1.weight" = dense<{{\[\[\[\[}}3.000000e+00]], {{\[\[}}3.000000e+00]]], {{\[\[\[}}2.000000e+00]], {{\[\[}}-2.000000e+00]]]]> : tensor<2x2x1x1xf32> : !torch.vtensor<[2,2,1,1],f32>
// CHECK: spa.param "conv1.bias" {{.*}} : !torch.vtensor<[2],f32>
// CHECK: spa.param "conv2.weight" {{.*}} : !torch.vtensor<[3,2,1,1],f32>
// CHECK: torch.aten.conv2d {{.*}} -> !torch.vtensor<[1,2,3,3],f32>
// CHECK-NOT: spa.dims
// CHECK: torch.aten.relu {{.*}} : !torch.vtensor<[1,2,3,3],f32> -> !torch.vtensor<[1,2,3,3],f32>
// CHECK: torch.aten.conv2d {{.*}} !torch.vtensor<[1,2,3,3],f32>, !torch.vtensor<[3,2,1,1],f32>, {{.*}} -> !torch.vtensor<[1,3,3,3],f32>
