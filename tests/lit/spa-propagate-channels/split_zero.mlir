// RUN: spa-opt --split-input-file %s -p spa-propagate-channels | filecheck %s
// The items of a split are slices of its input, so they are zero on removed channels where the input is: a
// product over the split halves (PSA attention's q @ k^T after `split`, q / k after `chunk` + `__getitem__`)
// stays exact. The two halves of qk's output are the same channels (`cat(s, s)`, coupled by the contraction)
// and the space has no `inexact` mark ({{$}} after its origin).

// CHECK-LABEL: builtin.module
// CHECK: spa.space @s[[H:[0-9]+]] {size = 6 : i64, origin = "torch.aten.split_with_sizes"}{{$}}
// CHECK: spa.param "qk.weight" {{.*}} {spa.dims = [#spa.dims<[cat(s[[H]], s[[H]]), s{{[0-9]+}}]>]}
// CHECK: torch.prim.ListUnpack %split_with_sizes {spa.dims = [#spa.dims<[_, s{{[0-9]+}}, s[[H]]]>, #spa.dims<[_, s{{[0-9]+}}, s[[H]]]>]}
func.func @split_qk(%x: !torch.vtensor<[1,3,4],f32>) -> !torch.vtensor<[1,3,3],f32> {
  %qk_weight = spa.param "qk.weight" = dense<0.5> : tensor<12x4xf32> : !torch.vtensor<[12,4],f32>
  %qk_bias = spa.param "qk.bias" = dense<0.5> : tensor<12xf32> : !torch.vtensor<[12],f32>
  %qk = torch.aten.linear %x, %qk_weight, %qk_bias : !torch.vtensor<[1,3,4],f32>, !torch.vtensor<[12,4],f32>, !torch.vtensor<[12],f32> -> !torch.vtensor<[1,3,12],f32>
  %int6 = torch.constant.int 6
  %sizes = torch.prim.ListConstruct %int6, %int6 : (!torch.int, !torch.int) -> !torch.list<int>
  %int2 = torch.constant.int 2
  %split_with_sizes = torch.aten.split_with_sizes %qk, %sizes, %int2 : !torch.vtensor<[1,3,12],f32>, !torch.list<int>, !torch.int -> !torch.list<vtensor>
  %q, %k = torch.prim.ListUnpack %split_with_sizes : !torch.list<vtensor> -> !torch.vtensor<[1,3,6],f32>, !torch.vtensor<[1,3,6],f32>
  %int1 = torch.constant.int 1
  %kt = torch.aten.transpose.int %k, %int1, %int2 : !torch.vtensor<[1,3,6],f32>, !torch.int, !torch.int -> !torch.vtensor<[1,6,3],f32>
  %scores = torch.aten.matmul %q, %kt : !torch.vtensor<[1,3,6],f32>, !torch.vtensor<[1,6,3],f32> -> !torch.vtensor<[1,3,3],f32>
  return %scores : !torch.vtensor<[1,3,3],f32>
}

// -----

// CHECK-LABEL: builtin.module
// CHECK: spa.space @s[[C:[0-9]+]] {size = 6 : i64, origin = "torch.aten.chunk"}{{$}}
// CHECK: torch.aten.__getitem__.t %chunk, %int0 {spa.dims = [#spa.dims<[_, s{{[0-9]+}}, s[[C]]]>]}
func.func @chunk_qk(%x: !torch.vtensor<[1,3,4],f32>) -> !torch.vtensor<[1,3,3],f32> {
  %qk_weight = spa.param "qk.weight" = dense<0.5> : tensor<12x4xf32> : !torch.vtensor<[12,4],f32>
  %qk_bias = spa.param "qk.bias" = dense<0.5> : tensor<12xf32> : !torch.vtensor<[12],f32>
  %qk = torch.aten.linear %x, %qk_weight, %qk_bias : !torch.vtensor<[1,3,4],f32>, !torch.vtensor<[12,4],f32>, !torch.vtensor<[12],f32> -> !torch.vtensor<[1,3,12],f32>
  %int2 = torch.constant.int 2
  %chunk = torch.aten.chunk %qk, %int2, %int2 : !torch.vtensor<[1,3,12],f32>, !torch.int, !torch.int -> !torch.list<vtensor>
  %int0 = torch.constant.int 0
  %int1 = torch.constant.int 1
  %q = torch.aten.__getitem__.t %chunk, %int0 : !torch.list<vtensor>, !torch.int -> !torch.vtensor<[1,3,6],f32>
  %k = torch.aten.__getitem__.t %chunk, %int1 : !torch.list<vtensor>, !torch.int -> !torch.vtensor<[1,3,6],f32>
  %kt = torch.aten.transpose.int %k, %int1, %int2 : !torch.vtensor<[1,3,6],f32>, !torch.int, !torch.int -> !torch.vtensor<[1,6,3],f32>
  %scores = torch.aten.matmul %q, %kt : !torch.vtensor<[1,3,6],f32>, !torch.vtensor<[1,6,3],f32> -> !torch.vtensor<[1,3,3],f32>
  return %scores : !torch.vtensor<[1,3,3],f32>
}
