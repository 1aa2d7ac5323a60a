// RUN: spa-opt --split-input-file %s -p spa-propagate-channels | filecheck %s
// Linear layers and matrix products. linear(x, W[out, in]): x's last dim is coupled to W's columns,
// the result's last dim is W's rows (and the bias). matmul/bmm/addmm couple the contracted dims
// (a's last, b's second to last): fc1's 6 outputs are the rows of `w`, or the 6 features that fc1
// and fc2 share in a bmm (q @ k^T style: fc1 and fc2 must lose the same channels). The contraction
// stays exact because both sides are zero on removed channels. addmm's bias couples to the result.
// IR from tests/lit/Inputs/tiny_models.py: linear, matmul, bmm, addmm (input 1,3,4).

// CHECK-LABEL: builtin.module
// CHECK-DAG: spa.space @s[[SEQ:[0-9]+]] {size = 3 : i64, origin = "input 0[1]", frozen = [#spa.reason<"model input">, #spa.reason<"model output">]}
// CHECK-DAG: spa.space @s[[IN:[0-9]+]] {size = 4 : i64, origin = "input 0[2]", frozen = [#spa.reason<"model input">]}
// CHECK-DAG: spa.space @s[[H:[0-9]+]] {size = 6 : i64, origin = "fc1.weight[0]"}
// CHECK-DAG: spa.space @s[[OUT:[0-9]+]] {size = 3 : i64, origin = "fc2.weight[0]", frozen = [#spa.reason<"model output">]}
// CHECK: func.func @linear
// CHECK: spa.param "fc1.weight" {{.*}} {spa.dims = [#spa.dims<[s[[H]], s[[IN]]]>]}
// CHECK: spa.param "fc1.bias" {{.*}} {spa.dims = [#spa.dims<[s[[H]]]>]}
// CHECK: torch.aten.linear %x, {{.*}} {spa.dims = [#spa.dims<[_, s[[SEQ]], s[[H]]]>]}
// CHECK: torch.aten.relu {{.*}} {spa.dims = [#spa.dims<[_, s[[SEQ]], s[[H]]]>]}
// CHECK: spa.param "fc2.weight" {{.*}} {spa.dims = [#spa.dims<[s[[OUT]], s[[H]]]>]}
// CHECK: torch.aten.linear %relu, {{.*}} {spa.dims = [#spa.dims<[_, s[[SEQ]], s[[OUT]]]>]}
func.func @linear(%x: !torch.vtensor<[1,3,4],f32>) -> !torch.vtensor<[1,3,3],f32> {
  %fc1_weight = spa.param "fc1.weight" = dense<0.5> : tensor<6x4xf32> : !torch.vtensor<[6,4],f32>
  %fc1_bias = spa.param "fc1.bias" = dense<0.5> : tensor<6xf32> : !torch.vtensor<[6],f32>
  %fc1 = torch.aten.linear %x, %fc1_weight, %fc1_bias : !torch.vtensor<[1,3,4],f32>, !torch.vtensor<[6,4],f32>, !torch.vtensor<[6],f32> -> !torch.vtensor<[1,3,6],f32>
  %relu = torch.aten.relu %fc1 : !torch.vtensor<[1,3,6],f32> -> !torch.vtensor<[1,3,6],f32>
  %fc2_weight = spa.param "fc2.weight" = dense<0.5> : tensor<3x6xf32> : !torch.vtensor<[3,6],f32>
  %fc2_bias = spa.param "fc2.bias" = dense<0.5> : tensor<3xf32> : !torch.vtensor<[3],f32>
  %fc2 = torch.aten.linear %relu, %fc2_weight, %fc2_bias : !torch.vtensor<[1,3,6],f32>, !torch.vtensor<[3,6],f32>, !torch.vtensor<[3],f32> -> !torch.vtensor<[1,3,3],f32>
  return %fc2 : !torch.vtensor<[1,3,3],f32>
}

// -----

