// ParamArena: every trainable tensor of a model in one contiguous float buffer, with a
// gradient buffer of the same layout (llm.c's malloc_and_point_parameters). Layers hold
// integer ids and view their tensors through Eigen::Map, so the optimizer is one flat loop
// and checkpoint I/O walks a single table of names.
//
// Lifecycle: Add() every tensor, then Allocate() once; Value()/Grad() are valid only after
// Allocate() and stay valid for the arena's lifetime. Not thread-safe for concurrent Add;
// concurrent reads of Value() are fine. Backward passes *accumulate* into Grad(), so a
// tensor shared by several layers (ALBERT, tied MLM decoder) gets the sum of its uses.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "encoder/tensor.h"

namespace spade::encoder {

struct ParamInfo {
  std::string name;   // the published checkpoint name without the model prefix
  int rows = 0;       // 1-D tensors (biases, LayerNorm) are stored as (1, cols)
  int cols = 0;
  bool is_vector = false;  // saved as a 1-D tensor of length cols
  bool decay = true;       // AdamW applies weight decay (false for biases and LayerNorm)
  size_t offset = 0;       // into values()/grads()
};

class ParamArena {
 public:
  // Registers a (rows, cols) matrix; returns its id. Throws on a duplicate name or after
  // Allocate().
  int AddMatrix(const std::string& name, int rows, int cols, bool decay = true);
  // Registers a 1-D tensor of length n (viewed as (1, n)); never decayed.
  int AddVector(const std::string& name, int n);
  void Allocate();  // zero values and grads
  bool allocated() const { return allocated_; }

  MatrixMap Value(int id);
  ConstMatrixMap Value(int id) const;
  MatrixMap Grad(int id);
  ConstMatrixMap Grad(int id) const;
  void ZeroGrad();

  int Find(const std::string& name) const;  // -1 when absent
  const ParamInfo& info(int id) const { return params_[static_cast<size_t>(id)]; }
  const std::vector<ParamInfo>& params() const { return params_; }
  float* values() { return values_.data(); }
  const float* values() const { return values_.data(); }
  float* grads() { return grads_.data(); }
  const float* grads() const { return grads_.data(); }
  size_t size() const { return total_; }

  // Initialisers (deterministic for a given seed).
  void InitNormal(int id, float stddev, uint64_t seed);
  void Fill(int id, float value);

 private:
  int Add(const std::string& name, int rows, int cols, bool is_vector, bool decay);
  std::vector<ParamInfo> params_;
  std::unordered_map<std::string, int> by_name_;
  // Aligned to Eigen's widest packet: Eigen's kernels peel unaligned heads, so the same
  // parameters at another address would sum in another order and training would not be
  // bit-reproducible across processes (a resumed run vs an uninterrupted one).
  std::vector<float, Eigen::aligned_allocator<float>> values_, grads_;
  size_t total_ = 0;
  bool allocated_ = false;
};

}  // namespace spade::encoder
