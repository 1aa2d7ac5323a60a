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

// -----

// A reshape whose target copies dynamic dims with size.int (what an ONNX Reshape's 0 entries become):
// [?, 2, ?, 3] -> [?, 2, ?, 3] pairs its dims one to one, so the 2 heads stay one prunable group (were
// the dynamic dims not known to be the same, the run between them would freeze the heads).

// CHECK: spa-report-groups: 4 groups, 2 prunable (0 of them inexact), 2 frozen
// CHECK-NOT: merged with a dynamic dim
func.func @copied_dims(%x: !torch.vtensor<[?,?,4],f32>) -> !torch.vtensor<[?,?,4],f32> {
  %none = torch.constant.none
  %int0 = torch.constant.int 0
  %int1 = torch.constant.int 1
  %int2 = torch.constant.int 2
  %int3 = torch.constant.int 3
  %int6 = torch.constant.int 6
  %fc1_weight = spa.param "fc1.weight" = dense<0.5> : tensor<6x4xf32> : !torch.vtensor<[6,4],f32>
  %fc1 = torch.aten.linear %x, %fc1_weight, %none : !torch.vtensor<[?,?,4],f32>, !torch.vtensor<[6,4],f32>, !torch.none -> !torch.vtensor<[?,?,6],f32>
  %b = torch.aten.size.int %fc1, %int0 : !torch.vtensor<[?,?,6],f32>, !torch.int -> !torch.int
  %s = torch.aten.size.int %fc1, %int1 : !torch.vtensor<[?,?,6],f32>, !torch.int -> !torch.int
  %split = torch.prim.ListConstruct %b, %s, %int2, %int3 : (!torch.int, !torch.int, !torch.int, !torch.int) -> !torch.list<int>
  %heads = torch.aten.view %fc1, %split : !torch.vtensor<[?,?,6],f32>, !torch.list<int> -> !torch.vtensor<[?,?,2,3],f32>
  %t = torch.aten.transpose.int %heads, %int1, %int2 : !torch.vtensor<[?,?,2,3],f32>, !torch.int, !torch.int -> !torch.vtensor<[?,2,?,3],f32>
  %b2 = torch.aten.size.int %t, %int0 : !torch.vtensor<[?,2,?,3],f32>, !torch.int -> !torch.int
  %s2 = torch.aten.size.int %t, %int2 : !torch.vtensor<[?,2,?,3],f32>, !torch.int -> !torch.int
  %same = torch.prim.ListConstruct %b2, %int2, %s2, %int3 : (!torch.int, !torch.int, !torch.int, !torch.int) -> !torch.list<int>
  %v = torch.aten.view %t, %same : !torch.vtensor<[?,2,?,3],f32>, !torch.list<int> -> !torch.vtensor<[?,2,?,3],f32>
  %back = torch.aten.transpose.int %v, %int1, %int2 : !torch.vtensor<[?,2,?,3],f32>, !torch.int, !torch.int -> !torch.vtensor<[?,?,2,3],f32>
  %merge = torch.prim.ListConstruct %b, %s, %int6 : (!torch.int, !torch.int, !torch.int) -> !torch.list<int>
  %flat = torch.aten.view %back, %merge : !torch.vtensor<[?,?,2,3],f32>, !torch.list<int> -> !torch.vtensor<[?,?,6],f32>
  %fc2_weight = spa.param "fc2.weight" = dense<0.5> : tensor<4x6xf32> : !torch.vtensor<[4,6],f32>
  %fc2 = torch.aten.linear %flat, %fc2_weight, %none : !torch.vtensor<[?,?,6],f32>, !torch.vtensor<[4,6],f32>, !torch.none -> !torch.vtensor<[?,?,4],f32>
  return %fc2 : !torch.vtensor<[?,?,4],f32>
}
