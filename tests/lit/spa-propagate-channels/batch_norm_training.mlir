// RUN: spa-opt %s --split-input-file -p spa-propagate-channels | filecheck %s
// Batch norm is per channel of dim 1. In training mode its statistics run over every other dim, so
// channels there are mixed into the mean and variance: removing them is not zeroing them (inexact).

// Weight standardization (timm's ScaledStdConv2d): the conv weight [8, 4, 3, 3] viewed as [1, 8, 36] and
// batch-normalized in training mode. Output channels (dim 1) stay exact; the input channels (inside dim
// 2) are inexact. The saved mean / inverse std are per output channel.
// CHECK: spa.space @s[[IN:[0-9]+]] {size = 4 : i64, origin = "input 0[1]", frozen = [#spa.reason<"model input">], inexact = [#spa.reason<"batch statistics over channels", "torch.aten._native_batch_norm_legit.no_stats">]}
// CHECK: spa.space @s[[OUT:[0-9]+]] {size = 8 : i64, origin = "w[0]"}
// CHECK: spa.param "w" {{.*}} {spa.dims = [#spa.dims<[s[[OUT]], s[[IN]], s[[KH:[0-9]+]], s[[KW:[0-9]+]]]>]}
// CHECK: torch.aten.view %w, %shape {spa.dims = [#spa.dims<[_, s[[OUT]], s[[IN]] x s[[KH]] x s[[KW]]]>]}
// CHECK: torch.operator "torch.aten._native_batch_norm_legit.no_stats"{{.*}}{spa.dims = [#spa.dims<[_, s[[OUT]], s[[IN]] x s[[KH]] x s[[KW]]]>, #spa.dims<[s[[OUT]]]>, #spa.dims<[s[[OUT]]]>]}
func.func @main(%x: !torch.vtensor<[1,4,6,6],f32>) -> !torch.vtensor<[1,3,4,4],f32> {
  %w = spa.param "w" = dense<0.5> : tensor<8x4x3x3xf32> : !torch.vtensor<[8,4,3,3],f32>
  %w2 = spa.param "w2" = dense<0.5> : tensor<3x8x1x1xf32> : !torch.vtensor<[3,8,1,1],f32>
  %none = torch.constant.none
  %true = torch.constant.bool true
  %float0 = torch.constant.float 0.0
  %eps = torch.constant.float 1.0e-05
  %int0 = torch.constant.int 0
  %int1 = torch.constant.int 1
  %int3 = torch.constant.int 3
  %int4 = torch.constant.int 4
  %int8 = torch.constant.int 8
  %int-1 = torch.constant.int -1
  %shape = torch.prim.ListConstruct %int1, %int8, %int-1 : (!torch.int, !torch.int, !torch.int) -> !torch.list<int>
  %v = torch.aten.view %w, %shape : !torch.vtensor<[8,4,3,3],f32>, !torch.list<int> -> !torch.vtensor<[1,8,36],f32>
  %n:3 = torch.operator "torch.aten._native_batch_norm_legit.no_stats"(%v, %none, %none, %true, %float0, %eps) : (!torch.vtensor<[1,8,36],f32>, !torch.none, !torch.none, !torch.bool, !torch.float, !torch.float) -> (!torch.vtensor<[1,8,36],f32>, !torch.vtensor<[8],f32>, !torch.vtensor<[8],f32>)
  %back = torch.prim.ListConstruct %int8, %int4, %int3, %int3 : (!torch.int, !torch.int, !torch.int, !torch.int) -> !torch.list<int>
  %ws = torch.aten.view %n#0, %back : !torch.vtensor<[1,8,36],f32>, !torch.list<int> -> !torch.vtensor<[8,4,3,3],f32>
  %s = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int>
  %p = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int>
  %c = torch.aten.conv2d %x, %ws, %none, %s, %p, %s, %int1 : !torch.vtensor<[1,4,6,6],f32>, !torch.vtensor<[8,4,3,3],f32>, !torch.none, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,8,4,4],f32>
  %y = torch.aten.conv2d %c, %w2, %none, %s, %p, %s, %int1 : !torch.vtensor<[1,8,4,4],f32>, !torch.vtensor<[3,8,1,1],f32>, !torch.none, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,3,4,4],f32>
  return %y : !torch.vtensor<[1,3,4,4],f32>
}

// -----

// aten.batch_norm(input, weight, bias, running_mean, running_var, training, ...) on [N, C, L] where L holds
// a linear layer's channels: training = true makes them inexact; dim 1 couples to the affine weights.
// CHECK: spa.space @s[[L:[0-9]+]] {size = 3 : i64, origin = "fc.weight[0]", inexact = [#spa.reason<"batch statistics over channels", "torch.aten.batch_norm">]}
// CHECK: torch.aten.batch_norm {{.*}} {spa.dims = [#spa.dims<[s{{[0-9]+}}, s[[C:[0-9]+]], s[[L]]]>]}
func.func @main(%x: !torch.vtensor<[2,4,5],f32>) -> !torch.vtensor<[2,4,2],f32> {
  %w = spa.param "fc.weight" = dense<0.5> : tensor<3x5xf32> : !torch.vtensor<[3,5],f32>
  %g = spa.param "bn.weight" = dense<1.0> : tensor<4xf32> : !torch.vtensor<[4],f32>
  %b = spa.param "bn.bias" = dense<0.0> : tensor<4xf32> : !torch.vtensor<[4],f32>
  %w2 = spa.param "out.weight" = dense<0.5> : tensor<2x3xf32> : !torch.vtensor<[2,3],f32>
  %none = torch.constant.none
  %true = torch.constant.bool true
  %false = torch.constant.bool false
  %mom = torch.constant.float 0.1
  %eps = torch.constant.float 1.0e-05
  %h = torch.aten.linear %x, %w, %none : !torch.vtensor<[2,4,5],f32>, !torch.vtensor<[3,5],f32>, !torch.none -> !torch.vtensor<[2,4,3],f32>
  %n = torch.aten.batch_norm %h, %g, %b, %none, %none, %true, %mom, %eps, %false : !torch.vtensor<[2,4,3],f32>, !torch.vtensor<[4],f32>, !torch.vtensor<[4],f32>, !torch.none, !torch.none, !torch.bool, !torch.float, !torch.float, !torch.bool -> !torch.vtensor<[2,4,3],f32>
  %y = torch.aten.linear %n, %w2, %none : !torch.vtensor<[2,4,3],f32>, !torch.vtensor<[2,3],f32>, !torch.none -> !torch.vtensor<[2,4,2],f32>
  return %y : !torch.vtensor<[2,4,2],f32>
}

