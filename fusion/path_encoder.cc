#include "fusion/path_encoder.h"

#include <algorithm>
#include <cmath>

#include "encoder/error.h"

namespace spade::fusion {
namespace {

using encoder::Error;
using encoder::ErrorCode;
using encoder::Matrix;

// "statement 2 pair 0 path 5": where a malformed path sits in the batch.
std::string PathName(size_t s, size_t m, size_t k) {
  return std::string("statement ")
      .append(std::to_string(s))
      .append(" pair ")
      .append(std::to_string(m))
      .append(" path ")
      .append(std::to_string(k));
}

void CheckId(const std::string& where, const char* table, int32_t id, Eigen::Index rows) {
  if (id < 0 || id >= rows) {
    throw Error(ErrorCode::kInvalidArgument, std::string(where)
                                                 .append(": ")
                                                 .append(table)
                                                 .append(" id ")
                                                 .append(std::to_string(id))
                                                 .append(" is outside the table's [0, ")
                                                 .append(std::to_string(rows))
                                                 .append(")"));
  }
}

// Softmax of `scores` in place, shifted by the maximum so large scores cannot overflow.
void Softmax(std::vector<float>* scores) {
  const float top = *std::max_element(scores->begin(), scores->end());
  float sum = 0;
  for (float& v : *scores) sum += (v = std::exp(v - top));
  for (float& v : *scores) v /= sum;
}

}  // namespace

float PathEncoderState::PathAttention(int statement, int pair, int path) const {
  if (statement < 0 || statement + 1 >= static_cast<int>(pair_begin.size()) || pair < 0 ||
      pair >= pair_begin[static_cast<size_t>(statement) + 1] - pair_begin[static_cast<size_t>(statement)]) {
    throw Error(ErrorCode::kInvalidArgument, std::string("PathAttention: no pair ")
                                                 .append(std::to_string(pair))
                                                 .append(" in statement ")
                                                 .append(std::to_string(statement)));
  }
  const size_t m = static_cast<size_t>(pair_begin[static_cast<size_t>(statement)] + pair);
  if (path < 0 || path >= path_begin[m + 1] - path_begin[m]) {
    throw Error(ErrorCode::kInvalidArgument,
                std::string("PathAttention: no path ").append(std::to_string(path)).append(" in that pair"));
  }
  return path_attention[static_cast<size_t>(path_begin[m] + path)];
}

float PathEncoderState::PairAttention(int statement, int pair) const {
  if (statement < 0 || statement + 1 >= static_cast<int>(pair_begin.size()) || pair < 0 ||
      pair >= pair_begin[static_cast<size_t>(statement) + 1] - pair_begin[static_cast<size_t>(statement)]) {
    throw Error(ErrorCode::kInvalidArgument, std::string("PairAttention: no pair ")
                                                 .append(std::to_string(pair))
                                                 .append(" in statement ")
                                                 .append(std::to_string(statement)));
  }
  return pair_attention[static_cast<size_t>(pair_begin[static_cast<size_t>(statement)] + pair)];
}

PathEncoder::PathEncoder(const PathEncoderConfig& config, encoder::ParamArena* arena, const std::string& prefix)
    : config_(config),
      arena_(arena),
      lstm_(arena, std::string(prefix).append(".lstm"),
            LstmConfig{config.concept_dim + config.relation_dim, config.hidden, config.bidirectional}) {
  if (config.concept_dim <= 0 || config.relation_dim < 0 || config.statement_dim <= 0) {
    throw Error(ErrorCode::kInvalidArgument, std::string(prefix)
                                                 .append(": widths must be positive, got De=")
                                                 .append(std::to_string(config.concept_dim))
                                                 .append(" Dr=")
                                                 .append(std::to_string(config.relation_dim))
                                                 .append(" Hs=")
                                                 .append(std::to_string(config.statement_dim)));
  }
  path_query_ =
      encoder::AddLinear(*arena, std::string(prefix).append(".path_query"), config.statement_dim, lstm_.output_width());
  pair_query_ =
      encoder::AddLinear(*arena, std::string(prefix).append(".pair_query"), config.statement_dim, lstm_.output_width());
}

void PathEncoder::Init(uint64_t seed) {
  lstm_.Init(seed);
  arena_->InitNormal(path_query_.weight, 0.02f, seed + 1);
  arena_->InitNormal(pair_query_.weight, 0.02f, seed + 2);
  arena_->Fill(path_query_.bias, 0.0f);
  arena_->Fill(pair_query_.bias, 0.0f);
}

void PathEncoder::Forward(const Matrix& concepts, const Matrix& relations, const Matrix& statements,
                          const std::vector<StatementPathIds>& batch, PathEncoderState* st) const {
  const int De = config_.concept_dim, Dr = config_.relation_dim, P = output_width();
  const Eigen::Index S = static_cast<Eigen::Index>(batch.size());
  encoder::CheckShape("path encoder concept table", concepts, concepts.rows(), De);
  encoder::CheckShape("path encoder relation table", relations, relations.rows(), Dr);
  encoder::CheckShape("path encoder statements (one row per statement)", statements, S, config_.statement_dim);

  // Flatten statement -> pair -> path, validating every id on the way.
  st->pair_begin.assign(1, 0);
  st->path_begin.assign(1, 0);
  st->pair_statement.clear();
  st->path_pair.clear();
  std::vector<const PathIds*> paths;
  int steps = 0;
  for (size_t s = 0; s < batch.size(); ++s) {
    for (size_t m = 0; m < batch[s].pairs.size(); ++m) {
      for (size_t k = 0; k < batch[s].pairs[m].paths.size(); ++k) {
        const PathIds& p = batch[s].pairs[m].paths[k];
        if (p.concepts.empty() || p.relations.size() + 1 != p.concepts.size()) {
          throw Error(ErrorCode::kInvalidArgument, PathName(s, m, k)
                                                       .append(": expected concepts = relations + 1 >= 1, got ")
                                                       .append(std::to_string(p.concepts.size()))
                                                       .append(" concepts and ")
                                                       .append(std::to_string(p.relations.size()))
                                                       .append(" relations"));
        }
        for (int32_t c : p.concepts) CheckId(PathName(s, m, k), "concept", c, concepts.rows());
        for (int32_t r : p.relations) CheckId(PathName(s, m, k), "relation", r, relations.rows());
        paths.push_back(&p);
        st->path_pair.push_back(static_cast<int>(st->pair_statement.size()));
        steps = std::max(steps, static_cast<int>(p.concepts.size()));
      }
      st->pair_statement.push_back(static_cast<int>(s));
      st->path_begin.push_back(static_cast<int>(paths.size()));
    }
    st->pair_begin.push_back(static_cast<int>(st->pair_statement.size()));
  }
  st->concept_rows = static_cast<int>(concepts.rows());
  st->relation_rows = static_cast<int>(relations.rows());

  // LSTM input: path k's step j is row k*T + j.
  const size_t K = paths.size();
  Matrix x = Matrix::Zero(static_cast<Eigen::Index>(K) * steps, De + Dr);
  st->step_concept.assign(K * static_cast<size_t>(steps), -1);
  st->step_relation.assign(K * static_cast<size_t>(steps), -1);
  std::vector<int> lengths(K);
  for (size_t k = 0; k < K; ++k) {
    const PathIds& p = *paths[k];
    lengths[k] = static_cast<int>(p.concepts.size());
    for (size_t j = 0; j < p.concepts.size(); ++j) {
      const size_t row = k * static_cast<size_t>(steps) + j;
      st->step_concept[row] = p.concepts[j];
      x.row(static_cast<Eigen::Index>(row)).head(De) = concepts.row(p.concepts[j]);
      if (j < p.relations.size()) {
        st->step_relation[row] = p.relations[j];
        x.row(static_cast<Eigen::Index>(row)).tail(Dr) = relations.row(p.relations[j]);
      }
    }
  }
  lstm_.Forward(x, lengths, &st->lstm);
  const Matrix& pv = st->lstm.final;  // (K, P) path vectors

  st->statements = statements;
  encoder::LinearForward(*arena_, path_query_, statements, &st->path_query);
  encoder::LinearForward(*arena_, pair_query_, statements, &st->pair_query);

  // Path-level attention within each pair.
  const size_t M = st->pair_statement.size();
  st->pair_vecs = Matrix::Zero(static_cast<Eigen::Index>(M), P);
  st->path_attention.assign(K, 0.0f);
  std::vector<float> w;
  for (size_t m = 0; m < M; ++m) {
    const int b = st->path_begin[m], e = st->path_begin[m + 1];
    if (b == e) continue;  // no paths: u_m = 0 and the pair is left out of pair attention
    const auto q = st->path_query.row(st->pair_statement[m]);
    w.resize(static_cast<size_t>(e - b));
    for (int k = b; k < e; ++k) w[static_cast<size_t>(k - b)] = q.dot(pv.row(k));
    Softmax(&w);
    for (int k = b; k < e; ++k) {
      st->path_attention[static_cast<size_t>(k)] = w[static_cast<size_t>(k - b)];
      st->pair_vecs.row(static_cast<Eigen::Index>(m)) += w[static_cast<size_t>(k - b)] * pv.row(k);
    }
  }

  // Pair-level attention within each statement, over its pairs that have paths.
  st->output = Matrix::Zero(S, P);
  st->pair_attention.assign(M, 0.0f);
  std::vector<int> live;
  for (Eigen::Index s = 0; s < S; ++s) {
    live.clear();
    for (int m = st->pair_begin[static_cast<size_t>(s)]; m < st->pair_begin[static_cast<size_t>(s) + 1]; ++m) {
      if (st->path_begin[static_cast<size_t>(m) + 1] > st->path_begin[static_cast<size_t>(m)]) live.push_back(m);
    }
    if (live.empty()) continue;  // no knowledge for this statement: a zero vector, not NaN
    w.resize(live.size());
    for (size_t i = 0; i < live.size(); ++i) w[i] = st->pair_query.row(s).dot(st->pair_vecs.row(live[i]));
    Softmax(&w);
    for (size_t i = 0; i < live.size(); ++i) {
      st->pair_attention[static_cast<size_t>(live[i])] = w[i];
      st->output.row(s) += w[i] * st->pair_vecs.row(live[i]);
    }
  }
}

void PathEncoder::Backward(PathEncoderState* st, const Matrix& d_output, Matrix* d_concepts, Matrix* d_relations,
                           Matrix* d_statements) {
  const int P = output_width(), De = config_.concept_dim, Dr = config_.relation_dim;
  const Eigen::Index S = st->output.rows();
  encoder::CheckShape("path encoder d_output", d_output, S, P);
  const Matrix& pv = st->lstm.final;
  const size_t M = st->pair_statement.size();

  // Pair level: out_s = Σ β_m u_m with β = softmax(r_s · u_m). Pairs without paths have β = 0
  // and receive nothing, which is also their exact gradient.
  Matrix d_pair = Matrix::Zero(static_cast<Eigen::Index>(M), P);
  Matrix d_pair_query = Matrix::Zero(S, P);
  for (Eigen::Index s = 0; s < S; ++s) {
    const int b = st->pair_begin[static_cast<size_t>(s)], e = st->pair_begin[static_cast<size_t>(s) + 1];
    float mean = 0;  // Σ β dβ, the softmax Jacobian's shared term
    for (int m = b; m < e; ++m) {
      mean += st->pair_attention[static_cast<size_t>(m)] * d_output.row(s).dot(st->pair_vecs.row(m));
    }
    for (int m = b; m < e; ++m) {
      const float beta = st->pair_attention[static_cast<size_t>(m)];
      if (beta == 0.0f) continue;
      const float d_score = beta * (d_output.row(s).dot(st->pair_vecs.row(m)) - mean);
      d_pair.row(m) = beta * d_output.row(s) + d_score * st->pair_query.row(s);
      d_pair_query.row(s) += d_score * st->pair_vecs.row(m);
    }
  }

  // Path level: u_m = Σ α_k p_k with α = softmax(q_s · p_k).
  const Eigen::Index K = pv.rows();
  Matrix d_paths = Matrix::Zero(K, P);
  Matrix d_path_query = Matrix::Zero(S, P);
  for (size_t m = 0; m < M; ++m) {
    const int b = st->path_begin[m], e = st->path_begin[m + 1];
    const int s = st->pair_statement[m];
    float mean = 0;
    for (int k = b; k < e; ++k)
      mean += st->path_attention[static_cast<size_t>(k)] * d_pair.row(static_cast<Eigen::Index>(m)).dot(pv.row(k));
    for (int k = b; k < e; ++k) {
      const float alpha = st->path_attention[static_cast<size_t>(k)];
      const float d_score = alpha * (d_pair.row(static_cast<Eigen::Index>(m)).dot(pv.row(k)) - mean);
      d_paths.row(k) = alpha * d_pair.row(static_cast<Eigen::Index>(m)) + d_score * st->path_query.row(s);
      d_path_query.row(s) += d_score * pv.row(k);
    }
  }

  Matrix dx_path, dx_pair;
  encoder::LinearBackward(*arena_, path_query_, st->statements, d_path_query, d_statements ? &dx_path : nullptr);
  encoder::LinearBackward(*arena_, pair_query_, st->statements, d_pair_query, d_statements ? &dx_pair : nullptr);
  if (d_statements != nullptr) *d_statements = dx_path + dx_pair;

  const bool need_x = d_concepts != nullptr || d_relations != nullptr;
  Matrix dx;
  lstm_.Backward(st->lstm, nullptr, &d_paths, need_x ? &dx : nullptr);
  // The tables were gathered into the LSTM input; their gradient is the scatter-add back.
  if (d_concepts != nullptr) d_concepts->setZero(st->concept_rows, De);
  if (d_relations != nullptr) d_relations->setZero(st->relation_rows, Dr);
  if (!need_x) return;
  for (size_t row = 0; row < st->step_concept.size(); ++row) {
    const auto r = static_cast<Eigen::Index>(row);
    if (d_concepts != nullptr && st->step_concept[row] >= 0) {
      d_concepts->row(st->step_concept[row]) += dx.row(r).head(De);
    }
    if (d_relations != nullptr && st->step_relation[row] >= 0) {
      d_relations->row(st->step_relation[row]) += dx.row(r).tail(Dr);
    }
  }
}

}  // namespace spade::fusion
