// RUN: spa-opt %s -p spa-propagate-channels,spa-form-groups | filecheck %s
// RUN: spa-opt %s --prune-groups='ratio=0.5 criterion=random' | filecheck %s --check-prefix=PRUNED
// Flatten with a dynamic batch, Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), [-1])):
// tests/unit/test_onnx_patterns.py's flatten_shape_chain (batch "unk__123"), imported by
// `spa-translate --import-onnx`, weights inlined as splats. The import pins the target to (x's dim 0, -1): the
// batch stays dynamic and nothing is read at run time but that dim, so the conv channels reach the dense layer
// as the outer factor of the flattened dim (`c x 16`: channel k is rows 16k .. 16k+15 of d1), and after pruning
// the flattened dim follows from the -1.

// CHECK: spa.group @g{{[0-9]+}} {size = 3 : i64, {{.*}}frozen = [#spa.reason<"model input">]}
// CHECK-NEXT: spa.group @g{{[0-9]+}} {size = 8 : i64, space = "[[C:s[0-9]+]]", members = [#spa.member<"c1.weight"[0]>, #spa.member<"c1.bias"[0]>, #spa.member<"d1.kernel"[0], stride 16, block 16>], exact = true}
// CHECK-NEXT: spa.group @g{{[0-9]+}} {size = 16 : i64, space = "s{{[0-9]+}}", members = [#spa.member<"d1.kernel"[1]>, #spa.member<"d1.bias"[0]>, #spa.member<"d2.kernel"[0]>], exact = true}
// CHECK: %[[N:.*]] = torch.aten.size.int %{{.*}}, %int0 : !torch.vtensor<[?,8,4,4],f32>, !torch.int -> !torch.int loc("Reshape_11")
// CHECK: torch.prim.ListConstruct %[[N]], %int : {{.*}} loc("Reshape_11")
// CHECK-NEXT: torch.aten.reshape {{.*}}#spa.dims<[_, [[C]] x 16]>{{.*}}-> !torch.vtensor<[?,128],f32> loc("Reshape_11")

// PRUNED: torch.aten.reshape {{.*}} : !torch.vtensor<[?,4,4,4],f32>, !torch.list<int> -> !torch.vtensor<[?,64],f32> loc("Reshape_11")
// PRUNED-NEXT: torch.aten.matmul {{.*}} : !torch.vtensor<[?,64],f32>, !torch.vtensor<[64,8],f32> -> !torch.vtensor<[?,8],f32> loc("MatMul_12")

