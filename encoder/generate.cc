#include "encoder/generate.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

namespace spade::encoder {
namespace {

// Uniform in [0, 1) from the top 53 bits: the same on every standard library.
double Uniform(std::mt19937_64* rng) { return static_cast<double>((*rng)() >> 11) * 0x1.0p-53; }

int32_t Draw(const std::vector<double>& p, std::mt19937_64* rng) {
  const double u = Uniform(rng);
  double acc = 0;
  int32_t last = -1;
  for (size_t v = 0; v < p.size(); ++v) {
    if (p[v] <= 0) continue;
    acc += p[v];
    last = static_cast<int32_t>(v);
    if (u < acc) return last;
  }
  return last;  // u beyond the summed mass by rounding: the last kept token
}

int Find(const ParamArena& arena, const std::string& name) {
  const int id = arena.Find(name);
  if (id < 0) throw Error(ErrorCode::kNotFound, "gpt2 decoder: no tensor " + name);
  return id;
}

LayerNorm FindLayerNorm(const ParamArena& arena, const std::string& prefix, int H, float eps) {
  return LayerNorm{Find(arena, prefix + ".weight"), Find(arena, prefix + ".bias"), H, eps};
}

Linear FindConv1D(const ParamArena& arena, const std::string& prefix, int in, int out) {
  return Linear{Find(arena, prefix + ".weight"), Find(arena, prefix + ".bias"), in, out, /*transposed=*/true};
}

void CheckIds(const std::vector<int32_t>& ids, int V, const char* what) {
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= V) {
      throw Error(ErrorCode::kInvalidArgument, std::string(what) + "[" + std::to_string(i) + "] = " +
                                                   std::to_string(ids[i]) + " outside the vocabulary [0, " +
                                                   std::to_string(V) + ")");
    }
  }
}

}  // namespace

void GenerateConfig::Validate() const {
  auto bad = [](const std::string& m) { throw Error(ErrorCode::kInvalidArgument, m); };
  if (max_tokens < 0) bad("max_tokens must be >= 0, got " + std::to_string(max_tokens));
  if (!(temperature >= 0) || !std::isfinite(temperature)) {
    bad("temperature must be >= 0 (0 = greedy), got " + std::to_string(temperature));
  }
  if (top_k < 0) bad("top_k must be >= 0 (0 = no limit), got " + std::to_string(top_k));
  if (!(top_p > 0 && top_p <= 1)) bad("top_p must be in (0, 1], got " + std::to_string(top_p));
  if (eos_token_id < -1) bad("eos_token_id must be a token id or -1, got " + std::to_string(eos_token_id));
}

int32_t Argmax(const float* logits, int V) {
  return static_cast<int32_t>(std::max_element(logits, logits + V) - logits);
}

std::vector<double> SamplingDistribution(const float* logits, int V, const GenerateConfig& c) {
  c.Validate();
  if (c.temperature == 0) throw Error(ErrorCode::kInvalidArgument, "SamplingDistribution: temperature 0 is greedy");
  constexpr double kOut = -std::numeric_limits<double>::infinity();
  std::vector<double> z(static_cast<size_t>(V));
  for (int v = 0; v < V; ++v) z[size_t(v)] = double(logits[v]) / c.temperature;
  // top-k: everything below the k-th largest logit goes (ties with it stay, as transformers).
  if (c.top_k > 0 && c.top_k < V) {
    std::vector<double> sorted = z;
    std::nth_element(sorted.begin(), sorted.begin() + (c.top_k - 1), sorted.end(), std::greater<>());
    const double kth = sorted[size_t(c.top_k - 1)];
    for (double& x : z) {
      if (x < kth) x = kOut;
    }
  }
  const double mx = *std::max_element(z.begin(), z.end());
  std::vector<double> p(z.size());
  double sum = 0;
  for (size_t v = 0; v < z.size(); ++v) sum += p[v] = z[v] == kOut ? 0.0 : std::exp(z[v] - mx);
  for (double& x : p) x /= sum;
  // top-p: walking down from the most likely, keep a token while the mass before it is
  // below top_p (transformers drops those whose tail mass, itself included, is <= 1 - top_p).
  if (c.top_p < 1) {
    std::vector<int32_t> order(p.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return p[size_t(a)] > p[size_t(b)]; });
    double before = 0, kept = 0;
    for (int32_t v : order) {
      if (before < c.top_p) {
        kept += p[size_t(v)];
      } else {
        p[size_t(v)] = 0;
        continue;
      }
      before += p[size_t(v)];
    }
    for (double& x : p) x /= kept;
  }
  return p;
}

Gpt2Decoder::Gpt2Decoder(const Gpt2Model& model) : model_(model) {
  const Gpt2Config& c = model.config();
  const ParamArena& a = model.params();
  const int H = c.n_embd, F = c.inner();
  wte_ = Find(a, "wte.weight");
  wpe_ = Find(a, "wpe.weight");
  for (int i = 0; i < c.n_layer; ++i) {
    const std::string p = "h." + std::to_string(i);
    Layer l;
    l.ln1 = FindLayerNorm(a, p + ".ln_1", H, c.layer_norm_epsilon);
    l.c_attn = FindConv1D(a, p + ".attn.c_attn", H, 3 * H);
    l.attn_proj = FindConv1D(a, p + ".attn.c_proj", H, H);
    l.ln2 = FindLayerNorm(a, p + ".ln_2", H, c.layer_norm_epsilon);
    l.fc = FindConv1D(a, p + ".mlp.c_fc", H, F);
    l.proj = FindConv1D(a, p + ".mlp.c_proj", F, H);
    l.k.resize(c.n_positions, H);
    l.v.resize(c.n_positions, H);
    layers_.push_back(std::move(l));
  }
  ln_f_ = FindLayerNorm(a, "ln_f", H, c.layer_norm_epsilon);
  scores_.resize(c.n_positions);
}

