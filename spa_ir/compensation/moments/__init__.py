"""The analytic ("stats", data-free) source of OBSPA: per-channel means and variances of every consumer's input,
derived from what the network carries, propagated through the emitted fx graph. No data is run.

The walk visits the graph once, in order, and keeps for each value what is known of it:
- a constant (a parameter, buffer, literal or scalar, and anything computed from constants alone: those ops are
  run on the real tensors, so transposed weights and position embeddings are constants);
- moments: `mean` and `var` (float64) that broadcast against the value's shape like a tensor in an elementwise op
  (aligned at the last dim; a size-1 dim means "the same for every index there"), so a conv output carries
  `[C, 1, 1]` and a linear output `[F]`, and view ops act on the moment tensors themselves;
- unknown, with the op and node that stopped it.

Sources of moments (the distribution of the model's inputs is never assumed):
- batch norm (eval; `_native_batch_norm_legit_no_training`, `batch_norm`, `native_batch_norm`,
  `_native_batch_norm_legit`): the running statistics describe its input, so its output has mean β and variance
  γ²·rv/(rv+eps) per channel (in training mode the batch's statistics normalize, and the running ones stand in for
  them; without running statistics: γ²);
- layer norm / group norm / RMS norm with affine parameters: mean β (0 for RMS norm), variance γ². This assumes
  per-position normalization leaves each feature standardized across samples and positions too (the norm itself
  only standardizes each position's features, or each group's); RMS norm is further assumed zero-mean.

Rules (each value's elements taken as Gaussian where an op needs a distribution):
- conv / linear / mm / addmm / matmul with a constant weight, from per-channel input moments, features independent
  (no covariance across channels or kernel positions): mean_o = Σ_f W[o,f]·μ_f + b_o (a conv's W summed over kernel
  positions; padding ignored), var_o = Σ_f W[o,f]²·σ_f². A transposed conv divides both sums by the product of its
  strides (the taps an output gets on average).
- ReLU / ReLU6 / hardtanh / clamp: the clipped Gaussian, closed form. GELU (erf and tanh), SiLU, hardswish,
  hardsigmoid, sigmoid, tanh, leaky ReLU, ELU, softplus, erf, ... : 64-point Gauss-Hermite quadrature on a Gaussian
  input. A chain of elementwise ops on one Gaussian value (ONNX's `x * 0.5 * (1 + erf(x / √2))`, `x * sigmoid(x)`)
  is integrated as one function of it, so the factors' dependence is kept.
- add / sub of two values: independent sum; mul: product of independent variables (mean μ1μ2, variance
  σ1²σ2² + σ1²μ2² + σ2²μ1²); with a constant: exact.
- average pooling (avg pool, adaptive avg pool, mean over dims, every averaged dim taken as positional): the mean
  is unchanged. The variance follows an
  AR(1) model of spatial correlation, separable per averaged dim: averaging n neighbours whose correlation at
  distance j is r^j keeps f_r(n) = (1 + 2·Σ_{j<n} (1 - j/n)·r^j) / n of the variance, with r = `POOL_CORRELATION`
  (0.35), fitted to what a trained MNIST BN ResNet shows on real digits (2x2 and 3x3 windows and global pools of
  its 4x4-14x14 maps): within 3x either way, median 1.1x; the worst miss is the last stage's global pool, 3x under
  (those maps are nearly uniform). Independence (r = 0, var/n) is up to 8.4x under there and full correlation
  (r = 1, var) up to 110x over (the stem's global pool). Random-weight nets on white-noise inputs are nearer
  independence, where the rule over-estimates by 1.4-3.3x (tests/unit/test_moments.py).
- max pooling: the expected max (and its square) of k iid copies of the input, k the window size, integrated
  numerically; when the input is a nondecreasing function g of a Gaussian (ReLU, clamp, sigmoid, ...) the max is
  g(max of the Gaussians), which is exact for iid inputs. It ignores the window's correlation (which lowers the
  max).
- scaled dot-product attention, and matmul(softmax(..., dim=-1), V): the output is a convex mix of V's rows over
  positions; its mean is V's mean (exact for attention weights independent of V; in self-attention they are not,
  and a test measures 0.4 standard deviations off) and its variance V's variance (averaged over key positions):
  an upper bound, tight for one-hot attention and up to L times the truth for uniform attention over L positions.
- views (reshape / view / flatten / unflatten / permute / transpose / unsqueeze / squeeze / select / slice /
  narrow / split / chunk / expand), cat, dropout, clone, type conversions: the moment tensors follow the op (a
  flatten of [N, C, H, W] gives each channel's moments to its H·W features).
- anything else (embedding lookups, matmul of two activations, softmax, comparisons, ...) is unknown.

A consumer's moments are over samples and positions: the per-position moments are combined by the law of total
variance. Shapes come from running the graph on meta tensors; `example_inputs` gives the model inputs' shapes
(`meta_inputs(module)` builds them from the IR), and without them what needs a size (a flatten, an adaptive pool's
window, a reshape with -1) is unknown downstream of the inputs.

Modules: `derive` (the entry point, per-consumer moments), `walk` (the pass over the graph and the rule table),
`values` (what is known of a value; helpers on moment tensors), `gaussian` (the integrals), `ops` (the op
families), and the rules: `rules_norms` (the sources), `rules_linear` (conv / linear / matmul, attention),
`rules_elementwise`, `rules_pooling`, `rules_views`.
"""

from spa_ir.compensation.moments.derive import Moments, MomentsReport, consumer_input_moments, meta_inputs
from spa_ir.compensation.moments.gaussian import POOL_CORRELATION, pool_variance_factor

__all__ = [
    "POOL_CORRELATION",
    "Moments",
    "MomentsReport",
    "consumer_input_moments",
    "meta_inputs",
    "pool_variance_factor",
]
