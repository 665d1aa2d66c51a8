#include "encoder/params.h"

#include <cmath>
#include <random>

namespace spade::encoder {

int ParamArena::Add(const std::string& name, int rows, int cols, bool is_vector, bool decay) {
  if (allocated_) throw Error(ErrorCode::kInvalidArgument, name + ": parameter added after Allocate()");
  if (rows <= 0 || cols <= 0) ThrowShapeMismatch(name + ": parameter must be non-empty", {1, 1}, {rows, cols});
  if (by_name_.count(name)) throw Error(ErrorCode::kInvalidArgument, name + ": parameter registered twice");
  ParamInfo p;
  p.name = name;
  p.rows = rows;
  p.cols = cols;
  p.is_vector = is_vector;
  p.decay = decay;
  // Keep every tensor 16-float aligned so Eigen maps start on a cache line.
  p.offset = total_;
  total_ += (static_cast<size_t>(rows) * cols + 15) / 16 * 16;
  by_name_[name] = static_cast<int>(params_.size());
  params_.push_back(p);
  return static_cast<int>(params_.size()) - 1;
}

int ParamArena::AddMatrix(const std::string& name, int rows, int cols, bool decay) {
  return Add(name, rows, cols, false, decay);
}
int ParamArena::AddVector(const std::string& name, int n) { return Add(name, 1, n, true, false); }

void ParamArena::Allocate() {
  values_.assign(total_, 0.0f);
  grads_.assign(total_, 0.0f);
  allocated_ = true;
}

MatrixMap ParamArena::Value(int id) {
  const ParamInfo& p = params_[static_cast<size_t>(id)];
  return MatrixMap(values_.data() + p.offset, p.rows, p.cols);
}
ConstMatrixMap ParamArena::Value(int id) const {
  const ParamInfo& p = params_[static_cast<size_t>(id)];
  return ConstMatrixMap(values_.data() + p.offset, p.rows, p.cols);
}
MatrixMap ParamArena::Grad(int id) {
  const ParamInfo& p = params_[static_cast<size_t>(id)];
  return MatrixMap(grads_.data() + p.offset, p.rows, p.cols);
}
ConstMatrixMap ParamArena::Grad(int id) const {
  const ParamInfo& p = params_[static_cast<size_t>(id)];
  return ConstMatrixMap(grads_.data() + p.offset, p.rows, p.cols);
}

void ParamArena::ZeroGrad() { std::fill(grads_.begin(), grads_.end(), 0.0f); }

int ParamArena::Find(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? -1 : it->second;
}

void ParamArena::InitNormal(int id, float stddev, uint64_t seed) {
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(id) + 1);
  std::normal_distribution<float> dist(0.0f, stddev);
  MatrixMap m = Value(id);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = dist(rng);
}

void ParamArena::Fill(int id, float value) { Value(id).setConstant(value); }

}  // namespace spade::encoder
