// ERNIE's knowledgeable-encoder ("aggregator") layer (Zhang et al. 2019, "ERNIE: Enhanced
// Language Representation with Informative Entities"), as the released thunlp/ERNIE code
// computes it (code/knowledge_bert/modeling.py, BertLayer / BertLayerMix). Where the paper
// and the code differ, this follows the code, so released checkpoints load unchanged.
//
// Shapes: B batch, T tokens per sequence, N = B*T rows (sequence b is rows b*T .. b*T+T-1),
// H token width, De entity width (100 in ERNIE), F fusion width (intermediate_size).
// Every token row has one entity slot: the entity aligned to that token, or none
// (entity_mask[n] = 0, and then row n of e is ignored).
//
// One layer, inputs w (N, H), e (N, De), m = entity_mask (N):
//   token attention   wa = LN_a(w + Drop(O_a · MHA_tok(w; attention_mask)))        (N, H)
//   entity attention  ea = m ⊙ LN_ae(e + Drop(O_ae · MHA_ent(e; keys masked by m))) (N, De)
//                     (ERNIE's "mix" layer, entity_attention = false: ea = m ⊙ e)
//   fusion            h  = act(W_t · wa + b_t + W_e · ea + b_e)                     (N, F)
//                     A token without an entity has ea = 0, so h = act(W_t wa + b) with
//                     b = b_t + b_e: the paper's two cases with one bias.
//   token output      w' = LN_o(wa + Drop(W'_t · h + b'_t))                          (N, H)
//   entity output     e' = LN_oe(ea + Drop(W'_e · h + b'_e))                         (N, De)
// MHA_* is BERT self-attention (query/key/value projections, softmax(QK^T/sqrt(D)) with
// dropout on the probabilities); entity attention runs in width De with its own heads.
// The paper writes w' = GELU(W'_t h + b'); the released code has no activation there: the
// single projection W'_t feeds the residual + LayerNorm directly, and so does this layer.
// e' of a row without an entity is NOT zeroed (the code's `* ent_mask` there is commented
// out); the next layer masks it again. The residual of the entity output is the masked ea.
//
// Parameter names (ERNIE's own names, under `prefix`, e.g. "fusion.layer.0."):
//   attention.self.{query,key,value}.{weight,bias}       (H, H), (H)
//   attention.output.dense.{weight,bias}                 (H, H), (H)
//   attention.output.LayerNorm.{weight,bias}             (H)
//   attention.self_ent.{query,key,value}.{weight,bias}   (De, De), (De)   [entity_attention]
//   attention.output_ent.dense.{weight,bias}             (De, De), (De)   [entity_attention]
//   attention.output_ent.LayerNorm.{weight,bias}         (De)             [entity_attention]
//   intermediate.dense.{weight,bias}                     (F, H), (F)
//   intermediate.dense_ent.{weight,bias}                 (F, De), (F)
//   output.dense.{weight,bias}                           (H, F), (H)
//   output.LayerNorm.{weight,bias}                       (H)
//   output.dense_ent.{weight,bias}                       (De, F), (De)
//   output.LayerNorm_ent.{weight,bias}                   (De)
//
// Backward follows encoder/layers.h: parameter gradients ACCUMULATE into the arena; the
// input gradients dw, de are OVERWRITTEN (either may be nullptr). Forward is const and may
// run concurrently with distinct caches; Backward writes the arena and must not.
// Attention masking follows encoder/attention.h: a masked key gets probability exactly 0,
// and a query whose keys are all masked (a sequence without entities) gets zero context
// rather than NaN; those rows are then zeroed by m anyway.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "encoder/attention.h"
#include "encoder/layers.h"
#include "encoder/params.h"
#include "encoder/transformer.h"

namespace spade::fusion {

struct ErnieLayerConfig {
  int hidden_size = 768;             // H
  int entity_size = 100;             // De (ERNIE's TransE embeddings)
  int intermediate_size = 0;         // F; 0 means 4 * H, as BERT
  int num_attention_heads = 12;      // token heads; must divide H
  int num_entity_heads = 4;          // entity heads (ERNIE: 4); must divide De
  bool entity_attention = true;      // false: ERNIE's "mix" layer, no entity self-attention
  encoder::Activation hidden_act = encoder::Activation::kGelu;
  float hidden_dropout_prob = 0.1f;           // after each output projection
  float attention_probs_dropout_prob = 0.1f;  // on both attentions' probabilities
  float layer_norm_eps = 1e-12f;
  float initializer_range = 0.02f;  // Init(): matrices N(0, range)

