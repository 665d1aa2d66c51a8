#include "encoder/layers.h"

#include <algorithm>
#include <cmath>
#include <unsupported/Eigen/SpecialFunctions>  // vectorised erf

#ifdef SPADE_HAVE_OPENBLAS
#include <cblas.h>
#endif

namespace spade::encoder {

// ---------------- Linear ----------------

Linear AddLinear(ParamArena& arena, const std::string& prefix, int in, int out, bool bias) {
  Linear l;
  l.in = in;
  l.out = out;
  l.weight = arena.AddMatrix(prefix + ".weight", out, in);
  if (bias) l.bias = arena.AddVector(prefix + ".bias", out);
  return l;
}

Linear AddConv1D(ParamArena& arena, const std::string& prefix, int in, int out) {
  Linear l;
  l.in = in;
  l.out = out;
  l.transposed = true;
  l.weight = arena.AddMatrix(prefix + ".weight", in, out);
  l.bias = arena.AddVector(prefix + ".bias", out);
  return l;
}

void LinearForward(const ParamArena& arena, const Linear& l, const Matrix& x, Matrix* y) {
  if (x.cols() != l.in) {
    ThrowShapeMismatch(arena.info(l.weight).name + " input", {x.rows(), l.in}, {x.rows(), x.cols()});
  }
  ConstMatrixMap w = arena.Value(l.weight);
  y->resize(x.rows(), l.out);
#ifdef SPADE_HAVE_OPENBLAS
  // torch's addmm: y = bias rows, then y += x W^T in one sgemm (beta = 1). Eigen's product
  // would zero y, multiply-accumulate, then add the bias: two extra passes over y.
  if (l.bias >= 0 && x.rows() > 0) {
    y->rowwise() = arena.Value(l.bias).row(0);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, l.transposed ? CblasNoTrans : CblasTrans, static_cast<int>(x.rows()),
                l.out, l.in, 1.0f, x.data(), l.in, w.data(), l.transposed ? l.out : l.in, 1.0f, y->data(), l.out);
    return;
  }
#endif
  if (l.transposed) {
    y->noalias() = x * w;
  } else {
    y->noalias() = x * w.transpose();
  }
  if (l.bias >= 0) y->rowwise() += arena.Value(l.bias).row(0);
}

void LinearBackward(ParamArena& arena, const Linear& l, const Matrix& x, const Matrix& dy, Matrix* dx) {
  MatrixMap gw = arena.Grad(l.weight);
  if (l.transposed) {
    gw.noalias() += x.transpose() * dy;
  } else {
    gw.noalias() += dy.transpose() * x;
  }
  if (l.bias >= 0) arena.Grad(l.bias).row(0) += dy.colwise().sum();
  if (dx) {
    dx->resize(x.rows(), l.in);
    if (l.transposed) {
      dx->noalias() = dy * arena.Value(l.weight).transpose();
    } else {
      dx->noalias() = dy * arena.Value(l.weight);
    }
  }
}

// ---------------- LayerNorm ----------------

LayerNorm AddLayerNorm(ParamArena& arena, const std::string& prefix, int dim, float eps) {
  LayerNorm ln;
  ln.dim = dim;
  ln.eps = eps;
  ln.gamma = arena.AddVector(prefix + ".weight", dim);
  ln.beta = arena.AddVector(prefix + ".bias", dim);
  return ln;
}

void LayerNormForward(const ParamArena& arena, const LayerNorm& ln, const Matrix& x, Matrix* y,
                      LayerNormCache* cache) {
  if (x.cols() != ln.dim) {
    ThrowShapeMismatch(arena.info(ln.gamma).name + " input", {x.rows(), ln.dim}, {x.rows(), x.cols()});
  }
  const Eigen::Index n = x.rows();
  auto gamma = arena.Value(ln.gamma).row(0);
  auto beta = arena.Value(ln.beta).row(0);
  cache->xhat.resize(n, ln.dim);
  cache->rstd.resize(n);
  y->resize(n, ln.dim);
  for (Eigen::Index r = 0; r < n; ++r) {
    const float mean = x.row(r).mean();
    const float var = (x.row(r).array() - mean).square().mean();
    const float rstd = 1.0f / std::sqrt(var + ln.eps);
    cache->rstd[r] = rstd;
    cache->xhat.row(r) = (x.row(r).array() - mean) * rstd;
    y->row(r) = cache->xhat.row(r).cwiseProduct(gamma) + beta;
  }
}

