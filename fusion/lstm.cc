#include "fusion/lstm.h"

#include <cmath>

#include "encoder/error.h"
#include "encoder/layers.h"

namespace spade::fusion {
namespace {

using encoder::ColVector;
using encoder::Error;
using encoder::ErrorCode;
using encoder::Matrix;
using encoder::RowVector;

// One step of every sequence: rows b*T + t (b = 0..B-1) of a (B*T, ·) matrix, columns
// [col, col + n). A strided view, so the recurrence runs as (B, ·) matrix products without
// gathering rows.
using StepView = Eigen::Map<Matrix, 0, Eigen::OuterStride<>>;
using ConstStepView = Eigen::Map<const Matrix, 0, Eigen::OuterStride<>>;

StepView Step(Matrix& m, int batch, int steps, int t, int col, int n) {
  return StepView(m.data() + static_cast<Eigen::Index>(t) * m.cols() + col, batch, n,
                  Eigen::OuterStride<>(static_cast<Eigen::Index>(steps) * m.cols()));
}
ConstStepView Step(const Matrix& m, int batch, int steps, int t, int col, int n) {
  return ConstStepView(m.data() + static_cast<Eigen::Index>(t) * m.cols() + col, batch, n,
                       Eigen::OuterStride<>(static_cast<Eigen::Index>(steps) * m.cols()));
}

// 1 for the sequences that have a real step t, 0 for those padded there.
ColVector StepMask(const std::vector<int>& lengths, int t) {
  ColVector m(static_cast<Eigen::Index>(lengths.size()));
  for (size_t b = 0; b < lengths.size(); ++b) m[static_cast<Eigen::Index>(b)] = t < lengths[b] ? 1.0f : 0.0f;
  return m;
}

// The step a direction visits k-th: forward reads 0..T-1, reverse T-1..0. Padded steps of a
// short sequence are visited too but masked, so the reverse direction effectively starts at
// that sequence's own last real step with a zero state.
int StepAt(int direction, int k, int steps) { return direction == 0 ? k : steps - 1 - k; }

void Sigmoid(Eigen::Ref<Matrix> a) { a = (1.0f + (-a.array()).exp()).inverse().matrix(); }

}  // namespace

Lstm::Lstm(encoder::ParamArena* arena, const std::string& prefix, const LstmConfig& config)
    : config_(config), arena_(arena) {
  if (config.input <= 0 || config.hidden <= 0) {
    throw Error(ErrorCode::kInvalidArgument, std::string(prefix)
                                                 .append(": LSTM widths must be positive, got input=")
                                                 .append(std::to_string(config.input))
                                                 .append(" hidden=")
                                                 .append(std::to_string(config.hidden)));
  }
  const int g = 4 * config.hidden;
  for (int d = 0; d < directions(); ++d) {
    const std::string suffix = d == 0 ? "_l0" : "_l0_reverse";
    Direction dir;
    dir.w_ih = arena->AddMatrix(std::string(prefix).append(".weight_ih").append(suffix), g, config.input);
    dir.w_hh = arena->AddMatrix(std::string(prefix).append(".weight_hh").append(suffix), g, config.hidden);
    dir.b_ih = arena->AddVector(std::string(prefix).append(".bias_ih").append(suffix), g);
    dir.b_hh = arena->AddVector(std::string(prefix).append(".bias_hh").append(suffix), g);
    dirs_.push_back(dir);
  }
}

void Lstm::Init(uint64_t seed) {
  const float bound = 1.0f / std::sqrt(static_cast<float>(config_.hidden));
  for (const Direction& dir : dirs_) {
    for (int id : {dir.w_ih, dir.w_hh, dir.b_ih, dir.b_hh}) {
      auto v = arena_->Value(id);
      // A distinct stream per tensor so equal-shaped tensors do not start equal.
      const uint64_t stream = seed ^ (0x9E3779B97F4A7C15ull * static_cast<uint64_t>(id + 1));
      for (Eigen::Index i = 0; i < v.size(); ++i) {
        v.data()[i] = (2.0f * encoder::UniformHash(stream, static_cast<uint64_t>(i)) - 1.0f) * bound;
      }
    }
  }
}

void Lstm::Forward(const Matrix& x, const std::vector<int>& lengths, LstmState* s) const {
  const int batch = static_cast<int>(lengths.size());
  if (x.cols() != config_.input || (batch == 0 && x.rows() != 0) || (batch > 0 && x.rows() % batch != 0)) {
    throw Error(ErrorCode::kInvalidArgument, std::string("LSTM input: expected (B*T, ")
                                                 .append(std::to_string(config_.input))
                                                 .append(") with B=")
                                                 .append(std::to_string(batch))
                                                 .append(" sequences, got ")
                                                 .append(encoder::ShapeString(x.rows(), x.cols())));
  }
  const int steps = batch == 0 ? 0 : static_cast<int>(x.rows() / batch);
  for (int b = 0; b < batch; ++b) {
    if (lengths[static_cast<size_t>(b)] < 0 || lengths[static_cast<size_t>(b)] > steps) {
      throw Error(ErrorCode::kInvalidArgument, std::string("LSTM lengths[")
                                                   .append(std::to_string(b))
                                                   .append("] = ")
                                                   .append(std::to_string(lengths[static_cast<size_t>(b)]))
                                                   .append(" is outside [0, T=")
                                                   .append(std::to_string(steps))
                                                   .append("]"));
    }
  }
  s->batch = batch;
  s->steps = steps;
  s->lengths = lengths;
  s->x = x;
  s->outputs = Matrix::Zero(x.rows(), output_width());
  s->final = Matrix::Zero(batch, output_width());
  s->gates.resize(static_cast<size_t>(directions()));
  s->cells.resize(static_cast<size_t>(directions()));
  for (int d = 0; d < directions(); ++d) DirectionForward(d, s);
}

void Lstm::DirectionForward(int d, LstmState* s) const {
  const Direction& dir = dirs_[static_cast<size_t>(d)];
  const int B = s->batch, T = s->steps, H = config_.hidden;
  Matrix& gates = s->gates[static_cast<size_t>(d)];
  Matrix& cells = s->cells[static_cast<size_t>(d)];
  gates = Matrix::Zero(s->x.rows(), 4 * H);
  cells = Matrix::Zero(s->x.rows(), H);
  if (B == 0 || T == 0) return;

  const auto w_hh = arena_->Value(dir.w_hh);  // (4H, H)
  // The input projection of every step at once; both biases folded in (they only ever add).
  const RowVector bias = arena_->Value(dir.b_ih).row(0) + arena_->Value(dir.b_hh).row(0);
  Matrix xp = s->x * arena_->Value(dir.w_ih).transpose();  // (B*T, 4H)
  xp.rowwise() += bias;

  Matrix h = Matrix::Zero(B, H), c = Matrix::Zero(B, H), a(B, 4 * H);
  for (int k = 0; k < T; ++k) {
    const int t = StepAt(d, k, T);
    const ColVector m = StepMask(s->lengths, t);
    a = Step(xp, B, T, t, 0, 4 * H) + h * w_hh.transpose();
    Sigmoid(a.leftCols(H));
    Sigmoid(a.middleCols(H, H));
    a.middleCols(2 * H, H) = a.middleCols(2 * H, H).array().tanh().matrix();
    Sigmoid(a.rightCols(H));
    // Padded rows are zeroed: their state is then exactly the zero initial state, which is
    // what the reverse direction needs before a short sequence's last real step.
    a.array().colwise() *= m.array();
    c = (a.middleCols(H, H).array() * c.array() + a.leftCols(H).array() * a.middleCols(2 * H, H).array()).matrix();
    c.array().colwise() *= m.array();
    h = (a.rightCols(H).array() * c.array().tanh()).matrix();
    Step(gates, B, T, t, 0, 4 * H) = a;
    Step(cells, B, T, t, 0, H) = c;
    Step(s->outputs, B, T, t, d * H, H) = h;
  }
  for (int b = 0; b < B; ++b) {
    const int len = s->lengths[static_cast<size_t>(b)];
    if (len == 0) continue;
    const int last = d == 0 ? len - 1 : 0;
    s->final.row(b).segment(d * H, H) = s->outputs.row(static_cast<Eigen::Index>(b) * T + last).segment(d * H, H);
  }
}

void Lstm::Backward(const LstmState& s, const Matrix* d_outputs, const Matrix* d_final, Matrix* dx) {
  if (d_outputs != nullptr) encoder::CheckShape("LSTM d_outputs", *d_outputs, s.outputs.rows(), output_width());
  if (d_final != nullptr) encoder::CheckShape("LSTM d_final", *d_final, s.batch, output_width());
  if (dx != nullptr) dx->setZero(s.x.rows(), config_.input);
  for (int d = 0; d < directions(); ++d) DirectionBackward(d, s, d_outputs, d_final, dx);
}

void Lstm::DirectionBackward(int d, const LstmState& s, const Matrix* d_outputs, const Matrix* d_final, Matrix* dx) {
  const Direction& dir = dirs_[static_cast<size_t>(d)];
  const int B = s.batch, T = s.steps, H = config_.hidden;
  if (B == 0 || T == 0) return;
  const Matrix& gates = s.gates[static_cast<size_t>(d)];
  const Matrix& cells = s.cells[static_cast<size_t>(d)];
  const auto w_hh = arena_->Value(dir.w_hh);
  auto dw_hh = arena_->Grad(dir.w_hh);

  Matrix da_all = Matrix::Zero(s.x.rows(), 4 * H);  // d loss / d pre-activation gates, every step
  Matrix dh_next = Matrix::Zero(B, H), dc_next = Matrix::Zero(B, H), dh(B, H), dc(B, H), da(B, 4 * H);
  Matrix h_prev(B, H), c_prev(B, H);
  // Backward through time: the steps in the reverse of the order the direction visited them.
  for (int k = T - 1; k >= 0; --k) {
    const int t = StepAt(d, k, T);
    const ColVector m = StepMask(s.lengths, t);
    dh = dh_next;
    if (d_outputs != nullptr) dh += Step(*d_outputs, B, T, t, d * H, H);
    if (d_final != nullptr) {
      for (int b = 0; b < B; ++b) {
        const int len = s.lengths[static_cast<size_t>(b)];
        if (len > 0 && t == (d == 0 ? len - 1 : 0)) dh.row(b) += d_final->row(b).segment(d * H, H);
      }
    }
    // A padded step's state is a constant zero: nothing flows through it.
    dh.array().colwise() *= m.array();
    dc_next.array().colwise() *= m.array();

    const ConstStepView g = Step(gates, B, T, t, 0, 4 * H);
    const ConstStepView c = Step(cells, B, T, t, 0, H);
    // The previous state was stored zeroed where it was padding (see DirectionForward).
    if (k > 0) {
      const int tp = StepAt(d, k - 1, T);
      h_prev = Step(s.outputs, B, T, tp, d * H, H);
      c_prev = Step(cells, B, T, tp, 0, H);
    } else {
      h_prev.setZero();
      c_prev.setZero();
    }
    const auto gi = g.leftCols(H).array(), gf = g.middleCols(H, H).array(), gg = g.middleCols(2 * H, H).array(),
               go = g.rightCols(H).array();
    const Eigen::ArrayXXf tc = c.array().tanh();
    dc = (dc_next.array() + dh.array() * go * (1.0f - tc.square())).matrix();
    da.leftCols(H) = (dc.array() * gg * gi * (1.0f - gi)).matrix();
    da.middleCols(H, H) = (dc.array() * c_prev.array() * gf * (1.0f - gf)).matrix();
    da.middleCols(2 * H, H) = (dc.array() * gi * (1.0f - gg.square())).matrix();
    da.rightCols(H) = (dh.array() * tc * go * (1.0f - go)).matrix();
    Step(da_all, B, T, t, 0, 4 * H) = da;
    if (k > 0) dw_hh.noalias() += da.transpose() * h_prev;
    dh_next.noalias() = da * w_hh;
    dc_next = (dc.array() * gf).matrix();
  }
  arena_->Grad(dir.w_ih).noalias() += da_all.transpose() * s.x;
  const RowVector db = da_all.colwise().sum();
  arena_->Grad(dir.b_ih).row(0) += db;
  arena_->Grad(dir.b_hh).row(0) += db;
  if (dx != nullptr) dx->noalias() += da_all * arena_->Value(dir.w_ih);  // both directions add
}

}  // namespace spade::fusion