  int Intermediate() const { return intermediate_size > 0 ? intermediate_size : 4 * hidden_size; }
  // Throws encoder::Error(kInvalidArgument) naming the offending field and its value.
  void Validate() const;
};

// The masks of one batch. Sizes are B*T.
struct ErnieMasks {
  int batch = 0;                       // B
  int seq = 0;                         // T
  std::vector<float> attention_mask;   // 1 token, 0 padding; empty = no padding
  std::vector<float> entity_mask;      // 1 when the token has an aligned entity, else 0

  // Throws kInvalidArgument naming the field when sizes disagree with batch * seq.
  void Validate() const;
};

// What Forward computes and Backward reads, per attention side (token or entity).
struct ErnieAttentionCache {
  encoder::Matrix x;                 // (N, W) side input (W = H or De)
  encoder::Matrix q, k, v;           // (N, W)
  encoder::AttentionCache attn;
  encoder::Matrix ctx;               // (N, W) heads re-joined
  encoder::DropoutCache drop;        // on the output projection
  encoder::LayerNormCache ln;
};

struct ErnieLayerCache {
  ErnieAttentionCache tok, ent;      // ent unused without entity_attention
  encoder::Matrix wa;                // (N, H) attended tokens
  encoder::Matrix ea;                // (N, De) attended entities, rows without an entity 0
  encoder::Matrix h_pre;             // (N, F) before the activation
  encoder::Matrix h;                 // (N, F) fused
  encoder::DropoutCache drop_w, drop_e;
  encoder::LayerNormCache ln_w, ln_e;
};

class ErnieLayer {
 public:
  // Registers the tensors listed above under `prefix` (e.g. "fusion.layer.0.") in *arena,
  // which must outlive the layer and not be allocated yet. Validates c.
  ErnieLayer(const ErnieLayerConfig& c, const std::string& prefix, encoder::ParamArena* arena);

  // BERT's initialisation of this layer's tensors only: matrices N(0, initializer_range),
  // biases 0, LayerNorm weights 1.
  void Init(uint64_t seed);

  // w (N, H), e (N, De) -> w_out (N, H), e_out (N, De). Dropout only when `train`; masks
  // depend on (seed, site) only. Throws kInvalidArgument naming the input on a shape error.
  void Forward(const ErnieMasks& m, const encoder::Matrix& w, const encoder::Matrix& e, bool train, uint64_t seed,
               ErnieLayerCache* cache, encoder::Matrix* w_out, encoder::Matrix* e_out) const;
  // dw_out (N, H), de_out (N, De): d loss / d outputs. Accumulates parameter gradients;
  // overwrites *dw (N, H) and *de (N, De) when non-null.
  void Backward(const ErnieMasks& m, const ErnieLayerCache& cache, const encoder::Matrix& dw_out,
                const encoder::Matrix& de_out, encoder::Matrix* dw, encoder::Matrix* de);

  const ErnieLayerConfig& config() const { return config_; }
  const std::vector<int>& param_ids() const { return ids_; }  // this layer's tensors, registration order

 private:
  ErnieLayerConfig config_;
  encoder::ParamArena* arena_;
  encoder::AttentionBlock tok_attn_;  // (H, H) projections, LayerNorm (H)
  encoder::AttentionBlock ent_attn_;  // (De, De) projections, LayerNorm (De); ids -1 without entity_attention
  encoder::Linear fuse_tok_, fuse_ent_;  // (F, H), (F, De)
  encoder::Linear out_tok_, out_ent_;    // (H, F), (De, F)
  encoder::LayerNorm out_norm_tok_, out_norm_ent_;  // (H), (De)
  std::vector<int> ids_;
};

struct FusionStackState {
  std::vector<ErnieLayerCache> layers;
  encoder::Matrix w, e;  // (N, H), (N, De) outputs of the last layer
};

// M ErnieLayers applied in sequence (ERNIE's knowledgeable encoder), layer i named
// "<prefix><i>." (prefix default "fusion.layer."). Same contracts as ErnieLayer.
class FusionStack {
 public:
  FusionStack(const ErnieLayerConfig& c, int num_layers, encoder::ParamArena* arena,
              const std::string& prefix = "fusion.layer.");
  void Init(uint64_t seed);
  // Layer i draws its dropout masks from SiteSeed(seed, 1000 + i).
  void Forward(const ErnieMasks& m, const encoder::Matrix& w, const encoder::Matrix& e, bool train, uint64_t seed,
               FusionStackState* state) const;
  // Consumes nothing; dw, de (either nullable) are overwritten with the stack input's gradients.
  void Backward(const ErnieMasks& m, const FusionStackState& state, const encoder::Matrix& dw_out,
                const encoder::Matrix& de_out, encoder::Matrix* dw, encoder::Matrix* de);
  int num_layers() const { return static_cast<int>(layers_.size()); }
  const ErnieLayer& layer(int i) const { return layers_[static_cast<size_t>(i)]; }

 private:
  std::vector<ErnieLayer> layers_;
};

}  // namespace spade::fusion
