#include "fusion/qa_model.h"

#include <random>
#include <unordered_map>

#include "encoder/error.h"
#include "retrieval/scorer.h"

namespace spade::fusion {

using encoder::Error;
using encoder::ErrorCode;
using encoder::Matrix;

namespace {

ErnieLayerConfig FusionLayerConfig(const encoder::EncoderConfig& e, int entity_dim, const QaModelConfig& c) {
  ErnieLayerConfig f;
  f.hidden_size = e.hidden_size;
  f.entity_size = entity_dim;
  f.intermediate_size = c.fusion_intermediate;
  f.num_attention_heads = e.num_attention_heads;
  f.num_entity_heads = c.entity_heads;
  f.hidden_act = e.hidden_act;
  f.hidden_dropout_prob = c.dropout;
  f.attention_probs_dropout_prob = c.dropout;
  f.layer_norm_eps = e.layer_norm_eps;
  f.initializer_range = e.initializer_range;
  return f;
}

}  // namespace

QaModel::QaModel(std::unique_ptr<encoder::Model> encoder, const kg::TransE* transe, const QaModelConfig& config)
    : encoder_(std::move(encoder)), transe_(transe), config_(config) {
  if (!encoder_) throw Error(ErrorCode::kInvalidArgument, "QaModel: no encoder");
  const encoder::EncoderConfig& e = encoder_->config();
  const int H = e.hidden_size;
  const bool needs_kg = config_.fusion_layers > 0 || config_.use_paths;
  if (needs_kg && (!transe_ || transe_->empty())) {
    throw Error(ErrorCode::kInvalidArgument,
                "QaModel: fusion layers and the path encoder need the KG's entity embeddings (run `spade kg embed`)");
  }
  entity_dim_ = transe_ ? transe_->dim() : 0;
  if (config_.fusion_layers > 0) {
    fusion_ = std::make_unique<FusionStack>(FusionLayerConfig(e, entity_dim_, config_), config_.fusion_layers,
                                            &fusion_arena_, "fusion.layer.");
  }
  int P = 0;
  if (config_.use_paths) {
    PathEncoderConfig p;
    p.concept_dim = p.relation_dim = entity_dim_;
    p.statement_dim = H;
    p.hidden = config_.path_hidden;
    p.bidirectional = true;
    path_encoder_ = std::make_unique<PathEncoder>(p, &fusion_arena_, "paths");
    P = path_encoder_->output_width();
    const int R = static_cast<int>(transe_->num_relations());
    relations_.resize(2 * R, entity_dim_);
    for (int r = 0; r < R; ++r) {
      const auto v = transe_->relation_vector(static_cast<kg::RelationId>(r));
      for (int d = 0; d < entity_dim_; ++d) {
        relations_(r, d) = v[static_cast<size_t>(d)];
        relations_(R + r, d) = -v[static_cast<size_t>(d)];
      }
    }
  }
  const int F = config_.use_kg_features ? config_.kg_features : 0;
  pooler_ = encoder::AddLinear(fusion_arena_, "fusion.pooler", H, H);
  classifier_ = encoder::AddLinear(fusion_arena_, "fusion.classifier", H + P + F, 1);
  fusion_arena_.Allocate();
}

void QaModel::InitFusion(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, encoder_->config().initializer_range);
  for (int id : {pooler_.weight, classifier_.weight}) {
    auto w = fusion_arena_.Value(id);
    for (Eigen::Index i = 0; i < w.size(); ++i) w.data()[i] = normal(rng);
  }
  for (int id : {pooler_.bias, classifier_.bias}) fusion_arena_.Value(id).setZero();
  if (fusion_) fusion_->Init(encoder::SiteSeed(seed, 1));
  if (path_encoder_) path_encoder_->Init(encoder::SiteSeed(seed, 2));
}

void QaModel::SetFeatureWeights(const std::vector<double>& weights) {
  const int F = config_.use_kg_features ? config_.kg_features : 0;
  if (F == 0 || static_cast<int>(weights.size()) != F) {
    throw Error(ErrorCode::kInvalidArgument, std::string("SetFeatureWeights: ").append(std::to_string(weights.size()))
                                                 .append(" weights for a head reading ").append(std::to_string(F))
                                                 .append(" KG features"));
  }
  auto w = fusion_arena_.Value(classifier_.weight);  // (1, H + P + F)
  const Eigen::Index first = w.cols() - F;
  for (int f = 0; f < F; ++f) w(0, first + f) = static_cast<float>(weights[static_cast<size_t>(f)]);
}