// CHECK-LABEL: builtin.module
// CHECK-DAG: spa.space @s[[MH:[0-9]+]] {size = 6 : i64, origin = "fc1.weight[0]"}
// CHECK-DAG: spa.space @s[[MN:[0-9]+]] {size = 5 : i64, origin = "w[1]", frozen = [#spa.reason<"model output">]}
// CHECK: func.func @matmul
// CHECK: torch.aten.linear {{.*}} {spa.dims = [#spa.dims<[_, s{{[0-9]+}}, s[[MH]]]>]}
// CHECK: spa.param "w" {{.*}} {spa.dims = [#spa.dims<[s[[MH]], s[[MN]]]>]}
// CHECK: torch.aten.matmul {{.*}} {spa.dims = [#spa.dims<[_, s{{[0-9]+}}, s[[MN]]]>]}
func.func @matmul(%x: !torch.vtensor<[1,3,4],f32>) -> !torch.vtensor<[1,3,5],f32> {
  %fc1_weight = spa.param "fc1.weight" = dense<0.5> : tensor<6x4xf32> : !torch.vtensor<[6,4],f32>
  %fc1_bias = spa.param "fc1.bias" = dense<0.5> : tensor<6xf32> : !torch.vtensor<[6],f32>
  %fc1 = torch.aten.linear %x, %fc1_weight, %fc1_bias : !torch.vtensor<[1,3,4],f32>, !torch.vtensor<[6,4],f32>, !torch.vtensor<[6],f32> -> !torch.vtensor<[1,3,6],f32>
  %w = spa.param "w" = dense<0.5> : tensor<6x5xf32> : !torch.vtensor<[6,5],f32>
  %matmul = torch.aten.matmul %fc1, %w : !torch.vtensor<[1,3,6],f32>, !torch.vtensor<[6,5],f32> -> !torch.vtensor<[1,3,5],f32>
  return %matmul : !torch.vtensor<[1,3,5],f32>
}

// -----

// CHECK-LABEL: builtin.module
// CHECK-DAG: spa.space @s[[BSEQ:[0-9]+]] {size = 3 : i64, origin = "input 0[1]", frozen = [#spa.reason<"model input">, #spa.reason<"model output">]}
// CHECK-DAG: spa.space @s[[BH:[0-9]+]] {size = 6 : i64, origin = "fc1.weight[0]"}{{$}}
// CHECK: func.func @bmm
// CHECK: spa.param "fc1.weight" {{.*}} {spa.dims = [#spa.dims<[s[[BH]], s{{[0-9]+}}]>]}
// CHECK: spa.param "fc2.weight" {{.*}} {spa.dims = [#spa.dims<[s[[BH]], s{{[0-9]+}}]>]}
// CHECK: torch.aten.transpose.int {{.*}} {spa.dims = [#spa.dims<[_, s[[BH]], s[[BSEQ]]]>]}
// CHECK: torch.aten.bmm {{.*}} {spa.dims = [#spa.dims<[_, s[[BSEQ]], s[[BSEQ]]]>]}
func.func @bmm(%x: !torch.vtensor<[1,3,4],f32>) -> !torch.vtensor<[1,3,3],f32> {
  %fc1_weight = spa.param "fc1.weight" = dense<0.5> : tensor<6x4xf32> : !torch.vtensor<[6,4],f32>
  %fc1_bias = spa.param "fc1.bias" = dense<0.5> : tensor<6xf32> : !torch.vtensor<[6],f32>
  %fc1 = torch.aten.linear %x, %fc1_weight, %fc1_bias : !torch.vtensor<[1,3,4],f32>, !torch.vtensor<[6,4],f32>, !torch.vtensor<[6],f32> -> !torch.vtensor<[1,3,6],f32>
  %fc2_weight = spa.param "fc2.weight" = dense<0.5> : tensor<6x4xf32> : !torch.vtensor<[6,4],f32>
  %fc2_bias = spa.param "fc2.bias" = dense<0.5> : tensor<6xf32> : !torch.vtensor<[6],f32>
  %fc2 = torch.aten.linear %x, %fc2_weight, %fc2_bias : !torch.vtensor<[1,3,4],f32>, !torch.vtensor<[6,4],f32>, !torch.vtensor<[6],f32> -> !torch.vtensor<[1,3,6],f32>
  %int1 = torch.constant.int 1
  %int2 = torch.constant.int 2
  %transpose = torch.aten.transpose.int %fc2, %int1, %int2 : !torch.vtensor<[1,3,6],f32>, !torch.int, !torch.int -> !torch.vtensor<[1,6,3],f32>
  %bmm = torch.aten.bmm %fc1, %transpose : !torch.vtensor<[1,3,6],f32>, !torch.vtensor<[1,6,3],f32> -> !torch.vtensor<[1,3,3],f32>
  return %bmm : !torch.vtensor<[1,3,3],f32>
}

// -----

