// RUN: spa-opt %s -p spa-propagate-channels | filecheck %s
// RUN: spa-opt %s -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance,spa-select-channels{ratio=0.5},spa-eliminate-dead-channels' | filecheck %s --check-prefix=PRUNED
// torchvision's roi_align (a two-stage detector's ROI pooling, spa_ir/ops/detection.py): the feature map's channel
// space passes through to the pooled rows' dim 1 and reaches the box head's input columns; the ROI count (the rois'
// rows) and the pooled size hold no channel (the rule freezes nothing here). Pruned at 0.5, the conv's 4 channels
// become 2 in the conv, the pooled rows and the box head's input columns alike.

// CHECK-DAG: spa.space @s[[C:[0-9]+]] {size = 4 : i64, origin = "c1.weight[0]"}{{$}}
// CHECK: %c1 = torch.aten.conv2d {{.*}} {spa.dims = [#spa.dims<[_, s[[C]], _, _]>]}
// CHECK: %pooled = torch.operator "torch.torchvision.roi_align"{{.*}} {spa.dims = [#spa.dims<[_, s[[C]], _, _]>]}
// CHECK: spa.param "c2.weight" {{.*}} {spa.dims = [#spa.dims<[s{{[0-9]+}}, s[[C]], s{{[0-9]+}}, s{{[0-9]+}}]>]}
// PRUNED: %c1 = torch.aten.conv2d {{.*}} -> !torch.vtensor<[1,2,8,8],f32>
// PRUNED: %pooled = torch.operator "torch.torchvision.roi_align"{{.*}} -> !torch.vtensor<[3,2,2,2],f32>
// PRUNED: %c2 = torch.aten.conv2d %pooled, {{.*}} !torch.vtensor<[6,2,2,2],f32>
func.func @roi_heads(%x: !torch.vtensor<[1,2,8,8],f32>, %rois: !torch.vtensor<[3,5],f32>) -> !torch.vtensor<[3,6,1,1],f32> {
  %c1_weight = spa.param "c1.weight" = dense<0.5> : tensor<4x2x1x1xf32> : !torch.vtensor<[4,2,1,1],f32>
  %c1_bias = spa.param "c1.bias" = dense<0.5> : tensor<4xf32> : !torch.vtensor<[4],f32>
  %int1 = torch.constant.int 1
  %0 = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int>
  %int0 = torch.constant.int 0
  %1 = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int>
  %c1 = torch.aten.conv2d %x, %c1_weight, %c1_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,2,8,8],f32>, !torch.vtensor<[4,2,1,1],f32>, !torch.vtensor<[4],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,4,8,8],f32>
  %scale = torch.constant.float 2.500000e-01
  %int2 = torch.constant.int 2
  %false = torch.constant.bool false
  %pooled = torch.operator "torch.torchvision.roi_align"(%c1, %rois, %scale, %int2, %int2, %int2, %false) : (!torch.vtensor<[1,4,8,8],f32>, !torch.vtensor<[3,5],f32>, !torch.float, !torch.int, !torch.int, !torch.int, !torch.bool) -> !torch.vtensor<[3,4,2,2],f32>
  %c2_weight = spa.param "c2.weight" = dense<0.5> : tensor<6x4x2x2xf32> : !torch.vtensor<[6,4,2,2],f32>
  %c2_bias = spa.param "c2.bias" = dense<0.5> : tensor<6xf32> : !torch.vtensor<[6],f32>
  %c2 = torch.aten.conv2d %pooled, %c2_weight, %c2_bias, %0, %1, %0, %int1 : !torch.vtensor<[3,4,2,2],f32>, !torch.vtensor<[6,4,2,2],f32>, !torch.vtensor<[6],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[3,6,1,1],f32>
  return %c2 : !torch.vtensor<[3,6,1,1],f32>
}