void LayerNormBackward(ParamArena& arena, const LayerNorm& ln, const Matrix& dy, const LayerNormCache& cache,
                       Matrix* dx) {
  auto gamma = arena.Value(ln.gamma).row(0);
  arena.Grad(ln.gamma).row(0) += (dy.array() * cache.xhat.array()).colwise().sum().matrix();
  arena.Grad(ln.beta).row(0) += dy.colwise().sum();
  if (!dx) return;
  const Eigen::Index n = dy.rows();
  dx->resize(n, ln.dim);
  dx->noalias() = dy * gamma.asDiagonal();  // g = dy * gamma, row by row below
  const float inv_dim = 1.0f / static_cast<float>(ln.dim);
  for (Eigen::Index r = 0; r < n; ++r) {
    auto g = dx->row(r);
    const float mean_g = g.sum() * inv_dim;
    const float mean_gx = g.dot(cache.xhat.row(r)) * inv_dim;
    g = ((g.array() - mean_g - cache.xhat.row(r).array() * mean_gx) * cache.rstd[r]).matrix();
  }
}

// ---------------- Activations ----------------

Activation ParseActivation(const std::string& name) {
  if (name == "gelu") return Activation::kGelu;
  if (name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "gelu_fast") return Activation::kGeluNew;
  if (name == "relu") return Activation::kRelu;
  if (name == "tanh") return Activation::kTanh;
  throw Error(ErrorCode::kInvalidArgument, "hidden_act: unsupported activation '" + name + "'");
}

std::string ActivationName(Activation a) {
  switch (a) {
    case Activation::kGelu: return "gelu";
    case Activation::kGeluNew: return "gelu_new";
    case Activation::kRelu: return "relu";
    case Activation::kTanh: return "tanh";
  }
  return "gelu";
}

namespace {
constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kInvSqrt2 = 0.7071067811865476f;
constexpr float kInvSqrt2Pi = 0.3989422804014327f;
}  // namespace

void ActivationForward(Activation a, const Matrix& x, Matrix* y) {
  y->resize(x.rows(), x.cols());
  // Eigen's array functions are SIMD-vectorised (erf, tanh, exp): the element-wise layers
  // would otherwise rival the GEMMs at small hidden sizes.
  auto in = x.array();
  switch (a) {
    case Activation::kGelu:
      y->array() = 0.5f * in * (1.0f + (in * kInvSqrt2).erf());
      break;
    case Activation::kGeluNew:
      y->array() = 0.5f * in * (1.0f + (kSqrt2OverPi * (in + 0.044715f * in.cube())).tanh());
      break;
    case Activation::kRelu:
      y->array() = in.max(0.0f);
      break;
    case Activation::kTanh:
      y->array() = in.tanh();
      break;
  }
}

void ActivationBackward(Activation a, const Matrix& x, const Matrix& dy, Matrix* dx) {
  dx->resize(x.rows(), x.cols());
  auto in = x.array();
  auto g = dy.array();
  switch (a) {
    case Activation::kGelu:
      dx->array() = g * (0.5f * (1.0f + (in * kInvSqrt2).erf()) + in * kInvSqrt2Pi * (-0.5f * in.square()).exp());
      break;
    case Activation::kGeluNew: {
      // t = tanh(u), u = sqrt(2/pi) (x + 0.044715 x^3); dy/dx = 0.5 (1 + t) + 0.5 x (1 - t^2) u'
      dx->array() = (kSqrt2OverPi * (in + 0.044715f * in.cube())).tanh();  // t, in place
      auto t = dx->array();
      dx->array() = g * (0.5f * (1.0f + t) +
                         0.5f * in * (1.0f - t.square()) * kSqrt2OverPi * (1.0f + 3.0f * 0.044715f * in.square()));
      break;
    }
    case Activation::kRelu:
      dx->array() = (in > 0.0f).select(g, 0.0f);
      break;
    case Activation::kTanh:
      dx->array() = g * (1.0f - in.tanh().square());
      break;
  }
}

// ---------------- Embedding ----------------

void EmbeddingForward(const ParamArena& arena, int table, const std::vector<int32_t>& ids, Matrix* y) {
  ConstMatrixMap t = arena.Value(table);
  y->resize(static_cast<Eigen::Index>(ids.size()), t.cols());
  for (size_t n = 0; n < ids.size(); ++n) {
    if (ids[n] < 0 || ids[n] >= t.rows()) {
      throw Error(ErrorCode::kInvalidArgument, arena.info(table).name + ": id " + std::to_string(ids[n]) +
                                                   " at position " + std::to_string(n) + " is outside [0, " +
                                                   std::to_string(t.rows()) + ")");
    }
    y->row(static_cast<Eigen::Index>(n)) = t.row(ids[n]);
  }
}

