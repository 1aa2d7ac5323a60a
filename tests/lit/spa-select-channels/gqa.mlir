// 4 q heads over 2 kv heads of 2 dims (repeat_kv by expand + reshape), from tests/lit/Inputs/tiny_models.py.
// RUN: env PYTHONPATH=%inputs spa-translate --import-torch tiny_models:grouped_query_attention --input-shape 1,4,8 --seed 0 -o %t.mlir
// RUN: spa-opt %t.mlir --prune-groups='ratio=0.5 heads=true' -o %t.kv.mlir && filecheck %s --check-prefix=KV < %t.kv.mlir
// RUN: spa-opt %t.mlir --prune-groups='ratio=0.5 heads=true gqa=q-per-kv' -o %t.q.mlir && filecheck %s --check-prefix=Q < %t.q.mlir
// RUN: not spa-opt %t.mlir --prune-groups='heads=true gqa=nope' -o %t.bad.mlir 2>&1 | filecheck %s --check-prefix=BAD

// gqa=kv (the default): one kv head goes, with the 2 q heads that share it.
// KV: spa.param "q.weight" : !torch.vtensor<[4,8],f32>
// KV: spa.param "k.weight" : !torch.vtensor<[2,8],f32>
// KV: torch.aten.expand {{.*}} -> !torch.vtensor<[1,1,2,4,2],f32>
// KV: spa.param "v.weight" : !torch.vtensor<[2,8],f32>
// KV: spa.param "o.weight" : !torch.vtensor<[8,4],f32>
// gqa=q-per-kv: every kv group loses one of its 2 q heads; both kv heads stay, repeated once now.
// Q: spa.param "q.weight" : !torch.vtensor<[4,8],f32>
// Q: spa.param "k.weight" : !torch.vtensor<[4,8],f32>
// Q: torch.aten.expand {{.*}} -> !torch.vtensor<[1,2,1,4,2],f32>
// BAD: error: spa-select-channels: gqa must be kv or q-per-kv; got 'nope'
