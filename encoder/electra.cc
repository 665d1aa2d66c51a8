#include "encoder/electra.h"

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
  Batch masked = batch;
  Targets gt;
  gt.mlm_labels.assign(N, -100);
  for (size_t n = 0; n < N; ++n) {
    const bool token = batch.attention_mask.empty() || batch.attention_mask[n] != 0.0f;
    if (token && u(rng) < config_.mask_prob) {
      gt.mlm_labels[n] = batch.input_ids[n];
      masked.input_ids[n] = config_.mask_token_id;
    }
  }
  StepOptions opt;
  opt.train = true;
  opt.seed = seed;
  ElectraStep r;
  r.generator_loss = generator_.Forward(masked, gt, opt, &gen_out_);
  // 2. Sample replacements from the generator (no gradient through sampling).
  Batch corrupted = batch;
  Targets dt;
  dt.rtd_labels.assign(N, 0.0f);
  int masked_count = 0, replaced = 0;
  for (size_t r_i = 0; r_i < gen_out_.mlm.rows.size(); ++r_i) {
    const size_t n = static_cast<size_t>(gen_out_.mlm.rows[r_i]);
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
    corrupted.input_ids[n] = sample;
    ++masked_count;
    if (sample != batch.input_ids[n]) {
      dt.rtd_labels[n] = 1.0f;
      ++replaced;
    }
  }
  r.replaced_fraction = masked_count ? static_cast<float>(replaced) / static_cast<float>(masked_count) : 0.0f;
  opt.seed = seed + 0x5151;
  r.discriminator_loss = discriminator_.Forward(corrupted, dt, opt, &disc_out_);
  r.loss = r.generator_loss + config_.rtd_weight * r.discriminator_loss;
  // 3. Backward: scale the RTD gradient by its weight, then fold the generator's
  // embedding gradients into the shared (discriminator) copies.
  disc_out_.d_rtd *= config_.rtd_weight;
  discriminator_.Backward(corrupted, dt, &disc_out_);
  generator_.Backward(masked, gt, &gen_out_);
  for (auto [g, d] : shared_) {
    discriminator_.params().Grad(d) += generator_.params().Grad(g);
    generator_.params().Grad(g).setZero();
  }
  return r;
}

}  // namespace spade::encoder
