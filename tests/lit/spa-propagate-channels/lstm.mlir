// RUN: spa-opt %s -p spa-propagate-channels | filecheck %s
// LSTM (aten.lstm.input). The 24 rows of each weight and bias are `gates x hidden` (4 x 6, gate-major)
// with the gate count frozen; the hidden units are one space shared by those rows, weight_hh's
// columns, the zero initial states h0/c0, the outputs and the next layer's columns. weight_ih's
// columns are the previous layer's output space (inp's 4 outputs).
// IR from tests/lit/Inputs/tiny_models.py: lstm (input 1,3,4); lstm results renamed by hand.

// CHECK-DAG: spa.space @s[[IN:[0-9]+]] {size = 4 : i64, origin = "inp.weight[0]"}{{$}}
// CHECK-DAG: spa.space @s[[H:[0-9]+]] {size = 6 : i64, origin = "torch.aten.zeros"}{{$}}
// CHECK-DAG: spa.space @s[[G:[0-9]+]] {size = 4 : i64, origin = "torch.aten.lstm.input gates", frozen = [#spa.reason<"gate blocks of a recurrent layer", "torch.aten.lstm.input">]}
// CHECK: torch.aten.relu %inp {spa.dims = [#spa.dims<[_, s[[SEQ:[0-9]+]], s[[IN]]]>]}
// CHECK: %h0 = torch.aten.zeros {{.*}} {spa.dims = [#spa.dims<[_, _, s[[H]]]>]}
// CHECK: %c0 = torch.aten.zeros {{.*}} {spa.dims = [#spa.dims<[_, _, s[[H]]]>]}
// CHECK: spa.param "lstm.weight_ih_l0" {{.*}} {spa.dims = [#spa.dims<[s[[G]] x s[[H]], s[[IN]]]>]}
// CHECK: spa.param "lstm.weight_hh_l0" {{.*}} {spa.dims = [#spa.dims<[s[[G]] x s[[H]], s[[H]]]>]}
// CHECK: spa.param "lstm.bias_ih_l0" {{.*}} {spa.dims = [#spa.dims<[s[[G]] x s[[H]]]>]}
// CHECK: spa.param "lstm.bias_hh_l0" {{.*}} {spa.dims = [#spa.dims<[s[[G]] x s[[H]]]>]}
// CHECK: %y, %hn, %cn = torch.operator "torch.aten.lstm.input"{{.*}} {spa.dims = [#spa.dims<[_, s[[SEQ]], s[[H]]]>, #spa.dims<[_, _, s[[H]]]>, #spa.dims<[_, _, s[[H]]]>]}
// CHECK: spa.param "out.weight" {{.*}} {spa.dims = [#spa.dims<[s{{[0-9]+}}, s[[H]]]>]}
func.func @lstm(%x: !torch.vtensor<[1,3,4],f32>) -> !torch.vtensor<[1,3,3],f32> {
  %inp_weight = spa.param "inp.weight" = dense<0.5> : tensor<4x4xf32> : !torch.vtensor<[4,4],f32>
  %inp_bias = spa.param "inp.bias" = dense<0.5> : tensor<4xf32> : !torch.vtensor<[4],f32>
  %inp = torch.aten.linear %x, %inp_weight, %inp_bias : !torch.vtensor<[1,3,4],f32>, !torch.vtensor<[4,4],f32>, !torch.vtensor<[4],f32> -> !torch.vtensor<[1,3,4],f32>
  %relu = torch.aten.relu %inp : !torch.vtensor<[1,3,4],f32> -> !torch.vtensor<[1,3,4],f32>
  %int1 = torch.constant.int 1
  %int6 = torch.constant.int 6
  %0 = torch.prim.ListConstruct %int1, %int1, %int6 : (!torch.int, !torch.int, !torch.int) -> !torch.list<int>
  %none = torch.constant.none
  %1 = torch.constant.device "cpu"
  %false = torch.constant.bool false
  %h0 = torch.aten.zeros %0, %int6, %none, %1, %false : !torch.list<int>, !torch.int, !torch.none, !torch.Device, !torch.bool -> !torch.vtensor<[1,1,6],f32>
  %c0 = torch.aten.zeros %0, %int6, %none, %1, %false : !torch.list<int>, !torch.int, !torch.none, !torch.Device, !torch.bool -> !torch.vtensor<[1,1,6],f32>
  %2 = torch.prim.ListConstruct %h0, %c0 : (!torch.vtensor<[1,1,6],f32>, !torch.vtensor<[1,1,6],f32>) -> !torch.list<vtensor>
  %lstm_weight_ih_l0 = spa.param "lstm.weight_ih_l0" = dense<0.5> : tensor<24x4xf32> : !torch.vtensor<[24,4],f32>
  %lstm_weight_hh_l0 = spa.param "lstm.weight_hh_l0" = dense<0.5> : tensor<24x6xf32> : !torch.vtensor<[24,6],f32>
  %lstm_bias_ih_l0 = spa.param "lstm.bias_ih_l0" = dense<0.5> : tensor<24xf32> : !torch.vtensor<[24],f32>
  %lstm_bias_hh_l0 = spa.param "lstm.bias_hh_l0" = dense<0.5> : tensor<24xf32> : !torch.vtensor<[24],f32>
  %3 = torch.prim.ListConstruct %lstm_weight_ih_l0, %lstm_weight_hh_l0, %lstm_bias_ih_l0, %lstm_bias_hh_l0 : (!torch.vtensor<[24,4],f32>, !torch.vtensor<[24,6],f32>, !torch.vtensor<[24],f32>, !torch.vtensor<[24],f32>) -> !torch.list<vtensor>
  %true = torch.constant.bool true
  %float0.000000e00 = torch.constant.float 0.000000e+00
  %y, %hn, %cn = torch.operator "torch.aten.lstm.input"(%relu, %2, %3, %true, %int1, %float0.000000e00, %false, %false, %true) : (!torch.vtensor<[1,3,4],f32>, !torch.list<vtensor>, !torch.list<vtensor>, !torch.bool, !torch.int, !torch.float, !torch.bool, !torch.bool, !torch.bool) -> (!torch.vtensor<[1,3,6],f32>, !torch.vtensor<[1,1,6],f32>, !torch.vtensor<[1,1,6],f32>)
  %out_weight = spa.param "out.weight" = dense<0.5> : tensor<3x6xf32> : !torch.vtensor<[3,6],f32>
  %out_bias = spa.param "out.bias" = dense<0.5> : tensor<3xf32> : !torch.vtensor<[3],f32>
  %out = torch.aten.linear %y, %out_weight, %out_bias : !torch.vtensor<[1,3,6],f32>, !torch.vtensor<[3,6],f32>, !torch.vtensor<[3],f32> -> !torch.vtensor<[1,3,3],f32>
  return %out : !torch.vtensor<[1,3,3],f32>
}