void EmbeddingBackward(ParamArena& arena, int table, const std::vector<int32_t>& ids, const Matrix& dy) {
  MatrixMap g = arena.Grad(table);
  for (size_t n = 0; n < ids.size(); ++n) g.row(ids[n]) += dy.row(static_cast<Eigen::Index>(n));
}

// ---------------- Dropout ----------------

float UniformHash(uint64_t seed, uint64_t i) {
  // splitmix64 of (seed, i): a counter-based generator, so masks do not depend on threads.
  uint64_t z = seed * 0x9E3779B97F4A7C15ULL + i + 0x632BE59BD9B4E019ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  return static_cast<float>(z >> 40) * (1.0f / 16777216.0f);
}

void DropoutForward(float p, bool train, uint64_t seed, Matrix* x, DropoutCache* cache) {
  if (!train || p <= 0.0f) {
    cache->mask.resize(0, 0);
    return;
  }
  cache->mask.resize(x->rows(), x->cols());
  const float keep = 1.0f / (1.0f - p);
  float* m = cache->mask.data();
  float* v = x->data();
  for (Eigen::Index i = 0; i < x->size(); ++i) {
    m[i] = UniformHash(seed, static_cast<uint64_t>(i)) < p ? 0.0f : keep;
    v[i] *= m[i];
  }
}

void DropoutBackward(const DropoutCache& cache, Matrix* dx) {
  if (cache.mask.size() == 0) return;
  dx->array() *= cache.mask.array();
}

// ---------------- Losses ----------------

float SoftmaxCrossEntropy(const Matrix& logits, const std::vector<int32_t>& labels, Matrix* dlogits,
                          int32_t ignore_index) {
  if (static_cast<Eigen::Index>(labels.size()) != logits.rows()) {
    ThrowShapeMismatch("cross-entropy labels", {logits.rows()}, {static_cast<int64_t>(labels.size())});
  }
  const Eigen::Index k = logits.cols();
  int count = 0;
  for (int32_t y : labels) {
    if (y == ignore_index) continue;
    if (y < 0 || y >= k) {
      throw Error(ErrorCode::kInvalidArgument,
                  "cross-entropy: label " + std::to_string(y) + " is outside [0, " + std::to_string(k) + ")");
    }
    ++count;
  }
  dlogits->setZero(logits.rows(), k);
  if (count == 0) return 0.0f;
  double loss = 0.0;
  const float inv = 1.0f / static_cast<float>(count);
  for (Eigen::Index r = 0; r < logits.rows(); ++r) {
    const int32_t y = labels[static_cast<size_t>(r)];
    if (y == ignore_index) continue;
    const float mx = logits.row(r).maxCoeff();
    RowVector e = (logits.row(r).array() - mx).exp().matrix();
    const float sum = e.sum();
    loss += std::log(sum) - (logits(r, y) - mx);
    dlogits->row(r) = e * (inv / sum);
    (*dlogits)(r, y) -= inv;
  }
  return static_cast<float>(loss / count);
}

float SigmoidCrossEntropy(const Matrix& logits, const std::vector<float>& targets, const std::vector<float>& weights,
                          Matrix* dlogits) {
  const Eigen::Index n = logits.size();
  if (static_cast<Eigen::Index>(targets.size()) != n || static_cast<Eigen::Index>(weights.size()) != n) {
    ThrowShapeMismatch("sigmoid cross-entropy targets", {n}, {static_cast<int64_t>(targets.size())});
  }
  dlogits->setZero(logits.rows(), logits.cols());
  double wsum = 0.0;
  for (float w : weights) wsum += w;
  if (wsum <= 0.0) return 0.0f;
  double loss = 0.0;
  for (Eigen::Index i = 0; i < n; ++i) {
    const float w = weights[static_cast<size_t>(i)];
    if (w == 0.0f) continue;
    const float x = logits.data()[i];
    const float t = targets[static_cast<size_t>(i)];
    // log(1 + exp(-|x|)) + max(x, 0) - x t: stable for large |x|.
    loss += w * (std::max(x, 0.0f) - x * t + std::log1p(std::exp(-std::abs(x))));
    const float s = 1.0f / (1.0f + std::exp(-x));
    dlogits->data()[i] = static_cast<float>(w * (s - t) / wsum);
  }
  return static_cast<float>(loss / wsum);
}

}  // namespace spade::encoder
