// Finite-difference gradient checking helpers shared by the encoder tests.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <string>

#include "encoder/tensor.h"

namespace spade::encoder::testing {

inline Matrix RandomMatrix(int rows, int cols, uint64_t seed, float scale = 1.0f) {
  std::mt19937 rng(static_cast<unsigned>(seed));
  std::normal_distribution<float> d(0.0f, scale);
  Matrix m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = d(rng);
  return m;
}

inline double Dot(const Matrix& a, const Matrix& b) {
  return (a.cast<double>().array() * b.cast<double>().array()).sum();
}

// Checks analytic[i] against central differences of loss() when x[i] moves by ±eps, for
// up to `max_checks` evenly spread coordinates. The tolerance is |fd - an| <= atol + rtol*|an|.
inline void CheckGradient(const std::string& what, float* x, const float* analytic, size_t n,
                          const std::function<double()>& loss, float eps = 1e-2f, double atol = 2e-3,
                          double rtol = 2e-2, size_t max_checks = 40) {
  const size_t step = std::max<size_t>(1, n / max_checks);
  int failures = 0;
  for (size_t i = 0; i < n; i += step) {
    const float saved = x[i];
    x[i] = saved + eps;
    const double lp = loss();
    x[i] = saved - eps;
    const double lm = loss();
    x[i] = saved;
    const double fd = (lp - lm) / (2.0 * eps);
    const double an = analytic[i];
    if (std::abs(fd - an) > atol + rtol * std::abs(an)) {
      if (++failures <= 5) ADD_FAILURE() << what << "[" << i << "]: finite difference " << fd << " vs analytic " << an;
    }
  }
  EXPECT_EQ(failures, 0) << what;
}

}  // namespace spade::encoder::testing
