#include "kg/transe.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "data/error.h"
#include "kg/builder.h"
#include "kg/store.h"

namespace spade::kg {
namespace {

// A small structured world: 40 concepts in 4 groups; "next" maps i to i+1 within a group,
// "same" links every concept to its group's first concept.
std::vector<Triple> ChainTriples(size_t* num_concepts) {
  std::vector<Triple> t;
  for (ConceptId g = 0; g < 4; ++g) {
    for (ConceptId i = 0; i < 10; ++i) {
      const ConceptId c = g * 10 + i;
      if (i + 1 < 10) t.push_back({c, 0, c + 1, 1.f});
      if (i > 0) t.push_back({c, 1, g * 10, 1.f});
    }
  }
  *num_concepts = 40;
  return t;
}

TEST(TransETest, GradientMatchesFiniteDifferences) {
  for (int norm : {1, 2}) {
    TransE model(6, 2, 5, norm, /*margin=*/4.0f, /*seed=*/3);
    const Triple pos{0, 1, 2, 1.f}, neg{0, 1, 4, 1.f};
    std::vector<float> gc(6 * 5, 0.f), gr(2 * 5, 0.f);
    const double loss = model.PairLoss(pos, neg, &gc, &gr);
    ASSERT_GT(loss, 0.0) << "the hinge must be active for the check to mean anything";
    const double eps = 1e-3;
    auto check = [&](std::span<float> params, const std::vector<float>& grad, const char* what) {
      for (size_t i = 0; i < params.size(); ++i) {
        const float saved = params[i];
        params[i] = static_cast<float>(saved + eps);
        const double up = model.PairLoss(pos, neg);
        params[i] = static_cast<float>(saved - eps);
        const double down = model.PairLoss(pos, neg);
        params[i] = saved;
        const double numeric = (up - down) / (2 * eps);
        EXPECT_NEAR(grad[i], numeric, 2e-3) << what << "[" << i << "] norm " << norm;
      }
    };
    check(model.mutable_concepts(), gc, "concepts");
    check(model.mutable_relations(), gr, "relations");
  }
}

TEST(TransETest, HingeIsZeroWhenTheMarginIsMet) {
  TransE model(4, 1, 1, 1, /*margin=*/0.5f, 1);
  auto c = model.mutable_concepts();
  c[0] = 0; c[1] = 1; c[2] = 5; c[3] = 0;
  model.mutable_relations()[0] = 1;
  // d(0,r,1) = |0 + 1 - 1| = 0; d(0,r,2) = |1 - 5| = 4; 0.5 + 0 - 4 < 0.
  EXPECT_EQ(model.PairLoss({0, 0, 1}, {0, 0, 2}), 0.0);
  EXPECT_DOUBLE_EQ(model.PairLoss({0, 0, 2}, {0, 0, 1}), 0.5 + 4 - 0);
  EXPECT_FLOAT_EQ(model.Distance(0, 0, 2), 4.f);
  // KagNet's edge score: (1 + cos(r, t - h)) / 2; t - h = 1 points along r = 1.
  EXPECT_FLOAT_EQ(model.EdgeScore(0, 0, 1), 1.f);
  EXPECT_FLOAT_EQ(model.EdgeScore(1, 0, 0), 0.f);
  EXPECT_FLOAT_EQ(model.EdgeScore(0, 0, 3), 0.5f);  // t == h
}

TEST(TransETest, LossDecreasesAndSeedIsReproducible) {
  size_t n = 0;
  const std::vector<Triple> triples = ChainTriples(&n);
  TransEOptions opt;
  opt.dim = 16;
  opt.epochs = 60;
  opt.threads = 1;
  opt.learning_rate = 0.05f;
  std::vector<double> losses;
  TransE a = TransE::Train(n, 2, triples, opt, [&](const TransEProgress& p) {
    EXPECT_EQ(p.epoch, static_cast<int>(losses.size()) + 1);
    EXPECT_EQ(p.epochs, 60);
    losses.push_back(p.loss);
  });
  ASSERT_EQ(losses.size(), 60u);
  EXPECT_LT(losses.back(), 0.5 * losses.front()) << losses.front() << " -> " << losses.back();
  double first10 = 0, last10 = 0;
  for (int i = 0; i < 10; ++i) {
    first10 += losses[i];
    last10 += losses[50 + i];
  }
  EXPECT_LT(last10, first10);
  TransE b = TransE::Train(n, 2, triples, opt);
  EXPECT_EQ(a.Serialize(), b.Serialize());  // one thread + same seed = same vectors
  // Two threads (Hogwild) also learn.
  opt.threads = 2;
  std::vector<double> losses2;
  TransE::Train(n, 2, triples, opt, [&](const TransEProgress& p) { losses2.push_back(p.loss); });
  EXPECT_LT(losses2.back(), 0.5 * losses2.front());
  // True triples end up nearer than corrupted ones.
  size_t better = 0;
  for (const Triple& t : triples) {
    const ConceptId wrong = (t.tail + 17) % 40;
    better += a.Distance(t.head, t.relation, t.tail) < a.Distance(t.head, t.relation, wrong) ? 1 : 0;
  }
  EXPECT_GT(better, triples.size() * 9 / 10);
}

TEST(TransETest, BadInputIsAnError) {
  TransEOptions opt;
  opt.epochs = 1;
  const std::vector<Triple> bad = {{0, 0, 7, 1.f}};
  EXPECT_THROW(TransE::Train(3, 1, bad, opt), Error);
  opt.threads = 0;
  EXPECT_THROW(TransE::Train(3, 1, {}, opt), Error);
  opt.threads = 1;
  opt.learning_rate = std::nanf("");
  const std::vector<Triple> ok = {{0, 0, 1, 1.f}, {1, 0, 2, 1.f}};
  EXPECT_THROW(TransE::Train(3, 1, ok, opt), Error);
  EXPECT_THROW(TransE(3, 1, 4, /*norm=*/3, 1.f, 1), Error);
}

TEST(TransETest, SerializeRoundTripAndCorruption) {
  TransE m(5, 3, 7, 2, 1.5f, 9);
  const std::string bytes = m.Serialize();
  EXPECT_EQ(bytes.size(), 28u + (5 + 3) * 7 * 4);
  EXPECT_EQ(bytes.substr(0, 4), "STRE");
  TransE back = TransE::Deserialize(bytes, "blob");
  EXPECT_EQ(back.dim(), 7);
  EXPECT_EQ(back.norm(), 2);
  EXPECT_FLOAT_EQ(back.margin(), 1.5f);
  EXPECT_EQ(back.Serialize(), bytes);
  EXPECT_FLOAT_EQ(back.Distance(1, 2, 3), m.Distance(1, 2, 3));
  try {
    TransE::Deserialize(bytes.substr(0, bytes.size() - 4), "kg/transe");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kCorruption);
    EXPECT_NE(std::string(e.what()).find("kg/transe"), std::string::npos);
  }
  std::string bad_magic = bytes;
  bad_magic[0] = 'X';
  EXPECT_THROW(TransE::Deserialize(bad_magic, "x"), Error);
  std::string other_version = bytes;
  other_version[4] = 9;
  try {
    TransE::Deserialize(other_version, "x");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kFormatVersion);
  }
}

