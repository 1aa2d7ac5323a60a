// RUN: spa-opt --split-input-file %s -p spa-propagate-channels | filecheck %s
// Reshapes group input and output dims into runs of equal size. Flattening [4, 7, 7] into 196 gives
// `s x 49`: each of the conv's 4 channels owns 49 consecutive features of the linear layer's input.
// Unflattening 12 features into [3, 4] refines the space of fc1's outputs into `s_a x s_b` (3 x 4, like
// heads x head-dim), and flattening back gives fc2's columns the same product: fc1's rows, the two
// dims in between and fc2's columns must agree, or pruning would scramble features.
// IR from tests/lit/Inputs/tiny_models.py: flatten (input 1,2,7,7; torch.flatten exports as a view),
// unflatten (input 1,5,4; the exported views edited by hand into unflatten.int / flatten.using_ints).

// CHECK-LABEL: builtin.module
// CHECK-DAG: spa.space @s[[C:[0-9]+]] {size = 4 : i64, origin = "c1.weight[0]"}
// CHECK: func.func @flatten
// CHECK: torch.aten.conv2d {{.*}} {spa.dims = [#spa.dims<[_, s[[C]], _, _]>]}
// CHECK: torch.aten.view %c1, %2 {spa.dims = [#spa.dims<[_, s[[C]] x 49]>]}
// CHECK: spa.param "fc.weight" {{.*}} {spa.dims = [#spa.dims<[s{{[0-9]+}}, s[[C]] x 49]>]}
func.func @flatten(%x: !torch.vtensor<[1,2,7,7],f32>) -> !torch.vtensor<[1,3],f32> {
  %c1_weight = spa.param "c1.weight" = dense<0.5> : tensor<4x2x1x1xf32> : !torch.vtensor<[4,2,1,1],f32>
  %c1_bias = spa.param "c1.bias" = dense<0.5> : tensor<4xf32> : !torch.vtensor<[4],f32>
  %int1 = torch.constant.int 1
  %0 = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int>
  %int0 = torch.constant.int 0
  %1 = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int>
  %c1 = torch.aten.conv2d %x, %c1_weight, %c1_bias, %0, %1, %0, %int1 : !torch.vtensor<[1,2,7,7],f32>, !torch.vtensor<[4,2,1,1],f32>, !torch.vtensor<[4],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,4,7,7],f32>
  %int196 = torch.constant.int 196
  %2 = torch.prim.ListConstruct %int1, %int196 : (!torch.int, !torch.int) -> !torch.list<int>
  %view = torch.aten.view %c1, %2 : !torch.vtensor<[1,4,7,7],f32>, !torch.list<int> -> !torch.vtensor<[1,196],f32>
  %fc_weight = spa.param "fc.weight" = dense<0.5> : tensor<3x196xf32> : !torch.vtensor<[3,196],f32>
  %fc_bias = spa.param "fc.bias" = dense<0.5> : tensor<3xf32> : !torch.vtensor<[3],f32>
  %fc = torch.aten.linear %view, %fc_weight, %fc_bias : !torch.vtensor<[1,196],f32>, !torch.vtensor<[3,196],f32>, !torch.vtensor<[3],f32> -> !torch.vtensor<[1,3],f32>
  return %fc : !torch.vtensor<[1,3],f32>
}

// -----

