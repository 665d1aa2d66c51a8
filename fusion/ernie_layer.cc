#include "fusion/ernie_layer.h"

#include <utility>

namespace spade::fusion {

using encoder::AttentionBlock;
using encoder::AttentionShape;
using encoder::Error;
using encoder::ErrorCode;
using encoder::Matrix;
using encoder::ParamArena;

namespace {

// Dropout sites inside one layer (mixed with the layer's seed by SiteSeed).
enum Site : uint64_t { kTokProbs = 1, kTokOut, kEntProbs, kEntOut, kOutTok, kOutEnt };

[[noreturn]] void ThrowField(const char* field, int value, const char* why) {
  std::string msg("ernie layer: ");
  msg.append(field).append(" = ").append(std::to_string(value)).append(" ").append(why);
  throw Error(ErrorCode::kInvalidArgument, msg);
}

void CheckMaskSize(const char* field, const std::vector<float>& mask, int B, int T) {
  const int64_t n = static_cast<int64_t>(B) * T;
  if (static_cast<int64_t>(mask.size()) != n) {
    encoder::ThrowShapeMismatch(std::string("ernie masks: ").append(field), {B, T},
                                {static_cast<int64_t>(mask.size())});
  }
}

AttentionBlock AddAttention(ParamArena& arena, const std::string& self, const std::string& out, int width,
                            float eps) {
  AttentionBlock a;
  a.query = encoder::AddLinear(arena, self + ".query", width, width);
  a.key = encoder::AddLinear(arena, self + ".key", width, width);
  a.value = encoder::AddLinear(arena, self + ".value", width, width);
  a.output = encoder::AddLinear(arena, out + ".dense", width, width);
  a.norm = encoder::AddLayerNorm(arena, out + ".LayerNorm", width, eps);
  return a;
}

// BERT's attention block: LN(x + Drop(O · MHA(x))). `seed` is the layer's seed.
void AttentionSideForward(const ParamArena& ar, const AttentionBlock& a, const AttentionShape& s,
                          const std::vector<float>& key_mask, float p_attn, float p_hidden, bool train, uint64_t seed,
                          uint64_t probs_site, uint64_t out_site, const char* what, const Matrix& x,
                          ErnieAttentionCache* c, Matrix* y) {
  c->x = x;
  encoder::LinearForward(ar, a.query, x, &c->q);
  encoder::LinearForward(ar, a.key, x, &c->k);
  encoder::LinearForward(ar, a.value, x, &c->v);
  encoder::AttentionForward(s, c->q, c->k, c->v, key_mask, p_attn, train, encoder::SiteSeed(seed, probs_site), &c->attn,
                            &c->ctx, what);
  Matrix sum;
  encoder::LinearForward(ar, a.output, c->ctx, &sum);
  encoder::DropoutForward(p_hidden, train, encoder::SiteSeed(seed, out_site), &sum, &c->drop);
  sum += x;
  encoder::LayerNormForward(ar, a.norm, sum, y, &c->ln);
}

// The reverse of AttentionSideForward; dy is d loss / d its output, *dx is overwritten.
void AttentionSideBackward(ParamArena& ar, const AttentionBlock& a, const AttentionShape& s,
                           const ErnieAttentionCache& c, const Matrix& dy, const char* what, Matrix* dx) {
  Matrix d_sum, dctx, dq, dk, dv, tmp;
  encoder::LayerNormBackward(ar, a.norm, dy, c.ln, &d_sum);
  *dx = d_sum;  // the residual
  encoder::DropoutBackward(c.drop, &d_sum);
  encoder::LinearBackward(ar, a.output, c.ctx, d_sum, &dctx);
  encoder::AttentionBackward(s, c.q, c.k, c.v, c.attn, dctx, &dq, &dk, &dv, nullptr, what);
  encoder::LinearBackward(ar, a.query, c.x, dq, &tmp);
  *dx += tmp;
  encoder::LinearBackward(ar, a.key, c.x, dk, &tmp);
  *dx += tmp;
  encoder::LinearBackward(ar, a.value, c.x, dv, &tmp);
  *dx += tmp;
}

// Zeroes the rows of x whose entity mask is 0 (ERNIE multiplies by ent_mask; exact zeros
// here also keep a non-finite value in an unused entity row from leaking through).
void MaskRows(const std::vector<float>& mask, Matrix* x) {
  for (Eigen::Index r = 0; r < x->rows(); ++r) {
    if (mask[static_cast<size_t>(r)] == 0.0f) {
      x->row(r).setZero();
    } else if (mask[static_cast<size_t>(r)] != 1.0f) {
      x->row(r) *= mask[static_cast<size_t>(r)];
    }
  }
}

}  // namespace

void ErnieLayerConfig::Validate() const {
  if (hidden_size <= 0) ThrowField("hidden_size", hidden_size, "must be positive");
  if (entity_size <= 0) ThrowField("entity_size", entity_size, "must be positive");
  if (intermediate_size < 0) ThrowField("intermediate_size", intermediate_size, "must be >= 0 (0 = 4 * hidden_size)");
  if (num_attention_heads <= 0 || hidden_size % num_attention_heads != 0) {
    ThrowField("num_attention_heads", num_attention_heads, "must be positive and divide hidden_size");
  }
  if (entity_attention && (num_entity_heads <= 0 || entity_size % num_entity_heads != 0)) {
    ThrowField("num_entity_heads", num_entity_heads, "must be positive and divide entity_size");
  }
  auto check_p = [](const char* field, float p) {
    if (!(p >= 0.0f && p < 1.0f)) {
      std::string msg("ernie layer: ");
      msg.append(field).append(" = ").append(std::to_string(p)).append(" is outside [0, 1)");
      throw Error(ErrorCode::kInvalidArgument, msg);
    }
  };
  check_p("hidden_dropout_prob", hidden_dropout_prob);
  check_p("attention_probs_dropout_prob", attention_probs_dropout_prob);
}

void ErnieMasks::Validate() const {
  if (batch <= 0 || seq <= 0) encoder::ThrowShapeMismatch("ernie masks: (batch, seq)", {batch, seq}, {batch, seq});
  if (!attention_mask.empty()) CheckMaskSize("attention_mask", attention_mask, batch, seq);
  CheckMaskSize("entity_mask", entity_mask, batch, seq);
}

ErnieLayer::ErnieLayer(const ErnieLayerConfig& c, const std::string& prefix, ParamArena* arena)
    : config_(c), arena_(arena) {
  config_.Validate();
  const int H = c.hidden_size, De = c.entity_size, F = c.Intermediate();
  const float eps = c.layer_norm_eps;
  const size_t first = arena->params().size();
  tok_attn_ = AddAttention(*arena, prefix + "attention.self", prefix + "attention.output", H, eps);
  if (c.entity_attention) {
    ent_attn_ = AddAttention(*arena, prefix + "attention.self_ent", prefix + "attention.output_ent", De, eps);
  }
  fuse_tok_ = encoder::AddLinear(*arena, prefix + "intermediate.dense", H, F);
  fuse_ent_ = encoder::AddLinear(*arena, prefix + "intermediate.dense_ent", De, F);
  out_tok_ = encoder::AddLinear(*arena, prefix + "output.dense", F, H);
  out_norm_tok_ = encoder::AddLayerNorm(*arena, prefix + "output.LayerNorm", H, eps);
  out_ent_ = encoder::AddLinear(*arena, prefix + "output.dense_ent", F, De);
  out_norm_ent_ = encoder::AddLayerNorm(*arena, prefix + "output.LayerNorm_ent", De, eps);
  for (size_t id = first; id < arena->params().size(); ++id) ids_.push_back(static_cast<int>(id));
}

void ErnieLayer::Init(uint64_t seed) {
  for (int id : ids_) {
    const encoder::ParamInfo& p = arena_->info(id);
    if (!p.is_vector) {
      arena_->InitNormal(id, config_.initializer_range, seed);
      continue;
    }
    // Vectors are biases (0) except LayerNorm weights (1); only LayerNorms have a 1-D ".weight".
    const bool ln_weight = p.name.size() > 7 && p.name.compare(p.name.size() - 7, 7, ".weight") == 0;
    arena_->Fill(id, ln_weight ? 1.0f : 0.0f);
  }
}

void ErnieLayer::Forward(const ErnieMasks& m, const Matrix& w, const Matrix& e, bool train, uint64_t seed,
                         ErnieLayerCache* c, Matrix* w_out, Matrix* e_out) const {
  m.Validate();
  const ErnieLayerConfig& k = config_;
  const int64_t N = static_cast<int64_t>(m.batch) * m.seq;
  encoder::CheckShape("ernie layer: token states w", w, N, k.hidden_size);
  encoder::CheckShape("ernie layer: entity states e", e, N, k.entity_size);
  const ParamArena& ar = *arena_;
  const AttentionShape st{m.batch, m.seq, k.num_attention_heads, k.hidden_size / k.num_attention_heads, false};
  AttentionSideForward(ar, tok_attn_, st, m.attention_mask, k.attention_probs_dropout_prob, k.hidden_dropout_prob,
                       train, seed, kTokProbs, kTokOut, "ernie token attention", w, &c->tok, &c->wa);
  if (k.entity_attention) {
    // Keys are the token slots that hold an entity (ERNIE passes ent_mask as the entity
    // attention mask); padding never holds one.
    const AttentionShape se{m.batch, m.seq, k.num_entity_heads, k.entity_size / k.num_entity_heads, false};
    AttentionSideForward(ar, ent_attn_, se, m.entity_mask, k.attention_probs_dropout_prob, k.hidden_dropout_prob,
                         train, seed, kEntProbs, kEntOut, "ernie entity attention", e, &c->ent, &c->ea);
  } else {
    c->ea = e;
  }
  MaskRows(m.entity_mask, &c->ea);

  Matrix tmp;
  encoder::LinearForward(ar, fuse_tok_, c->wa, &c->h_pre);
  encoder::LinearForward(ar, fuse_ent_, c->ea, &tmp);
  c->h_pre += tmp;
  encoder::ActivationForward(k.hidden_act, c->h_pre, &c->h);

  encoder::LinearForward(ar, out_tok_, c->h, &tmp);
  encoder::DropoutForward(k.hidden_dropout_prob, train, encoder::SiteSeed(seed, kOutTok), &tmp, &c->drop_w);
  tmp += c->wa;
  encoder::LayerNormForward(ar, out_norm_tok_, tmp, w_out, &c->ln_w);
  encoder::LinearForward(ar, out_ent_, c->h, &tmp);
  encoder::DropoutForward(k.hidden_dropout_prob, train, encoder::SiteSeed(seed, kOutEnt), &tmp, &c->drop_e);
  tmp += c->ea;
  encoder::LayerNormForward(ar, out_norm_ent_, tmp, e_out, &c->ln_e);
}

void ErnieLayer::Backward(const ErnieMasks& m, const ErnieLayerCache& c, const Matrix& dw_out, const Matrix& de_out,
                          Matrix* dw, Matrix* de) {
  const ErnieLayerConfig& k = config_;
  const int64_t N = static_cast<int64_t>(m.batch) * m.seq;
  encoder::CheckShape("ernie layer: d w_out", dw_out, N, k.hidden_size);
  encoder::CheckShape("ernie layer: d e_out", de_out, N, k.entity_size);
  ParamArena& ar = *arena_;
  Matrix dwa, dea, d_sum, dh, dh_pre, tmp;
  // Outputs: each side's residual sends its gradient straight to wa / ea.
  encoder::LayerNormBackward(ar, out_norm_tok_, dw_out, c.ln_w, &d_sum);
  dwa = d_sum;
  encoder::DropoutBackward(c.drop_w, &d_sum);
  encoder::LinearBackward(ar, out_tok_, c.h, d_sum, &dh);
  encoder::LayerNormBackward(ar, out_norm_ent_, de_out, c.ln_e, &d_sum);
  dea = d_sum;
  encoder::DropoutBackward(c.drop_e, &d_sum);
  encoder::LinearBackward(ar, out_ent_, c.h, d_sum, &tmp);
  dh += tmp;

  // Fusion.
  encoder::ActivationBackward(k.hidden_act, c.h_pre, dh, &dh_pre);
  encoder::LinearBackward(ar, fuse_tok_, c.wa, dh_pre, &tmp);
  dwa += tmp;
  encoder::LinearBackward(ar, fuse_ent_, c.ea, dh_pre, &tmp);
  dea += tmp;
  MaskRows(m.entity_mask, &dea);  // ea = m ⊙ (...)

  // Attentions.
  Matrix dx;
  const AttentionShape st{m.batch, m.seq, k.num_attention_heads, k.hidden_size / k.num_attention_heads, false};
  AttentionSideBackward(ar, tok_attn_, st, c.tok, dwa, "ernie token attention", &dx);
  if (dw) *dw = std::move(dx);
  if (k.entity_attention) {
    const AttentionShape se{m.batch, m.seq, k.num_entity_heads, k.entity_size / k.num_entity_heads, false};
    AttentionSideBackward(ar, ent_attn_, se, c.ent, dea, "ernie entity attention", &dx);
    if (de) *de = std::move(dx);
  } else if (de) {
    *de = std::move(dea);
  }
}

FusionStack::FusionStack(const ErnieLayerConfig& c, int num_layers, ParamArena* arena, const std::string& prefix) {
  if (num_layers <= 0) ThrowField("num_layers", num_layers, "must be positive");
  layers_.reserve(static_cast<size_t>(num_layers));
  for (int i = 0; i < num_layers; ++i) {
    layers_.emplace_back(c, std::string(prefix).append(std::to_string(i)).append("."), arena);
  }
}

void FusionStack::Init(uint64_t seed) {
  for (ErnieLayer& l : layers_) l.Init(seed);  // InitNormal mixes in each tensor id
}

void FusionStack::Forward(const ErnieMasks& m, const Matrix& w, const Matrix& e, bool train, uint64_t seed,
                          FusionStackState* s) const {
  s->layers.resize(layers_.size());
  Matrix w_in = w, e_in = e;
  for (size_t i = 0; i < layers_.size(); ++i) {
    layers_[i].Forward(m, w_in, e_in, train, encoder::SiteSeed(seed, 1000 + i), &s->layers[i], &s->w, &s->e);
    if (i + 1 < layers_.size()) {
      w_in = s->w;
      e_in = s->e;
    }
  }
}

void FusionStack::Backward(const ErnieMasks& m, const FusionStackState& s, const Matrix& dw_out,
                           const Matrix& de_out, Matrix* dw, Matrix* de) {
  Matrix gw = dw_out, ge = de_out, nw, ne;
  for (size_t i = layers_.size(); i-- > 0;) {
    layers_[i].Backward(m, s.layers[i], gw, ge, &nw, &ne);
    std::swap(gw, nw);
    std::swap(ge, ne);
  }
  if (dw) *dw = std::move(gw);
  if (de) *de = std::move(ge);
}

}  // namespace spade::fusion