TEST(TransETest, LinkPredictionRanksByHand) {
  // D = 1, L1: concepts at 0, 1, 2, 3; relation +1.
  TransE m(4, 1, 1, 1, 1.f, 1);
  auto c = m.mutable_concepts();
  for (int i = 0; i < 4; ++i) c[i] = static_cast<float>(i);
  m.mutable_relations()[0] = 1.f;
  // (0, r, 1): both sides rank 1. (0, r, 3): tail distances |1 - c| = 1, 0, 1, 2 -> rank 4;
  // head distances |c - 2| = 2, 1, 0, 1 -> rank 4.
  const std::vector<Triple> held = {{0, 0, 1, 1.f}, {0, 0, 3, 1.f}};
  const LinkPrediction lp = EvaluateLinkPrediction(m, held);
  EXPECT_EQ(lp.n, 2u);
  EXPECT_DOUBLE_EQ(lp.mrr, (1 + 1 + 0.25 + 0.25) / 4);
  EXPECT_DOUBLE_EQ(lp.hits_at_10, 1.0);
}

class TransEStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("spade_transe_test_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    std::ofstream tsv(dir_ / "triples.tsv");
    tsv << "shovel\tUsedFor\tdig\nexcavator\tUsedFor\tdig\nshovel\tAtLocation\tgarden\n"
           "flower\tAtLocation\tgarden\nspoon\tUsedFor\teat\n";
    tsv.close();
    std::ofstream dev1(dir_ / "dev1.txt");
    dev1 << "UsedFor\tshovel\tdig\t1\nUsedFor\tshovel\teat\t0\nAtLocation\tflower\tgarden\t1\n"
            "AtLocation\tflower\tdig\t0\nUsedFor\tunknown thing\tdig\t1\n";
    dev1.close();
    std::ofstream dev2(dir_ / "dev2.txt");
    dev2 << "UsedFor\texcavator\tdig\t1\nUsedFor\texcavator\tgarden\t0\n"
            "AtLocation\tshovel\tgarden\t1\nAtLocation\tshovel\teat\t0\n";
    dev2.close();
    BuildOptions opt;
    opt.out = (dir_ / "kg").string();
    opt.inputs.push_back({(dir_ / "triples.tsv").string(), InputFormat::kTsv});
    BuildKg(opt);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(TransEStoreTest, SaveLoadThroughTheStoreAndClassifyTriples) {
  const std::string kg = (dir_ / "kg").string();
  {
    auto store = KgStore::Open(kg);
    EXPECT_FALSE(TransE::Load(*store).has_value());  // no embeddings yet
  }
  Graph graph = KgStore::Open(kg)->LoadGraph();
  TransEOptions opt;
  opt.dim = 8;
  opt.epochs = 200;
  opt.threads = 1;
  opt.learning_rate = 0.05f;
  TransE model = TransE::Train(graph, opt);
  model.Save(kg);
  auto store = KgStore::Open(kg);
  std::optional<TransE> loaded = TransE::Load(*store);
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->Serialize(), model.Serialize());

  const TripleClassification tc = EvaluateTripleClassification(
      graph, *loaded, (dir_ / "dev1.txt").string(), (dir_ / "dev2.txt").string());
  EXPECT_EQ(tc.dev1_n, 5u);
  EXPECT_EQ(tc.dev2_n, 4u);
  EXPECT_EQ(tc.unknown, 1u);  // "unknown thing" is not in the KG: classified false
  EXPECT_GE(tc.dev1_accuracy, 0.8);  // thresholds fitted there; only the unknown row is lost
  EXPECT_GE(tc.dev2_accuracy, 0.5);

  // Embeddings for another KG are refused with the counts in the message.
  TransE other(3, 1, 8, 1, 1.f, 1);
  other.Save(kg);
  auto reopened = KgStore::Open(kg);
  try {
    TransE::Load(*reopened);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kCorruption);
    EXPECT_NE(std::string(e.what()).find("3 concepts"), std::string::npos);
  }
  std::ofstream bad(dir_ / "bad.txt");
  bad << "UsedFor\tshovel\tdig\n";
  bad.close();
  EXPECT_THROW(EvaluateTripleClassification(graph, model, (dir_ / "bad.txt").string(),
                                            (dir_ / "dev2.txt").string()),
               ParseError);
}

}  // namespace
}  // namespace spade::kg
