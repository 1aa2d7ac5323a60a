// A conv -> batch_norm -> relu -> flatten -> linear chain with literal weights (shared lit input).
func.func @main(%x: !torch.vtensor<[1,2,2,2],f32>) -> !torch.vtensor<[1,3],f32> {
  %w = spa.param "conv.weight" = dense<1.0> : tensor<4x2x1x1xf32> : !torch.vtensor<[4,2,1,1],f32>
  %b = spa.param "conv.bias" = dense<0.5> : tensor<4xf32> : !torch.vtensor<[4],f32>
  %g = spa.param "bn.weight" = dense<1.0> : tensor<4xf32> : !torch.vtensor<[4],f32>
  %be = spa.param "bn.bias" = dense<0.0> : tensor<4xf32> : !torch.vtensor<[4],f32>
  %m = spa.param "bn.running_mean" buffer = dense<0.0> : tensor<4xf32> : !torch.vtensor<[4],f32>
  %v = spa.param "bn.running_var" buffer = dense<1.0> : tensor<4xf32> : !torch.vtensor<[4],f32>
  %fw = spa.param "fc.weight" = dense<0.1> : tensor<3x16xf32> : !torch.vtensor<[3,16],f32>
  %fb = spa.param "fc.bias" = dense<0.0> : tensor<3xf32> : !torch.vtensor<[3],f32>
  %int1 = torch.constant.int 1
  %int0 = torch.constant.int 0
  %int-1 = torch.constant.int -1
  %false = torch.constant.bool false
  %float0.1 = torch.constant.float 1.000000e-01
  %float1e-05 = torch.constant.float 1.000000e-05
  %s = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int>
  %p = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int>
  %c = torch.aten.conv2d %x, %w, %b, %s, %p, %s, %int1 : !torch.vtensor<[1,2,2,2],f32>, !torch.vtensor<[4,2,1,1],f32>, !torch.vtensor<[4],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.int -> !torch.vtensor<[1,4,2,2],f32>
  %n:3 = torch.operator "torch.aten._native_batch_norm_legit_no_training"(%c, %g, %be, %m, %v, %float0.1, %float1e-05) : (!torch.vtensor<[1,4,2,2],f32>, !torch.vtensor<[4],f32>, !torch.vtensor<[4],f32>, !torch.vtensor<[4],f32>, !torch.vtensor<[4],f32>, !torch.float, !torch.float) -> (!torch.vtensor<[1,4,2,2],f32>, !torch.vtensor<[0],f32>, !torch.vtensor<[0],f32>)
  %r = torch.aten.relu %n#0 : !torch.vtensor<[1,4,2,2],f32> -> !torch.vtensor<[1,4,2,2],f32>
  %shape = torch.prim.ListConstruct %int1, %int-1 : (!torch.int, !torch.int) -> !torch.list<int>
  %f = torch.aten.view %r, %shape : !torch.vtensor<[1,4,2,2],f32>, !torch.list<int> -> !torch.vtensor<[1,16],f32>
  %y = torch.aten.linear %f, %fw, %fb : !torch.vtensor<[1,16],f32>, !torch.vtensor<[3,16],f32>, !torch.vtensor<[3],f32> -> !torch.vtensor<[1,3],f32>
  return %y : !torch.vtensor<[1,3],f32>
}

