// GPT-2: pre-LayerNorm decoder with causal self-attention and an LM head tied to the
// token embeddings, for scoring answers by likelihood (zero-, one- or few-shot prompts).
//
// Tensor names (GPT2LMHeadModel; saved with the "transformer." prefix, loaded with or
// without it): wte.weight (V, H), wpe.weight (P, H), h.{i}.ln_1, h.{i}.attn.c_attn (H, 3H),
// h.{i}.attn.c_proj (H, H), h.{i}.ln_2, h.{i}.mlp.c_fc (H, F), h.{i}.mlp.c_proj (F, H),
// ln_f. Conv1D weights are stored (in, out), as published. lm_head.weight is wte.weight.
// Buffers in old checkpoints (h.{i}.attn.bias / masked_bias) are ignored.
//
// Shapes: B batch, T tokens, N = B*T, H n_embd, F n_inner, V vocab, P n_positions.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "encoder/attention.h"
#include "encoder/model.h"
#include "encoder/safetensors.h"

namespace spade::encoder {

struct Gpt2Config {
  int vocab_size = 50257;      // V
  int n_positions = 1024;      // P
  int n_embd = 768;            // H
  int n_layer = 12;            // L
  int n_head = 12;
  int n_inner = 0;             // F; 0 = 4 * n_embd
  Activation activation_function = Activation::kGeluNew;
  float resid_pdrop = 0.1f, embd_pdrop = 0.1f, attn_pdrop = 0.1f;
  float layer_norm_epsilon = 1e-5f;
  float initializer_range = 0.02f;
  int inner() const { return n_inner > 0 ? n_inner : 4 * n_embd; }
  void Validate() const;
};

// GPT2Config field names; "model_type" must be "gpt2" when present.
Gpt2Config ParseGpt2ConfigJson(const std::string& text, const std::string& source = "config.json");
std::string Gpt2ConfigToJson(const Gpt2Config& c);

struct Gpt2Block {
  LayerNorm ln1, ln2;  // (H)
  Linear c_attn;       // (H, 3H) Conv1D
  Linear attn_proj;    // (H, H) Conv1D
  Linear fc;           // (H, F) Conv1D
  Linear proj;         // (F, H) Conv1D
};

struct Gpt2BlockCache {
  Matrix x;            // (N, H) block input
  LayerNormCache ln1, ln2;
  Matrix a_in;         // (N, H) ln_1(x)
  Matrix q, k, v;      // (N, H)
  AttentionCache attn;
  Matrix ctx;          // (N, H)
  DropoutCache d_attn, d_mlp;
  Matrix h;            // (N, H) x + attention
  Matrix m_in;         // (N, H) ln_2(h)
  Matrix f_pre, f;     // (N, F)
};

struct Gpt2Outputs {
  std::vector<int32_t> positions;  // (N)
  DropoutCache emb_drop;
  std::vector<Gpt2BlockCache> blocks;
  Matrix pre_lnf;                  // (N, H)
  LayerNormCache lnf;
  Matrix hidden;                   // (N, H) after ln_f
  Matrix logits;                   // (N, V)
  Matrix d_logits;                 // (N, V)
  std::vector<int32_t> shifted;    // (N) labels shifted left; -100 at each sequence end
  float loss = 0;
};

class Gpt2Model {
 public:
  explicit Gpt2Model(const Gpt2Config& c);
  void Init(uint64_t seed);
  // labels (B*T) or empty: causal-LM loss where logits at t predict labels at t+1 (as
  // GPT2LMHeadModel shifts them); -100 ignored. Returns the mean loss (0 without labels).
  // Padding: batch.attention_mask masks keys; pad positions should carry label -100.
  float Forward(const Batch& batch, const std::vector<int32_t>& labels, const StepOptions& opt, Gpt2Outputs* out);
  void Backward(const Batch& batch, Gpt2Outputs* out);
  // Sum over t in [start[b], length_b) of log p(ids[b, t] | ids[b, < t]), where length_b is
  // the sequence's unpadded length: the likelihood score of a continuation (an answer)
  // after a prompt of start[b] tokens. start[b] >= 1.
  std::vector<float> ScoreContinuations(const Batch& batch, const std::vector<int>& start);

  ParamArena& params() { return arena_; }
  const ParamArena& params() const { return arena_; }
  const Gpt2Config& config() const { return config_; }

 private:
  Gpt2Config config_;
  ParamArena arena_;
  int wte_ = -1, wpe_ = -1;  // (V, H), (P, H)
  std::vector<Gpt2Block> blocks_;
  LayerNorm ln_f_;
};

// Loads tensors named with or without "transformer."; throws naming a missing tensor,
// wrong shape or dtype. Returns unused file tensor names.
std::vector<std::string> LoadGpt2Weights(const SafetensorsFile& file, Gpt2Model* model);
std::unique_ptr<Gpt2Model> LoadGpt2Dir(const std::string& dir);
// config.json (architectures: GPT2LMHeadModel) and model.safetensors, each atomic.
void SaveGpt2Dir(const Gpt2Model& model, const std::string& dir);

}  // namespace spade::encoder
