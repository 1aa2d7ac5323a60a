// RUN: spa-opt %s --split-input-file -p spa-propagate-channels | filecheck %s
// RUN: spa-opt %s --split-input-file -p spa-propagate-channels,spa-form-groups | filecheck %s --check-prefix=GROUPS
// A select at a constant index is a one-index slice without its dim: a channel dim is refined into (before,
// picked, after), the picked index holding no channel, the others staying channels. Unbind picks every index:
// the dim holds no channel at all (each index is its own tensor), and the channel dims beside it pass through.

// ViT's fused qkv: [B, N, 3 * heads * hd] viewed [B, N, 3, heads, hd], permuted, unbound into q, k, v. The
// selector dim of 3 is no group (no frozen group of 3); heads and head dims are groups across q, k and v.
// CHECK-LABEL: func.func @qkv_unbind
// CHECK: spa.param "qkv.weight" {{.*}} {spa.dims = [#spa.dims<[3 x s[[H:[0-9]+]] x s[[D:[0-9]+]], s{{[0-9]+}}]>]}
// CHECK: torch.aten.view %qkv, %s {spa.dims = [#spa.dims<[_, s[[T:[0-9]+]], _, s[[H]], s[[D]]]>]}
// CHECK: torch.aten.unbind.int
// CHECK: torch.prim.ListUnpack %l {spa.dims = [#spa.dims<[_, s[[H]], s[[T]], s[[D]]]>, #spa.dims<[_, s[[H]], s[[T]], s[[D]]]>, #spa.dims<[_, s[[H]], s[[T]], s[[D]]]>]}
// GROUPS-NOT: size = 3 : i64
// GROUPS: spa.group @g{{[0-9]+}} {size = 2 : i64, space = "s{{[0-9]+}}", members = [#spa.member<"qkv.weight"[0], stride 4, block 4, count 3, period 8>, #spa.member<"proj.weight"[1], stride 4, block 4>]
func.func @qkv_unbind(%x: !torch.vtensor<[1,5,8],f32>) -> !torch.vtensor<[1,5,8],f32> {
  %w = spa.param "qkv.weight" = dense<0.5> : tensor<24x8xf32> : !torch.vtensor<[24,8],f32>
  %wp = spa.param "proj.weight" = dense<0.5> : tensor<8x8xf32> : !torch.vtensor<[8,8],f32>
  %none = torch.constant.none
  %int0 = torch.constant.int 0
  %int1 = torch.constant.int 1
  %int2 = torch.constant.int 2
  %int3 = torch.constant.int 3
  %int4 = torch.constant.int 4
  %int5 = torch.constant.int 5
  %int8 = torch.constant.int 8
  %int-1 = torch.constant.int -1
  %int-2 = torch.constant.int -2
  %qkv = torch.aten.linear %x, %w, %none : !torch.vtensor<[1,5,8],f32>, !torch.vtensor<[24,8],f32>, !torch.none -> !torch.vtensor<[1,5,24],f32>
  %s = torch.prim.ListConstruct %int1, %int5, %int3, %int2, %int4 : (!torch.int, !torch.int, !torch.int, !torch.int, !torch.int) -> !torch.list<int>
  %v5 = torch.aten.view %qkv, %s : !torch.vtensor<[1,5,24],f32>, !torch.list<int> -> !torch.vtensor<[1,5,3,2,4],f32>
  %perm = torch.prim.ListConstruct %int2, %int0, %int3, %int1, %int4 : (!torch.int, !torch.int, !torch.int, !torch.int, !torch.int) -> !torch.list<int>
  %p = torch.aten.permute %v5, %perm : !torch.vtensor<[1,5,3,2,4],f32>, !torch.list<int> -> !torch.vtensor<[3,1,2,5,4],f32>
  %l = torch.aten.unbind.int %p, %int0 : !torch.vtensor<[3,1,2,5,4],f32>, !torch.int -> !torch.list<vtensor>
  %q, %k, %v = torch.prim.ListUnpack %l : !torch.list<vtensor> -> !torch.vtensor<[1,2,5,4],f32>, !torch.vtensor<[1,2,5,4],f32>, !torch.vtensor<[1,2,5,4],f32>
  %kt = torch.aten.transpose.int %k, %int-2, %int-1 : !torch.vtensor<[1,2,5,4],f32>, !torch.int, !torch.int -> !torch.vtensor<[1,2,4,5],f32>
  %a = torch.aten.matmul %q, %kt : !torch.vtensor<[1,2,5,4],f32>, !torch.vtensor<[1,2,4,5],f32> -> !torch.vtensor<[1,2,5,5],f32>
  %o = torch.aten.matmul %a, %v : !torch.vtensor<[1,2,5,5],f32>, !torch.vtensor<[1,2,5,4],f32> -> !torch.vtensor<[1,2,5,4],f32>
  %t = torch.aten.transpose.int %o, %int1, %int2 : !torch.vtensor<[1,2,5,4],f32>, !torch.int, !torch.int -> !torch.vtensor<[1,5,2,4],f32>
  %s2 = torch.prim.ListConstruct %int1, %int5, %int8 : (!torch.int, !torch.int, !torch.int) -> !torch.list<int>
  %y = torch.aten.view %t, %s2 : !torch.vtensor<[1,5,2,4],f32>, !torch.list<int> -> !torch.vtensor<[1,5,8],f32>
  %out = torch.aten.linear %y, %wp, %none : !torch.vtensor<[1,5,8],f32>, !torch.vtensor<[8,8],f32>, !torch.none -> !torch.vtensor<[1,5,8],f32>
  return %out : !torch.vtensor<[1,5,8],f32>
}

