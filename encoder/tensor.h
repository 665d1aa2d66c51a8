// Tensor aliases for the whole encoder. Storage order is declared here once: every matrix
// is row-major, so a (N, H) activation holds one token's hidden state per contiguous row,
// and a (O, I) weight matches the PyTorch / safetensors layout byte for byte.
//
// Shape letters used across encoder/:
//   B batch, T tokens per sequence, N = B*T token rows, H hidden, E embedding (ALBERT),
//   F feed-forward (intermediate), V vocabulary, P max positions, nH heads, D = H / nH,
//   L layers, C choices (multiple choice), K labels.
#pragma once

#include <Eigen/Dense>
#include <string>

#include "encoder/error.h"

namespace spade::encoder {

using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatrixMap = Eigen::Map<Matrix>;
using ConstMatrixMap = Eigen::Map<const Matrix>;
using RowVector = Eigen::Matrix<float, 1, Eigen::Dynamic>;
using ColVector = Eigen::VectorXf;

// Throws a shape error naming `what` unless m is (rows, cols).
inline void CheckShape(const std::string& what, const Matrix& m, int64_t rows, int64_t cols) {
  if (m.rows() != rows || m.cols() != cols) ThrowShapeMismatch(what, {rows, cols}, {m.rows(), m.cols()});
}

}  // namespace spade::encoder
