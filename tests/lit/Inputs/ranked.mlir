// Two convs in a row with literal weights whose channel magnitudes differ (lit input for importance,
// selection and elimination): conv1's 4 output channels have L1 norms 2, 6, 1, 4.
func.func @main(%x: !torch.vtensor<[1,2,3,3],f32>) -> !torch.vtensor<[1,3,3,3],f32> {
  %w1 = spa.param "conv1.weight" = dense<[[[[1.0]], [[1.0]]], [[[3.0]], [[3.0]]], [[[0.5]], [[0.5]]], [[[2.0]], [[-2.0]]]]> : tensor<4x2x1x1xf32> : !torch.vtensor<[4,2,1,1],f32>
  %b1 = spa.param "conv1.bias" = dense<[0.0, 0.0, 0.0, 0.0]> : tensor<4xf32> : !torch.vtensor<[4],f32>
  %w2 = spa.param "conv2.weight" = dense<0.5> : tensor<3x4x1x1xf32> : !torch.vtensor<[3,4,1,1],f32>
  %none = torch.constant.none
  %int1 = torch.constant.int 1
  %int0 = torch.constant.int 0
  %s = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int>
  %p = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int>
  %c1 = torch.aten.conv2d %x, %w1, %b1, %s, %p, %s, %int1 : !torch.vtensor<[1,2,3,3],f32>, !torch.vtensor<[4,2,1,1],f32>, !torch.vtensor<[4],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,4,3,3],f32>
  %r = torch.aten.relu %c1 : !torch.vtensor<[1,4,3,3],f32> -> !torch.vtensor<[1,4,3,3],f32>
  %c2 = torch.aten.conv2d %r, %w2, %none, %s, %p, %s, %int1 : !torch.vtensor<[1,4,3,3],f32>, !torch.vtensor<[3,4,1,1],f32>, !torch.none, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,3,3,3],f32>
  return %c2 : !torch.vtensor<[1,3,3,3],f32>
}
