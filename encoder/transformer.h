// Encoder: the post-LayerNorm transformer trunk shared by BERT, ALBERT and ELECTRA —
// embeddings (word + position + token type, LayerNorm, dropout; ALBERT/ELECTRA project
// E -> H), L layers (self-attention, residual + LayerNorm, FFN, residual + LayerNorm) and
// the [CLS] pooler (tanh; absent for ELECTRA). Architecture differences are data: which
// tensor names a block gets and which block each layer applies (ALBERT sharing), never
// `if (arch == ...)` inside the math.
//
// Tensor names are the published checkpoints' names WITHOUT the model prefix
// ("embeddings.word_embeddings.weight", "encoder.layer.0.attention.self.query.weight",
// "encoder.albert_layer_groups.0.albert_layers.0.ffn.weight", "pooler.dense.weight").
//
// Thread-safety: Forward is const and may run concurrently with distinct states; Backward
// writes the arena's gradients and must not run concurrently with anything.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "encoder/attention.h"
#include "encoder/config.h"
#include "encoder/layers.h"
#include "encoder/params.h"

namespace spade::encoder {

// One padded batch. Sequence b is tokens b*T .. b*T+T-1.
struct Batch {
  int batch = 0;                        // B
  int seq = 0;                          // T (<= max_position_embeddings)
  std::vector<int32_t> input_ids;       // (B*T)
  std::vector<int32_t> token_type_ids;  // (B*T); empty = all 0
  std::vector<float> attention_mask;    // (B*T); 1 token, 0 padding; empty = no padding

  // Throws kInvalidArgument naming the field when sizes disagree with batch * seq.
  void Validate() const;
};

struct AttentionBlock {
  Linear query, key, value;  // (H, H) each
  Linear output;             // (H, H)
  LayerNorm norm;            // (H)
};

struct FfnBlock {
  Linear in;       // (F, H)
  Linear out;      // (H, F)
  LayerNorm norm;  // (H)
};

struct LayerCache {
  Matrix x;                 // (N, H) layer input
  Matrix q, k, v;           // (N, H)
  AttentionCache attn;
  Matrix ctx;               // (N, H)
  DropoutCache attn_drop;   // on the attention output projection
  LayerNormCache ln1;
  Matrix h1;                // (N, H) after the first LayerNorm
  Matrix f_pre;             // (N, F) before the activation
  Matrix f;                 // (N, F) after the activation
  DropoutCache ffn_drop;    // on the FFN output projection
  LayerNormCache ln2;
};

// Everything Forward computes and Backward reads; reuse one state across steps so the
// buffers are allocated once.
struct EncoderState {
  Matrix emb_sum;             // (N, E) word + position + type
  LayerNormCache emb_ln;
  Matrix emb;                 // (N, E) after LayerNorm and dropout
  DropoutCache emb_drop;
  std::vector<int32_t> position_ids;  // (N)
  std::vector<int32_t> type_ids;      // (N)
  std::vector<LayerCache> layers;     // one per applied layer
  Matrix hidden;              // (N, H) last_hidden_state
  Matrix cls;                 // (B, H) hidden rows of token 0
  Matrix pooled_pre;          // (B, H) before tanh
  Matrix pooled;              // (B, H) pooler output (empty without a pooler)
};

// Named intermediates of a Forward, in execution order, so a tool can dump them and diff
// against PyTorch layer by layer (`spade encode --dump`):
//   "embeddings"              (N, E) after LayerNorm (and dropout when training)
//   "embeddings.projected"    (N, H) ALBERT's embedding_hidden_mapping_in / ELECTRA's projection,
//                             whenever the model has one (even with E == H)
//   per applied layer i:
//   "layer{i}.attn.query|key|value"  (N, H) projections before the head split
//   "layer{i}.attn.probs"     (B*heads*T, T) softmax rows, row (b*heads + h)*T + t
//   "layer{i}.attn.context"   (N, H) heads re-joined, before the output projection
//   "layer{i}.attn.output"    (N, H) after the residual and LayerNorm
//   "layer{i}.ffn.intermediate" (N, F) after the activation
//   "layer{i}.output"         (N, H) the layer's output; the last one is last_hidden_state
//   "pooler"                  (B, H) when the model has one
using IntermediateObserver = std::function<void(const std::string& name, const Matrix& value)>;

// Gradients a loss places on intermediates of the trunk (TinyBERT's embedding, hidden-state
// and attention losses), added to Backward's d_hidden / d_pooled. Every member is optional:
// an empty matrix, or a vector shorter than the applied layers, contributes nothing, and
// Backward with all members empty gives exactly the gradients it gives without them.
struct EncoderGradients {
  Matrix embeddings;            // (N, E) d loss / d "embeddings" (after LayerNorm and dropout)
  Matrix embeddings_projected;  // (N, H) d loss / d "embeddings.projected"; only for models with a
                                // projection (has_projection()), else Backward throws
  std::vector<Matrix> layer_outputs;  // [i]: (N, H) d loss / d "layer{i}.output"
  std::vector<Matrix> attn_scores;    // [i]: (B*nH*T, T) d loss / d layer i's scaled scores, the
                                      // matrix AttentionScores() returns; masked entries ignored
  std::vector<Matrix> attn_probs;     // [i]: (B*nH*T, T) d loss / d "layer{i}.attn.probs"
};

class Encoder {
 public:
  // Registers the trunk's tensors in *arena (which must outlive the Encoder). Validates c.
  Encoder(const EncoderConfig& c, ParamArena* arena);

