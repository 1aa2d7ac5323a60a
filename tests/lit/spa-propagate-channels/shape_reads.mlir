// RUN: spa-opt --split-input-file %s -p 'spa-propagate-channels,spa-form-groups,spa-report-groups{verbose=true}' -o /dev/null 2>&1 | filecheck %s
// Run-time reads of sizes, as ONNX graphs with a dynamic batch leave them. A shape tensor whose uses
// pick only the dynamic batch leaves the channels alone; a read of a channel dim's size freezes it
// (the number could be used as data, which pruning would change); so does a reshape whose target
// size for a channel dim is computed at run time (the pruner could not rewrite it).

// CHECK: spa-report-groups: 3 groups, 1 prunable (0 of them inexact), 2 frozen
// CHECK-NOT: size
func.func @batch_read(%x: !torch.vtensor<[?,4],f32>) -> (!torch.vtensor<[?,3],f32>, !torch.vtensor<[1],si64>) {
  %none = torch.constant.none
  %fc1_weight = spa.param "fc1.weight" = dense<0.5> : tensor<6x4xf32> : !torch.vtensor<[6,4],f32>
  %fc1 = torch.aten.linear %x, %fc1_weight, %none : !torch.vtensor<[?,4],f32>, !torch.vtensor<[6,4],f32>, !torch.none -> !torch.vtensor<[?,6],f32>
  %shape = torch.aten._shape_as_tensor %fc1 : !torch.vtensor<[?,6],f32> -> !torch.vtensor<[2],si64>
  %int0 = torch.constant.int 0
  %first = torch.vtensor.literal(dense<0> : tensor<1xsi64>) : !torch.vtensor<[1],si64>
  %batch = torch.aten.index_select %shape, %int0, %first : !torch.vtensor<[2],si64>, !torch.int, !torch.vtensor<[1],si64> -> !torch.vtensor<[1],si64>
  %fc2_weight = spa.param "fc2.weight" = dense<0.5> : tensor<3x6xf32> : !torch.vtensor<[3,6],f32>
  %fc2 = torch.aten.linear %fc1, %fc2_weight, %none : !torch.vtensor<[?,6],f32>, !torch.vtensor<[3,6],f32>, !torch.none -> !torch.vtensor<[?,3],f32>
  return %fc2, %batch : !torch.vtensor<[?,3],f32>, !torch.vtensor<[1],si64>
}

// -----

// CHECK: spa-report-groups: 3 groups, 0 prunable (0 of them inexact), 3 frozen
// CHECK: (6 channels): its size is read at run time: torch.aten._shape_as_tensor
func.func @channel_read(%x: !torch.vtensor<[?,4],f32>) -> (!torch.vtensor<[?,3],f32>, !torch.vtensor<[1],si64>) {
  %none = torch.constant.none
  %fc1_weight = spa.param "fc1.weight" = dense<0.5> : tensor<6x4xf32> : !torch.vtensor<[6,4],f32>
  %fc1 = torch.aten.linear %x, %fc1_weight, %none : !torch.vtensor<[?,4],f32>, !torch.vtensor<[6,4],f32>, !torch.none -> !torch.vtensor<[?,6],f32>
  %shape = torch.aten._shape_as_tensor %fc1 : !torch.vtensor<[?,6],f32> -> !torch.vtensor<[2],si64>
  %int0 = torch.constant.int 0
  %second = torch.vtensor.literal(dense<1> : tensor<1xsi64>) : !torch.vtensor<[1],si64>
  %width = torch.aten.index_select %shape, %int0, %second : !torch.vtensor<[2],si64>, !torch.int, !torch.vtensor<[1],si64> -> !torch.vtensor<[1],si64>
  %fc2_weight = spa.param "fc2.weight" = dense<0.5> : tensor<3x6xf32> : !torch.vtensor<[3,6],f32>
  %fc2 = torch.aten.linear %fc1, %fc2_weight, %none : !torch.vtensor<[?,6],f32>, !torch.vtensor<[3,6],f32>, !torch.none -> !torch.vtensor<[?,3],f32>
  return %fc2, %width : !torch.vtensor<[?,3],f32>, !torch.vtensor<[1],si64>
}

// -----

// CHECK: spa-report-groups: 3 groups, 0 prunable (0 of them inexact), 3 frozen
// CHECK: (6 channels): size computed at run time: torch.aten.view
func.func @run_time_target(%x: !torch.vtensor<[?,4],f32>) -> !torch.vtensor<[?,3],f32> {
  %none = torch.constant.none
  %fc1_weight = spa.param "fc1.weight" = dense<0.5> : tensor<6x4xf32> : !torch.vtensor<[6,4],f32>
  %fc1 = torch.aten.linear %x, %fc1_weight, %none : !torch.vtensor<[?,4],f32>, !torch.vtensor<[6,4],f32>, !torch.none -> !torch.vtensor<[?,6],f32>
  %int0 = torch.constant.int 0
  %int1 = torch.constant.int 1
  %n = torch.aten.size.int %fc1, %int0 : !torch.vtensor<[?,6],f32>, !torch.int -> !torch.int
  %c = torch.aten.size.int %fc1, %int1 : !torch.vtensor<[?,6],f32>, !torch.int -> !torch.int
  %sizes = torch.prim.ListConstruct %n, %c : (!torch.int, !torch.int) -> !torch.list<int>
  %view = torch.aten.view %fc1, %sizes : !torch.vtensor<[?,6],f32>, !torch.list<int> -> !torch.vtensor<[?,6],f32>
  %fc2_weight = spa.param "fc2.weight" = dense<0.5> : tensor<3x6xf32> : !torch.vtensor<[3,6],f32>
  %fc2 = torch.aten.linear %view, %fc2_weight, %none : !torch.vtensor<[?,6],f32>, !torch.vtensor<[3,6],f32>, !torch.none -> !torch.vtensor<[?,3],f32>
  return %fc2 : !torch.vtensor<[?,3],f32>
}
