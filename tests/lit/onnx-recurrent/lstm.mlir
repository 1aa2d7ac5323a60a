// RUN: spa-opt %s -p spa-propagate-channels | filecheck %s --check-prefix=DIMS
// RUN: spa-opt %s -p spa-propagate-channels,spa-form-groups | filecheck %s --check-prefix=GROUPS
// An ONNX LSTM as the ONNX frontend imports it (spa_ir/frontends/onnx/recurrent.py): the ONNX weights W [1, 4*3, 4],
// R [1, 4*3, 3], B [1, 2*4*3] (gates i,o,f,c) stay the params; Reshape drops the direction, Slice + Concat regroup
// the gates into PyTorch's i,f,g,o for `aten.lstm.input`, whose output is reshaped / transposed back to ONNX's
// Y [seq, dirs, batch, H]. The analysis sees through the regrouping: hidden unit k is row k of each of the 4 gate
// blocks of W and R (count 4, period 3), of the 8 blocks of B, column k of R and row k of the next MatMul's weight.
// Only the f,c blocks stay next to each other in both orders: they are the frozen 2-gate factor. The absent initial
// state is a zero literal (canonicalization folds the frontend's zeros): zero on every unit, it takes no channel.
// IR from `spa-translate --import-onnx` of an onnx.helper graph: x [3,1,4] -> MatMul inp_w [4,4] -> LSTM
// (hidden_size 3, no initial state) -> Squeeze(1) -> MatMul out_w [3,2]; weights written as literals, values renamed.

// DIMS-DAG: spa.space @s[[H:[0-9]+]] {size = 3 : i64, origin = "R[2]"}{{$}}
// DIMS-DAG: spa.space @s[[IN:[0-9]+]] {size = 4 : i64, origin = "inp_w[1]"}{{$}}
// DIMS-DAG: spa.space @s[[G:[0-9]+]] {size = 2 : i64, origin = "torch.aten.lstm.input gates/torch.aten.lstm.input", frozen = [#spa.reason<"gate blocks of a recurrent layer", "torch.aten.lstm.input">]}
// DIMS: spa.param "W" {{.*}} {spa.dims = [#spa.dims<[_, cat(s[[H]], s[[H]], s[[G]] x s[[H]]), s[[IN]]]>]}
// DIMS: spa.param "R" {{.*}} {spa.dims = [#spa.dims<[_, cat(s[[H]], s[[H]], s[[G]] x s[[H]]), s[[H]]]>]}
// DIMS: spa.param "B" {{.*}} {spa.dims = [#spa.dims<[_, cat(s[[H]], s[[H]], s[[G]] x s[[H]], s[[H]], s[[H]], s[[G]] x s[[H]])]>]}
// DIMS: spa.param "out_w" {{.*}} {spa.dims = [#spa.dims<[s[[H]], s{{[0-9]+}}]>]}
// DIMS: %zeros = torch.vtensor.literal({{.*}}) {spa.dims = [#spa.dims<[_, _, _]>]}
// DIMS: torch.aten.cat {{.*}} {spa.dims = [#spa.dims<[cat(s[[H]], s[[G]] x s[[H]], s[[H]]), s[[IN]]]>]}
// DIMS: %y, %hn, %cn = torch.operator "torch.aten.lstm.input"{{.*}} {spa.dims = [#spa.dims<[s[[SEQ:[0-9]+]], _, s[[H]]]>, #spa.dims<[_, _, s[[H]]]>, #spa.dims<[_, _, s[[H]]]>]}
// DIMS: torch.aten.transpose.int {{.*}} {spa.dims = [#spa.dims<[s[[SEQ]], _, _, s[[H]]]>]}

