// Three 1x1 convs in a row (literal weights): two prunable groups of 4 channels, ga (conv1's outputs) and
// gb (conv2's outputs), whose scores over their means are ga 0.7 0.9 1.1 1.3 and gb 0.52 1.46 0.55 1.46, so
// global order differs from local (lit input for selection scopes and targets). At 1x1 spatial size, with
// ka and kb channels kept, FLOPs = 2 (2 ka + ka kb + 2 kb) (64 unpruned) and params = FLOPs / 2.
func.func @main(%x: !torch.vtensor<[1,2,1,1],f32>) -> !torch.vtensor<[1,2,1,1],f32> {
  %w1 = spa.param "conv1.weight" = dense<[[[[1.0]], [[1.0]]], [[[2.0]], [[2.0]]], [[[3.0]], [[3.0]]], [[[4.0]], [[4.0]]]]> : tensor<4x2x1x1xf32> : !torch.vtensor<[4,2,1,1],f32>
  %w2 = spa.param "conv2.weight" = dense<[[[[0.1]], [[0.1]], [[0.1]], [[0.1]]], [[[4.0]], [[4.0]], [[4.0]], [[4.0]]], [[[0.2]], [[0.2]], [[0.2]], [[0.2]]], [[[4.0]], [[4.0]], [[4.0]], [[4.0]]]]> : tensor<4x4x1x1xf32> : !torch.vtensor<[4,4,1,1],f32>
  %w3 = spa.param "conv3.weight" = dense<1.0> : tensor<2x4x1x1xf32> : !torch.vtensor<[2,4,1,1],f32>
  %none = torch.constant.none
  %int1 = torch.constant.int 1
  %int0 = torch.constant.int 0
  %s = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int>
  %p = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int>
  %c1 = torch.aten.conv2d %x, %w1, %none, %s, %p, %s, %int1 : !torch.vtensor<[1,2,1,1],f32>, !torch.vtensor<[4,2,1,1],f32>, !torch.none, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,4,1,1],f32>
  %c2 = torch.aten.conv2d %c1, %w2, %none, %s, %p, %s, %int1 : !torch.vtensor<[1,4,1,1],f32>, !torch.vtensor<[4,4,1,1],f32>, !torch.none, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,4,1,1],f32>
  %c3 = torch.aten.conv2d %c2, %w3, %none, %s, %p, %s, %int1 : !torch.vtensor<[1,4,1,1],f32>, !torch.vtensor<[2,4,1,1],f32>, !torch.none, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,2,1,1],f32>
  return %c3 : !torch.vtensor<[1,2,1,1],f32>
}
