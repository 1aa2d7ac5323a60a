// RUN: spa-opt %inputs/conv_bn_linear.mlir -p spa-propagate-channels,spa-form-groups | filecheck %s
// The conv's output space becomes a group with every weight it touches; the linear layer's input
// columns are a member whose channel k owns 4 consecutive columns (the flatten's index map).

// CHECK: spa.group @g[[C:[0-9]+]] {size = 4 : i64, space = "s[[C]]", members = [#spa.member<"conv.weight"[0]>, #spa.member<"conv.bias"[0]>, #spa.member<"bn.weight"[0]>, #spa.member<"bn.bias"[0]>, #spa.member<"bn.running_mean"[0]>, #spa.member<"bn.running_var"[0]>, #spa.member<"fc.weight"[1], stride 4, block 4>], exact = true}
// CHECK: spa.group @g{{[0-9]+}} {size = 3 : i64, {{.*}}frozen = [#spa.reason<"model output">]}
// The spaces stay: later passes map activations through them.
// CHECK: spa.space @s[[C]] {size = 4 : i64, origin = "conv.weight[0]"}
