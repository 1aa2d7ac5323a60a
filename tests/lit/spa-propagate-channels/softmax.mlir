// RUN: spa-opt %s -p spa-propagate-channels | filecheck %s
// softmax over a dim mixes all its indices: over fc1's 6 output channels (dim -1) the space is marked
// inexact (removing a channel renormalizes the others, zeroing it would not). Over the sequence dim
// (dim 1) fc4's channels are untouched and stay exact. Both results keep their input's layout.
// IR from tests/lit/Inputs/tiny_models.py: softmax (input 1,3,4).

// CHECK-DAG: spa.space @s[[H:[0-9]+]] {size = 6 : i64, origin = "fc1.weight[0]", inexact = [#spa.reason<"softmax over channels", "torch.aten.softmax.int">]}
// CHECK-DAG: spa.space @s[[G:[0-9]+]] {size = 5 : i64, origin = "fc4.weight[0]"}{{$}}
// CHECK: %softmax = torch.aten.softmax.int %fc1, %int-1, %none {spa.dims = [#spa.dims<[_, s[[SEQ:[0-9]+]], s[[H]]]>]}
// CHECK: spa.param "fc2.weight" {{.*}} {spa.dims = [#spa.dims<[s{{[0-9]+}}, s[[H]]]>]}
// CHECK: %softmax_1 = torch.aten.softmax.int %fc4, %int1, %none {spa.dims = [#spa.dims<[_, s[[SEQ]], s[[G]]]>]}
// CHECK: spa.param "fc3.weight" {{.*}} {spa.dims = [#spa.dims<[s{{[0-9]+}}, s[[G]]]>]}
func.func @softmax(%x: !torch.vtensor<[1,3,4],f32>) -> !torch.vtensor<[1,3,3],f32> {
  %fc1_weight = spa.param "fc1.weight" = dense<0.5> : tensor<6x4xf32> : !torch.vtensor<[6,4],f32>
  %fc1_bias = spa.param "fc1.bias" = dense<0.5> : tensor<6xf32> : !torch.vtensor<[6],f32>
  %fc1 = torch.aten.linear %x, %fc1_weight, %fc1_bias : !torch.vtensor<[1,3,4],f32>, !torch.vtensor<[6,4],f32>, !torch.vtensor<[6],f32> -> !torch.vtensor<[1,3,6],f32>
  %int-1 = torch.constant.int -1
  %none = torch.constant.none
  %softmax = torch.aten.softmax.int %fc1, %int-1, %none : !torch.vtensor<[1,3,6],f32>, !torch.int, !torch.none -> !torch.vtensor<[1,3,6],f32>
  %fc2_weight = spa.param "fc2.weight" = dense<0.5> : tensor<3x6xf32> : !torch.vtensor<[3,6],f32>
  %fc2_bias = spa.param "fc2.bias" = dense<0.5> : tensor<3xf32> : !torch.vtensor<[3],f32>
  %fc2 = torch.aten.linear %softmax, %fc2_weight, %fc2_bias : !torch.vtensor<[1,3,6],f32>, !torch.vtensor<[3,6],f32>, !torch.vtensor<[3],f32> -> !torch.vtensor<[1,3,3],f32>
  %fc4_weight = spa.param "fc4.weight" = dense<0.5> : tensor<5x4xf32> : !torch.vtensor<[5,4],f32>
  %fc4_bias = spa.param "fc4.bias" = dense<0.5> : tensor<5xf32> : !torch.vtensor<[5],f32>
  %fc4 = torch.aten.linear %x, %fc4_weight, %fc4_bias : !torch.vtensor<[1,3,4],f32>, !torch.vtensor<[5,4],f32>, !torch.vtensor<[5],f32> -> !torch.vtensor<[1,3,5],f32>
  %int1 = torch.constant.int 1
  %softmax_1 = torch.aten.softmax.int %fc4, %int1, %none : !torch.vtensor<[1,3,5],f32>, !torch.int, !torch.none -> !torch.vtensor<[1,3,5],f32>
  %fc3_weight = spa.param "fc3.weight" = dense<0.5> : tensor<3x5xf32> : !torch.vtensor<[3,5],f32>
  %fc3_bias = spa.param "fc3.bias" = dense<0.5> : tensor<3xf32> : !torch.vtensor<[3],f32>
  %fc3 = torch.aten.linear %softmax_1, %fc3_weight, %fc3_bias : !torch.vtensor<[1,3,5],f32>, !torch.vtensor<[3,5],f32>, !torch.vtensor<[3],f32> -> !torch.vtensor<[1,3,3],f32>
  %add = torch.aten.add.Tensor %fc2, %fc3, %int1 : !torch.vtensor<[1,3,3],f32>, !torch.vtensor<[1,3,3],f32>, !torch.int -> !torch.vtensor<[1,3,3],f32>
  return %add : !torch.vtensor<[1,3,3],f32>
}