float QaModel::Forward(const std::vector<const QaExample*>& examples, bool train, uint64_t seed,
                       QaBatchState* st) {
  if (examples.empty()) throw Error(ErrorCode::kInvalidArgument, "QaModel::Forward: no examples");
  const int Q = static_cast<int>(examples.size());
  const int C = static_cast<int>(examples[0]->choices.size());
  int T = 0;
  bool labelled = true;
  for (const QaExample* ex : examples) {
    if (static_cast<int>(ex->choices.size()) != C) {
      throw Error(ErrorCode::kInvalidArgument, std::string(ex->source).append(": ")
                                                   .append(std::to_string(ex->choices.size()))
                                                   .append(" choices in a batch of ").append(std::to_string(C))
                                                   .append("-choice questions"));
    }
    labelled = labelled && ex->label >= 0 && ex->label < C;
    for (const QaChoice& ch : ex->choices) T = std::max(T, static_cast<int>(ch.ids.size()));
  }
  const int B = Q * C, H = encoder_->config().hidden_size;
  const size_t N = static_cast<size_t>(B) * T;
  st->questions = Q;
  st->choices = C;
  // Token batch, padded; entity rows beside it.
  encoder::Batch& batch = st->batch;
  batch.batch = B;
  batch.seq = T;
  batch.input_ids.assign(N, 0);
  batch.token_type_ids.assign(N, 0);
  batch.attention_mask.assign(N, 0.0f);
  st->entities = Matrix::Zero(static_cast<Eigen::Index>(N), std::max(entity_dim_, 1));
  st->masks.batch = B;
  st->masks.seq = T;
  st->masks.attention_mask.assign(N, 0.0f);
  st->masks.entity_mask.assign(N, 0.0f);
  for (int q = 0; q < Q; ++q) {
    for (int c = 0; c < C; ++c) {
      const QaChoice& ch = examples[static_cast<size_t>(q)]->choices[static_cast<size_t>(c)];
      const size_t base = static_cast<size_t>(q * C + c) * T;
      for (size_t t = 0; t < ch.ids.size(); ++t) {
        batch.input_ids[base + t] = ch.ids[t];
        batch.token_type_ids[base + t] = ch.type_ids[t];
        batch.attention_mask[base + t] = 1.0f;
        st->masks.attention_mask[base + t] = 1.0f;
        const int32_t ent = ch.entity[t];
        if (ent >= 0 && transe_ && static_cast<size_t>(ent) < transe_->num_concepts()) {
          const auto v = transe_->concept_vector(static_cast<kg::ConceptId>(ent));
          for (int d = 0; d < entity_dim_; ++d) st->entities(static_cast<Eigen::Index>(base + t), d) = v[size_t(d)];
          st->masks.entity_mask[base + t] = 1.0f;
        }
      }
    }
  }
  encoder::StepOptions opt;
  opt.train = train;
  opt.seed = seed;
  encoder_->Forward(batch, {}, opt, &st->enc);
  const Matrix* w = &st->enc.enc.hidden;
  if (fusion_) {
    fusion_->Forward(st->masks, st->enc.enc.hidden, st->entities, train, encoder::SiteSeed(seed, 5001), &st->fusion);
    w = &st->fusion.w;
  }
  // Statement vector: tanh pooler over the (fused) [CLS] row, then dropout.
  st->cls.resize(B, H);
  for (int b = 0; b < B; ++b) st->cls.row(b) = w->row(static_cast<Eigen::Index>(b) * T);
  encoder::LinearForward(fusion_arena_, pooler_, st->cls, &st->pooled_pre);
  encoder::ActivationForward(encoder::Activation::kTanh, st->pooled_pre, &st->statement);
  encoder::DropoutForward(config_.dropout, train, encoder::SiteSeed(seed, 5002), &st->statement,
                          &st->statement_drop);
  const int P = path_encoder_ ? path_encoder_->output_width() : 0;
  if (path_encoder_) {
    // The batch's path concepts gathered into a local table.
    std::unordered_map<kg::ConceptId, int32_t> row_of;
    st->concept_of_row.clear();
    std::vector<StatementPathIds> ids(static_cast<size_t>(B));
    const int R = static_cast<int>(transe_->num_relations());
    for (int q = 0; q < Q; ++q) {
      for (int c = 0; c < C; ++c) {
        const QaChoice& ch = examples[static_cast<size_t>(q)]->choices[static_cast<size_t>(c)];
        StatementPathIds& s = ids[static_cast<size_t>(q * C + c)];
        for (const QaPathPair& pair : ch.pairs) {
          PairPathIds pp;
          for (const retrieval::Path& path : pair.paths) {
            PathIds pi;
            for (kg::ConceptId cid : path.concepts) {
              auto [it, added] = row_of.emplace(cid, static_cast<int32_t>(st->concept_of_row.size()));
              if (added) st->concept_of_row.push_back(cid);
              pi.concepts.push_back(it->second);
            }
            for (const retrieval::PathEdge& edge : path.edges) {
              pi.relations.push_back(static_cast<int32_t>(edge.relation) + (edge.forward ? 0 : R));
            }
            pp.paths.push_back(std::move(pi));
          }
          s.pairs.push_back(std::move(pp));
        }
      }
    }
    st->concept_table.resize(std::max<Eigen::Index>(1, static_cast<Eigen::Index>(st->concept_of_row.size())),
                             entity_dim_);
    st->concept_table.setZero();
    for (size_t r = 0; r < st->concept_of_row.size(); ++r) {
      const auto v = transe_->concept_vector(st->concept_of_row[r]);
      for (int d = 0; d < entity_dim_; ++d) st->concept_table(static_cast<Eigen::Index>(r), d) = v[size_t(d)];
    }
    path_encoder_->Forward(st->concept_table, relations_, st->statement, ids, &st->paths);
  }
  const int F = config_.use_kg_features ? config_.kg_features : 0;
  st->z.resize(B, H + P + F);
  st->z.leftCols(H) = st->statement;
  if (P > 0) st->z.middleCols(H, P) = st->paths.output;
  for (int q = 0; q < Q && F > 0; ++q) {
    for (int c = 0; c < C; ++c) {
      const QaChoice& ch = examples[static_cast<size_t>(q)]->choices[static_cast<size_t>(c)];
      if (static_cast<int>(ch.kg_features.size()) != F) {
        throw Error(ErrorCode::kInvalidArgument,
                    std::string(examples[static_cast<size_t>(q)]->source).append(": ")
                        .append(std::to_string(ch.kg_features.size())).append(" KG features, the model reads ")
                        .append(std::to_string(F)));
      }
      for (int f = 0; f < F; ++f) st->z(q * C + c, H + P + f) = ch.kg_features[static_cast<size_t>(f)];
    }
  }
  Matrix s;
  encoder::LinearForward(fusion_arena_, classifier_, st->z, &s);  // (B, 1)
  st->scores = Eigen::Map<Matrix>(s.data(), Q, C);
  st->loss = 0;
  st->d_scores.resize(0, 0);
  if (labelled) {
    std::vector<int32_t> labels;
    for (const QaExample* ex : examples) labels.push_back(ex->label);
    st->loss = encoder::SoftmaxCrossEntropy(st->scores, labels, &st->d_scores);
  }
  return st->loss;
}

