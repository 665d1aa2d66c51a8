#include "encoder/attention.h"

#include <cmath>
#include <limits>

#include "encoder/layers.h"

namespace spade::encoder {
namespace {

bool KeyAllowed(const AttentionShape& s, const std::vector<float>& key_mask, int b, int i, int j) {
  if (s.causal && j > i) return false;
  return key_mask.empty() || key_mask[static_cast<size_t>(b) * s.seq + j] != 0.0f;
}

void CheckInputs(const AttentionShape& s, const Matrix& q, const Matrix& k, const Matrix& v,
                 const std::vector<float>& key_mask, const char* what) {
  const int64_t n = static_cast<int64_t>(s.batch) * s.seq, h = static_cast<int64_t>(s.heads) * s.head_dim;
  CheckShape(std::string(what) + " query", q, n, h);
  CheckShape(std::string(what) + " key", k, n, h);
  CheckShape(std::string(what) + " value", v, n, h);
  if (!key_mask.empty() && static_cast<int64_t>(key_mask.size()) != n) {
    ThrowShapeMismatch(std::string(what) + " attention_mask", {s.batch, s.seq},
                       {static_cast<int64_t>(key_mask.size())});
  }
}

}  // namespace

void AttentionForward(const AttentionShape& s, const Matrix& q, const Matrix& k, const Matrix& v,
                      const std::vector<float>& key_mask, float dropout_p, bool train, uint64_t seed,
                      AttentionCache* cache, Matrix* ctx, const char* what) {
  CheckInputs(s, q, k, v, key_mask, what);
  const int T = s.seq, D = s.head_dim, nH = s.heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  const bool drop = train && dropout_p > 0.0f;
  const float keep = drop ? 1.0f / (1.0f - dropout_p) : 1.0f;
  cache->probs.resize(static_cast<Eigen::Index>(s.batch) * nH * T, T);
  if (drop) {
    cache->drop_mask.resize(cache->probs.rows(), T);
  } else {
    cache->drop_mask.resize(0, 0);
  }
  ctx->resize(q.rows(), q.cols());
  const int pairs = s.batch * nH;
  [[maybe_unused]] const bool parallel = static_cast<int64_t>(pairs) * T * T * D > 32768;  // skip tiny fork/join
#pragma omp parallel for schedule(static) if (parallel)
  for (int bh = 0; bh < pairs; ++bh) {
    const int b = bh / nH, h = bh % nH;
    auto Q = q.block(static_cast<Eigen::Index>(b) * T, h * D, T, D);
    auto K = k.block(static_cast<Eigen::Index>(b) * T, h * D, T, D);
    auto V = v.block(static_cast<Eigen::Index>(b) * T, h * D, T, D);
    auto P = cache->probs.block(static_cast<Eigen::Index>(bh) * T, 0, T, T);
    P.noalias() = Q * K.transpose();
    // Masked softmax per row, vectorised: masked keys get exactly 0.
    for (int i = 0; i < T; ++i) {
      auto row = P.row(i);
      const int limit = s.causal ? i + 1 : T;  // keys j < limit may be visible
      float mx = -std::numeric_limits<float>::infinity();
      for (int j = 0; j < limit; ++j) {
        if (key_mask.empty() || key_mask[static_cast<size_t>(b) * T + j] != 0.0f) mx = std::max(mx, row(j));
      }
      if (mx == -std::numeric_limits<float>::infinity()) {
        row.setZero();
        continue;
      }
      row.head(limit) = ((row.head(limit).array() - mx) * scale).exp().matrix();
      if (limit < T) row.tail(T - limit).setZero();
      if (!key_mask.empty()) {
        for (int j = 0; j < limit; ++j) {
          if (key_mask[static_cast<size_t>(b) * T + j] == 0.0f) row(j) = 0.0f;
        }
      }
      row *= 1.0f / row.sum();
    }
    auto C = ctx->block(static_cast<Eigen::Index>(b) * T, h * D, T, D);
    if (drop) {
      auto M = cache->drop_mask.block(static_cast<Eigen::Index>(bh) * T, 0, T, T);
      const uint64_t base = static_cast<uint64_t>(bh) * T * T;
      for (int i = 0; i < T; ++i) {
        for (int j = 0; j < T; ++j) {
          M(i, j) = UniformHash(seed, base + static_cast<uint64_t>(i) * T + j) < dropout_p ? 0.0f : keep;
        }
      }
      C.noalias() = P.cwiseProduct(M) * V;
    } else {
      C.noalias() = P * V;
    }
  }
}

void AttentionBackward(const AttentionShape& s, const Matrix& q, const Matrix& k, const Matrix& v,
                       const AttentionCache& cache, const Matrix& dctx, Matrix* dq, Matrix* dk, Matrix* dv,
                       const AttentionGradInjection* inject, const char* what) {
  const int T = s.seq, D = s.head_dim, nH = s.heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  const bool drop = cache.drop_mask.size() != 0;
  const Matrix* d_scores = inject ? inject->d_scores : nullptr;
  const Matrix* d_probs = inject ? inject->d_probs : nullptr;
  static const std::vector<float> kNoMask;
  const std::vector<float>& key_mask = inject && inject->key_mask ? *inject->key_mask : kNoMask;
  if (d_probs) CheckShape(std::string(what) + " d probs", *d_probs, cache.probs.rows(), T);
  if (d_scores) {
    CheckShape(std::string(what) + " d scores", *d_scores, cache.probs.rows(), T);
    if (!inject->key_mask) {
      throw Error(ErrorCode::kInvalidArgument, std::string(what) + ": d scores given without the key mask");
    }
    if (!key_mask.empty() && static_cast<int64_t>(key_mask.size()) != static_cast<int64_t>(s.batch) * T) {
      ThrowShapeMismatch(std::string(what) + " attention_mask", {s.batch, T}, {static_cast<int64_t>(key_mask.size())});
    }
  }
  dq->resize(q.rows(), q.cols());
  dk->resize(k.rows(), k.cols());
  dv->resize(v.rows(), v.cols());
  const int pairs = s.batch * nH;
  [[maybe_unused]] const bool parallel = static_cast<int64_t>(pairs) * T * T * D > 32768;
#pragma omp parallel if (parallel)
  {
    Matrix dP(T, T), Pd(T, T);  // per-thread scratch
#pragma omp for schedule(static)
    for (int bh = 0; bh < pairs; ++bh) {
      const int b = bh / nH, h = bh % nH;
      const Eigen::Index r0 = static_cast<Eigen::Index>(b) * T;
      auto Q = q.block(r0, h * D, T, D);
      auto K = k.block(r0, h * D, T, D);
      auto V = v.block(r0, h * D, T, D);
      auto dC = dctx.block(r0, h * D, T, D);
      auto P = cache.probs.block(static_cast<Eigen::Index>(bh) * T, 0, T, T);
      dP.noalias() = dC * V.transpose();
      if (drop) {
        auto M = cache.drop_mask.block(static_cast<Eigen::Index>(bh) * T, 0, T, T);
        Pd = P.cwiseProduct(M);
        dv->block(r0, h * D, T, D).noalias() = Pd.transpose() * dC;
        dP.array() *= M.array();
      } else {
        dv->block(r0, h * D, T, D).noalias() = P.transpose() * dC;
      }
      if (d_probs) dP += d_probs->block(static_cast<Eigen::Index>(bh) * T, 0, T, T);
      // Softmax backward: dS = P ∘ (dP - rowsum(dP ∘ P)); then fold in the scale.
      for (int i = 0; i < T; ++i) {
        const float dot = dP.row(i).dot(P.row(i));
        dP.row(i) = (P.row(i).array() * (dP.row(i).array() - dot) * scale).matrix();
      }
      if (d_scores) {  // d raw (Q K^T) += scale * d S, at visible keys only
        auto dS = d_scores->block(static_cast<Eigen::Index>(bh) * T, 0, T, T);
        for (int i = 0; i < T; ++i) {
          for (int j = 0; j < T; ++j) {
            if (KeyAllowed(s, key_mask, b, i, j)) dP(i, j) += scale * dS(i, j);
          }
        }
      }
      dq->block(r0, h * D, T, D).noalias() = dP * K;
      dk->block(r0, h * D, T, D).noalias() = dP.transpose() * Q;
    }
  }
}

void AttentionScores(const AttentionShape& s, const Matrix& q, const Matrix& k, const std::vector<float>& key_mask,
                     Matrix* scores, const char* what) {
  CheckInputs(s, q, k, k, key_mask, what);
  const int T = s.seq, D = s.head_dim, nH = s.heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  scores->resize(static_cast<Eigen::Index>(s.batch) * nH * T, T);
  for (int bh = 0; bh < s.batch * nH; ++bh) {
    const int b = bh / nH, h = bh % nH;
    auto Q = q.block(static_cast<Eigen::Index>(b) * T, h * D, T, D);
    auto K = k.block(static_cast<Eigen::Index>(b) * T, h * D, T, D);
    auto S = scores->block(static_cast<Eigen::Index>(bh) * T, 0, T, T);
    S.noalias() = Q * K.transpose();
    S *= scale;
    for (int i = 0; i < T; ++i) {
      for (int j = 0; j < T; ++j) {
        if (!KeyAllowed(s, key_mask, b, i, j)) S(i, j) = 0.0f;
      }
    }
  }
}

void AttentionForwardNaive(const AttentionShape& s, const Matrix& q, const Matrix& k, const Matrix& v,
                           const std::vector<float>& key_mask, Matrix* ctx) {
  CheckInputs(s, q, k, v, key_mask, "naive attention");
  const int T = s.seq, D = s.head_dim;
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  ctx->setZero(q.rows(), q.cols());
  std::vector<double> w(static_cast<size_t>(T));
  for (int b = 0; b < s.batch; ++b) {
    for (int h = 0; h < s.heads; ++h) {
      for (int i = 0; i < T; ++i) {
        double mx = -1e300, sum = 0.0;
        for (int j = 0; j < T; ++j) {
          double dot = 0.0;
          for (int d = 0; d < D; ++d) dot += double(q(b * T + i, h * D + d)) * k(b * T + j, h * D + d);
          w[static_cast<size_t>(j)] = dot * scale;
          if (KeyAllowed(s, key_mask, b, i, j)) mx = std::max(mx, w[static_cast<size_t>(j)]);
        }
        for (int j = 0; j < T; ++j) {
          w[static_cast<size_t>(j)] = KeyAllowed(s, key_mask, b, i, j) ? std::exp(w[static_cast<size_t>(j)] - mx) : 0.0;
          sum += w[static_cast<size_t>(j)];
        }
        for (int d = 0; d < D; ++d) {
          double acc = 0.0;
          for (int j = 0; j < T; ++j) acc += w[static_cast<size_t>(j)] * v(b * T + j, h * D + d);
          (*ctx)(b * T + i, h * D + d) = sum > 0.0 ? static_cast<float>(acc / sum) : 0.0f;
        }
      }
    }
  }
}

}  // namespace spade::encoder
