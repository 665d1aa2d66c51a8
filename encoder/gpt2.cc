#include "encoder/gpt2.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_set>

namespace spade::encoder {

void Gpt2Config::Validate() const {
  if (vocab_size <= 0 || n_positions <= 0 || n_embd <= 0 || n_layer <= 0 || n_head <= 0 || inner() <= 0) {
    throw Error(ErrorCode::kInvalidArgument, "gpt2 config: sizes must be positive");
  }
  if (n_embd % n_head != 0) {
    throw Error(ErrorCode::kInvalidArgument, "gpt2 config: n_embd " + std::to_string(n_embd) +
                                                 " is not a multiple of n_head " + std::to_string(n_head));
  }
}

Gpt2Config ParseGpt2ConfigJson(const std::string& text, const std::string& source) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCode::kCorruption, source + ": not valid JSON: " + e.what());
  }
  Gpt2Config c;
  auto rd = [&](const char* k, auto* v) {
    auto it = j.find(k);
    if (it == j.end() || it->is_null()) return;
    try {
      *v = it->get<std::remove_pointer_t<decltype(v)>>();
    } catch (const nlohmann::json::exception& e) {
      throw Error(ErrorCode::kInvalidArgument, source + ": field '" + k + "': " + e.what());
    }
  };
  std::string type = "gpt2", act = "gelu_new";
  rd("model_type", &type);
  if (type != "gpt2") throw Error(ErrorCode::kInvalidArgument, source + ": model_type '" + type + "' is not gpt2");
  rd("vocab_size", &c.vocab_size);
  rd("n_positions", &c.n_positions);
  rd("n_embd", &c.n_embd);
  rd("n_layer", &c.n_layer);
  rd("n_head", &c.n_head);
  rd("n_inner", &c.n_inner);
  rd("activation_function", &act);
  c.activation_function = ParseActivation(act);
  rd("resid_pdrop", &c.resid_pdrop);
  rd("embd_pdrop", &c.embd_pdrop);
  rd("attn_pdrop", &c.attn_pdrop);
  rd("layer_norm_epsilon", &c.layer_norm_epsilon);
  rd("initializer_range", &c.initializer_range);
  c.Validate();
  return c;
}

std::string Gpt2ConfigToJson(const Gpt2Config& c) {
  nlohmann::json j = {{"model_type", "gpt2"},
                      {"architectures", {"GPT2LMHeadModel"}},
                      {"vocab_size", c.vocab_size},
                      {"n_positions", c.n_positions},
                      {"n_embd", c.n_embd},
                      {"n_layer", c.n_layer},
                      {"n_head", c.n_head},
                      {"n_inner", c.n_inner > 0 ? nlohmann::json(c.n_inner) : nlohmann::json(nullptr)},
                      {"activation_function", ActivationName(c.activation_function)},
                      {"resid_pdrop", c.resid_pdrop},
                      {"embd_pdrop", c.embd_pdrop},
                      {"attn_pdrop", c.attn_pdrop},
                      {"layer_norm_epsilon", c.layer_norm_epsilon},
                      {"initializer_range", c.initializer_range},
                      {"tie_word_embeddings", true}};
  return j.dump(2) + "\n";
}

Gpt2Model::Gpt2Model(const Gpt2Config& c) : config_(c) {
  c.Validate();
  const int H = c.n_embd, F = c.inner();
  wte_ = arena_.AddMatrix("wte.weight", c.vocab_size, H);
  wpe_ = arena_.AddMatrix("wpe.weight", c.n_positions, H);
  for (int i = 0; i < c.n_layer; ++i) {
    const std::string p = "h." + std::to_string(i);
    Gpt2Block b;
    b.ln1 = AddLayerNorm(arena_, p + ".ln_1", H, c.layer_norm_epsilon);
    b.c_attn = AddConv1D(arena_, p + ".attn.c_attn", H, 3 * H);
    b.attn_proj = AddConv1D(arena_, p + ".attn.c_proj", H, H);
    b.ln2 = AddLayerNorm(arena_, p + ".ln_2", H, c.layer_norm_epsilon);
    b.fc = AddConv1D(arena_, p + ".mlp.c_fc", H, F);
    b.proj = AddConv1D(arena_, p + ".mlp.c_proj", F, H);
    blocks_.push_back(b);
  }
  ln_f_ = AddLayerNorm(arena_, "ln_f", H, c.layer_norm_epsilon);
  arena_.Allocate();
}

void Gpt2Model::Init(uint64_t seed) {
  for (int id = 0; id < static_cast<int>(arena_.params().size()); ++id) {
    const ParamInfo& p = arena_.info(id);
    if (p.is_vector) {  // LayerNorm weights 1; biases and LayerNorm biases 0
      const bool weight = p.name.size() > 7 && p.name.compare(p.name.size() - 7, 7, ".weight") == 0;
      arena_.Fill(id, weight ? 1.0f : 0.0f);
    } else {
      arena_.InitNormal(id, config_.initializer_range, seed);
    }
  }
}