  // Published initialisation of EVERY tensor in the arena (heads included): matrices
  // N(0, initializer_range), biases 0, LayerNorm weights 1.
  void Init(uint64_t seed);

  // Dropout is active when `train`; masks depend only on (seed, site), not on threads.
  void Forward(const Batch& batch, bool train, uint64_t seed, EncoderState* state) const;
  // d_hidden (N, H) is d loss / d last_hidden_state; d_pooled (B, H) or nullptr. Both are
  // consumed (modified). `extra` (optional) adds gradients at intermediates; shape errors
  // name the intermediate. Accumulates into the arena's gradients.
  void Backward(const Batch& batch, EncoderState* state, Matrix* d_hidden, Matrix* d_pooled,
                const EncoderGradients* extra = nullptr);

  // Layer i's scaled attention scores (B*nH*T, T), masked keys set to 0 (attention.h
  // AttentionScores), recomputed from the q/k of `state` (filled by Forward on `batch`).
  void AttentionScores(const Batch& batch, const EncoderState& state, int layer, Matrix* scores) const;
  // The input of applied layer 0 ("embeddings.projected" when the model projects, else
  // "embeddings") and the output of applied layer i ("layer{i}.output"), as views into state.
  static const Matrix& LayerInput0(const EncoderState& state) { return state.layers.front().x; }
  static const Matrix& LayerOutput(const EncoderState& state, int layer) {
    return layer + 1 < static_cast<int>(state.layers.size()) ? state.layers[static_cast<size_t>(layer) + 1].x
                                                            : state.hidden;
  }

  // Hands each named intermediate of `state` (filled by Forward) to `observer`; see above.
  void VisitIntermediates(const EncoderState& state, const IntermediateObserver& observer) const;

  const EncoderConfig& config() const { return config_; }
  int word_embeddings() const { return word_; }  // (V, E): tied MLM decoder
  bool has_pooler() const { return pooler_.weight >= 0; }
  bool has_projection() const { return project_.weight >= 0; }  // E -> H mapping after the embeddings
  int applied_layers() const { return static_cast<int>(schedule_.size()); }

 private:
  void LayerForward(int i, const AttentionShape& s, const std::vector<float>& mask, bool train, uint64_t seed,
                    const Matrix& x, LayerCache* c, Matrix* out) const;
  void LayerBackward(int i, const AttentionShape& s, LayerCache* c, Matrix* dout, Matrix* dx,
                     const AttentionGradInjection* inject);
  std::string AttnName(int group, int inner) const;
  std::string FfnName(int group, int inner) const;

  EncoderConfig config_;
  ParamArena* arena_;
  int word_ = -1, position_ = -1, token_type_ = -1;  // (V, E), (P, E), (types, E)
  LayerNorm emb_norm_;                                 // (E)
  Linear project_;                                     // (H, E); weight -1 when E == H (BERT)
  std::vector<AttentionBlock> attn_;
  std::vector<FfnBlock> ffn_;
  std::vector<std::pair<int, int>> schedule_;  // applied layer -> (attn_ index, ffn_ index)
  Linear pooler_;                              // (H, H); weight -1 without a pooler
};

// Mixes a step seed with a dropout site id (stable across runs and thread counts).
uint64_t SiteSeed(uint64_t seed, uint64_t site);

}  // namespace spade::encoder
