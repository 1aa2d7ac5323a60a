// spa-collect-stats runs the model on --calib data and leaves the statistics beside -o (x.stats.safetensors);
// the shared input is captured at batch 1 and has no recorded input names (positional data only).
// RUN: %python -c "import torch; torch.manual_seed(0); torch.save({'inputs': torch.randn(6, 2, 2, 2), 'targets': torch.tensor([0, 1, 2, 0, 1, 2])}, '%t.pt'); torch.save(torch.randn(6, 2, 2, 2), '%t.x.pt'); torch.save(torch.randn(6, 2, 2, 3), '%t.bad.pt')"

// kinds=: exactly those kinds (and their companions), each weight keyed by its name.
// RUN: spa-opt %inputs/conv_bn_linear.mlir -p 'spa-collect-stats{kinds=grad,in_sq}' --calib %t.pt --calib-batch 4 -o %t.mlir
// RUN: %python -c "from spa_ir.calibration.store import StatsStore as S; s = S.load('%t.stats.safetensors'); print(s.meta['kinds'], '|', s.meta['batching'], '|', s.meta['label_source'], '|', s.meta['samples']); print(sorted(s.keys()))" | filecheck %s --check-prefix=KINDS
// KINDS: grad,in_count,in_sq,in_sum | vmap over samples of a batch-1 capture, batches of 4 | targets | 6
// KINDS-NEXT: ['bn.bias:grad', 'bn.weight:grad', 'conv.bias:grad', 'conv.weight:grad', 'conv.weight:in_count', 'conv.weight:in_sq', 'conv.weight:in_sum', 'fc.bias:grad', 'fc.weight:grad', 'fc.weight:in_count', 'fc.weight:in_sq', 'fc.weight:in_sum']

// criterion=: the kinds that criterion declares (taylor: the gradient); --loss output-norm needs no targets.
// RUN: spa-opt %inputs/conv_bn_linear.mlir -p 'spa-collect-stats{criterion=taylor}' --calib %t.x.pt --loss output-norm -o %t.mlir
// RUN: %python -c "from spa_ir.calibration.store import StatsStore as S; s = S.load('%t.stats.safetensors'); print(s.meta['kinds'], '|', s.meta['loss'], '|', s.meta['label_source'])" | filecheck %s --check-prefix=CRIT
// CRIT: grad | output-norm | output-norm

// A second spa-opt call reads the store beside its input: the analyses and the scores need no data.
// RUN: spa-opt %t.mlir -p 'spa-propagate-channels,spa-form-groups,spa-annotate-importance{criterion=taylor}' | filecheck %s --check-prefix=SPLIT
// SPLIT: spa.group @g{{[0-9]+}} {size = 4 : i64, {{.*}}scores = array<f64: {{.*}}>

// Nothing needed (a data-free criterion): a no-op without data.
// RUN: spa-opt %inputs/conv_bn_linear.mlir -p 'spa-collect-stats{criterion=l1}' | filecheck %s --check-prefix=NOOP
// NOOP: torch.aten.conv2d

// RUN: not spa-opt %inputs/conv_bn_linear.mlir -p 'spa-collect-stats{kinds=grad}' 2>&1 | filecheck %s --check-prefix=NODATA
// NODATA: spa-opt: error: spa-collect-stats needs calibration data: give --calib FILE (or calib= in the API)
// RUN: not spa-opt %inputs/conv_bn_linear.mlir -p 'spa-collect-stats{kinds=nope}' --calib %t.pt 2>&1 | filecheck %s --check-prefix=KIND
// KIND: spa-opt: error: spa-collect-stats: unknown kind 'nope' (known: fisher, grad, hg, in_count, in_cov, in_cov_count, in_row_sum, in_sq, in_sum, out_rank)
// RUN: not spa-opt %inputs/conv_bn_linear.mlir -p 'spa-collect-stats{kinds=grad}' --calib %t.bad.pt 2>&1 | filecheck %s --check-prefix=SHAPE
// SHAPE: spa-opt: error: {{.*}}.bad.pt: input #0 dim 3 is 3 but the model's is static 2
// RUN: not spa-opt %inputs/conv_bn_linear.mlir -p 'spa-collect-stats{kinds=grad}' --calib %t.x.pt --loss mse 2>&1 | filecheck %s --check-prefix=MSE
// MSE: spa-opt: error: {{.*}}.x.pt: --loss mse needs targets in the calibration data

// Through --prune-groups: the plan and the summary say the criterion, where its labels came from, and the scope.
// RUN: spa-opt %inputs/conv_bn_linear.mlir --prune-groups='criterion=taylor ratio=0.5 scope=protected' --calib %t.pt --plan %t.plan.json -o %t.p.mlir 2>&1 | filecheck %s --check-prefix=SUMMARY
// SUMMARY: spa-opt: calibrated on 6 samples of {{.*}}.pt (vmap over samples of a batch-1 capture, batches of 32; labels targets, loss cross-entropy): grad, {{[0-9.]+}} MiB of float64 accumulators
// SUMMARY: spa-opt: pruned (criterion taylor, labels targets, loss cross-entropy, 6 samples, scope protected, ratio=0.5): kept {{.*}} of the parameters
// RUN: filecheck %s --check-prefix=PLAN < %t.plan.json
// PLAN: "importance": {
// PLAN-NEXT: "criterion": "taylor",
// PLAN-NEXT: "agg": "sum",
// PLAN-NEXT: "norm": "none",
// PLAN-NEXT: "loss": "cross-entropy",
// PLAN-NEXT: "label_source": "targets",
// PLAN-NEXT: "samples": "6"