// -----

// The same in evaluation mode (training = false): per channel of dim 1 only, nothing is inexact.
// CHECK: spa.space @s0 {size = 2 : i64, origin = "input 0[0]", frozen = [#spa.reason<"model input">, #spa.reason<"model output">]}{{$}}
// CHECK-NOT: inexact
// CHECK: spa.space @s{{[0-9]+}} {size = 3 : i64, origin = "fc.weight[0]"}{{$}}
// CHECK-NOT: inexact
// CHECK: torch.aten.batch_norm
func.func @main(%x: !torch.vtensor<[2,4,5],f32>) -> !torch.vtensor<[2,4,2],f32> {
  %w = spa.param "fc.weight" = dense<0.5> : tensor<3x5xf32> : !torch.vtensor<[3,5],f32>
  %g = spa.param "bn.weight" = dense<1.0> : tensor<4xf32> : !torch.vtensor<[4],f32>
  %b = spa.param "bn.bias" = dense<0.0> : tensor<4xf32> : !torch.vtensor<[4],f32>
  %m = spa.param "bn.running_mean" buffer = dense<0.0> : tensor<4xf32> : !torch.vtensor<[4],f32>
  %v = spa.param "bn.running_var" buffer = dense<1.0> : tensor<4xf32> : !torch.vtensor<[4],f32>
  %w2 = spa.param "out.weight" = dense<0.5> : tensor<2x3xf32> : !torch.vtensor<[2,3],f32>
  %none = torch.constant.none
  %false = torch.constant.bool false
  %mom = torch.constant.float 0.1
  %eps = torch.constant.float 1.0e-05
  %h = torch.aten.linear %x, %w, %none : !torch.vtensor<[2,4,5],f32>, !torch.vtensor<[3,5],f32>, !torch.none -> !torch.vtensor<[2,4,3],f32>
  %n = torch.aten.batch_norm %h, %g, %b, %m, %v, %false, %mom, %eps, %false : !torch.vtensor<[2,4,3],f32>, !torch.vtensor<[4],f32>, !torch.vtensor<[4],f32>, !torch.vtensor<[4],f32>, !torch.vtensor<[4],f32>, !torch.bool, !torch.float, !torch.float, !torch.bool -> !torch.vtensor<[2,4,3],f32>
  %y = torch.aten.linear %n, %w2, %none : !torch.vtensor<[2,4,3],f32>, !torch.vtensor<[2,3],f32>, !torch.none -> !torch.vtensor<[2,4,2],f32>
  return %y : !torch.vtensor<[2,4,2],f32>
}

// -----

// instance_norm with input statistics normalizes each (sample, channel) over dims 2..: their channels
// are mixed too.
// CHECK: spa.space @s{{[0-9]+}} {size = 3 : i64, origin = "fc.weight[0]", inexact = [#spa.reason<"instance statistics over channels", "torch.aten.instance_norm">]}
// CHECK: torch.aten.instance_norm {{.*}} {spa.dims = [#spa.dims<[s{{[0-9]+}}, s{{[0-9]+}}, s{{[0-9]+}}]>]}
func.func @main(%x: !torch.vtensor<[2,4,5],f32>) -> !torch.vtensor<[2,4,2],f32> {
  %w = spa.param "fc.weight" = dense<0.5> : tensor<3x5xf32> : !torch.vtensor<[3,5],f32>
  %w2 = spa.param "out.weight" = dense<0.5> : tensor<2x3xf32> : !torch.vtensor<[2,3],f32>
  %none = torch.constant.none
  %true = torch.constant.bool true
  %false = torch.constant.bool false
  %mom = torch.constant.float 0.1
  %eps = torch.constant.float 1.0e-05
  %h = torch.aten.linear %x, %w, %none : !torch.vtensor<[2,4,5],f32>, !torch.vtensor<[3,5],f32>, !torch.none -> !torch.vtensor<[2,4,3],f32>
  %n = torch.aten.instance_norm %h, %none, %none, %none, %none, %true, %mom, %eps, %false : !torch.vtensor<[2,4,3],f32>, !torch.none, !torch.none, !torch.none, !torch.none, !torch.bool, !torch.float, !torch.float, !torch.bool -> !torch.vtensor<[2,4,3],f32>
  %y = torch.aten.linear %n, %w2, %none : !torch.vtensor<[2,4,3],f32>, !torch.vtensor<[2,3],f32>, !torch.none -> !torch.vtensor<[2,4,2],f32>
  return %y : !torch.vtensor<[2,4,2],f32>
}