// -----

// select at index 2 of a channel dim of 5: indices 0-1 and 3-4 stay channels (the result, without the dim, holds
// none of them); index 2 holds no channel. The weight's rows are cat(s, _, s') and the other reader keeps them.
// CHECK-LABEL: func.func @select_channel
// CHECK: torch.aten.linear %x, %w, %none {spa.dims = [#spa.dims<[s[[R:[0-9]+]], cat(s{{[0-9]+}}, 1, s{{[0-9]+}})]>]}
// CHECK: torch.aten.select.int %h, %int1, %int2 {spa.dims = [#spa.dims<[s[[R]]]>]}
// GROUPS: func.func @qkv_unbind
// GROUPS-DAG: spa.group @g{{[0-9]+}} {size = 2 : i64, space = "s{{[0-9]+}}", members = [#spa.member<"w"[0]>, #spa.member<"w2"[1]>], exact = true}
// GROUPS-DAG: spa.group @g{{[0-9]+}} {size = 2 : i64, space = "s{{[0-9]+}}", members = [#spa.member<"w"[0], offset 3>, #spa.member<"w2"[1], offset 3>], exact = true}
// GROUPS: func.func @select_channel
func.func @select_channel(%x: !torch.vtensor<[3,2],f32>) -> (!torch.vtensor<[3],f32>, !torch.vtensor<[3,6],f32>) {
  %w = spa.param "w" = dense<0.5> : tensor<5x2xf32> : !torch.vtensor<[5,2],f32>
  %w2 = spa.param "w2" = dense<0.5> : tensor<6x5xf32> : !torch.vtensor<[6,5],f32>
  %none = torch.constant.none
  %int1 = torch.constant.int 1
  %int2 = torch.constant.int 2
  %h = torch.aten.linear %x, %w, %none : !torch.vtensor<[3,2],f32>, !torch.vtensor<[5,2],f32>, !torch.none -> !torch.vtensor<[3,5],f32>
  %picked = torch.aten.select.int %h, %int1, %int2 : !torch.vtensor<[3,5],f32>, !torch.int, !torch.int -> !torch.vtensor<[3],f32>
  %y = torch.aten.linear %h, %w2, %none : !torch.vtensor<[3,5],f32>, !torch.vtensor<[6,5],f32>, !torch.none -> !torch.vtensor<[3,6],f32>
  return %picked, %y : !torch.vtensor<[3],f32>, !torch.vtensor<[3,6],f32>
}

// -----

// PVT's kv: an unbind of a dim of two (k, v). The index beside each one-index slice is a space of one (never a
// group), not a dim without channels: the inner channels stay free.
// GROUPS-NOT: spa.group {{.*}}meets a dim
// GROUPS: spa.group @g{{[0-9]+}} {size = 2 : i64, space = "s{{[0-9]+}}", members = [#spa.member<"kv.weight"[0], count 2, period 2>, #spa.member<"out.weight"[1]>], exact = true}
// GROUPS-NOT: spa.group {{.*}}meets a dim
// GROUPS: func.func @kv_unbind
func.func @kv_unbind(%x: !torch.vtensor<[2,3],f32>) -> !torch.vtensor<[2,3],f32> {
  %w = spa.param "kv.weight" = dense<0.5> : tensor<4x3xf32> : !torch.vtensor<[4,3],f32>
  %wo = spa.param "out.weight" = dense<0.5> : tensor<3x2xf32> : !torch.vtensor<[3,2],f32>
  %none = torch.constant.none
  %int1 = torch.constant.int 1
  %int2 = torch.constant.int 2
  %h = torch.aten.linear %x, %w, %none : !torch.vtensor<[2,3],f32>, !torch.vtensor<[4,3],f32>, !torch.none -> !torch.vtensor<[2,4],f32>
  %s = torch.prim.ListConstruct %int2, %int2, %int2 : (!torch.int, !torch.int, !torch.int) -> !torch.list<int>
  %v = torch.aten.view %h, %s : !torch.vtensor<[2,4],f32>, !torch.list<int> -> !torch.vtensor<[2,2,2],f32>
  %l = torch.aten.unbind.int %v, %int1 : !torch.vtensor<[2,2,2],f32>, !torch.int -> !torch.list<vtensor>
  %k, %vv = torch.prim.ListUnpack %l : !torch.list<vtensor> -> !torch.vtensor<[2,2],f32>, !torch.vtensor<[2,2],f32>
  %sum = torch.aten.add.Tensor %k, %vv, %int1 : !torch.vtensor<[2,2],f32>, !torch.vtensor<[2,2],f32>, !torch.int -> !torch.vtensor<[2,2],f32>
  %y = torch.aten.linear %sum, %wo, %none : !torch.vtensor<[2,2],f32>, !torch.vtensor<[3,2],f32>, !torch.none -> !torch.vtensor<[2,3],f32>
  return %y : !torch.vtensor<[2,3],f32>
}
