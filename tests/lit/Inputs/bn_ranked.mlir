// conv1 -> batch_norm -> relu -> conv2 with literal weights (lit input for the criteria): conv1's 4 filters
// (1,1), (3,3), (0.5,0.5), (2,-2) have L1 norms 2, 6, 1, 4; the BatchNorm scales are 0.9, -0.1, 0.5, 0.3.
func.func @main(%x: !torch.vtensor<[1,2,3,3],f32>) -> !torch.vtensor<[1,3,3,3],f32> {
  %w1 = spa.param "conv1.weight" = dense<[[[[1.0]], [[1.0]]], [[[3.0]], [[3.0]]], [[[0.5]], [[0.5]]], [[[2.0]], [[-2.0]]]]> : tensor<4x2x1x1xf32> : !torch.vtensor<[4,2,1,1],f32>
  %g = spa.param "bn.weight" = dense<[0.9, -0.1, 0.5, 0.3]> : tensor<4xf32> : !torch.vtensor<[4],f32>
  %be = spa.param "bn.bias" = dense<[0.1, 0.2, 0.3, 0.4]> : tensor<4xf32> : !torch.vtensor<[4],f32>
  %m = spa.param "bn.running_mean" buffer = dense<0.0> : tensor<4xf32> : !torch.vtensor<[4],f32>
  %v = spa.param "bn.running_var" buffer = dense<1.0> : tensor<4xf32> : !torch.vtensor<[4],f32>
  %w2 = spa.param "conv2.weight" = dense<0.5> : tensor<3x4x1x1xf32> : !torch.vtensor<[3,4,1,1],f32>
  %none = torch.constant.none
  %int1 = torch.constant.int 1
  %int0 = torch.constant.int 0
  %float0.1 = torch.constant.float 1.000000e-01
  %float1e-05 = torch.constant.float 1.000000e-05
  %s = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int>
  %p = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int>
  %c1 = torch.aten.conv2d %x, %w1, %none, %s, %p, %s, %int1 : !torch.vtensor<[1,2,3,3],f32>, !torch.vtensor<[4,2,1,1],f32>, !torch.none, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,4,3,3],f32>
  %n:3 = torch.operator "torch.aten._native_batch_norm_legit_no_training"(%c1, %g, %be, %m, %v, %float0.1, %float1e-05) : (!torch.vtensor<[1,4,3,3],f32>, !torch.vtensor<[4],f32>, !torch.vtensor<[4],f32>, !torch.vtensor<[4],f32>, !torch.vtensor<[4],f32>, !torch.float, !torch.float) -> (!torch.vtensor<[1,4,3,3],f32>, !torch.vtensor<[0],f32>, !torch.vtensor<[0],f32>)
  %r = torch.aten.relu %n#0 : !torch.vtensor<[1,4,3,3],f32> -> !torch.vtensor<[1,4,3,3],f32>
  %c2 = torch.aten.conv2d %r, %w2, %none, %s, %p, %s, %int1 : !torch.vtensor<[1,4,3,3],f32>, !torch.vtensor<[3,4,1,1],f32>, !torch.none, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,3,3,3],f32>
  return %c2 : !torch.vtensor<[1,3,3,3],f32>
}