builtin.module attributes {spa.onnx_source = {path = "flatten_shape_chain.onnx", sha256 = "85828522f66ea8d58bffad21897dbe50020f29be0bb6ceb397449608ad74991c"}} {
  func.func @main(%0: !torch.vtensor<[?,3,8,8],f32> loc(unknown)) -> !torch.vtensor<[?,4],f32> attributes {spa.input_names = ["x"], torch.onnx_meta.ir_version = 8 : si64, torch.onnx_meta.opset_version = 17 : si64, torch.onnx_meta.producer_name = "", torch.onnx_meta.producer_version = ""} {
    %1 = spa.param "c1.weight" = dense<5.000000e-01> : tensor<8x3x3x3xf32> : !torch.vtensor<[8,3,3,3],f32> loc("c1.weight")
    %2 = spa.param "c1.bias" = dense<5.000000e-01> : tensor<8xf32> : !torch.vtensor<[8],f32> loc("c1.bias")
    %3 = spa.param "d1.kernel" = dense<5.000000e-01> : tensor<128x16xf32> : !torch.vtensor<[128,16],f32> loc("d1.kernel")
    %4 = spa.param "d1.bias" = dense<5.000000e-01> : tensor<16xf32> : !torch.vtensor<[16],f32> loc("d1.bias")
    %5 = spa.param "d2.kernel" = dense<5.000000e-01> : tensor<16x4xf32> : !torch.vtensor<[16,4],f32> loc("d2.kernel")
    %6 = spa.param "d2.bias" = dense<5.000000e-01> : tensor<4xf32> : !torch.vtensor<[4],f32> loc("d2.bias")
    %int = torch.constant.int -1 loc("Reshape_11")
    %int2 = torch.constant.int 2 loc(unknown)
    %false = torch.constant.bool false loc(unknown)
    %int1 = torch.constant.int 1 loc(unknown)
    %int0 = torch.constant.int 0 loc(unknown)
    %7 = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int> loc("Conv_1")
    %8 = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int> loc("Conv_1")
    %9 = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int> loc("Conv_1")
    %10 = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int> loc("Conv_1")
    %11 = torch.aten.convolution %0, %1, %2, %9, %7, %8, %false, %10, %int1 : !torch.vtensor<[?,3,8,8],f32>, !torch.vtensor<[8,3,3,3],f32>, !torch.vtensor<[8],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.bool, !torch.list<int>, !torch.int -> !torch.vtensor<[?,8,8,8],f32> loc("Conv_1")
    %12 = torch.aten.relu %11 : !torch.vtensor<[?,8,8,8],f32> -> !torch.vtensor<[?,8,8,8],f32> loc("Relu_2")
    %13 = torch.prim.ListConstruct %int2, %int2 : (!torch.int, !torch.int) -> !torch.list<int> loc("MaxPool_3")
    %14 = torch.prim.ListConstruct %int0, %int0 : (!torch.int, !torch.int) -> !torch.list<int> loc("MaxPool_3")
    %15 = torch.prim.ListConstruct %int2, %int2 : (!torch.int, !torch.int) -> !torch.list<int> loc("MaxPool_3")
    %16 = torch.prim.ListConstruct %int1, %int1 : (!torch.int, !torch.int) -> !torch.list<int> loc("MaxPool_3")
    %17 = torch.aten.max_pool2d %12, %13, %15, %14, %16, %false : !torch.vtensor<[?,8,8,8],f32>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.list<int>, !torch.bool -> !torch.vtensor<[?,8,4,4],f32> loc("MaxPool_3")
    %18 = torch.aten.size.int %17, %int0 : !torch.vtensor<[?,8,4,4],f32>, !torch.int -> !torch.int loc("Reshape_11")
    %19 = torch.prim.NumToTensor.Scalar %18 : !torch.int -> !torch.vtensor<[],si64> loc("Reshape_11")
    %20 = torch.prim.ListConstruct %18, %int : (!torch.int, !torch.int) -> !torch.list<int> loc("Reshape_11")
    %21 = torch.aten.reshape %17, %20 : !torch.vtensor<[?,8,4,4],f32>, !torch.list<int> -> !torch.vtensor<[?,128],f32> loc("Reshape_11")
    %22 = torch.aten.matmul %21, %3 : !torch.vtensor<[?,128],f32>, !torch.vtensor<[128,16],f32> -> !torch.vtensor<[?,16],f32> loc("MatMul_12")
    %23 = torch.aten.add.Tensor %22, %4, %int1 : !torch.vtensor<[?,16],f32>, !torch.vtensor<[16],f32>, !torch.int -> !torch.vtensor<[?,16],f32> loc("Add_13")
    %24 = torch.aten.relu %23 : !torch.vtensor<[?,16],f32> -> !torch.vtensor<[?,16],f32> loc("Relu_14")
    %25 = torch.aten.matmul %24, %5 : !torch.vtensor<[?,16],f32>, !torch.vtensor<[16,4],f32> -> !torch.vtensor<[?,4],f32> loc("MatMul_15")
    %26 = torch.aten.add.Tensor %25, %6, %int1 : !torch.vtensor<[?,4],f32>, !torch.vtensor<[4],f32>, !torch.int -> !torch.vtensor<[?,4],f32> loc("Add_16")
    func.return %26 : !torch.vtensor<[?,4],f32> loc(unknown)
  } loc("graph:pattern")
} loc(unknown)
