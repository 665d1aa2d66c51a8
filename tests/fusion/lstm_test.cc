// fusion/lstm.h: finite differences of every tensor and the input over variable-length
// sequences (one of length 0), and parity with torch.nn.LSTM on packed sequences
// (tools/reference/path_fixture.py).
#include "fusion/lstm.h"

#include <gtest/gtest.h>

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

Matrix Load(const encoder::SafetensorsFile& f, const std::string& name) {
  const encoder::TensorEntry* e = f.Find(name);
  if (e == nullptr) throw std::runtime_error(std::string(f.source()).append(": no tensor ").append(name));
  const std::vector<float> v = f.ReadFloat(*e);
  const Eigen::Index cols = e->shape.empty() ? 1 : e->shape.back();
  return encoder::ConstMatrixMap(v.data(), static_cast<Eigen::Index>(v.size()) / cols, cols);
}

void ExpectNear(const std::string& what, const Matrix& got, const Matrix& want, double tol = 1e-4) {
  ASSERT_EQ(got.rows(), want.rows()) << what;
  ASSERT_EQ(got.cols(), want.cols()) << what;
  const double scale = std::max(1.0, static_cast<double>(want.cwiseAbs().maxCoeff()));
  EXPECT_LE((got - want).cwiseAbs().maxCoeff(), tol * scale) << what;
}

class LstmGrad : public ::testing::TestWithParam<bool> {};

TEST_P(LstmGrad, EveryTensorAndInputMatchFiniteDifferences) {
  const int B = 4, T = 5, I = 3, H = 4;
  ParamArena arena;
  Lstm lstm(&arena, "lstm", LstmConfig{I, H, GetParam()});
  arena.Allocate();
  lstm.Init(7);
  const std::vector<int> lengths = {5, 3, 1, 0};
  Matrix x = RandomMatrix(B * T, I, 1);
  const Matrix g_out = RandomMatrix(B * T, lstm.output_width(), 2);
  const Matrix g_final = RandomMatrix(B, lstm.output_width(), 3);
  LstmState st;
  auto loss = [&] {
    lstm.Forward(x, lengths, &st);
    return Dot(st.outputs, g_out) + Dot(st.final, g_final);
  };
  loss();
  Matrix dx;
  lstm.Backward(st, &g_out, &g_final, &dx);
  for (const auto& p : arena.params()) {
    CheckGradient(p.name, arena.values() + p.offset, arena.grads() + p.offset, size_t(p.rows) * p.cols, loss, 1e-2f,
                  2e-3, 2e-2, 200);
  }
  CheckGradient("x", x.data(), dx.data(), size_t(x.size()), loss, 1e-2f, 2e-3, 2e-2, 200);
  // Padding is never read: padded input rows have no gradient and padded outputs are zero;
  // the empty sequence has a zero final state.
  for (int b = 0; b < B; ++b) {
    for (int t = lengths[size_t(b)]; t < T; ++t) {
      EXPECT_EQ(dx.row(b * T + t).cwiseAbs().maxCoeff(), 0.0f) << b << "," << t;
      EXPECT_EQ(st.outputs.row(b * T + t).cwiseAbs().maxCoeff(), 0.0f) << b << "," << t;
    }
  }
  EXPECT_EQ(st.final.row(3).cwiseAbs().maxCoeff(), 0.0f);
}

INSTANTIATE_TEST_SUITE_P(Directions, LstmGrad, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& i) { return i.param ? "Bidirectional" : "Forward"; });

