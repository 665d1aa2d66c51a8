// Layers as forward/backward pairs with explicit caches (llm.c style). Shapes use the
// letters of tensor.h; every forward takes (N, in) rows and writes (N, out) rows.
//
// Contract for every *Backward: parameter gradients are ACCUMULATED into the arena (so
// shared and tied tensors sum their uses); the input gradient `dx` is OVERWRITTEN and may
// be nullptr when the caller does not need it. Inputs are validated in *Forward (shape
// errors name the parameter); kernels inside assume valid shapes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "encoder/params.h"
#include "encoder/tensor.h"

namespace spade::encoder {

// ---- Linear: y = x W^T + b, W (O, I) as PyTorch stores it, b (O) ----
struct Linear {
  int weight = -1;  // (O, I); (I, O) when transposed
  int bias = -1;    // (O), -1 when the layer has no bias
  int in = 0, out = 0;
  bool transposed = false;  // GPT-2's Conv1D stores the weight as (I, O): y = x W + b
};
// Registers `<prefix>.weight` and (if bias) `<prefix>.bias`.
Linear AddLinear(ParamArena& arena, const std::string& prefix, int in, int out, bool bias = true);
// GPT-2's Conv1D: the same layer with the weight stored (I, O).
Linear AddConv1D(ParamArena& arena, const std::string& prefix, int in, int out);
void LinearForward(const ParamArena& arena, const Linear& l, const Matrix& x /*(N,I)*/, Matrix* y /*(N,O)*/);
void LinearBackward(ParamArena& arena, const Linear& l, const Matrix& x /*(N,I)*/, const Matrix& dy /*(N,O)*/,
                    Matrix* dx /*(N,I) or null*/);

// ---- LayerNorm over the last dimension: y = (x - mean) * rstd * gamma + beta ----
struct LayerNorm {
  int gamma = -1, beta = -1;  // (H) each, saved as `<prefix>.weight` / `<prefix>.bias`
  int dim = 0;
  float eps = 1e-12f;
};
struct LayerNormCache {
  Matrix xhat;      // (N, H) normalised input
  ColVector rstd;   // (N) 1 / sqrt(var + eps)
};
LayerNorm AddLayerNorm(ParamArena& arena, const std::string& prefix, int dim, float eps);
void LayerNormForward(const ParamArena& arena, const LayerNorm& ln, const Matrix& x, Matrix* y, LayerNormCache* cache);
void LayerNormBackward(ParamArena& arena, const LayerNorm& ln, const Matrix& dy, const LayerNormCache& cache,
                       Matrix* dx);

// ---- Element-wise activations (the cache is the forward input) ----
enum class Activation {
  kGelu,     // exact: 0.5 x (1 + erf(x / sqrt 2))  — HF "gelu"
  kGeluNew,  // tanh approximation — HF "gelu_new" (ALBERT, GPT-2)
  kRelu,
  kTanh,
};
// Accepts the config.json spellings "gelu", "gelu_new", "gelu_pytorch_tanh", "relu", "tanh";
// throws kInvalidArgument otherwise.
Activation ParseActivation(const std::string& name);
std::string ActivationName(Activation a);
void ActivationForward(Activation a, const Matrix& x, Matrix* y);
void ActivationBackward(Activation a, const Matrix& x, const Matrix& dy, Matrix* dx);

// ---- Embedding lookup: y[n] = table[ids[n]] ----
// Throws kInvalidArgument naming the table when an id is outside [0, V).
void EmbeddingForward(const ParamArena& arena, int table /*(V,E)*/, const std::vector<int32_t>& ids, Matrix* y);
// Adds dy rows into the table's gradient (y = table[ids] + ... ⇒ scatter-add).
void EmbeddingBackward(ParamArena& arena, int table, const std::vector<int32_t>& ids, const Matrix& dy);

// ---- Inverted dropout with a counter-based RNG (same mask for any thread count) ----
// mask holds 0 or 1/(1-p); empty when p == 0 or !train (identity).
struct DropoutCache {
  Matrix mask;
};
// A pseudo-random uniform in [0, 1) for element `i` of stream `seed`.
float UniformHash(uint64_t seed, uint64_t i);
void DropoutForward(float p, bool train, uint64_t seed, Matrix* x /*in place*/, DropoutCache* cache);
void DropoutBackward(const DropoutCache& cache, Matrix* dx /*in place*/);

// ---- Losses: return the mean loss and write d(loss)/d(logits) ----
// Softmax cross-entropy over rows of logits (R, K); labels[r] in [0, K) or `ignore_index`
// (row skipped). The mean is over non-ignored rows; 0 (and zero gradient) when none.
float SoftmaxCrossEntropy(const Matrix& logits, const std::vector<int32_t>& labels, Matrix* dlogits,
                          int32_t ignore_index = -100);
// Binary cross-entropy with logits, element-wise over a (R, 1) column; weights[r] (0 or 1)
// masks padding; the mean is over the weighted count. Used by ELECTRA's RTD head.
float SigmoidCrossEntropy(const Matrix& logits, const std::vector<float>& targets, const std::vector<float>& weights,
                          Matrix* dlogits);

}  // namespace spade::encoder