// CHECK-LABEL: builtin.module
// CHECK-DAG: spa.space @s[[A:[0-9]+]] {size = 3 : i64, origin = "torch.aten.unflatten.int"}
// CHECK-DAG: spa.space @s[[B:[0-9]+]] {size = 4 : i64, origin = "torch.aten.unflatten.int"}
// CHECK: func.func @unflatten
// CHECK: spa.param "fc1.weight" {{.*}} {spa.dims = [#spa.dims<[s[[A]] x s[[B]], s{{[0-9]+}}]>]}
// CHECK: spa.param "fc1.bias" {{.*}} {spa.dims = [#spa.dims<[s[[A]] x s[[B]]]>]}
// CHECK: torch.aten.linear {{.*}} {spa.dims = [#spa.dims<[_, s[[SEQ:[0-9]+]], s[[A]] x s[[B]]]>]}
// CHECK: torch.aten.unflatten.int {{.*}} {spa.dims = [#spa.dims<[_, s[[SEQ]], s[[A]], s[[B]]]>]}
// CHECK: torch.aten.relu {{.*}} {spa.dims = [#spa.dims<[_, s[[SEQ]], s[[A]], s[[B]]]>]}
// CHECK: torch.aten.flatten.using_ints {{.*}} {spa.dims = [#spa.dims<[_, s[[SEQ]], s[[A]] x s[[B]]]>]}
// CHECK: spa.param "fc2.weight" {{.*}} {spa.dims = [#spa.dims<[s{{[0-9]+}}, s[[A]] x s[[B]]]>]}
func.func @unflatten(%x: !torch.vtensor<[1,5,4],f32>) -> !torch.vtensor<[1,5,2],f32> {
  %fc1_weight = spa.param "fc1.weight" = dense<0.5> : tensor<12x4xf32> : !torch.vtensor<[12,4],f32>
  %fc1_bias = spa.param "fc1.bias" = dense<0.5> : tensor<12xf32> : !torch.vtensor<[12],f32>
  %fc1 = torch.aten.linear %x, %fc1_weight, %fc1_bias : !torch.vtensor<[1,5,4],f32>, !torch.vtensor<[12,4],f32>, !torch.vtensor<[12],f32> -> !torch.vtensor<[1,5,12],f32>
  %int-1 = torch.constant.int -1
  %int3 = torch.constant.int 3
  %int4 = torch.constant.int 4
  %0 = torch.prim.ListConstruct %int3, %int4 : (!torch.int, !torch.int) -> !torch.list<int>
  %unflatten = torch.aten.unflatten.int %fc1, %int-1, %0 : !torch.vtensor<[1,5,12],f32>, !torch.int, !torch.list<int> -> !torch.vtensor<[1,5,3,4],f32>
  %relu = torch.aten.relu %unflatten : !torch.vtensor<[1,5,3,4],f32> -> !torch.vtensor<[1,5,3,4],f32>
  %int2 = torch.constant.int 2
  %flatten = torch.aten.flatten.using_ints %relu, %int2, %int-1 : !torch.vtensor<[1,5,3,4],f32>, !torch.int, !torch.int -> !torch.vtensor<[1,5,12],f32>
  %fc2_weight = spa.param "fc2.weight" = dense<0.5> : tensor<2x12xf32> : !torch.vtensor<[2,12],f32>
  %fc2_bias = spa.param "fc2.bias" = dense<0.5> : tensor<2xf32> : !torch.vtensor<[2],f32>
  %fc2 = torch.aten.linear %flatten, %fc2_weight, %fc2_bias : !torch.vtensor<[1,5,12],f32>, !torch.vtensor<[2,12],f32>, !torch.vtensor<[2],f32> -> !torch.vtensor<[1,5,2],f32>
  return %fc2 : !torch.vtensor<[1,5,2],f32>
}

// -----

// Two factorings of fc1's 24 outputs, [2, 12] then [6, 4], meet in one value; their common factoring
// [2, 3, 4] refines the space into three (a mixed-radix split), so fc1's rows and fc2's columns agree.
// IR from tests/lit/Inputs/tiny_models.py: refactor (input 1,3,4).