TEST(Lstm, GradientsOnPaddedOutputsAreIgnored) {
  ParamArena arena;
  Lstm lstm(&arena, "lstm", LstmConfig{2, 3, true});
  arena.Allocate();
  lstm.Init(1);
  const Matrix x = RandomMatrix(2 * 3, 2, 4);
  LstmState st;
  lstm.Forward(x, {3, 1}, &st);
  Matrix g = RandomMatrix(6, 6, 5), dx1, dx2;
  lstm.Backward(st, &g, nullptr, &dx1);
  const Matrix grads1 = Eigen::Map<const Matrix>(arena.grads(), 1, static_cast<Eigen::Index>(arena.size()));
  arena.ZeroGrad();
  g.row(4).setConstant(100.0f);  // sequence 1, padded steps 1 and 2
  g.row(5).setConstant(-100.0f);
  lstm.Backward(st, &g, nullptr, &dx2);
  EXPECT_EQ((dx1 - dx2).cwiseAbs().maxCoeff(), 0.0f);
  EXPECT_EQ((grads1 - Eigen::Map<const Matrix>(arena.grads(), 1, static_cast<Eigen::Index>(arena.size())))
                .cwiseAbs()
                .maxCoeff(),
            0.0f);
}

TEST(Lstm, RegistersPyTorchNames) {
  ParamArena arena;
  Lstm lstm(&arena, "paths.lstm", LstmConfig{5, 3, true});
  for (const char* n : {"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_ih_l0_reverse",
                        "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse"}) {
    EXPECT_GE(arena.Find(std::string("paths.lstm.").append(n)), 0) << n;
  }
  const auto& w = arena.info(arena.Find("paths.lstm.weight_ih_l0"));
  EXPECT_EQ(w.rows, 12);
  EXPECT_EQ(w.cols, 5);
  EXPECT_TRUE(arena.info(arena.Find("paths.lstm.bias_hh_l0_reverse")).is_vector);
}

TEST(Lstm, RejectsBadShapesAndLengths) {
  ParamArena arena;
  Lstm lstm(&arena, "lstm", LstmConfig{3, 2, false});
  arena.Allocate();
  LstmState st;
  EXPECT_THROW(lstm.Forward(Matrix::Zero(6, 4), {3, 3}, &st), encoder::Error);  // width
  EXPECT_THROW(lstm.Forward(Matrix::Zero(5, 3), {3, 2}, &st), encoder::Error);  // rows not B*T
  EXPECT_THROW(lstm.Forward(Matrix::Zero(6, 3), {4, 2}, &st), encoder::Error);  // length > T
  EXPECT_NO_THROW(lstm.Forward(Matrix::Zero(0, 3), {}, &st));
  EXPECT_EQ(st.final.rows(), 0);
}

class LstmParity : public ::testing::TestWithParam<const char*> {};

TEST_P(LstmParity, ForwardAndGradientsMatchTorch) {
  const auto f = encoder::SafetensorsFile::Open(kFixtures + GetParam() + ".safetensors");
  const Matrix w_ih = Load(f, "lstm.weight_ih_l0");
  const bool bidirectional = f.Find("lstm.weight_ih_l0_reverse") != nullptr;
  const int H = static_cast<int>(w_ih.rows()) / 4;
  ParamArena arena;
  Lstm lstm(&arena, "lstm", LstmConfig{static_cast<int>(w_ih.cols()), H, bidirectional});
  arena.Allocate();
  for (const auto& p : arena.params()) arena.Value(arena.Find(p.name)) = Load(f, p.name);
  const Matrix x = Load(f, "x"), lf = Load(f, "lengths");
  std::vector<int> lengths;
  for (Eigen::Index i = 0; i < lf.size(); ++i) lengths.push_back(static_cast<int>(lf.data()[i]));
  LstmState st;
  lstm.Forward(x, lengths, &st);
  ExpectNear("outputs", st.outputs, Load(f, "outputs"));
  ExpectNear("final", st.final, Load(f, "final"));
  const Matrix g_out = Load(f, "g_outputs"), g_final = Load(f, "g_final");
  Matrix dx;
  lstm.Backward(st, &g_out, &g_final, &dx);
  ExpectNear("grad.x", dx, Load(f, "grad.x"));
  for (const auto& p : arena.params()) {
    const std::string g = std::string("grad.").append(p.name);
    ExpectNear(g, arena.Grad(arena.Find(p.name)), Load(f, g));
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, LstmParity, ::testing::Values("lstm_uni", "lstm_bi"));

}  // namespace
}  // namespace spade::fusion
