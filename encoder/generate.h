// Sampling continuations from a causal LM (GPT-2), the way transformers' generate() does
// with do_sample: logits / temperature, then top-k, then top-p (nucleus) filtering, then
// one draw; greedy (argmax) at temperature 0.
//
// Decoding runs on an incremental key/value cache (Gpt2Decoder): the prompt is run once,
// then each new token costs one row through every layer. Gpt2Model::Forward over the whole
// window is the reference it is tested against (tests/encoder/generate_test.cc).
//
// Context window: each step conditions on the last n_positions tokens of prompt +
// generated text, at positions 0..n_positions-1, as GPT-2 was trained. A prompt longer than
// n_positions is cut from the left to its last n_positions tokens; once the text fills the
// window it slides one token per step. While the text fits, the cache grows by one row per
// step; after that every step re-runs the whole window (positions shift, so cached keys
// and values no longer apply) -- exactly what a full forward over the window computes.
//
// Shapes: V vocab, H n_embd, P n_positions, L n_layer, nH heads, D = H / nH.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "encoder/gpt2.h"

namespace spade::encoder {

struct GenerateConfig {
  int max_tokens = 32;        // new tokens at most (the end-of-text token counts as one)
  float temperature = 1.0f;   // logits are divided by it; 0 = greedy (argmax, the filters unused)
  int top_k = 0;              // keep the k highest logits (ties with the k-th too); 0 = no limit (transformers: 50)
  float top_p = 1.0f;         // then keep the smallest most-likely set with probability >= top_p; 1 = all
  uint64_t seed = 0;          // the draws are a pure function of (seed, prompt, model)
  int32_t eos_token_id = -1;  // stop after producing it (GPT-2's <|endoftext|> is 50256); -1 = never
  // Throws Error(kInvalidArgument) naming the field: max_tokens < 0, temperature < 0 or not
  // finite, top_k < 0, top_p outside (0, 1].
  void Validate() const;
};

struct GenerateResult {
  std::vector<int32_t> tokens;  // the new tokens, the end-of-text token included when produced
  bool stopped_at_eos = false;  // false: max_tokens reached
  int prompt_tokens_dropped = 0;  // cut from the prompt's left to fit n_positions
};

// The distribution one step samples from: softmax(logits / temperature) restricted by top_k
// then top_p and renormalised (temperature > 0). Zero outside the kept set. For tests and
// for callers that draw themselves.
std::vector<double> SamplingDistribution(const float* logits, int V, const GenerateConfig& c);
// The index of the largest logit (the lowest index among equals).
int32_t Argmax(const float* logits, int V);

// Incremental decoding state over a loaded Gpt2Model: per layer the keys and values of
// every position so far. Holds a reference to the model, which must outlive it and not
// change while it is used. Not thread-safe; one decoder per thread.
class Gpt2Decoder {
 public:
  explicit Gpt2Decoder(const Gpt2Model& model);
  // Runs `ids` (at most n_positions - length() of them) after the cached positions and
  // returns the logits at the last one, (V). Throws kInvalidArgument when the window
  // would overflow, an id is outside the vocabulary or `ids` is empty.
  const RowVector& Append(const std::vector<int32_t>& ids);
  void Reset() { length_ = 0; }
  int length() const { return length_; }

 private:
  struct Layer {
    LayerNorm ln1, ln2;
    Linear c_attn, attn_proj, fc, proj;
    Matrix k, v;  // (P, H) cached keys and values, rows [0, length_) valid
  };
  const Gpt2Model& model_;
  int wte_ = -1, wpe_ = -1;
  std::vector<Layer> layers_;
  LayerNorm ln_f_;
  int length_ = 0;
  // Scratch, reused across calls.
  Matrix x_, a_, qkv_, ctx_, h_, f_pre_, f_, tmp_;
  LayerNormCache ln_cache_;
  RowVector scores_;  // (P) one query's attention weights
  RowVector logits_;  // (V)
};

// Generates up to c.max_tokens tokens after `prompt` (non-empty ids; see the window rule
// above). Deterministic for a seed. Throws as GenerateConfig::Validate and for an empty
// prompt or an id outside the vocabulary.
GenerateResult Generate(const Gpt2Model& model, const std::vector<int32_t>& prompt, const GenerateConfig& c);

}  // namespace spade::encoder
