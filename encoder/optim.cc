#include "encoder/optim.h"

#include <cmath>
#include <string>
#include <utility>

namespace spade::encoder {

float LinearWarmupDecay(const AdamWConfig& c, int64_t step) {
  if (c.warmup_steps > 0 && step < c.warmup_steps) {
    return c.lr * static_cast<float>(step) / static_cast<float>(c.warmup_steps);
  }
  if (c.total_steps <= 0) return c.lr;
  const int64_t left = c.total_steps - step;
  if (left <= 0) return 0.0f;
  const int64_t span = std::max<int64_t>(1, c.total_steps - c.warmup_steps);
  return c.lr * static_cast<float>(left) / static_cast<float>(span);
}

AdamW::AdamW(const ParamArena& arena, const AdamWConfig& config) : config_(config) {
  if (config.accumulation_steps < 1) {
    throw Error(ErrorCode::kInvalidArgument, "AdamW: accumulation_steps must be >= 1");
  }
  m_.assign(arena.size(), 0.0f);
  v_.assign(arena.size(), 0.0f);
  decay_.assign(arena.size(), 0);
  for (const ParamInfo& p : arena.params()) {
    if (p.decay) std::fill_n(decay_.begin() + static_cast<std::ptrdiff_t>(p.offset), size_t(p.rows) * p.cols, 1);
  }
}

void AdamW::SetState(std::vector<float> m, std::vector<float> v, int64_t updates) {
  if (m.size() != m_.size() || v.size() != v_.size()) {
    throw Error(ErrorCode::kInvalidArgument, "AdamW state: expected " + std::to_string(m_.size()) +
                                                 " floats per moment, got " + std::to_string(m.size()) + " and " +
                                                 std::to_string(v.size()));
  }
  m_ = std::move(m);
  v_ = std::move(v);
  updates_ = updates;
  micro_ = 0;
}

bool AdamW::Step(ParamArena* arena) {
  if (++micro_ < config_.accumulation_steps) return false;
  micro_ = 0;
  float* g = arena->grads();
  float* w = arena->values();
  const size_t n = arena->size();
  const float scale = 1.0f / static_cast<float>(config_.accumulation_steps);
  double sq = 0.0;
#pragma omp parallel for reduction(+ : sq) schedule(static) if (n > (1u << 16))
  for (size_t i = 0; i < n; ++i) {
    g[i] *= scale;
    sq += double(g[i]) * g[i];
  }
  last_norm_ = static_cast<float>(std::sqrt(sq));
  if (!std::isfinite(last_norm_)) {
    for (const ParamInfo& p : arena->params()) {
      for (size_t i = 0; i < size_t(p.rows) * p.cols; ++i) {
        if (!std::isfinite(g[p.offset + i])) {
          throw Error(ErrorCode::kNumerical, "gradient of " + p.name + " is not finite at update " +
                                                 std::to_string(updates_));
        }
      }
    }
    throw Error(ErrorCode::kNumerical, "gradient norm is not finite at update " + std::to_string(updates_));
  }
  const float clip = (config_.max_grad_norm > 0 && last_norm_ > config_.max_grad_norm)
                         ? config_.max_grad_norm / (last_norm_ + 1e-6f)
                         : 1.0f;
  last_lr_ = LinearWarmupDecay(config_, updates_);
  ++updates_;
  const float lr = last_lr_, b1 = config_.beta1, b2 = config_.beta2, eps = config_.eps;
  const float bc1 = 1.0f - std::pow(b1, static_cast<float>(updates_));
  const float bc2 = 1.0f - std::pow(b2, static_cast<float>(updates_));
  const float wd = lr * config_.weight_decay;
  const float inv_sqrt_bc2 = 1.0f / std::sqrt(bc2);
#pragma omp parallel for schedule(static) if (n > (1u << 16))
  for (size_t i = 0; i < n; ++i) {
    const float gi = g[i] * clip;
    if (decay_[i]) w[i] -= wd * w[i];
    m_[i] = b1 * m_[i] + (1.0f - b1) * gi;
    v_[i] = b2 * v_[i] + (1.0f - b2) * gi * gi;
    w[i] -= lr * (m_[i] / bc1) / (std::sqrt(v_[i]) * inv_sqrt_bc2 + eps);
    g[i] = 0.0f;
  }
  return true;
}

}  // namespace spade::encoder
