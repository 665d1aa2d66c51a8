#include "encoder/electra.h"

#include <cassert>
#include <cmath>
#include <random>

namespace spade::encoder {
namespace {

HeadsConfig GeneratorHeads() {
  HeadsConfig h;
  h.mlm = true;
  return h;
}
HeadsConfig DiscriminatorHeads() {
  HeadsConfig h;
  h.rtd = true;
  return h;
}

}  // namespace

ElectraPretrainer::ElectraPretrainer(const ElectraConfig& c)
    : config_(c), generator_(c.generator, GeneratorHeads()), discriminator_(c.discriminator, DiscriminatorHeads()) {
  if (c.generator.arch != Arch::kElectra || c.discriminator.arch != Arch::kElectra) {
    throw Error(ErrorCode::kInvalidArgument, "ELECTRA pretraining needs model_type electra for both models");
  }
  for (const char* name : {"embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
                           "embeddings.token_type_embeddings.weight", "embeddings.LayerNorm.weight",
                           "embeddings.LayerNorm.bias"}) {
    const int g = generator_.params().Find(name), d = discriminator_.params().Find(name);
    const ParamInfo &gi = generator_.params().info(g), &di = discriminator_.params().info(d);
    if (gi.rows != di.rows || gi.cols != di.cols) {
      ThrowShapeMismatch(std::string("shared ") + name + " (generator vs discriminator)", {di.rows, di.cols},
                         {gi.rows, gi.cols});
    }
    shared_.emplace_back(g, d);
  }
}

void ElectraPretrainer::Init(uint64_t seed) {
  discriminator_.Init(seed);
  generator_.Init(seed + 1);
  SyncSharedEmbeddings();
}

void ElectraPretrainer::SyncSharedEmbeddings() {
  for (auto [g, d] : shared_) generator_.params().Value(g) = std::as_const(discriminator_.params()).Value(d);
}

ElectraStep ElectraPretrainer::ForwardBackward(const Batch& batch, uint64_t seed) {
  batch.Validate();
  const size_t N = batch.input_ids.size();
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  // 1. Mask.
  std::vector<int32_t> masked;
  for (size_t n = 0; n < N; ++n) {
    const bool token = batch.attention_mask.empty() || batch.attention_mask[n] != 0.0f;
    if (token && u(rng) < config_.mask_prob) masked.push_back(static_cast<int32_t>(n));
  }
  const float generator_loss = GeneratorForward(batch, masked, seed);
  // 2. Sample replacements from the generator (no gradient through sampling).
  std::vector<int32_t>& replaced = inputs_.corruption.replaced;
  replaced.assign(masked.size(), 0);
  for (size_t r_i = 0; r_i < gen_out_.mlm.rows.size(); ++r_i) {
    auto logits = gen_out_.mlm_logits.row(static_cast<Eigen::Index>(r_i));
    const float mx = logits.maxCoeff();
    double total = (logits.array() - mx).exp().sum(), pick = u(rng) * total, acc = 0;
    int32_t sample = static_cast<int32_t>(logits.size()) - 1;
    for (Eigen::Index v = 0; v < logits.size(); ++v) {
      acc += std::exp(logits(v) - mx);
      if (acc >= pick) {
        sample = static_cast<int32_t>(v);
        break;
      }
    }
    replaced[r_i] = sample;
  }
  return DiscriminatorForwardAndBackward(batch, generator_loss, seed);
}

ElectraStep ElectraPretrainer::ForwardBackward(const Batch& batch, const ElectraCorruption& corruption,
                                               uint64_t dropout_seed) {
  batch.Validate();
  const int64_t N = static_cast<int64_t>(batch.input_ids.size());
  const auto& m = corruption.masked;
  if (corruption.replaced.size() != m.size()) {
    ThrowShapeMismatch("electra corruption: replaced", {static_cast<int64_t>(m.size())},
                       {static_cast<int64_t>(corruption.replaced.size())});
  }
  const int32_t V = config_.discriminator.vocab_size;
  for (size_t i = 0; i < m.size(); ++i) {
    const std::string where = "electra corruption: masked[" + std::to_string(i) + "] = " + std::to_string(m[i]);
    if (m[i] < 0 || m[i] >= N) {
      throw Error(ErrorCode::kInvalidArgument, where + " outside [0, " + std::to_string(N) + ")");
    }
    if (i > 0 && m[i] <= m[i - 1]) {
      throw Error(ErrorCode::kInvalidArgument, where + " is not above masked[" + std::to_string(i - 1) + "] = " +
                                                   std::to_string(m[i - 1]) + " (indices must ascend)");
    }
    if (!batch.attention_mask.empty() && batch.attention_mask[size_t(m[i])] == 0.0f) {
      throw Error(ErrorCode::kInvalidArgument, where + " is a padding token");
    }
    if (corruption.replaced[i] < 0 || corruption.replaced[i] >= V) {
      throw Error(ErrorCode::kInvalidArgument, "electra corruption: replaced[" + std::to_string(i) + "] = " +
                                                   std::to_string(corruption.replaced[i]) + " outside the vocabulary [0, " +
                                                   std::to_string(V) + ")");
    }
  }
  const float generator_loss = GeneratorForward(batch, m, dropout_seed);
  inputs_.corruption.replaced = corruption.replaced;
  return DiscriminatorForwardAndBackward(batch, generator_loss, dropout_seed);
}

float ElectraPretrainer::GeneratorForward(const Batch& batch, const std::vector<int32_t>& masked, uint64_t seed) {
  ElectraInputs& in = inputs_;
  in.corruption.masked = masked;
  in.masked = batch;
  in.generator = Targets{};
  in.generator.mlm_labels.assign(batch.input_ids.size(), -100);
  for (int32_t n : masked) {
    in.generator.mlm_labels[size_t(n)] = batch.input_ids[size_t(n)];
    in.masked.input_ids[size_t(n)] = config_.mask_token_id;
  }
  StepOptions opt;
  opt.train = true;
  opt.seed = seed;
  const float loss = generator_.Forward(in.masked, in.generator, opt, &gen_out_);
  // The MLM head runs on the labelled rows in token order, so logits row i is masked[i].
  assert(gen_out_.mlm.rows == masked);
  return loss;
}

ElectraStep ElectraPretrainer::DiscriminatorForwardAndBackward(const Batch& batch, float generator_loss,
                                                               uint64_t seed) {
  ElectraInputs& in = inputs_;
  in.corrupted = batch;
  in.discriminator = Targets{};
  in.discriminator.rtd_labels.assign(batch.input_ids.size(), 0.0f);
  int replaced = 0;
  for (size_t i = 0; i < in.corruption.masked.size(); ++i) {
    const size_t n = static_cast<size_t>(in.corruption.masked[i]);
    const int32_t sample = in.corruption.replaced[i];
    in.corrupted.input_ids[n] = sample;
    if (sample != batch.input_ids[n]) {  // sampling the original token counts as original
      in.discriminator.rtd_labels[n] = 1.0f;
      ++replaced;
    }
  }
  ElectraStep r;
  r.generator_loss = generator_loss;
  const size_t masked_count = in.corruption.masked.size();
  r.replaced_fraction = masked_count ? static_cast<float>(replaced) / static_cast<float>(masked_count) : 0.0f;
  StepOptions opt;
  opt.train = true;
  opt.seed = seed + 0x5151;
  r.discriminator_loss = discriminator_.Forward(in.corrupted, in.discriminator, opt, &disc_out_);
  r.loss = r.generator_loss + config_.rtd_weight * r.discriminator_loss;
  // 3. Backward: scale the RTD gradient by its weight, then fold the generator's
  // embedding gradients into the shared (discriminator) copies.
  disc_out_.d_rtd *= config_.rtd_weight;
  discriminator_.Backward(in.corrupted, in.discriminator, &disc_out_);
  generator_.Backward(in.masked, in.generator, &gen_out_);
  for (auto [g, d] : shared_) {
    discriminator_.params().Grad(d) += generator_.params().Grad(g);
    generator_.params().Grad(g).setZero();
  }
  return r;
}

}  // namespace spade::encoder
