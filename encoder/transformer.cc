#include "encoder/transformer.h"

namespace spade::encoder {

uint64_t SiteSeed(uint64_t seed, uint64_t site) {
  uint64_t z = seed ^ (site * 0xD1B54A32D192ED03ULL + 0x8CB92BA72F3D8DD7ULL);
  z = (z ^ (z >> 33)) * 0xFF51AFD7ED558CCDULL;
  return z ^ (z >> 29);
}

void Batch::Validate() const {
  const int64_t n = static_cast<int64_t>(batch) * seq;
  if (batch <= 0 || seq <= 0) ThrowShapeMismatch("batch", {batch, seq}, {batch, seq});
  if (static_cast<int64_t>(input_ids.size()) != n) {
    ThrowShapeMismatch("input_ids", {batch, seq}, {static_cast<int64_t>(input_ids.size())});
  }
  if (!token_type_ids.empty() && static_cast<int64_t>(token_type_ids.size()) != n) {
    ThrowShapeMismatch("token_type_ids", {batch, seq}, {static_cast<int64_t>(token_type_ids.size())});
  }
  if (!attention_mask.empty() && static_cast<int64_t>(attention_mask.size()) != n) {
    ThrowShapeMismatch("attention_mask", {batch, seq}, {static_cast<int64_t>(attention_mask.size())});
  }
}

std::string Encoder::AttnName(int group, int inner) const {
  if (config_.arch == Arch::kAlbert) {
    return "encoder.albert_layer_groups." + std::to_string(group) + ".albert_layers." + std::to_string(inner) +
           ".attention";
  }
  return "encoder.layer." + std::to_string(group) + ".attention";
}

std::string Encoder::FfnName(int group, int inner) const {
  return "encoder.albert_layer_groups." + std::to_string(group) + ".albert_layers." + std::to_string(inner);
}

Encoder::Encoder(const EncoderConfig& c, ParamArena* arena) : config_(c), arena_(arena) {
  config_.Validate();
  const int H = c.hidden_size, E = c.embedding_size, F = c.intermediate_size, L = c.num_hidden_layers;
  const float eps = c.layer_norm_eps;
  word_ = arena->AddMatrix("embeddings.word_embeddings.weight", c.vocab_size, E);
  position_ = arena->AddMatrix("embeddings.position_embeddings.weight", c.max_position_embeddings, E);
  token_type_ = arena->AddMatrix("embeddings.token_type_embeddings.weight", c.type_vocab_size, E);
  emb_norm_ = AddLayerNorm(*arena, "embeddings.LayerNorm", E, eps);
  if (c.arch == Arch::kAlbert) {
    project_ = AddLinear(*arena, "encoder.embedding_hidden_mapping_in", E, H);
  } else if (c.arch == Arch::kElectra && E != H) {
    project_ = AddLinear(*arena, "embeddings_project", E, H);
  }

  auto add_attn = [&](const std::string& p, bool albert) {
    AttentionBlock a;
    const std::string self = albert ? p : p + ".self";
    a.query = AddLinear(*arena, self + ".query", H, H);
    a.key = AddLinear(*arena, self + ".key", H, H);
    a.value = AddLinear(*arena, self + ".value", H, H);
    a.output = AddLinear(*arena, albert ? p + ".dense" : p + ".output.dense", H, H);
    a.norm = AddLayerNorm(*arena, albert ? p + ".LayerNorm" : p + ".output.LayerNorm", H, eps);
    attn_.push_back(a);
    return static_cast<int>(attn_.size()) - 1;
  };
  auto add_ffn_bert = [&](int l) {
    const std::string p = "encoder.layer." + std::to_string(l);
    FfnBlock f;
    f.in = AddLinear(*arena, p + ".intermediate.dense", H, F);
    f.out = AddLinear(*arena, p + ".output.dense", F, H);
    f.norm = AddLayerNorm(*arena, p + ".output.LayerNorm", H, eps);
    ffn_.push_back(f);
    return static_cast<int>(ffn_.size()) - 1;
  };
  auto add_ffn_albert = [&](int g, int k) {
    const std::string p = FfnName(g, k);
    FfnBlock f;
    f.in = AddLinear(*arena, p + ".ffn", H, F);
    f.out = AddLinear(*arena, p + ".ffn_output", F, H);
    f.norm = AddLayerNorm(*arena, p + ".full_layer_layer_norm", H, eps);
    ffn_.push_back(f);
    return static_cast<int>(ffn_.size()) - 1;
  };

  if (c.arch != Arch::kAlbert) {
    for (int l = 0; l < L; ++l) {
      const int a = add_attn(AttnName(l, 0), false);  // registration order = file order
      schedule_.emplace_back(a, add_ffn_bert(l));
    }
  } else if (c.sharing == Sharing::kAll || c.sharing == Sharing::kNone) {
    const int G = c.sharing == Sharing::kNone ? L : c.num_hidden_groups, K = c.inner_group_num;
    for (int g = 0; g < G; ++g) {
      for (int k = 0; k < K; ++k) {
        add_attn(AttnName(g, k), true);
        add_ffn_albert(g, k);
      }
    }
    // Hugging Face: group_idx = int(i / (L / G)); equal to floor(i * G / L).
    for (int i = 0; i < L; ++i) {
      const int g = static_cast<int>(static_cast<int64_t>(i) * G / L);
      for (int k = 0; k < K; ++k) schedule_.emplace_back(g * K + k, g * K + k);
    }
  } else if (c.sharing == Sharing::kAttention) {
    const int a = add_attn(AttnName(0, 0), true);
    for (int i = 0; i < L; ++i) schedule_.emplace_back(a, add_ffn_albert(i, 0));
  } else {  // kFfn
    for (int i = 0; i < L; ++i) {
      const int a = add_attn(AttnName(i, 0), true);
      const int f = i == 0 ? add_ffn_albert(0, 0) : 0;
      schedule_.emplace_back(a, f);
    }
  }
  if (c.arch == Arch::kBert) {
    pooler_ = AddLinear(*arena, "pooler.dense", H, H);
  } else if (c.arch == Arch::kAlbert) {
    pooler_ = AddLinear(*arena, "pooler", H, H);
  }
}

void Encoder::Init(uint64_t seed) {
  // Every registered trunk tensor: matrices ~ N(0, range) (embeddings included), vectors 0,
  // LayerNorm weights 1.
  const auto& ps = arena_->params();
  for (int id = 0; id < static_cast<int>(ps.size()); ++id) {
    const ParamInfo& p = ps[static_cast<size_t>(id)];
    if (p.is_vector) {
      const bool ln_weight = p.name.size() > 7 && p.name.compare(p.name.size() - 7, 7, ".weight") == 0;
      arena_->Fill(id, ln_weight ? 1.0f : 0.0f);
    } else {
      arena_->InitNormal(id, config_.initializer_range, seed);
    }
  }
}

void Encoder::LayerForward(int i, const AttentionShape& s, const std::vector<float>& mask, bool train, uint64_t seed,
                           const Matrix& x, LayerCache* c, Matrix* out) const {
  const AttentionBlock& a = attn_[static_cast<size_t>(schedule_[static_cast<size_t>(i)].first)];
  const FfnBlock& f = ffn_[static_cast<size_t>(schedule_[static_cast<size_t>(i)].second)];
  const ParamArena& ar = *arena_;
  c->x = x;
  LinearForward(ar, a.query, x, &c->q);
  LinearForward(ar, a.key, x, &c->k);
  LinearForward(ar, a.value, x, &c->v);
  const uint64_t site = 100 + 10 * static_cast<uint64_t>(i);
  AttentionForward(s, c->q, c->k, c->v, mask, config_.attention_probs_dropout_prob, train, SiteSeed(seed, site),
                   &c->attn, &c->ctx);
  Matrix& tmp = *out;  // reuse the output buffer as scratch
  LinearForward(ar, a.output, c->ctx, &tmp);
  DropoutForward(config_.hidden_dropout_prob, train, SiteSeed(seed, site + 1), &tmp, &c->attn_drop);
  tmp += x;
  LayerNormForward(ar, a.norm, tmp, &c->h1, &c->ln1);
  LinearForward(ar, f.in, c->h1, &c->f_pre);
  ActivationForward(config_.hidden_act, c->f_pre, &c->f);
  LinearForward(ar, f.out, c->f, &tmp);
  DropoutForward(config_.hidden_dropout_prob, train, SiteSeed(seed, site + 2), &tmp, &c->ffn_drop);
  tmp += c->h1;
  Matrix sum = std::move(tmp);
  LayerNormForward(ar, f.norm, sum, out, &c->ln2);
}

void Encoder::LayerBackward(int i, const AttentionShape& s, LayerCache* c, Matrix* dout, Matrix* dx,
                            const AttentionGradInjection* inject) {
  const AttentionBlock& a = attn_[static_cast<size_t>(schedule_[static_cast<size_t>(i)].first)];
  const FfnBlock& f = ffn_[static_cast<size_t>(schedule_[static_cast<size_t>(i)].second)];
  ParamArena& ar = *arena_;
  Matrix d_sum2, df, df_pre, dh1, d_sum1, dctx, dq, dk, dv, tmp;
  LayerNormBackward(ar, f.norm, *dout, c->ln2, &d_sum2);  // d(ffn_out + h1)
  dh1 = d_sum2;
  DropoutBackward(c->ffn_drop, &d_sum2);
  LinearBackward(ar, f.out, c->f, d_sum2, &df);
  ActivationBackward(config_.hidden_act, c->f_pre, df, &df_pre);
  LinearBackward(ar, f.in, c->h1, df_pre, &tmp);
  dh1 += tmp;
  LayerNormBackward(ar, a.norm, dh1, c->ln1, &d_sum1);  // d(attn_out + x)
  *dx = d_sum1;
  DropoutBackward(c->attn_drop, &d_sum1);
  LinearBackward(ar, a.output, c->ctx, d_sum1, &dctx);
  AttentionBackward(s, c->q, c->k, c->v, c->attn, dctx, &dq, &dk, &dv, inject);
  LinearBackward(ar, a.query, c->x, dq, &tmp);
  *dx += tmp;
  LinearBackward(ar, a.key, c->x, dk, &tmp);
  *dx += tmp;
  LinearBackward(ar, a.value, c->x, dv, &tmp);
  *dx += tmp;
}

void Encoder::Forward(const Batch& batch, bool train, uint64_t seed, EncoderState* st) const {
  batch.Validate();
  const int B = batch.batch, T = batch.seq;
  const size_t N = static_cast<size_t>(B) * T;
  if (T > config_.max_position_embeddings) {
    throw Error(ErrorCode::kInvalidArgument, "input_ids: sequence length " + std::to_string(T) +
                                                 " exceeds max_position_embeddings " +
                                                 std::to_string(config_.max_position_embeddings));
  }
  const ParamArena& ar = *arena_;
  st->position_ids.resize(N);
  for (size_t n = 0; n < N; ++n) st->position_ids[n] = static_cast<int32_t>(n % static_cast<size_t>(T));
  st->type_ids = batch.token_type_ids.empty() ? std::vector<int32_t>(N, 0) : batch.token_type_ids;
  Matrix tmp;
  EmbeddingForward(ar, word_, batch.input_ids, &st->emb_sum);
  EmbeddingForward(ar, position_, st->position_ids, &tmp);
  st->emb_sum += tmp;
  EmbeddingForward(ar, token_type_, st->type_ids, &tmp);
  st->emb_sum += tmp;
  LayerNormForward(ar, emb_norm_, st->emb_sum, &st->emb, &st->emb_ln);
  DropoutForward(config_.hidden_dropout_prob, train, SiteSeed(seed, 1), &st->emb, &st->emb_drop);
  Matrix x;
  if (project_.weight >= 0) {
    LinearForward(ar, project_, st->emb, &x);
  } else {
    x = st->emb;
  }
  AttentionShape s{B, T, config_.num_attention_heads, config_.hidden_size / config_.num_attention_heads, false};
  st->layers.resize(schedule_.size());
  for (size_t i = 0; i < schedule_.size(); ++i) {
    LayerForward(static_cast<int>(i), s, batch.attention_mask, train, seed, x, &st->layers[i], &st->hidden);
    if (i + 1 < schedule_.size()) x = st->hidden;
  }
  if (pooler_.weight >= 0) {
    st->cls.resize(B, config_.hidden_size);
    for (int b = 0; b < B; ++b) st->cls.row(b) = st->hidden.row(static_cast<Eigen::Index>(b) * T);
    LinearForward(ar, pooler_, st->cls, &st->pooled_pre);
    ActivationForward(Activation::kTanh, st->pooled_pre, &st->pooled);
  } else {
    st->pooled.resize(0, 0);
  }
}

void Encoder::VisitIntermediates(const EncoderState& st, const IntermediateObserver& observer) const {
  observer("embeddings", st.emb);
  const size_t L = st.layers.size();
  if (L > 0 && project_.weight >= 0) observer("embeddings.projected", st.layers[0].x);
  for (size_t i = 0; i < L; ++i) {
    const LayerCache& c = st.layers[i];
    const std::string p = "layer" + std::to_string(i) + ".";
    observer(p + "attn.query", c.q);
    observer(p + "attn.key", c.k);
    observer(p + "attn.value", c.v);
    observer(p + "attn.probs", c.attn.probs);
    observer(p + "attn.context", c.ctx);
    observer(p + "attn.output", c.h1);
    observer(p + "ffn.intermediate", c.f);
    observer(p + "output", i + 1 < L ? st.layers[i + 1].x : st.hidden);
  }
  if (st.pooled.size() > 0) observer("pooler", st.pooled);
}

void Encoder::AttentionScores(const Batch& batch, const EncoderState& st, int layer, Matrix* scores) const {
  if (layer < 0 || layer >= static_cast<int>(st.layers.size())) {
    throw Error(ErrorCode::kInvalidArgument, "attention scores: layer " + std::to_string(layer) + " is outside [0, " +
                                                 std::to_string(st.layers.size()) + ")");
  }
  const LayerCache& c = st.layers[static_cast<size_t>(layer)];
  AttentionShape s{batch.batch, batch.seq, config_.num_attention_heads,
                   config_.hidden_size / config_.num_attention_heads, false};
  const std::string what = "layer" + std::to_string(layer) + " attention";
  spade::encoder::AttentionScores(s, c.q, c.k, batch.attention_mask, scores, what.c_str());
}

namespace {

// Checks every injected gradient's shape before Backward touches the arena.
void CheckExtra(const EncoderGradients& g, const EncoderConfig& c, int B, int T, int layers, bool projects) {
  const int64_t N = static_cast<int64_t>(B) * T, rows = N * c.num_attention_heads;
  if (g.embeddings.size()) CheckShape("d embeddings", g.embeddings, N, c.embedding_size);
  if (g.embeddings_projected.size()) {
    if (!projects) {
      throw Error(ErrorCode::kInvalidArgument,
                  "d embeddings.projected: this model has no embedding projection (inject at 'embeddings')");
    }
    CheckShape("d embeddings.projected", g.embeddings_projected, N, c.hidden_size);
  }
  auto check_list = [&](const std::vector<Matrix>& list, const char* name, int64_t r, int64_t cols) {
    if (static_cast<int>(list.size()) > layers) {
      throw Error(ErrorCode::kInvalidArgument, std::string("d ") + name + ": " + std::to_string(list.size()) +
                                                   " layers given, the model applies " + std::to_string(layers));
    }
    for (size_t i = 0; i < list.size(); ++i) {
      if (list[i].size()) CheckShape("d layer" + std::to_string(i) + "." + name, list[i], r, cols);
    }
  };
  check_list(g.layer_outputs, "output", N, c.hidden_size);
  check_list(g.attn_scores, "attn.scores", rows, T);
  check_list(g.attn_probs, "attn.probs", rows, T);
}

const Matrix* Nonempty(const std::vector<Matrix>& list, int i) {
  return i < static_cast<int>(list.size()) && list[static_cast<size_t>(i)].size() ? &list[static_cast<size_t>(i)]
                                                                                   : nullptr;
}

}  // namespace

void Encoder::Backward(const Batch& batch, EncoderState* st, Matrix* d_hidden, Matrix* d_pooled,
                       const EncoderGradients* extra) {
  const int B = batch.batch, T = batch.seq;
  ParamArena& ar = *arena_;
  CheckShape("d last_hidden_state", *d_hidden, static_cast<int64_t>(B) * T, config_.hidden_size);
  if (extra) CheckExtra(*extra, config_, B, T, static_cast<int>(schedule_.size()), project_.weight >= 0);
  if (d_pooled && d_pooled->size() != 0 && pooler_.weight >= 0) {
    CheckShape("d pooled", *d_pooled, B, config_.hidden_size);
    Matrix d_pre, d_cls;
    ActivationBackward(Activation::kTanh, st->pooled_pre, *d_pooled, &d_pre);
    LinearBackward(ar, pooler_, st->cls, d_pre, &d_cls);
    for (int b = 0; b < B; ++b) d_hidden->row(static_cast<Eigen::Index>(b) * T) += d_cls.row(b);
  }
  AttentionShape s{B, T, config_.num_attention_heads, config_.hidden_size / config_.num_attention_heads, false};
  Matrix dx;
  for (int i = static_cast<int>(schedule_.size()) - 1; i >= 0; --i) {
    AttentionGradInjection inject;
    if (extra) {
      if (const Matrix* d = Nonempty(extra->layer_outputs, i)) *d_hidden += *d;
      inject.d_scores = Nonempty(extra->attn_scores, i);
      inject.d_probs = Nonempty(extra->attn_probs, i);
      inject.key_mask = &batch.attention_mask;
    }
    const bool injects = inject.d_scores || inject.d_probs;
    LayerBackward(i, s, &st->layers[static_cast<size_t>(i)], d_hidden, &dx, injects ? &inject : nullptr);
    std::swap(*d_hidden, dx);
  }
  Matrix d_emb;
  if (project_.weight >= 0) {
    if (extra && extra->embeddings_projected.size()) *d_hidden += extra->embeddings_projected;
    LinearBackward(ar, project_, st->emb, *d_hidden, &d_emb);
  } else {
    d_emb = *d_hidden;
  }
  if (extra && extra->embeddings.size()) d_emb += extra->embeddings;
  DropoutBackward(st->emb_drop, &d_emb);
  Matrix d_sum;
  LayerNormBackward(ar, emb_norm_, d_emb, st->emb_ln, &d_sum);
  EmbeddingBackward(ar, word_, batch.input_ids, d_sum);
  EmbeddingBackward(ar, position_, st->position_ids, d_sum);
  EmbeddingBackward(ar, token_type_, st->type_ids, d_sum);
}

}  // namespace spade::encoder
