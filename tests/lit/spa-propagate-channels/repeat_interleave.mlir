// RUN: spa-opt %s --split-input-file -p spa-propagate-channels,spa-form-groups | filecheck %s
// repeat_interleave.self_int(x, r, dim): each index of dim repeated r times in place, Prod(layout, Anon(r)): a
// channel owns r consecutive indices (w2's columns 2k and 2k+1 here); other dims pass through.
// CHECK: spa.group @g{{[0-9]+}} {size = 4 : i64, space = "s{{[0-9]+}}", members = [#spa.member<"w"[0]>, #spa.member<"w2"[1], stride 2, block 2>], exact = true}
func.func @main(%x: !torch.vtensor<[2,6],f32>) -> !torch.vtensor<[2,3],f32> {
  %w = spa.param "w" = dense<0.5> : tensor<4x6xf32> : !torch.vtensor<[4,6],f32>
  %w2 = spa.param "w2" = dense<0.5> : tensor<3x8xf32> : !torch.vtensor<[3,8],f32>
  %none = torch.constant.none
  %int1 = torch.constant.int 1
  %int2 = torch.constant.int 2
  %h = torch.aten.linear %x, %w, %none : !torch.vtensor<[2,6],f32>, !torch.vtensor<[4,6],f32>, !torch.none -> !torch.vtensor<[2,4],f32>
  %r = torch.aten.repeat_interleave.self_int %h, %int2, %int1, %none : !torch.vtensor<[2,4],f32>, !torch.int, !torch.int, !torch.none -> !torch.vtensor<[2,8],f32>
  %y = torch.aten.linear %r, %w2, %none : !torch.vtensor<[2,8],f32>, !torch.vtensor<[3,8],f32>, !torch.none -> !torch.vtensor<[2,3],f32>
  return %y : !torch.vtensor<[2,3],f32>
}

// -----

// Repeating the rows (MoE dispatch: each token top_k times) keeps the channel dim: w's rows and w2's columns.
// CHECK: spa.group @g{{[0-9]+}} {size = 4 : i64, space = "s{{[0-9]+}}", members = [#spa.member<"w"[0]>, #spa.member<"w2"[1]>], exact = true}
func.func @main(%x: !torch.vtensor<[2,6],f32>) -> !torch.vtensor<[6,3],f32> {
  %w = spa.param "w" = dense<0.5> : tensor<4x6xf32> : !torch.vtensor<[4,6],f32>
  %w2 = spa.param "w2" = dense<0.5> : tensor<3x4xf32> : !torch.vtensor<[3,4],f32>
  %none = torch.constant.none
  %int0 = torch.constant.int 0
  %int3 = torch.constant.int 3
  %h = torch.aten.linear %x, %w, %none : !torch.vtensor<[2,6],f32>, !torch.vtensor<[4,6],f32>, !torch.none -> !torch.vtensor<[2,4],f32>
  %r = torch.aten.repeat_interleave.self_int %h, %int3, %int0, %none : !torch.vtensor<[2,4],f32>, !torch.int, !torch.int, !torch.none -> !torch.vtensor<[6,4],f32>
  %y = torch.aten.linear %r, %w2, %none : !torch.vtensor<[6,4],f32>, !torch.vtensor<[3,4],f32>, !torch.none -> !torch.vtensor<[6,3],f32>
  return %y : !torch.vtensor<[6,3],f32>
}