float Gpt2Model::Forward(const Batch& batch, const std::vector<int32_t>& labels, const StepOptions& opt,
                         Gpt2Outputs* out) {
  batch.Validate();
  const int B = batch.batch, T = batch.seq, H = config_.n_embd;
  const size_t N = static_cast<size_t>(B) * T;
  if (T > config_.n_positions) {
    throw Error(ErrorCode::kInvalidArgument, "input_ids: sequence length " + std::to_string(T) +
                                                 " exceeds n_positions " + std::to_string(config_.n_positions));
  }
  if (!labels.empty() && labels.size() != N) ThrowShapeMismatch("labels", {B, T}, {static_cast<int64_t>(labels.size())});
  out->positions.resize(N);
  for (size_t n = 0; n < N; ++n) out->positions[n] = static_cast<int32_t>(n % static_cast<size_t>(T));
  Matrix x, tmp;
  EmbeddingForward(arena_, wte_, batch.input_ids, &x);
  EmbeddingForward(arena_, wpe_, out->positions, &tmp);
  x += tmp;
  DropoutForward(config_.embd_pdrop, opt.train, SiteSeed(opt.seed, 1), &x, &out->emb_drop);
  AttentionShape s{B, T, config_.n_head, H / config_.n_head, /*causal=*/true};
  out->blocks.resize(blocks_.size());
  for (size_t i = 0; i < blocks_.size(); ++i) {
    const Gpt2Block& b = blocks_[i];
    Gpt2BlockCache& c = out->blocks[i];
    const uint64_t site = 100 + 10 * i;
    c.x = std::move(x);
    LayerNormForward(arena_, b.ln1, c.x, &c.a_in, &c.ln1);
    LinearForward(arena_, b.c_attn, c.a_in, &tmp);  // (N, 3H)
    c.q = tmp.leftCols(H);
    c.k = tmp.middleCols(H, H);
    c.v = tmp.rightCols(H);
    AttentionForward(s, c.q, c.k, c.v, batch.attention_mask, config_.attn_pdrop, opt.train, SiteSeed(opt.seed, site),
                     &c.attn, &c.ctx, "gpt2 attention");
    LinearForward(arena_, b.attn_proj, c.ctx, &tmp);
    DropoutForward(config_.resid_pdrop, opt.train, SiteSeed(opt.seed, site + 1), &tmp, &c.d_attn);
    c.h = c.x + tmp;
    LayerNormForward(arena_, b.ln2, c.h, &c.m_in, &c.ln2);
    LinearForward(arena_, b.fc, c.m_in, &c.f_pre);
    ActivationForward(config_.activation_function, c.f_pre, &c.f);
    LinearForward(arena_, b.proj, c.f, &tmp);
    DropoutForward(config_.resid_pdrop, opt.train, SiteSeed(opt.seed, site + 2), &tmp, &c.d_mlp);
    x = c.h + tmp;
  }
  out->pre_lnf = std::move(x);
  LayerNormForward(arena_, ln_f_, out->pre_lnf, &out->hidden, &out->lnf);
  out->logits.resize(static_cast<Eigen::Index>(N), config_.vocab_size);
  out->logits.noalias() = out->hidden * std::as_const(arena_).Value(wte_).transpose();
  out->loss = 0;
  out->shifted.clear();
  if (!labels.empty()) {
    out->shifted.assign(N, -100);
    for (int b = 0; b < B; ++b) {
      for (int t = 0; t + 1 < T; ++t) out->shifted[size_t(b) * T + t] = labels[size_t(b) * T + t + 1];
    }
    out->loss = SoftmaxCrossEntropy(out->logits, out->shifted, &out->d_logits);
  }
  return out->loss;
}

void Gpt2Model::Backward(const Batch& batch, Gpt2Outputs* out) {
  const int B = batch.batch, T = batch.seq, H = config_.n_embd;
  if (out->shifted.empty()) throw Error(ErrorCode::kInvalidArgument, "gpt2 Backward: Forward had no labels");
  AttentionShape s{B, T, config_.n_head, H / config_.n_head, true};
  arena_.Grad(wte_).noalias() += out->d_logits.transpose() * out->hidden;  // tied lm_head
  Matrix dh = out->d_logits * std::as_const(arena_).Value(wte_);
  Matrix dx, tmp, df, df_pre, dm, dctx, dq, dk, dv, dqkv;
  LayerNormBackward(arena_, ln_f_, dh, out->lnf, &dx);
  for (int i = static_cast<int>(blocks_.size()) - 1; i >= 0; --i) {
    const Gpt2Block& b = blocks_[static_cast<size_t>(i)];
    Gpt2BlockCache& c = out->blocks[static_cast<size_t>(i)];
    // x_out = h + mlp(ln_2(h))
    tmp = dx;
    DropoutBackward(c.d_mlp, &tmp);
    LinearBackward(arena_, b.proj, c.f, tmp, &df);
    ActivationBackward(config_.activation_function, c.f_pre, df, &df_pre);
    LinearBackward(arena_, b.fc, c.m_in, df_pre, &dm);
    LayerNormBackward(arena_, b.ln2, dm, c.ln2, &tmp);
    dh = dx + tmp;  // d h
    // h = x + attn(ln_1(x))
    tmp = dh;
    DropoutBackward(c.d_attn, &tmp);
    LinearBackward(arena_, b.attn_proj, c.ctx, tmp, &dctx);
    AttentionBackward(s, c.q, c.k, c.v, c.attn, dctx, &dq, &dk, &dv);
    dqkv.resize(dq.rows(), 3 * H);
    dqkv.leftCols(H) = dq;
    dqkv.middleCols(H, H) = dk;
    dqkv.rightCols(H) = dv;
    LinearBackward(arena_, b.c_attn, c.a_in, dqkv, &tmp);
    LayerNormBackward(arena_, b.ln1, tmp, c.ln1, &dx);
    dx += dh;
  }
  DropoutBackward(out->emb_drop, &dx);
  EmbeddingBackward(arena_, wte_, batch.input_ids, dx);
  EmbeddingBackward(arena_, wpe_, out->positions, dx);
}

