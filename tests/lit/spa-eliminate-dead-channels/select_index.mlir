// RUN: spa-opt %s -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance,spa-select-channels{ratio=0.5},spa-eliminate-dead-channels' --plan=%t.json -o %t.mlir
// RUN: filecheck %s < %t.mlir
// RUN: %python -m json.tool --compact %t.json | filecheck %s --check-prefix=PLAN
// A select at a fixed index of a channel dim: the channels before it (rows 0-2 of w, columns of w2) are a group;
// removing row 1 (the smallest) moves the picked index 3 to 2. The picked row and the one after it hold no
// channel (index 4 alone would be a group of one) and stay.
// CHECK: spa.param "w" {{.*}} : !torch.vtensor<[4,2],f32>
// CHECK: spa.param "w2" {{.*}} : !torch.vtensor<[6,4],f32>
// CHECK: %[[I:.*]] = torch.constant.int 2
// CHECK-NEXT: torch.aten.select.int %h, %int1, %[[I]] : !torch.vtensor<[3,4],f32>, !torch.int, !torch.int -> !torch.vtensor<[3],f32>
// PLAN: "w":{"0":[1]}
// PLAN-SAME: "w2":{"1":[1]}
func.func @select_index(%x: !torch.vtensor<[3,2],f32>) -> (!torch.vtensor<[3],f32>, !torch.vtensor<[3,6],f32>) {
  %w = spa.param "w" = dense<[[1.0, 1.0], [0.1, 0.1], [2.0, 2.0], [3.0, 3.0], [4.0, 4.0]]> : tensor<5x2xf32> : !torch.vtensor<[5,2],f32>
  %w2 = spa.param "w2" = dense<0.5> : tensor<6x5xf32> : !torch.vtensor<[6,5],f32>
  %none = torch.constant.none
  %int1 = torch.constant.int 1
  %int3 = torch.constant.int 3
  %h = torch.aten.linear %x, %w, %none : !torch.vtensor<[3,2],f32>, !torch.vtensor<[5,2],f32>, !torch.none -> !torch.vtensor<[3,5],f32>
  %picked = torch.aten.select.int %h, %int1, %int3 : !torch.vtensor<[3,5],f32>, !torch.int, !torch.int -> !torch.vtensor<[3],f32>
  %y = torch.aten.linear %h, %w2, %none : !torch.vtensor<[3,5],f32>, !torch.vtensor<[6,5],f32>, !torch.none -> !torch.vtensor<[3,6],f32>
  return %picked, %y : !torch.vtensor<[3],f32>, !torch.vtensor<[3,6],f32>
}
