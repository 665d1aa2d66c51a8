// AdamW, clipping, schedule and accumulation against numbers from torch.optim.AdamW +
// clip_grad_norm_ + LambdaLR (values printed by a 10-line torch script, float64).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "encoder/optim.h"

namespace spade::encoder {
namespace {

struct Fixture {
  ParamArena arena;
  int w, b;
  Fixture() {
    w = arena.AddMatrix("w", 1, 2);  // decayed
    b = arena.AddVector("b", 1);     // not decayed
    arena.Allocate();
    arena.Value(w) << 1.0f, -2.0f;
    arena.Value(b) << 0.5f;
  }
  void SetGrad(float g0, float g1, float gb) {
    arena.Grad(w) << g0, g1;
    arena.Grad(b) << gb;
  }
};

AdamWConfig TorchConfig() {
  AdamWConfig c;
  c.lr = 0.1f;
  c.eps = 1e-6f;
  c.weight_decay = 0.1f;
  c.max_grad_norm = 1.0f;
  c.warmup_steps = 1;
  c.total_steps = 4;
  return c;
}

TEST(AdamW, MatchesTorchWithClippingWarmupAndDecay) {
  Fixture f;
  AdamW opt(f.arena, TorchConfig());
  const float grads[4][3] = {{0.3f, -0.4f, 2.0f}, {1.0f, 0.5f, -0.2f}, {-0.1f, 0.2f, 0.05f}, {0.7f, 0.7f, 0.7f}};
  const float expected[4][3] = {{1.0f, -2.0f, 0.5f},
                                {0.9056603f, -2.0210856f, 0.4473686f},
                                {0.8611750f, -2.0435171f, 0.4181217f},
                                {0.8345794f, -2.0609396f, 0.3979958f}};
  for (int s = 0; s < 4; ++s) {
    f.SetGrad(grads[s][0], grads[s][1], grads[s][2]);
    EXPECT_TRUE(opt.Step(&f.arena));
    EXPECT_NEAR(f.arena.Value(f.w)(0, 0), expected[s][0], 2e-6) << "update " << s;
    EXPECT_NEAR(f.arena.Value(f.w)(0, 1), expected[s][1], 2e-6) << "update " << s;
    EXPECT_NEAR(f.arena.Value(f.b)(0, 0), expected[s][2], 2e-6) << "update " << s;
    EXPECT_EQ(f.arena.Grad(f.w).cwiseAbs().sum(), 0.0f);  // zeroed after the update
  }
  EXPECT_NEAR(opt.last_grad_norm(), std::sqrt(3 * 0.49f), 1e-6);
}

TEST(AdamW, AccumulationEqualsOneBigBatch) {
  AdamWConfig c = TorchConfig();
  c.warmup_steps = 0;
  c.total_steps = 0;
  Fixture one, two;
  AdamW a(one.arena, c);
  c.accumulation_steps = 2;
  AdamW b(two.arena, c);
  one.SetGrad(0.2f, -0.1f, 0.3f);
  EXPECT_TRUE(a.Step(&one.arena));
  // Two micro-batches whose gradients sum to twice the mean gradient.
  two.SetGrad(0.1f, -0.3f, 0.2f);
  EXPECT_FALSE(b.Step(&two.arena));
  two.arena.Grad(two.w) += (Matrix(1, 2) << 0.3f, 0.1f).finished();
  two.arena.Grad(two.b) += (Matrix(1, 1) << 0.4f).finished();
  EXPECT_TRUE(b.Step(&two.arena));
  EXPECT_NEAR((one.arena.Value(one.w) - two.arena.Value(two.w)).cwiseAbs().maxCoeff(), 0.0f, 1e-7);
  EXPECT_NEAR(one.arena.Value(one.b)(0, 0), two.arena.Value(two.b)(0, 0), 1e-7);
}

TEST(AdamW, ScheduleIsLinearWarmupThenDecay) {
  AdamWConfig c;
  c.lr = 1.0f;
  c.warmup_steps = 4;
  c.total_steps = 12;
  EXPECT_FLOAT_EQ(LinearWarmupDecay(c, 0), 0.0f);
  EXPECT_FLOAT_EQ(LinearWarmupDecay(c, 2), 0.5f);
  EXPECT_FLOAT_EQ(LinearWarmupDecay(c, 4), 1.0f);
  EXPECT_FLOAT_EQ(LinearWarmupDecay(c, 8), 0.5f);
  EXPECT_FLOAT_EQ(LinearWarmupDecay(c, 12), 0.0f);
  EXPECT_FLOAT_EQ(LinearWarmupDecay(c, 20), 0.0f);
}

TEST(AdamW, NonFiniteGradientIsATypedErrorNamingTheTensor) {
  Fixture f;
  AdamW opt(f.arena, TorchConfig());
  f.SetGrad(0.1f, std::numeric_limits<float>::quiet_NaN(), 0.0f);
  try {
    opt.Step(&f.arena);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNumerical);
    EXPECT_NE(std::string(e.what()).find("gradient of w"), std::string::npos) << e.what();
  }
  EXPECT_EQ(f.arena.Value(f.w)(0, 0), 1.0f);  // untouched
}

}  // namespace
}  // namespace spade::encoder
