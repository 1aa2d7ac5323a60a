// RUN: spa-opt %inputs/conv_bn_linear.mlir -p spa-propagate-channels | filecheck %s
// The conv's output channels flow through BN and ReLU; after the flatten each channel owns 4
// consecutive features of the linear layer's input. Model input and output channels are frozen.

// CHECK-DAG: spa.space @s[[IN:[0-9]+]] {size = 2 : i64, origin = "input 0[1]", frozen = [#spa.reason<"model input">]}
// CHECK-DAG: spa.space @s[[C:[0-9]+]] {size = 4 : i64, origin = "conv.weight[0]"}
// CHECK-DAG: spa.space @s[[OUT:[0-9]+]] {size = 3 : i64, origin = "fc.weight[0]", frozen = [#spa.reason<"model output">]}
// CHECK: spa.param "conv.weight" {{.*}} {spa.dims = [#spa.dims<[s[[C]], s[[IN]], _, _]>]}
// CHECK: spa.param "bn.running_var" buffer {{.*}} {spa.dims = [#spa.dims<[s[[C]]]>]}
// CHECK: spa.param "fc.weight" {{.*}} {spa.dims = [#spa.dims<[s[[OUT]], s[[C]] x 4]>]}
// CHECK: torch.aten.conv2d {{.*}} {spa.dims = [#spa.dims<[_, s[[C]], _, _]>]}
// CHECK: torch.operator "torch.aten._native_batch_norm_legit_no_training"{{.*}}{spa.dims = [#spa.dims<[_, s[[C]], _, _]>, #spa.dims<[_]>, #spa.dims<[_]>]}
// CHECK: torch.aten.relu {{.*}} {spa.dims = [#spa.dims<[_, s[[C]], _, _]>]}
// CHECK: torch.aten.view {{.*}} {spa.dims = [#spa.dims<[_, s[[C]] x 4]>]}
// CHECK: torch.aten.linear {{.*}} {spa.dims = [#spa.dims<[_, s[[OUT]]]>]}