std::vector<float> Gpt2Model::ScoreContinuations(const Batch& batch, const std::vector<int>& start) {
  const int B = batch.batch, T = batch.seq;
  if (static_cast<int>(start.size()) != B) ThrowShapeMismatch("continuation starts", {B}, {int64_t(start.size())});
  Gpt2Outputs out;
  Forward(batch, {}, StepOptions{}, &out);
  std::vector<float> scores(static_cast<size_t>(B), 0.0f);
  for (int b = 0; b < B; ++b) {
    int len = T;
    if (!batch.attention_mask.empty()) {
      len = 0;
      for (int t = 0; t < T; ++t) len += batch.attention_mask[size_t(b) * T + t] != 0.0f;
    }
    if (start[size_t(b)] < 1 || start[size_t(b)] > len) {
      throw Error(ErrorCode::kInvalidArgument, "continuation start " + std::to_string(start[size_t(b)]) +
                                                   " outside [1, " + std::to_string(len) + "] for sequence " +
                                                   std::to_string(b));
    }
    double sum = 0;
    for (int t = start[size_t(b)]; t < len; ++t) {
      auto row = out.logits.row(static_cast<Eigen::Index>(size_t(b) * T + t - 1));
      const float mx = row.maxCoeff();
      const double lse = mx + std::log((row.array() - mx).exp().sum());
      sum += row(batch.input_ids[size_t(b) * T + t]) - lse;
    }
    scores[size_t(b)] = static_cast<float>(sum);
  }
  return scores;
}

std::vector<std::string> LoadGpt2Weights(const SafetensorsFile& file, Gpt2Model* model) {
  ParamArena& arena = model->params();
  std::vector<float> staged(arena.values(), arena.values() + arena.size());
  std::unordered_set<std::string> used;
  for (const ParamInfo& p : arena.params()) {
    const TensorEntry* t = file.Find("transformer." + p.name);
    if (!t) t = file.Find(p.name);
    if (!t) {
      throw Error(ErrorCode::kNotFound, file.source() + ": missing tensor 'transformer." + p.name + "' (shape " +
                                            ShapeString(p.is_vector ? std::vector<int64_t>{p.cols}
                                                                    : std::vector<int64_t>{p.rows, p.cols}) +
                                            ")");
    }
    used.insert(t->name);
    const auto v = file.ReadFloat(*t, p.is_vector ? std::vector<int64_t>{p.cols} : std::vector<int64_t>{p.rows, p.cols});
    std::copy(v.begin(), v.end(), staged.begin() + static_cast<std::ptrdiff_t>(p.offset));
  }
  std::copy(staged.begin(), staged.end(), arena.values());
  std::vector<std::string> unused;
  for (const auto& t : file.header().tensors) {
    if (!used.count(t.name) && t.name != "lm_head.weight") unused.push_back(t.name);
  }
  return unused;
}

std::unique_ptr<Gpt2Model> LoadGpt2Dir(const std::string& dir) {
  std::ifstream in(dir + "/config.json");
  if (!in) throw Error(ErrorCode::kNotFound, dir + "/config.json: cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  auto model = std::make_unique<Gpt2Model>(ParseGpt2ConfigJson(ss.str(), dir + "/config.json"));
  LoadGpt2Weights(SafetensorsFile::Open(dir + "/model.safetensors"), model.get());
  return model;
}

void SaveGpt2Dir(const Gpt2Model& model, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error(ErrorCode::kIOError, dir + ": cannot create directory: " + ec.message());
  WriteFileAtomic(dir + "/config.json", Gpt2ConfigToJson(model.config()));
  std::vector<TensorToWrite> ts;
  const ParamArena& a = model.params();
  for (const ParamInfo& p : a.params()) {
    ts.push_back({"transformer." + p.name,
                  p.is_vector ? std::vector<int64_t>{p.cols} : std::vector<int64_t>{p.rows, p.cols},
                  a.values() + p.offset});
  }
  WriteSafetensors(dir + "/model.safetensors", ts);
}

}  // namespace spade::encoder
