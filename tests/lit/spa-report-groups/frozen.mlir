// RUN: spa-opt %s -p spa-propagate-channels,spa-form-groups,spa-report-groups -o /dev/null 2>&1 | filecheck %s
// RUN: spa-opt %s -p 'spa-propagate-channels,spa-form-groups,spa-report-groups{verbose=true}' -o /dev/null 2>&1 | filecheck %s --check-prefix=VERBOSE
// RUN: not spa-opt %s -p spa-report-groups -o /dev/null 2>&1 | filecheck %s --check-prefix=UNANNOTATED
// Three convs: conv1's channels reach an op spa has no rule for (frozen, and the report names the op and
// its nn.Module path), and so do conv2's input channels beyond it; conv2's output channels are normalized by a softmax over the channel dim (inexact).

// CHECK: spa-report-groups: 5 groups, 1 prunable (1 of them inexact), 4 frozen
// CHECK-NEXT: frozen groups:
// CHECK-NEXT:   @g{{[0-9]+}} (2 channels): model input
// CHECK-NEXT:   @g{{[0-9]+}} (4 channels): no channel rule for op: torch.aten.mystery_op at block.mystery
// CHECK-NEXT:   @g{{[0-9]+}} (4 channels): meets a dim without channels (a constant, or frozen upstream): torch.aten.conv2d
// CHECK-NEXT:   @g{{[0-9]+}} (3 channels): model output
// CHECK-NEXT: ops without a channel rule (groups frozen at each location):
// CHECK-NEXT:   torch.aten.mystery_op: block.mystery (1)
// CHECK-NOT: inexact groups

// VERBOSE: inexact groups:
// VERBOSE-NEXT: @g{{[0-9]+}} (3 channels): softmax over channels: torch.aten.softmax.int at head.softmax

// UNANNOTATED: no channel annotations in the module: run spa-propagate-channels and spa-form-groups first

func.func @main(%x: !torch.vtensor<[1,2,2,2],f32>) -> !torch.vtensor<[1,3,2,2],f32> {
  %w1 = spa.param "conv1.weight" = dense<1.0> : tensor<4x2x1x1xf32> : !torch.vtensor<[4,2,1,1],f32>
  %w2 = spa.param "conv2.weight" = dense<0.5> : tensor<3x4x1x1xf32> : !torch.vtensor<[3,4,1,1],f32>
  %w3 = spa.param "conv3.weight" = dense<0.5> : tensor<3x3x1x1xf32> : !torch.vtensor<[3,3,1,1],f32>
  %none = torch.constant.none
  %int1 = torch.constant.int 1
  %int0 = torch.constant.int 0
  %s = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int>
  %p = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int>
  %c1 = torch.aten.conv2d %x, %w1, %none, %s, %p, %s, %int1 : !torch.vtensor<[1,2,2,2],f32>, !torch.vtensor<[4,2,1,1],f32>, !torch.none, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,4,2,2],f32>
  %m = torch.operator "torch.aten.mystery_op"(%c1) : (!torch.vtensor<[1,4,2,2],f32>) -> !torch.vtensor<[1,4,2,2],f32> loc("block.mystery")
  %c2 = torch.aten.conv2d %m, %w2, %none, %s, %p, %s, %int1 : !torch.vtensor<[1,4,2,2],f32>, !torch.vtensor<[3,4,1,1],f32>, !torch.none, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,3,2,2],f32>
  %sm = torch.aten.softmax.int %c2, %int1, %none : !torch.vtensor<[1,3,2,2],f32>, !torch.int, !torch.none -> !torch.vtensor<[1,3,2,2],f32> loc("head.softmax")
  %c3 = torch.aten.conv2d %sm, %w3, %none, %s, %p, %s, %int1 : !torch.vtensor<[1,3,2,2],f32>, !torch.vtensor<[3,3,1,1],f32>, !torch.none, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,3,2,2],f32>
  return %c3 : !torch.vtensor<[1,3,2,2],f32>
}
