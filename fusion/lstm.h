// A single-layer LSTM, optionally bidirectional, over a batch of variable-length sequences,
// with PyTorch's gate layout and tensor names so torch.nn.LSTM weights load unchanged:
//
//   <prefix>.weight_ih_l0 (4H, I)   <prefix>.weight_hh_l0 (4H, H)
//   <prefix>.bias_ih_l0   (4H)      <prefix>.bias_hh_l0   (4H)
//   and the same with the suffix `_reverse` for the backward direction.
//
// Row blocks of every (4H, ·) tensor are the gates in PyTorch's order i, f, g, o:
//   a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh
//   i = σ(a_i)  f = σ(a_f)  g = tanh(a_g)  o = σ(a_o)
//   c_t = f ∘ c_{t-1} + i ∘ g      h_t = o ∘ tanh(c_t)       (h_{-1} = c_{-1} = 0)
//
// Shape letters: B sequences, T the longest length (steps), I input width, H hidden width,
// D directions (1 or 2). Sequence b is the rows b*T .. b*T+T-1 of every (B*T, ·) matrix, of
// which the first lengths[b] are real and the rest padding. Padding is never read: padded
// input rows get a zero gradient, padded output rows are zero, and gradients placed on
// padded output rows are ignored — the same result as torch's pack_padded_sequence. The
// backward direction starts at each sequence's own last real step.
//
// Outputs: per-step hidden states (B*T, D*H), forward direction in columns [0, H), backward
// in [H, 2H); and the final state per sequence (B, D*H) = [h_fwd at step len-1 ; h_bwd at
// step 0] — torch's h_n, both directions having read the whole sequence. A sequence of
// length 0 has a zero final state.
//
// Contract as encoder/layers.h: Backward ACCUMULATES parameter gradients into the arena and
// OVERWRITES dx. Forward is const and may run concurrently with distinct states.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "encoder/params.h"
#include "encoder/tensor.h"

namespace spade::fusion {

struct LstmConfig {
  int input = 0;   // I
  int hidden = 0;  // H
  bool bidirectional = false;
};

// What Backward needs from Forward; reuse one across calls so buffers are allocated once.
struct LstmState {
  int batch = 0, steps = 0;  // B, T
  std::vector<int> lengths;  // (B)
  encoder::Matrix x;         // (B*T, I) the input, kept for d weight_ih
  encoder::Matrix outputs;   // (B*T, D*H) h_t; zero on padded rows
  encoder::Matrix final;     // (B, D*H)
  // Per direction d: gate activations i, f, g, o (B*T, 4H) and cell states (B*T, H).
  std::vector<encoder::Matrix> gates, cells;
};

class Lstm {
 public:
  // Registers the tensors named above under `prefix` in *arena (which must outlive the
  // Lstm). Throws kInvalidArgument for a non-positive width.
  Lstm(encoder::ParamArena* arena, const std::string& prefix, const LstmConfig& config);

  // PyTorch's initialisation: every tensor U(-1/sqrt(H), 1/sqrt(H)); deterministic in seed.
  void Init(uint64_t seed);

  // x is (B*T, I) with T = x.rows() / B; lengths (B) each in [0, T]. Throws kInvalidArgument
  // naming the shape or the offending length.
  void Forward(const encoder::Matrix& x, const std::vector<int>& lengths, LstmState* state) const;
  // d_outputs (B*T, D*H) and d_final (B, D*H) are d loss / d outputs and / d final; either
  // may be null (no gradient there). dx (B*T, I) is overwritten; null when not needed.
  void Backward(const LstmState& state, const encoder::Matrix* d_outputs, const encoder::Matrix* d_final,
                encoder::Matrix* dx);

  const LstmConfig& config() const { return config_; }
  int directions() const { return config_.bidirectional ? 2 : 1; }
  int output_width() const { return directions() * config_.hidden; }  // D*H

 private:
  struct Direction {
    int w_ih = -1, w_hh = -1, b_ih = -1, b_hh = -1;
  };
  void DirectionForward(int d, LstmState* s) const;
  void DirectionBackward(int d, const LstmState& s, const encoder::Matrix* d_outputs, const encoder::Matrix* d_final,
                         encoder::Matrix* dx);  // adds into *dx

  LstmConfig config_;
  encoder::ParamArena* arena_;
  std::vector<Direction> dirs_;  // [0] forward, [1] reverse when bidirectional
};

}  // namespace spade::fusion
