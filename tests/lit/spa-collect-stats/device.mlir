// --device: where spa-collect-stats (and spa-obspa-compensate) run the model. cpu gives the statistics a run
// without the option gives; a device this machine lacks, or an unknown name, is a one-line error before any pass,
// and no output is written.
// RUN: %python -c "import torch; torch.manual_seed(0); torch.save({'inputs': torch.randn(6, 2, 2, 2), 'targets': torch.tensor([0, 1, 2, 0, 1, 2])}, '%t.pt')"
// RUN: spa-opt %inputs/conv_bn_linear.mlir -p 'spa-collect-stats{kinds=grad,in_sq}' --calib %t.pt -o %t.default.mlir
// RUN: spa-opt %inputs/conv_bn_linear.mlir -p 'spa-collect-stats{kinds=grad,in_sq}' --calib %t.pt --device cpu -o %t.cpu.mlir
// RUN: %python -c "from spa_ir.calibration.store import StatsStore as S; a, b = S.load('%t.default.stats.safetensors'), S.load('%t.cpu.stats.safetensors'); print(sorted(a.keys()) == sorted(b.keys()), all(bool((a.get(*k.split(':')) == b.get(*k.split(':'))).all()) for k in a.keys()), b.get('conv.weight', 'in_sq').device)" | filecheck %s --check-prefix=CPU
// CPU: True True cpu

// RUN: rm -f %t.gone.mlir
// RUN: not spa-opt %inputs/conv_bn_linear.mlir -p 'spa-collect-stats{kinds=grad}' --calib %t.pt --device cuda:99 -o %t.gone.mlir 2>&1 | filecheck %s --check-prefix=CUDA
// CUDA: spa-opt: error: --device: 'cuda:99' asked, but {{CUDA is not available here|this machine has [0-9]+ CUDA device}}
// RUN: not ls %t.gone.mlir
// RUN: not spa-opt %inputs/conv_bn_linear.mlir --prune-groups='criterion=obspa ratio=0.5' --device tpu -o %t.gone.mlir 2>&1 | filecheck %s --check-prefix=UNKNOWN
// UNKNOWN: spa-opt: error: --device: unknown device 'tpu' (known: cpu, cuda, cuda:N)