// CHECK-LABEL: builtin.module
// CHECK-DAG: spa.space @s[[AH:[0-9]+]] {size = 6 : i64, origin = "fc1.weight[0]"}
// CHECK-DAG: spa.space @s[[AN:[0-9]+]] {size = 5 : i64, origin = "b[0]", frozen = [#spa.reason<"model output">]}
// CHECK: func.func @addmm
// CHECK: torch.aten.select.int {{.*}} {spa.dims = [#spa.dims<[s{{[0-9]+}}, s[[AH]]]>]}
// CHECK: spa.param "b" {{.*}} {spa.dims = [#spa.dims<[s[[AN]]]>]}
// CHECK: spa.param "w" {{.*}} {spa.dims = [#spa.dims<[s[[AH]], s[[AN]]]>]}
// CHECK: torch.aten.addmm {{.*}} {spa.dims = [#spa.dims<[s{{[0-9]+}}, s[[AN]]]>]}
func.func @addmm(%x: !torch.vtensor<[1,3,4],f32>) -> !torch.vtensor<[3,5],f32> {
  %fc1_weight = spa.param "fc1.weight" = dense<0.5> : tensor<6x4xf32> : !torch.vtensor<[6,4],f32>
  %fc1_bias = spa.param "fc1.bias" = dense<0.5> : tensor<6xf32> : !torch.vtensor<[6],f32>
  %fc1 = torch.aten.linear %x, %fc1_weight, %fc1_bias : !torch.vtensor<[1,3,4],f32>, !torch.vtensor<[6,4],f32>, !torch.vtensor<[6],f32> -> !torch.vtensor<[1,3,6],f32>
  %int0 = torch.constant.int 0
  %select = torch.aten.select.int %fc1, %int0, %int0 : !torch.vtensor<[1,3,6],f32>, !torch.int, !torch.int -> !torch.vtensor<[3,6],f32>
  %b = spa.param "b" = dense<0.5> : tensor<5xf32> : !torch.vtensor<[5],f32>
  %w = spa.param "w" = dense<0.5> : tensor<6x5xf32> : !torch.vtensor<[6,5],f32>
  %int1 = torch.constant.int 1
  %addmm = torch.aten.addmm %b, %select, %w, %int1, %int1 : !torch.vtensor<[5],f32>, !torch.vtensor<[3,6],f32>, !torch.vtensor<[6,5],f32>, !torch.int, !torch.int -> !torch.vtensor<[3,5],f32>
  return %addmm : !torch.vtensor<[3,5],f32>
}

// -----

// baddbmm(bias, a, b) (BLOOM's alibi added to q @ k^T): the contracted dims couple as in bmm (fc1's 6 outputs
// are the rows of `w`), the bias's non-broadcast dims couple to the result's (`b`'s 5 columns).
// CHECK-LABEL: builtin.module
// CHECK-DAG: spa.space @s[[BH:[0-9]+]] {size = 6 : i64, origin = "fc1.weight[0]"}
// CHECK-DAG: spa.space @s[[BN:[0-9]+]] {size = 5 : i64, origin = "b[2]", frozen = [#spa.reason<"model output">]}
// CHECK: func.func @baddbmm
// CHECK: spa.param "w" {{.*}} {spa.dims = [#spa.dims<[_, s[[BH]], s[[BN]]]>]}
// CHECK: torch.aten.baddbmm {{.*}} {spa.dims = [#spa.dims<[_, s{{[0-9]+}}, s[[BN]]]>]}
func.func @baddbmm(%x: !torch.vtensor<[1,3,4],f32>) -> !torch.vtensor<[1,3,5],f32> {
  %fc1_weight = spa.param "fc1.weight" = dense<0.5> : tensor<6x4xf32> : !torch.vtensor<[6,4],f32>
  %fc1_bias = spa.param "fc1.bias" = dense<0.5> : tensor<6xf32> : !torch.vtensor<[6],f32>
  %fc1 = torch.aten.linear %x, %fc1_weight, %fc1_bias : !torch.vtensor<[1,3,4],f32>, !torch.vtensor<[6,4],f32>, !torch.vtensor<[6],f32> -> !torch.vtensor<[1,3,6],f32>
  %b = spa.param "b" = dense<0.5> : tensor<1x1x5xf32> : !torch.vtensor<[1,1,5],f32>
  %w = spa.param "w" = dense<0.5> : tensor<1x6x5xf32> : !torch.vtensor<[1,6,5],f32>
  %int1 = torch.constant.int 1
  %out = torch.aten.baddbmm %b, %fc1, %w, %int1, %int1 : !torch.vtensor<[1,1,5],f32>, !torch.vtensor<[1,3,6],f32>, !torch.vtensor<[1,6,5],f32>, !torch.int, !torch.int -> !torch.vtensor<[1,3,5],f32>
  return %out : !torch.vtensor<[1,3,5],f32>
}
