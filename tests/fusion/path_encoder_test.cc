// fusion/path_encoder.h: finite differences of every tensor and every input (concept and
// relation tables, statement vectors) on a batch with paths of 1-3 hops, a single-path pair,
// a pair without paths and statements without paths; the empty cases; and parity with the
// PyTorch reference (tools/reference/path_fixture.py).
#include "fusion/path_encoder.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "encoder/safetensors.h"
#include "tests/encoder/gradcheck.h"

namespace spade::fusion {
namespace {

using encoder::Matrix;
using encoder::ParamArena;
using encoder::testing::CheckGradient;
using encoder::testing::Dot;
using encoder::testing::RandomMatrix;

const std::string kFixtures = std::string(SPADE_SOURCE_DIR) + "/tests/fusion/fixtures/path_encoder/";

PathIds Path(std::vector<int32_t> concepts, std::vector<int32_t> relations) {
  return PathIds{std::move(concepts), std::move(relations)};
}

// Statement 0: a pair with paths of 1, 2 and 3 hops and a single-path pair; statement 1: a
// pair without paths and one with two; statement 2: no pairs; statement 3: one empty pair.
std::vector<StatementPathIds> MixedBatch() {
  std::vector<StatementPathIds> b(4);
  b[0].pairs = {{{Path({0, 1}, {0}), Path({0, 2, 1}, {1, 2}), Path({0, 3, 4, 1}, {3, 0, 1})}},
                {{Path({5, 6, 2}, {2, 2})}}};
  b[1].pairs = {{}, {{Path({2, 4}, {3}), Path({2, 0, 4}, {1, 0})}}};
  b[3].pairs = {{}};
  return b;
}

class PathEncoderGrad : public ::testing::TestWithParam<bool> {};

TEST_P(PathEncoderGrad, EveryTensorAndInputMatchFiniteDifferences) {
  PathEncoderConfig c{
      .concept_dim = 3, .relation_dim = 2, .statement_dim = 4, .hidden = 3, .bidirectional = GetParam()};
  ParamArena arena;
  PathEncoder enc(c, &arena);
  arena.Allocate();
  // Large random queries so the attention weights are far from uniform.
  for (int id = 0; id < static_cast<int>(arena.params().size()); ++id) {
    const auto& p = arena.info(id);
    arena.Value(id) = RandomMatrix(p.rows, p.cols, 10 + uint64_t(id), 0.8f);
  }
  const auto batch = MixedBatch();
  Matrix concepts = RandomMatrix(7, 3, 1), relations = RandomMatrix(4, 2, 2), statements = RandomMatrix(4, 4, 3);
  const Matrix g = RandomMatrix(4, enc.output_width(), 4);
  PathEncoderState st;
  auto loss = [&] {
    enc.Forward(concepts, relations, statements, batch, &st);
    return Dot(st.output, g);
  };
  loss();
  Matrix dc, dr, ds;
  enc.Backward(&st, g, &dc, &dr, &ds);
  for (const auto& p : arena.params()) {
    CheckGradient(p.name, arena.values() + p.offset, arena.grads() + p.offset, size_t(p.rows) * p.cols, loss, 1e-2f,
                  2e-3, 2e-2, 200);
  }
  CheckGradient("concepts", concepts.data(), dc.data(), size_t(concepts.size()), loss, 1e-2f, 2e-3, 2e-2, 200);
  CheckGradient("relations", relations.data(), dr.data(), size_t(relations.size()), loss, 1e-2f, 2e-3, 2e-2, 200);
  CheckGradient("statements", statements.data(), ds.data(), size_t(statements.size()), loss, 1e-2f, 2e-3, 2e-2, 200);
  // Statements 2 and 3 have no paths: zero output, no gradient to their vectors.
  for (int s : {2, 3}) {
    EXPECT_EQ(st.output.row(s).cwiseAbs().maxCoeff(), 0.0f);
    EXPECT_EQ(ds.row(s).cwiseAbs().maxCoeff(), 0.0f);
  }
}

INSTANTIATE_TEST_SUITE_P(Directions, PathEncoderGrad, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& i) { return i.param ? "Bidirectional" : "Forward"; });

TEST(PathEncoder, AttentionWeightsAreDistributionsAndExplainThePaths) {
  PathEncoderConfig c{.concept_dim = 3, .relation_dim = 2, .statement_dim = 4, .hidden = 3};
  ParamArena arena;
  PathEncoder enc(c, &arena);
  arena.Allocate();
  enc.Init(5);
  PathEncoderState st;
  enc.Forward(RandomMatrix(7, 3, 1), RandomMatrix(4, 2, 2), RandomMatrix(4, 4, 3), MixedBatch(), &st);
  ASSERT_EQ(st.path_attention.size(), 6u);
  ASSERT_EQ(st.pair_attention.size(), 5u);
  EXPECT_NEAR(st.PathAttention(0, 0, 0) + st.PathAttention(0, 0, 1) + st.PathAttention(0, 0, 2), 1.0, 1e-6);
  EXPECT_FLOAT_EQ(st.PathAttention(0, 1, 0), 1.0f);  // a single path carries its pair
  EXPECT_NEAR(st.PairAttention(0, 0) + st.PairAttention(0, 1), 1.0, 1e-6);
  EXPECT_EQ(st.PairAttention(1, 0), 0.0f);  // no paths: not attended
  EXPECT_FLOAT_EQ(st.PairAttention(1, 1), 1.0f);
  EXPECT_EQ(st.PairAttention(3, 0), 0.0f);
  EXPECT_THROW(st.PathAttention(1, 0, 0), encoder::Error);
  EXPECT_THROW(st.PairAttention(2, 0), encoder::Error);
  // The single-path pair's vector is that path's vector.
  EXPECT_LE((st.pair_vecs.row(1) - st.lstm.final.row(3)).cwiseAbs().maxCoeff(), 1e-6f);
  EXPECT_TRUE(st.output.allFinite());
}

TEST(PathEncoder, BatchWithoutAnyPathGivesZerosAndZeroGradients) {
  PathEncoderConfig c{.concept_dim = 3, .relation_dim = 2, .statement_dim = 4, .hidden = 3};
  ParamArena arena;
  PathEncoder enc(c, &arena);
  arena.Allocate();
  enc.Init(5);
  std::vector<StatementPathIds> batch(2);
  batch[1].pairs = {{}, {}};
  PathEncoderState st;
  enc.Forward(RandomMatrix(7, 3, 1), RandomMatrix(4, 2, 2), RandomMatrix(2, 4, 3), batch, &st);
  EXPECT_EQ(st.output.cwiseAbs().maxCoeff(), 0.0f);
  Matrix dc, dr, ds;
  enc.Backward(&st, RandomMatrix(2, enc.output_width(), 4), &dc, &dr, &ds);
  EXPECT_EQ(dc.rows(), 7);
  EXPECT_EQ(dr.rows(), 4);
  EXPECT_EQ(dc.cwiseAbs().maxCoeff() + dr.cwiseAbs().maxCoeff() + ds.cwiseAbs().maxCoeff(), 0.0f);
  EXPECT_EQ(Eigen::Map<const Matrix>(arena.grads(), 1, Eigen::Index(arena.size())).cwiseAbs().maxCoeff(), 0.0f);
}

TEST(PathEncoder, RejectsMalformedPathsNamingThem) {
  PathEncoderConfig c{.concept_dim = 3, .relation_dim = 2, .statement_dim = 4, .hidden = 3};
  ParamArena arena;
  PathEncoder enc(c, &arena);
  arena.Allocate();
  PathEncoderState st;
  const Matrix concepts = RandomMatrix(7, 3, 1), relations = RandomMatrix(4, 2, 2), s1 = RandomMatrix(1, 4, 3);
  auto expect_error = [&](const std::vector<StatementPathIds>& b, const Matrix& s, const std::string& needle) {
    try {
      enc.Forward(concepts, relations, s, b, &st);
      ADD_FAILURE() << "no error for " << needle;
    } catch (const encoder::Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  std::vector<StatementPathIds> b(1);
  b[0].pairs = {{{Path({0, 9}, {0})}}};
  expect_error(b, s1, "statement 0 pair 0 path 0: concept id 9");
  b[0].pairs = {{{Path({0, 1}, {4})}}};
  expect_error(b, s1, "relation id 4");
  b[0].pairs = {{{Path({0, 1}, {})}}};
  expect_error(b, s1, "2 concepts and 0 relations");
  b[0].pairs = {{{Path({0, 1}, {0})}}};
  expect_error(b, RandomMatrix(2, 4, 3), "statements");
  EXPECT_THROW(enc.Forward(RandomMatrix(7, 4, 1), relations, s1, b, &st), encoder::Error);
}

// ---- parity with tools/reference/path_fixture.py ----

Matrix Load(const encoder::SafetensorsFile& f, const std::string& name) {
  const encoder::TensorEntry* e = f.Find(name);
  if (e == nullptr) throw std::runtime_error(std::string(f.source()).append(": no tensor ").append(name));
  const std::vector<float> v = f.ReadFloat(*e);
  const Eigen::Index cols = e->shape.empty() ? 1 : e->shape.back();
  return encoder::ConstMatrixMap(v.data(), static_cast<Eigen::Index>(v.size()) / cols, cols);
}

void ExpectNear(const std::string& what, const Matrix& got, const Matrix& want, double tol = 1e-4) {
  ASSERT_EQ(got.size(), want.size()) << what;
  const Matrix w = encoder::ConstMatrixMap(want.data(), got.rows(), got.cols());
  const double scale = std::max(1.0, static_cast<double>(w.cwiseAbs().maxCoeff()));
  EXPECT_LE((got - w).cwiseAbs().maxCoeff(), tol * scale) << what;
}

TEST(PathEncoderParity, ForwardAttentionAndGradientsMatchTorch) {
  std::ifstream in(kFixtures + "path_encoder.json");
  ASSERT_TRUE(in) << kFixtures;
  const nlohmann::json j = nlohmann::json::parse(in);
  PathEncoderConfig c;
  c.concept_dim = j["config"]["concept_dim"];
  c.relation_dim = j["config"]["relation_dim"];
  c.statement_dim = j["config"]["statement_dim"];
  c.hidden = j["config"]["hidden"];
  c.bidirectional = j["config"]["bidirectional"];
  std::vector<StatementPathIds> batch;
  for (const auto& js : j["batch"]) {
    StatementPathIds s;
    for (const auto& jp : js) {
      PairPathIds pair;
      for (const auto& path : jp)
        pair.paths.push_back(
            Path(path["concepts"].get<std::vector<int32_t>>(), path["relations"].get<std::vector<int32_t>>()));
      s.pairs.push_back(pair);
    }
    batch.push_back(s);
  }

  const auto f = encoder::SafetensorsFile::Open(kFixtures + "path_encoder.safetensors");
  ParamArena arena;
  PathEncoder enc(c, &arena);
  arena.Allocate();
  for (const auto& p : arena.params()) arena.Value(arena.Find(p.name)) = Load(f, p.name);
  PathEncoderState st;
  enc.Forward(Load(f, "concepts"), Load(f, "relations"), Load(f, "statements"), batch, &st);
  ExpectNear("output", st.output, Load(f, "output"));
  ExpectNear("path_attention",
             encoder::ConstMatrixMap(st.path_attention.data(), 1, Eigen::Index(st.path_attention.size())),
             Load(f, "path_attention"));
  ExpectNear("pair_attention",
             encoder::ConstMatrixMap(st.pair_attention.data(), 1, Eigen::Index(st.pair_attention.size())),
             Load(f, "pair_attention"));

  Matrix dc, dr, ds;
  enc.Backward(&st, Load(f, "g_output"), &dc, &dr, &ds);
  ExpectNear("grad.concepts", dc, Load(f, "grad.concepts"));
  ExpectNear("grad.relations", dr, Load(f, "grad.relations"));
  ExpectNear("grad.statements", ds, Load(f, "grad.statements"));
  for (const auto& p : arena.params()) {
    const std::string g = std::string("grad.").append(p.name);
    ExpectNear(g, arena.Grad(arena.Find(p.name)), Load(f, g));
  }
}

}  // namespace
}  // namespace spade::fusion
