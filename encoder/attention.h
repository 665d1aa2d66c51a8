// Scaled dot-product attention over heads, with a key padding mask, an optional causal
// mask and dropout on the probabilities (as BERT/GPT-2 apply it).
//
// q, k, v, ctx are (N, H) with N = B*T rows (sequence b occupies rows b*T .. b*T+T-1) and
// head h in columns h*D .. h*D+D-1. key_mask is (B*T): 1 for a token, 0 for padding;
// empty means no padding. A masked key gets probability exactly 0 (PyTorch's additive
// large-negative mask gives the same numbers in float32). A query row whose keys are all
// masked gets all-zero probabilities.
//
// AttentionForward runs (b, h) pairs in parallel when built with OpenMP (not with OpenBLAS,
// see CMakeLists.txt); AttentionForwardNaive is the
// plain per-element loop reference that tests compare it against.
#pragma once

#include <cstdint>
#include <vector>

#include "encoder/tensor.h"

namespace spade::encoder {

struct AttentionShape {
  int batch = 0;     // B
  int seq = 0;       // T
  int heads = 0;     // nH
  int head_dim = 0;  // D
  bool causal = false;
};

struct AttentionCache {
  Matrix probs;      // (B*nH*T, T) softmax output; block (b*nH + h) is a (T, T) matrix
  Matrix drop_mask;  // same shape, 0 or 1/(1-p); empty without dropout
};

// Throws kInvalidArgument naming `what` when q/k/v/key_mask do not match `s`.
void AttentionForward(const AttentionShape& s, const Matrix& q, const Matrix& k, const Matrix& v,
                      const std::vector<float>& key_mask, float dropout_p, bool train, uint64_t seed,
                      AttentionCache* cache, Matrix* ctx, const char* what = "attention");
// Gradients a caller injects at the attention's own intermediates (distillation losses
// such as TinyBERT's attention MSE), added to what flows back from the context. Null = none.
struct AttentionGradInjection {
  // (B*nH*T, T) d loss / d the scaled scores S = Q K^T / sqrt(D) (before the mask and the
  // softmax; the "scores" AttentionScores returns). Entries at masked keys (padding, causal)
  // are ignored: those scores do not reach the output, and AttentionScores reports them as 0.
  const Matrix* d_scores = nullptr;
  // (B*nH*T, T) d loss / d the probabilities cache.probs (after the softmax, before dropout).
  const Matrix* d_probs = nullptr;
  // The key mask the forward used; required with d_scores (empty vector = no padding).
  const std::vector<float>* key_mask = nullptr;
};

// Overwrites dq, dk, dv (each (N, H)). `inject` (optional) adds gradients at the scores or
// probabilities; shapes are checked and name `what`.
void AttentionBackward(const AttentionShape& s, const Matrix& q, const Matrix& k, const Matrix& v,
                       const AttentionCache& cache, const Matrix& dctx, Matrix* dq, Matrix* dk, Matrix* dv,
                       const AttentionGradInjection* inject = nullptr, const char* what = "attention");

// The scaled scores S = Q K^T / sqrt(D) of every (b, h) as (B*nH*T, T), row (b*nH + h)*T + i,
// with the entries of masked keys (padding, and j > i when causal) set to exactly 0.
// TinyBERT's attention loss compares these: Hugging Face's scores carry the additive
// -10000 mask and TinyBERT's code zeroes every entry <= -100, which is the masked ones.
void AttentionScores(const AttentionShape& s, const Matrix& q, const Matrix& k, const std::vector<float>& key_mask,
                     Matrix* scores, const char* what = "attention");

// Reference: same contract as AttentionForward without dropout, written as plain loops.
void AttentionForwardNaive(const AttentionShape& s, const Matrix& q, const Matrix& k, const Matrix& v,
                           const std::vector<float>& key_mask, Matrix* ctx);

}  // namespace spade::encoder