// GROUPS: spa.group @g{{[0-9]+}} {size = 4 : i64, space = "s{{[0-9]+}}", members = [#spa.member<"inp_w"[1]>, #spa.member<"W"[2]>], exact = true}
// GROUPS-NEXT: spa.group @g{{[0-9]+}} {size = 3 : i64, space = "s{{[0-9]+}}", members = [#spa.member<"W"[1], count 4, period 3>, #spa.member<"R"[1], count 4, period 3>, #spa.member<"R"[2]>, #spa.member<"B"[1], count 8, period 3>, #spa.member<"out_w"[0]>], exact = true}
// GROUPS: spa.group @g{{[0-9]+}} {size = 2 : i64, space = "s{{[0-9]+}}", members = [#spa.member<"W"[1], offset 6, stride 3, block 3>, #spa.member<"R"[1], offset 6, stride 3, block 3>, #spa.member<"B"[1], offset 6, stride 3, block 3, count 2, period 12>], exact = true, frozen = [#spa.reason<"gate blocks of a recurrent layer", "torch.aten.lstm.input">]}
func.func @main(%x: !torch.vtensor<[3,1,4],f32>) -> !torch.vtensor<[3,1,2],f32> {
  %inp_w = spa.param "inp_w" = dense<0.5> : tensor<4x4xf32> : !torch.vtensor<[4,4],f32>
  %W = spa.param "W" = dense<0.5> : tensor<1x12x4xf32> : !torch.vtensor<[1,12,4],f32>
  %R = spa.param "R" = dense<0.5> : tensor<1x12x3xf32> : !torch.vtensor<[1,12,3],f32>
  %B = spa.param "B" = dense<0.5> : tensor<1x24xf32> : !torch.vtensor<[1,24],f32>
  %out_w = spa.param "out_w" = dense<0.5> : tensor<3x2xf32> : !torch.vtensor<[3,2],f32>
  %zeros = torch.vtensor.literal(dense<0.000000e+00> : tensor<1x1x3xf32>) : !torch.vtensor<[1,1,3],f32>
  %int6 = torch.constant.int 6
  %int2 = torch.constant.int 2
  %false = torch.constant.bool false
  %float0.000000e00 = torch.constant.float 0.000000e+00
  %true = torch.constant.bool true
  %int24 = torch.constant.int 24
  %int3 = torch.constant.int 3
  %int0 = torch.constant.int 0
  %int1 = torch.constant.int 1
  %int4 = torch.constant.int 4
  %int12 = torch.constant.int 12
  %inp = torch.aten.matmul %x, %inp_w : !torch.vtensor<[3,1,4],f32>, !torch.vtensor<[4,4],f32> -> !torch.vtensor<[3,1,4],f32>
  %8 = torch.prim.ListConstruct %int12, %int4 : (!torch.int, !torch.int) -> !torch.list<int>
  %9 = torch.aten.reshape %W, %8 : !torch.vtensor<[1,12,4],f32>, !torch.list<int> -> !torch.vtensor<[12,4],f32>
  %10 = torch.aten.slice.Tensor %9, %int0, %int0, %int3, %int1 : !torch.vtensor<[12,4],f32>, !torch.int, !torch.int, !torch.int, !torch.int -> !torch.vtensor<[3,4],f32>
  %11 = torch.aten.slice.Tensor %9, %int0, %int6, %int12, %int1 : !torch.vtensor<[12,4],f32>, !torch.int, !torch.int, !torch.int, !torch.int -> !torch.vtensor<[6,4],f32>
  %12 = torch.aten.slice.Tensor %9, %int0, %int3, %int6, %int1 : !torch.vtensor<[12,4],f32>, !torch.int, !torch.int, !torch.int, !torch.int -> !torch.vtensor<[3,4],f32>
  %13 = torch.prim.ListConstruct %10, %11, %12 : (!torch.vtensor<[3,4],f32>, !torch.vtensor<[6,4],f32>, !torch.vtensor<[3,4],f32>) -> !torch.list<vtensor>
  %14 = torch.aten.cat %13, %int0 : !torch.list<vtensor>, !torch.int -> !torch.vtensor<[12,4],f32>
  %15 = torch.prim.ListConstruct %int12, %int3 : (!torch.int, !torch.int) -> !torch.list<int>
  %16 = torch.aten.reshape %R, %15 : !torch.vtensor<[1,12,3],f32>, !torch.list<int> -> !torch.vtensor<[12,3],f32>
  %17 = torch.aten.slice.Tensor %16, %int0, %int0, %int3, %int1 : !torch.vtensor<[12,3],f32>, !torch.int, !torch.int, !torch.int, !torch.int -> !torch.vtensor<[3,3],f32>
  %18 = torch.aten.slice.Tensor %16, %int0, %int6, %int12, %int1 : !torch.vtensor<[12,3],f32>, !torch.int, !torch.int, !torch.int, !torch.int -> !torch.vtensor<[6,3],f32>
  %19 = torch.aten.slice.Tensor %16, %int0, %int3, %int6, %int1 : !torch.vtensor<[12,3],f32>, !torch.int, !torch.int, !torch.int, !torch.int -> !torch.vtensor<[3,3],f32>
  %20 = torch.prim.ListConstruct %17, %18, %19 : (!torch.vtensor<[3,3],f32>, !torch.vtensor<[6,3],f32>, !torch.vtensor<[3,3],f32>) -> !torch.list<vtensor>
  %21 = torch.aten.cat %20, %int0 : !torch.list<vtensor>, !torch.int -> !torch.vtensor<[12,3],f32>
  %22 = torch.prim.ListConstruct %int24 : (!torch.int) -> !torch.list<int>
  %23 = torch.aten.reshape %B, %22 : !torch.vtensor<[1,24],f32>, !torch.list<int> -> !torch.vtensor<[24],f32>
  %24 = torch.aten.slice.Tensor %23, %int0, %int0, %int12, %int1 : !torch.vtensor<[24],f32>, !torch.int, !torch.int, !torch.int, !torch.int -> !torch.vtensor<[12],f32>
  %25 = torch.aten.slice.Tensor %24, %int0, %int0, %int3, %int1 : !torch.vtensor<[12],f32>, !torch.int, !torch.int, !torch.int, !torch.int -> !torch.vtensor<[3],f32>
  %26 = torch.aten.slice.Tensor %24, %int0, %int6, %int12, %int1 : !torch.vtensor<[12],f32>, !torch.int, !torch.int, !torch.int, !torch.int -> !torch.vtensor<[6],f32>
  %27 = torch.aten.slice.Tensor %24, %int0, %int3, %int6, %int1 : !torch.vtensor<[12],f32>, !torch.int, !torch.int, !torch.int, !torch.int -> !torch.vtensor<[3],f32>
  %28 = torch.prim.ListConstruct %25, %26, %27 : (!torch.vtensor<[3],f32>, !torch.vtensor<[6],f32>, !torch.vtensor<[3],f32>) -> !torch.list<vtensor>
  %29 = torch.aten.cat %28, %int0 : !torch.list<vtensor>, !torch.int -> !torch.vtensor<[12],f32>
  %30 = torch.aten.slice.Tensor %23, %int0, %int12, %int24, %int1 : !torch.vtensor<[24],f32>, !torch.int, !torch.int, !torch.int, !torch.int -> !torch.vtensor<[12],f32>
  %31 = torch.aten.slice.Tensor %30, %int0, %int0, %int3, %int1 : !torch.vtensor<[12],f32>, !torch.int, !torch.int, !torch.int, !torch.int -> !torch.vtensor<[3],f32>
  %32 = torch.aten.slice.Tensor %30, %int0, %int6, %int12, %int1 : !torch.vtensor<[12],f32>, !torch.int, !torch.int, !torch.int, !torch.int -> !torch.vtensor<[6],f32>
  %33 = torch.aten.slice.Tensor %30, %int0, %int3, %int6, %int1 : !torch.vtensor<[12],f32>, !torch.int, !torch.int, !torch.int, !torch.int -> !torch.vtensor<[3],f32>
  %34 = torch.prim.ListConstruct %31, %32, %33 : (!torch.vtensor<[3],f32>, !torch.vtensor<[6],f32>, !torch.vtensor<[3],f32>) -> !torch.list<vtensor>
  %35 = torch.aten.cat %34, %int0 : !torch.list<vtensor>, !torch.int -> !torch.vtensor<[12],f32>
  %states = torch.prim.ListConstruct %zeros, %zeros : (!torch.vtensor<[1,1,3],f32>, !torch.vtensor<[1,1,3],f32>) -> !torch.list<vtensor>
  %params = torch.prim.ListConstruct %14, %21, %29, %35 : (!torch.vtensor<[12,4],f32>, !torch.vtensor<[12,3],f32>, !torch.vtensor<[12],f32>, !torch.vtensor<[12],f32>) -> !torch.list<vtensor>
  %y, %hn, %cn = torch.operator "torch.aten.lstm.input"(%inp, %states, %params, %true, %int1, %float0.000000e00, %false, %false, %false) : (!torch.vtensor<[3,1,4],f32>, !torch.list<vtensor>, !torch.list<vtensor>, !torch.bool, !torch.int, !torch.float, !torch.bool, !torch.bool, !torch.bool) -> (!torch.vtensor<[3,1,3],f32>, !torch.vtensor<[1,1,3],f32>, !torch.vtensor<[1,1,3],f32>)
  %41 = torch.prim.ListConstruct %int3, %int1, %int1, %int3 : (!torch.int, !torch.int, !torch.int, !torch.int) -> !torch.list<int>
  %42 = torch.aten.reshape %y, %41 : !torch.vtensor<[3,1,3],f32>, !torch.list<int> -> !torch.vtensor<[3,1,1,3],f32>
  %43 = torch.aten.transpose.int %42, %int1, %int2 : !torch.vtensor<[3,1,1,3],f32>, !torch.int, !torch.int -> !torch.vtensor<[3,1,1,3],f32>
  %44 = torch.prim.ListConstruct %int2 : (!torch.int) -> !torch.list<int>
  %45 = torch.prims.squeeze %43, %44 : !torch.vtensor<[3,1,1,3],f32>, !torch.list<int> -> !torch.vtensor<[3,1,3],f32>
  %out = torch.aten.matmul %45, %out_w : !torch.vtensor<[3,1,3],f32>, !torch.vtensor<[3,2],f32> -> !torch.vtensor<[3,1,2],f32>
  return %out : !torch.vtensor<[3,1,2],f32>
}
