// AdamW (decoupled weight decay, as torch.optim.AdamW) over a whole ParamArena in one
// flat loop, with the pieces a BERT training recipe uses around it: a weight-decay mask
// (ParamInfo::decay: no decay for biases and LayerNorm), global gradient-norm clipping,
// a linear warm-up then linear decay schedule, and gradient accumulation.
//
// Usage per micro-batch: model.Forward(...); model.Backward(...); optimizer.Step(&arena).
// Step() returns true on the calls that actually update (every accumulation_steps-th),
// having scaled the summed gradients by 1/accumulation_steps, clipped, updated and zeroed
// them. A non-finite gradient norm throws Error(kNumerical) naming the first bad tensor,
// before any parameter changes.
#pragma once

#include <cstdint>
#include <vector>

#include "encoder/params.h"

namespace spade::encoder {

struct AdamWConfig {
  float lr = 1e-4f;             // peak learning rate
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-6f;            // BERT's value (torch's default is 1e-8)
  float weight_decay = 0.01f;   // applied where ParamInfo::decay
  float max_grad_norm = 1.0f;   // global L2 clipping; <= 0 turns it off
  int64_t warmup_steps = 0;     // lr rises linearly from 0 over these updates
  int64_t total_steps = 0;      // then decays linearly to 0 here; 0 = constant after warm-up
  int accumulation_steps = 1;   // micro-batches summed per update
};

// The schedule alone: learning rate for update number `step` (0-based), like
// transformers' get_linear_schedule_with_warmup.
float LinearWarmupDecay(const AdamWConfig& c, int64_t step);

class AdamW {
 public:
  AdamW(const ParamArena& arena, const AdamWConfig& config);
  bool Step(ParamArena* arena);
  int64_t updates() const { return updates_; }
  float last_grad_norm() const { return last_norm_; }  // before clipping
  float last_lr() const { return last_lr_; }

  // Optimizer state for checkpoints (train_loop.h): moments per float of the arena and the
  // update count. SetState throws kInvalidArgument when the sizes differ from the arena's.
  const std::vector<float>& first_moment() const { return m_; }
  const std::vector<float>& second_moment() const { return v_; }
  void SetState(std::vector<float> m, std::vector<float> v, int64_t updates);

 private:
  AdamWConfig config_;
  std::vector<float> m_, v_;
  std::vector<uint8_t> decay_;  // per float: 1 = decayed
  int64_t updates_ = 0;
  int micro_ = 0;
  float last_norm_ = 0, last_lr_ = 0;
};

}  // namespace spade::encoder