void QaModel::Backward(QaBatchState* st) {
  if (st->d_scores.size() == 0) throw Error(ErrorCode::kInvalidArgument, "QaModel::Backward: the batch had no labels");
  const int B = st->batch.batch, T = st->batch.seq, H = encoder_->config().hidden_size;
  const int P = path_encoder_ ? path_encoder_->output_width() : 0;
  Matrix dy = Eigen::Map<Matrix>(st->d_scores.data(), B, 1);
  Matrix dz;
  encoder::LinearBackward(fusion_arena_, classifier_, st->z, dy, &dz);
  Matrix d_statement = dz.leftCols(H);
  if (path_encoder_) {
    Matrix d_paths = dz.middleCols(H, P), d_query;
    path_encoder_->Backward(&st->paths, d_paths, nullptr, nullptr, &d_query);
    d_statement += d_query;
  }
  encoder::DropoutBackward(st->statement_drop, &d_statement);
  Matrix d_pre, d_cls;
  encoder::ActivationBackward(encoder::Activation::kTanh, st->pooled_pre, d_statement, &d_pre);
  encoder::LinearBackward(fusion_arena_, pooler_, st->cls, d_pre, &d_cls);
  Matrix d_w = Matrix::Zero(static_cast<Eigen::Index>(B) * T, H);
  for (int b = 0; b < B; ++b) d_w.row(static_cast<Eigen::Index>(b) * T) = d_cls.row(b);
  encoder::EncoderGradients extra;
  extra.layer_outputs.resize(static_cast<size_t>(encoder_->encoder().applied_layers()));
  if (fusion_) {
    const Matrix d_e = Matrix::Zero(d_w.rows(), entity_dim_);
    fusion_->Backward(st->masks, st->fusion, d_w, d_e, &extra.layer_outputs.back(), nullptr);
  } else {
    extra.layer_outputs.back() = std::move(d_w);
  }
  encoder_->Backward(st->batch, {}, &st->enc, &extra);
}

}  // namespace spade::fusion
