// RUN: spa-opt %s --prune-groups='ratio=0.5 criterion=l1' | filecheck %s
// A slice whose end is only known at run time (ONNX exports compute `chunk` bounds from `Shape`) freezes
// the channels it slices (conv2's outputs); the other space (conv1's outputs) is still pruned, and the
// slice, on a dim that kept all its channels, keeps its run-time bound.

// CHECK: spa.param "conv1.weight" {{.*}} : !torch.vtensor<[2,2,1,1],f32>
// CHECK: spa.param "conv2.weight" {{.*}} : !torch.vtensor<[4,2,1,1],f32>
// CHECK: %[[END:[a-z0-9_]+]] = torch.aten.size.int
// CHECK: torch.aten.slice.Tensor {{.*}}, %[[END]], {{.*}} -> !torch.vtensor<[1,4,2,2],f32>
func.func @main(%x: !torch.vtensor<[1,2,2,2],f32>) -> !torch.vtensor<[1,4,2,2],f32> {
  %w1 = spa.param "conv1.weight" = dense<[[[[1.0]], [[2.0]]], [[[3.0]], [[1.0]]], [[[0.5]], [[1.0]]], [[[2.0]], [[2.0]]]]> : tensor<4x2x1x1xf32> : !torch.vtensor<[4,2,1,1],f32>
  %w2 = spa.param "conv2.weight" = dense<1.0> : tensor<4x4x1x1xf32> : !torch.vtensor<[4,4,1,1],f32>
  %none = torch.constant.none
  %int1 = torch.constant.int 1
  %int0 = torch.constant.int 0
  %s = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int>
  %p = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int>
  %c1 = torch.aten.conv2d %x, %w1, %none, %s, %p, %s, %int1 : !torch.vtensor<[1,2,2,2],f32>, !torch.vtensor<[4,2,1,1],f32>, !torch.none, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,4,2,2],f32>
  %r = torch.aten.relu %c1 : !torch.vtensor<[1,4,2,2],f32> -> !torch.vtensor<[1,4,2,2],f32>
  %c2 = torch.aten.conv2d %r, %w2, %none, %s, %p, %s, %int1 : !torch.vtensor<[1,4,2,2],f32>, !torch.vtensor<[4,4,1,1],f32>, !torch.none, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,4,2,2],f32>
  %end = torch.aten.size.int %c2, %int1 : !torch.vtensor<[1,4,2,2],f32>, !torch.int -> !torch.int
  %y = torch.aten.slice.Tensor %c2, %int1, %int0, %end, %int1 : !torch.vtensor<[1,4,2,2],f32>, !torch.int, !torch.int, !torch.int, !torch.int -> !torch.vtensor<[1,4,2,2],f32>
  return %y : !torch.vtensor<[1,4,2,2],f32>
}
