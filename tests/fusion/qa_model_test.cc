// The QA model end to end (fusion/qa_model.h): finite differences of every tensor of both
// arenas with dropout on, for each switchable part (encoder only, + fusion, + paths, + KG
// features, all); the part switches change what is computed; and Adam fits a toy set whose
// answer only the KG knows (the right choice's entity), which the encoder alone cannot.
#include "fusion/qa_model.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "encoder/error.h"
#include "encoder/optim.h"
#include "tests/encoder/gradcheck.h"

namespace spade::fusion {
namespace {

using encoder::Matrix;

constexpr int kVocab = 23, kConcepts = 12, kRelations = 3, kDim = 8;

std::unique_ptr<encoder::Model> TinyEncoder(uint64_t seed) {
  encoder::EncoderConfig c;
  c.vocab_size = kVocab;
  c.hidden_size = c.embedding_size = 8;
  c.num_hidden_layers = 1;
  c.num_attention_heads = 2;
  c.intermediate_size = 12;
  c.max_position_embeddings = 16;
  c.initializer_range = 0.3f;
  c.layer_norm_eps = 1e-5f;
  auto m = std::make_unique<encoder::Model>(c, encoder::HeadsConfig{});
  m->Init(seed);
  return m;
}

retrieval::Path MakePath(std::vector<kg::ConceptId> cs, std::vector<std::pair<kg::RelationId, bool>> es) {
  retrieval::Path p;
  p.concepts = std::move(cs);
  for (auto [r, fwd] : es) p.edges.push_back({r, fwd});
  return p;
}

// Q questions of 3 choices with entities, paths (one choice without any) and features.
std::vector<QaExample> Examples(int Q, uint64_t seed) {
  std::mt19937 rng(static_cast<unsigned>(seed));
  std::vector<QaExample> out;
  for (int q = 0; q < Q; ++q) {
    QaExample ex;
    ex.source = "toy:" + std::to_string(q + 1);
    ex.label = q % 3;
    for (int c = 0; c < 3; ++c) {
      QaChoice ch;
      const int len = 5 + (q + c) % 3;  // padding in the batch
      ch.ids.push_back(1);
      for (int t = 1; t < len - 1; ++t) ch.ids.push_back(4 + static_cast<int32_t>(rng() % (kVocab - 4)));
      ch.ids.push_back(2);
      ch.type_ids.assign(ch.ids.size(), 0);
      ch.type_ids.back() = 1;
      ch.entity.assign(ch.ids.size(), -1);
      ch.entity[1] = (q + c) % kConcepts;
      if (c != 1) ch.entity[2] = (q + 2 * c + 3) % kConcepts;
      if (c != 2) {  // choice 2 has no path at all
        QaPathPair pair{static_cast<kg::ConceptId>(q % kConcepts), static_cast<kg::ConceptId>((q + c + 5) % kConcepts),
                        {}};
        pair.paths.push_back(MakePath({pair.question, pair.answer}, {{static_cast<kg::RelationId>(c % 3), true}}));
        if (c == 0) pair.paths.push_back(MakePath({pair.question, 11, pair.answer}, {{1, false}, {2, true}}));
        ch.pairs.push_back(pair);
      }
      ch.kg_features = {0.5f * static_cast<float>(c) - 0.5f, static_cast<float>(q % 2), -0.25f};
      ex.choices.push_back(std::move(ch));
    }
    out.push_back(std::move(ex));
  }
  return out;
}

kg::TransE Embeddings() { return kg::TransE(kConcepts, kRelations, kDim, 1, 1.0f, 9); }

struct Case {
  const char* name;
  int fusion_layers;
  bool paths, features;
};

class QaModelGrad : public ::testing::TestWithParam<Case> {};

TEST_P(QaModelGrad, EveryTensorOfBothArenasMatchesFiniteDifferences) {
  const Case k = GetParam();
  const kg::TransE transe = Embeddings();
  QaModelConfig cfg;
  cfg.fusion_layers = k.fusion_layers;
  cfg.use_paths = k.paths;
  cfg.use_kg_features = k.features;
  cfg.kg_features = 3;
  cfg.path_hidden = 4;
  cfg.fusion_intermediate = 12;
  cfg.dropout = 0.2f;
  QaModel model(TinyEncoder(3), k.fusion_layers > 0 || k.paths ? &transe : nullptr, cfg);
  model.InitFusion(5);
  // Larger weights than the N(0, 0.02) init so the loss is sensitive to every part.
  for (int id = 0; id < static_cast<int>(model.fusion_params().params().size()); ++id) {
    auto v = model.fusion_params().Value(id);
    v += encoder::testing::RandomMatrix(static_cast<int>(v.rows()), static_cast<int>(v.cols()), 100 + id, 0.3f);
  }
  const std::vector<QaExample> data = Examples(2, 1);
  std::vector<const QaExample*> batch = {&data[0], &data[1]};
  QaBatchState st;
  auto loss = [&] { return static_cast<double>(model.Forward(batch, /*train=*/true, 17, &st)); };
  model.encoder_model().params().ZeroGrad();
  model.fusion_params().ZeroGrad();
  loss();
  EXPECT_EQ(st.scores.rows(), 2);
  EXPECT_EQ(st.scores.cols(), 3);
  model.Backward(&st);
  for (encoder::ParamArena* arena : {&model.fusion_params(), &model.encoder_model().params()}) {
    for (int id = 0; id < static_cast<int>(arena->params().size()); ++id) {
      const encoder::ParamInfo& p = arena->info(id);
      encoder::testing::CheckGradient(p.name, arena->values() + p.offset, arena->grads() + p.offset,
                                      size_t(p.rows) * p.cols, loss, 1e-2f, 3e-3, 3e-2, 6);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Parts, QaModelGrad,
                         ::testing::Values(Case{"EncoderOnly", 0, false, false}, Case{"Fusion", 1, false, false},
                                           Case{"Paths", 0, true, false}, Case{"KgFeatures", 0, false, true},
                                           Case{"All", 2, true, true}),
                         [](const ::testing::TestParamInfo<Case>& i) { return std::string(i.param.name); });

std::vector<std::string> Names(const encoder::ParamArena& a) {
  std::vector<std::string> n;
  for (const auto& p : a.params()) n.push_back(p.name);
  return n;
}

TEST(QaModel, PartsRegisterTheirTensorsAndKgEvidenceMovesOnlyItsChoice) {
  const kg::TransE transe = Embeddings();
  QaModelConfig off;
  off.fusion_layers = 0;
  off.use_paths = off.use_kg_features = false;
  QaModel plain(TinyEncoder(3), nullptr, off);  // no KG needed without fusion and paths
  EXPECT_EQ(Names(plain.fusion_params()),
            (std::vector<std::string>{"fusion.pooler.weight", "fusion.pooler.bias", "fusion.classifier.weight",
                                      "fusion.classifier.bias"}));
  QaModelConfig all;
  all.kg_features = 3;
  all.path_hidden = 4;
  QaModel full(TinyEncoder(3), &transe, all);
  const auto n = Names(full.fusion_params());
  EXPECT_NE(std::find(n.begin(), n.end(), "fusion.layer.0.intermediate.dense_ent.weight"), n.end());
  EXPECT_NE(std::find(n.begin(), n.end(), "paths.lstm.weight_ih_l0"), n.end());
  const auto& cls = full.fusion_params().info(static_cast<int>(full.fusion_params().params().size()) - 2);
  EXPECT_EQ(cls.name, "fusion.classifier.weight");
  EXPECT_EQ(cls.cols, 8 + 8 + 3);  // H + P (2 x 4) + F
  EXPECT_FLOAT_EQ(full.relation_table()(kRelations + 1, 3), -transe.relation_vector(1)[3]);
  full.InitFusion(1);
  const std::vector<QaExample> data = Examples(2, 1);
  QaBatchState st;
  full.Forward({&data[0], &data[1]}, false, 0, &st);
  const Matrix before = st.scores;
  std::vector<QaExample> edited = data;
  edited[0].choices[1].kg_features[0] += 3.0f;
  full.Forward({&edited[0], &edited[1]}, false, 0, &st);
  EXPECT_NE(st.scores(0, 1), before(0, 1));
  EXPECT_FLOAT_EQ(st.scores(0, 0), before(0, 0));
  EXPECT_FLOAT_EQ(st.scores(1, 2), before(1, 2));
  EXPECT_THROW(QaModel(TinyEncoder(3), nullptr, QaModelConfig{}), encoder::Error);
}

TEST(QaModel, BatchesOfMixedChoiceCountsAreRefused) {
  QaModelConfig off;
  off.fusion_layers = 0;
  off.use_paths = off.use_kg_features = false;
  QaModel plain(TinyEncoder(3), nullptr, off);
  std::vector<QaExample> data = Examples(2, 1);
  data[1].choices.pop_back();
  QaBatchState st;
  try {
    plain.Forward({&data[0], &data[1]}, false, 0, &st);
    FAIL() << "expected an error";
  } catch (const encoder::Error& e) {
    EXPECT_NE(std::string(e.what()).find("toy:2: 2 choices in a batch of 3-choice questions"), std::string::npos)
        << e.what();
  }
}

// The right choice carries one of concepts 0-3 on its first token, the wrong ones one of
// 4-11; the tokens are noise. Only the fused entity vectors can tell them apart.
double ToyAccuracy(int fusion_layers) {
  const kg::TransE transe = Embeddings();
  std::mt19937 rng(7);
  auto make = [&](int n) {
    std::vector<QaExample> out;
    for (int q = 0; q < n; ++q) {
      QaExample ex;
      ex.source = "toy";
      ex.label = static_cast<int>(rng() % 3);
      for (int c = 0; c < 3; ++c) {
        QaChoice ch;
        ch.ids = {1, 4 + static_cast<int32_t>(rng() % 19), 4 + static_cast<int32_t>(rng() % 19), 2};
        ch.type_ids = {0, 0, 0, 1};
        const int32_t ent = c == ex.label ? static_cast<int32_t>(rng() % 4) : 4 + static_cast<int32_t>(rng() % 8);
        ch.entity = {-1, ent, -1, -1};
        ex.choices.push_back(std::move(ch));
      }
      out.push_back(std::move(ex));
    }
    return out;
  };
  const std::vector<QaExample> train = make(96), dev = make(60);
  QaModelConfig cfg;
  cfg.fusion_layers = fusion_layers;
  cfg.use_paths = cfg.use_kg_features = false;
  cfg.fusion_intermediate = 16;
  cfg.dropout = 0.0f;
  QaModel model(TinyEncoder(3), &transe, cfg);
  model.InitFusion(2);
  encoder::AdamWConfig oc;
  oc.lr = 1e-2f;
  oc.weight_decay = 0.0f;
  encoder::AdamW opt_f(model.fusion_params(), oc), opt_e(model.encoder_model().params(), oc);
  QaBatchState st;
  for (int step = 0; step < 300; ++step) {
    std::vector<const QaExample*> b;
    for (int i = 0; i < 16; ++i) b.push_back(&train[static_cast<size_t>((step * 16 + i) % 96)]);
    model.fusion_params().ZeroGrad();
    model.encoder_model().params().ZeroGrad();
    model.Forward(b, true, static_cast<uint64_t>(step), &st);
    model.Backward(&st);
    opt_f.Step(&model.fusion_params());
    opt_e.Step(&model.encoder_model().params());
  }
  int right = 0;
  for (const QaExample& ex : dev) {
    model.Forward({&ex}, false, 0, &st);
    Eigen::Index best = 0;
    st.scores.row(0).maxCoeff(&best);
    right += best == ex.label;
  }
  return static_cast<double>(right) / static_cast<double>(dev.size());
}

TEST(QaModel, FusionLearnsWhatOnlyTheKgKnows) {
  // Two aggregator layers: in each, token attention runs before the fusion, so the entity
  // fused into token 1 by layer 1 reaches [CLS] only through layer 2's attention.
  const double fused = ToyAccuracy(2), plain = ToyAccuracy(0);
  EXPECT_GE(fused, 0.9) << "encoder only: " << plain;
  EXPECT_LE(plain, 0.6);
}

}  // namespace
}  // namespace spade::fusion
