// RUN: spa-opt %s -p spa-propagate-channels | filecheck %s
// embedding(weight[V, D], ids): the output's last dim is the embedding's D columns, a prunable space
// shared with the next layer's input columns; the V rows are looked up by token id, so they are frozen.
// IR from tests/lit/Inputs/tiny_models.py: embedding (input 1,5 of int64).

// CHECK-DAG: spa.space @s[[V:[0-9]+]] {size = 10 : i64, origin = "emb.weight[0]", frozen = [#spa.reason<"embedding rows are looked up by index", "torch.aten.embedding">]}
// CHECK-DAG: spa.space @s[[D:[0-9]+]] {size = 6 : i64, origin = "emb.weight[1]"}{{$}}
// CHECK: spa.param "emb.weight" {{.*}} {spa.dims = [#spa.dims<[s[[V]], s[[D]]]>]}
// CHECK: torch.aten.embedding %emb_weight, %x, {{.*}} {spa.dims = [#spa.dims<[_, s{{[0-9]+}}, s[[D]]]>]}
// CHECK: spa.param "fc.weight" {{.*}} {spa.dims = [#spa.dims<[s{{[0-9]+}}, s[[D]]]>]}
func.func @embedding(%x: !torch.vtensor<[1,5],si64>) -> !torch.vtensor<[1,5,3],f32> {
  %emb_weight = spa.param "emb.weight" = dense<0.5> : tensor<10x6xf32> : !torch.vtensor<[10,6],f32>
  %int-1 = torch.constant.int -1
  %false = torch.constant.bool false
  %emb = torch.aten.embedding %emb_weight, %x, %int-1, %false, %false : !torch.vtensor<[10,6],f32>, !torch.vtensor<[1,5],si64>, !torch.int, !torch.bool, !torch.bool -> !torch.vtensor<[1,5,6],f32>
  %fc_weight = spa.param "fc.weight" = dense<0.5> : tensor<3x6xf32> : !torch.vtensor<[3,6],f32>
  %fc_bias = spa.param "fc.bias" = dense<0.5> : tensor<3xf32> : !torch.vtensor<[3],f32>
  %fc = torch.aten.linear %emb, %fc_weight, %fc_bias : !torch.vtensor<[1,5,6],f32>, !torch.vtensor<[3,6],f32>, !torch.vtensor<[3],f32> -> !torch.vtensor<[1,5,3],f32>
  return %fc : !torch.vtensor<[1,5,3],f32>
}