// CHECK-LABEL: builtin.module
// CHECK-DAG: spa.space @s[[A:[0-9]+]] {size = 2 : i64, origin = "torch.aten.view"}
// CHECK-DAG: spa.space @s[[B:[0-9]+]] {size = 3 : i64, origin = "torch.aten.view"}
// CHECK-DAG: spa.space @s[[C:[0-9]+]] {size = 4 : i64, origin = "torch.aten.view"}
// CHECK: spa.param "fc1.weight" {{.*}} {spa.dims = [#spa.dims<[s[[A]] x s[[B]] x s[[C]], s{{[0-9]+}}]>]}
// CHECK: torch.aten.view {{.*}} {spa.dims = [#spa.dims<[_, s{{[0-9]+}}, s[[A]], s[[B]] x s[[C]]]>]}
// CHECK: torch.aten.view {{.*}} {spa.dims = [#spa.dims<[_, s{{[0-9]+}}, s[[A]] x s[[B]], s[[C]]]>]}
// CHECK: spa.param "fc2.weight" {{.*}} {spa.dims = [#spa.dims<[s{{[0-9]+}}, s[[A]] x s[[B]] x s[[C]]]>]}
// CHECK-NOT: frozen = ["torch.aten.view
func.func @refactor(%0: !torch.vtensor<[1,3,4],f32>) -> !torch.vtensor<[1,3,2],f32> {
  %1 = spa.param "fc1.weight" = dense<0.5> : tensor<24x4xf32> : !torch.vtensor<[24,4],f32>
  %2 = spa.param "fc1.bias" = dense<0.5> : tensor<24xf32> : !torch.vtensor<[24],f32>
  %3 = torch.aten.linear %0, %1, %2 : !torch.vtensor<[1,3,4],f32>, !torch.vtensor<[24,4],f32>, !torch.vtensor<[24],f32> -> !torch.vtensor<[1,3,24],f32>
  %int1 = torch.constant.int 1
  %int3 = torch.constant.int 3
  %int2 = torch.constant.int 2
  %int12 = torch.constant.int 12
  %4 = torch.prim.ListConstruct %int1, %int3, %int2, %int12 : (!torch.int, !torch.int, !torch.int, !torch.int) -> !torch.list<int>
  %5 = torch.aten.view %3, %4 : !torch.vtensor<[1,3,24],f32>, !torch.list<int> -> !torch.vtensor<[1,3,2,12],f32>
  %6 = torch.aten.relu %5 : !torch.vtensor<[1,3,2,12],f32> -> !torch.vtensor<[1,3,2,12],f32>
  %int1_1 = torch.constant.int 1
  %int3_1 = torch.constant.int 3
  %int6 = torch.constant.int 6
  %int4 = torch.constant.int 4
  %7 = torch.prim.ListConstruct %int1_1, %int3_1, %int6, %int4 : (!torch.int, !torch.int, !torch.int, !torch.int) -> !torch.list<int>
  %8 = torch.aten.view %6, %7 : !torch.vtensor<[1,3,2,12],f32>, !torch.list<int> -> !torch.vtensor<[1,3,6,4],f32>
  %9 = torch.aten.relu %8 : !torch.vtensor<[1,3,6,4],f32> -> !torch.vtensor<[1,3,6,4],f32>
  %int1_2 = torch.constant.int 1
  %int3_2 = torch.constant.int 3
  %int24 = torch.constant.int 24
  %10 = torch.prim.ListConstruct %int1_2, %int3_2, %int24 : (!torch.int, !torch.int, !torch.int) -> !torch.list<int>
  %11 = torch.aten.view %9, %10 : !torch.vtensor<[1,3,6,4],f32>, !torch.list<int> -> !torch.vtensor<[1,3,24],f32>
  %12 = spa.param "fc2.weight" = dense<0.5> : tensor<2x24xf32> : !torch.vtensor<[2,24],f32>
  %13 = spa.param "fc2.bias" = dense<0.5> : tensor<2xf32> : !torch.vtensor<[2],f32>
  %14 = torch.aten.linear %11, %12, %13 : !torch.vtensor<[1,3,24],f32>, !torch.vtensor<[2,24],f32>, !torch.vtensor<[2],f32> -> !torch.vtensor<[1,3,2],f32>
  func.return %14 : !torch.vtensor<[1,3,2],f32>
}
