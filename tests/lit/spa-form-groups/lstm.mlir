// RUN: spa-opt %s -p spa-propagate-channels,spa-form-groups | filecheck %s
// LSTM index maps: hidden unit k is row k of each of the 4 gate blocks (count 4, period 6) of every
// weight and bias, and column k of weight_hh and of the next layer; the gate blocks themselves are a
// frozen group (stride 6, block 6). Input as in spa-propagate-channels/lstm.mlir.

// CHECK: spa.group @g{{[0-9]+}} {size = 6 : i64, space = "s{{[0-9]+}}", members = [#spa.member<"lstm.weight_ih_l0"[0], count 4, period 6>, #spa.member<"lstm.weight_hh_l0"[0], count 4, period 6>, #spa.member<"lstm.weight_hh_l0"[1]>, #spa.member<"lstm.bias_ih_l0"[0], count 4, period 6>, #spa.member<"lstm.bias_hh_l0"[0], count 4, period 6>, #spa.member<"out.weight"[1]>], exact = true}
// CHECK-NEXT: spa.group @g{{[0-9]+}} {size = 4 : i64, space = "s{{[0-9]+}}", members = [#spa.member<"lstm.weight_ih_l0"[0], stride 6, block 6>, #spa.member<"lstm.weight_hh_l0"[0], stride 6, block 6>, #spa.member<"lstm.bias_ih_l0"[0], stride 6, block 6>, #spa.member<"lstm.bias_hh_l0"[0], stride 6, block 6>], exact = true, frozen = [#spa.reason<"gate blocks of a recurrent layer", "torch.aten.lstm.input">]}
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
