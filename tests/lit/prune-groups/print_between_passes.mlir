// RUN: rm -rf %t && mkdir -p %t
// RUN: spa-opt %inputs/conv_bn_linear.mlir -p 'prune-groups{ratio=0.5}' --print-between-passes -o %t/p.mlir | filecheck %s
// RUN: filecheck %s --check-prefix=OUT < %t/p.mlir
// RUN: spa-opt %inputs/conv_bn_linear.mlir -p 'spa-prune-groups{ratio=0.5}' --print-between-passes -o %t/q.mlir | filecheck %s
// RUN: not spa-opt %inputs/conv_bn_linear.mlir --prune-groups='ratio=0.5 bogus=1' 2>&1 | filecheck %s --check-prefix=UNKNOWN
// prune-groups (alias of spa-prune-groups) is expanded into its five passes before anything runs, so
// --print-between-passes shows the IR after each stage; the last stage's IR is the output.

// CHECK: IR after spa-propagate-channels:
// CHECK: spa.space @s3 {size = 4 : i64, origin = "conv.weight[0]"}
// CHECK-NOT: spa.group
// CHECK: IR after spa-form-groups:
// CHECK: spa.group @g3 {size = 4 : i64, space = "s3", members = [{{.*}}], exact = true}
// CHECK: IR after spa-annotate-importance:
// CHECK: spa.group @g3 {{.*}} scores = array<f64: {{.*}}>}
// CHECK-NOT: removed
// CHECK: IR after spa-select-channels:
// CHECK: spa.group @g3 {{.*}} removed = array<i64: 0, 1>}
// CHECK-NOT: IR after

// OUT-NOT: spa.group
// OUT: spa.param "conv.weight" {{.*}} : !torch.vtensor<[2,2,1,1],f32>

// UNKNOWN: {{^}}spa-opt: error: prune-groups: unknown option 'bogus' (known: {{.*}}ratio, keep-flops, keep-params, scope, min-keep, min-keep-ratio, round-to, only-exact, ignore, overrides, heads, gqa, uniform, steps, sequential, order, samples, compensate)
// UNKNOWN-NOT: {{\S}}