const RowVector& Gpt2Decoder::Append(const std::vector<int32_t>& ids) {
  const Gpt2Config& c = model_.config();
  const ParamArena& a = model_.params();
  const int H = c.n_embd, nH = c.n_head, D = H / nH, P = c.n_positions, V = c.vocab_size;
  const int M = static_cast<int>(ids.size()), start = length_;
  if (M == 0) throw Error(ErrorCode::kInvalidArgument, "gpt2 decoder: no tokens to append");
  if (start + M > P) {
    throw Error(ErrorCode::kInvalidArgument, "gpt2 decoder: " + std::to_string(start) + " cached + " +
                                                 std::to_string(M) + " new tokens exceed n_positions " +
                                                 std::to_string(P));
  }
  CheckIds(ids, V, "ids");
  const ConstMatrixMap wte = a.Value(wte_), wpe = a.Value(wpe_);
  x_.resize(M, H);
  for (int i = 0; i < M; ++i) x_.row(i) = wte.row(ids[size_t(i)]) + wpe.row(start + i);
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  for (Layer& l : layers_) {
    LayerNormForward(a, l.ln1, x_, &a_, &ln_cache_);
    LinearForward(a, l.c_attn, a_, &qkv_);  // (M, 3H): q | k | v
    l.k.middleRows(start, M) = qkv_.middleCols(H, H);
    l.v.middleRows(start, M) = qkv_.rightCols(H);
    ctx_.resize(M, H);
    for (int i = 0; i < M; ++i) {
      const int keys = start + i + 1;  // causal: positions 0..start+i
      for (int h = 0; h < nH; ++h) {
        auto s = scores_.head(keys);  // (keys) softmax(q k^T / sqrt(D)) over the cached keys
        s.noalias() = qkv_.block(i, h * D, 1, D) * l.k.block(0, h * D, keys, D).transpose();
        s *= scale;
        const float mx = s.maxCoeff();
        s = (s.array() - mx).exp();
        s /= s.sum();
        ctx_.block(i, h * D, 1, D).noalias() = s * l.v.block(0, h * D, keys, D);
      }
    }
    LinearForward(a, l.attn_proj, ctx_, &tmp_);
    h_ = x_ + tmp_;
    LayerNormForward(a, l.ln2, h_, &a_, &ln_cache_);
    LinearForward(a, l.fc, a_, &f_pre_);
    ActivationForward(c.activation_function, f_pre_, &f_);
    LinearForward(a, l.proj, f_, &tmp_);
    x_ = h_ + tmp_;
  }
  length_ += M;
  tmp_ = x_.bottomRows(1);
  LayerNormForward(a, ln_f_, tmp_, &a_, &ln_cache_);
  logits_.noalias() = a_.row(0) * wte.transpose();
  return logits_;
}

GenerateResult Generate(const Gpt2Model& model, const std::vector<int32_t>& prompt, const GenerateConfig& c) {
  c.Validate();
  const int P = model.config().n_positions, V = model.config().vocab_size;
  if (prompt.empty()) throw Error(ErrorCode::kInvalidArgument, "generate: the prompt has no tokens");
  CheckIds(prompt, V, "prompt");
  if (c.eos_token_id >= V) {
    throw Error(ErrorCode::kInvalidArgument, "generate: eos_token_id " + std::to_string(c.eos_token_id) +
                                                 " outside the vocabulary [0, " + std::to_string(V) + ")");
  }
  GenerateResult r;
  if (c.max_tokens == 0) return r;
  std::vector<int32_t> text = prompt;
  r.prompt_tokens_dropped = std::max(0, static_cast<int>(prompt.size()) - P);
  auto window = [&] { return std::vector<int32_t>(text.end() - std::min<std::ptrdiff_t>(P, text.size()), text.end()); };
  Gpt2Decoder decoder(model);
  const RowVector* logits = &decoder.Append(window());
  std::mt19937_64 rng(c.seed);
  for (int step = 0; step < c.max_tokens; ++step) {
    const int32_t next = c.temperature == 0 ? Argmax(logits->data(), V)
                                            : Draw(SamplingDistribution(logits->data(), V, c), &rng);
    r.tokens.push_back(next);
    text.push_back(next);
    if (next == c.eos_token_id) {
      r.stopped_at_eos = true;
      break;
    }
    if (step + 1 == c.max_tokens) break;
    if (decoder.length() < P) {
      logits = &decoder.Append({next});
    } else {  // the window slides: every position moves, so run it afresh
      decoder.Reset();
      logits = &decoder.Append(window());
    }
  }
  return r;
}

}  // namespace spade::encoder
