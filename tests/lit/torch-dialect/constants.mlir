// RUN: spa-opt %s | filecheck %s
// Constants, lists and literals as torch-mlir prints them (copied from FX-imported models).
// Floats print the way MLIR does (6 digits when that is exact, all digits otherwise, inf/nan
// as hex bit patterns); hex elements of float dense literals are bit patterns (-inf here).

func.func @main(%arg0: !torch.vtensor<[2,5,16],f32>) -> !torch.list<int> {
  // CHECK: %int2 = torch.constant.int 2
  // CHECK-NEXT: %int-1 = torch.constant.int -1
  // CHECK-NEXT: %0 = torch.prim.ListConstruct %int2, %int-1 : (!torch.int, !torch.int) -> !torch.list<int>
  %int2 = torch.constant.int 2
  %int-1 = torch.constant.int -1
  %0 = torch.prim.ListConstruct %int2, %int-1 : (!torch.int, !torch.int) -> !torch.list<int>
  // CHECK-NEXT: %float1.000000e-05 = torch.constant.float 1.000000e-05
  // CHECK-NEXT: %float9.999990e-06 = torch.constant.float 9.9999997473787516e-06
  // CHECK-NEXT: %float-Inf = torch.constant.float 0xfff0000000000000
  // CHECK-NEXT: %floatNaN = torch.constant.float 0x7ff8000000000000
  %float1.000000e-05 = torch.constant.float 1.000000e-05
  %float9.999990e-06 = torch.constant.float 9.9999997473787516E-6
  %float-Inf = torch.constant.float 0xFFF0000000000000
  %floatNaN = torch.constant.float 0x7FF8000000000000
  // CHECK-NEXT: %true = torch.constant.bool true
  // CHECK-NEXT: %none = torch.constant.none
  // CHECK-NEXT: %str = torch.constant.str "a\0Ab\22c"
  // CHECK-NEXT: %cpu = torch.constant.device "cpu"
  %true = torch.constant.bool true
  %none = torch.constant.none
  %str = torch.constant.str "a\0Ab\22c"
  %cpu = torch.constant.device "cpu"
  // CHECK-NEXT: %1 = torch.prim.ListConstruct : () -> !torch.list<vtensor>
  %1 = torch.prim.ListConstruct  : () -> !torch.list<vtensor>
  // CHECK-NEXT: torch.vtensor.literal(dense<0xff800000> : tensor<f32>) : !torch.vtensor<[],f32>
  // CHECK-NEXT: torch.vtensor.literal(dense<[1.000000e+00, 2.500000e-01]> : tensor<2xf32>) : !torch.vtensor<[2],f32>
  // CHECK-NEXT: torch.vtensor.literal(dense<[1, -1]> : tensor<2xsi64>) : !torch.vtensor<[2],si64>
  %2 = torch.vtensor.literal(dense<0xFF800000> : tensor<f32>) : !torch.vtensor<[],f32>
  %3 = torch.vtensor.literal(dense<[1.0, 2.5e-1]> : tensor<2xf32>) : !torch.vtensor<[2],f32>
  %4 = torch.vtensor.literal(dense<"0x0100000000000000FFFFFFFFFFFFFFFF"> : tensor<2xsi64>) : !torch.vtensor<[2],si64>
  // CHECK-NEXT: %5 = torch.prim.TupleConstruct %int2, %arg0 : !torch.int, !torch.vtensor<[2,5,16],f32> -> !torch.tuple<int, vtensor<[2,5,16],f32>>
  // CHECK-NEXT: %6 = torch.prim.TupleIndex %5, %int2 : !torch.tuple<int, vtensor<[2,5,16],f32>>, !torch.int -> !torch.vtensor<[2,5,16],f32>
  %5 = torch.prim.TupleConstruct %int2, %arg0 : !torch.int, !torch.vtensor<[2,5,16],f32> -> !torch.tuple<int, vtensor<[2,5,16],f32>>
  %6 = torch.prim.TupleIndex %5, %int2 : !torch.tuple<int, vtensor<[2,5,16],f32>>, !torch.int -> !torch.vtensor<[2,5,16],f32>
  return %0 : !torch.list<int>
}
