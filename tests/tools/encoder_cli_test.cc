// End-to-end tests of `spade encode` and `spade bench encoder` on a committed tiny model.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "encoder/safetensors.h"
#include "tests/test_util.h"
#include "tests/tools/cli_util.h"

namespace spade::testing {
namespace {

class EncoderCli : public ::testing::Test {
 protected:
  RunResult Run(const std::string& args) { return RunSpade(args, dir_ / "stderr"); }
  std::string model() const { return SourcePath("tests/encoder/fixtures/bert_pretraining"); }
  TempDir dir_;
};

TEST_F(EncoderCli, EncodeIdsPrintsOneHiddenRowPerToken) {
  RunResult r = Run("encode --json --model " + model() + " --ids 15,18,21");
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["ids"], nlohmann::json({15, 18, 21}));
  ASSERT_EQ(j["last_hidden_state"].size(), 3u);
  for (const auto& row : j["last_hidden_state"]) {
    ASSERT_EQ(row.size(), 16u);  // hidden_size of the fixture
    double mean = 0, var = 0;
    for (const auto& v : row) mean += v.get<double>() / 16;
    for (const auto& v : row) var += (v.get<double>() - mean) * (v.get<double>() - mean) / 16;
    EXPECT_TRUE(std::isfinite(mean));
    EXPECT_GT(var, 1e-3);  // LayerNorm output, not zeros
  }
  EXPECT_EQ(Run("encode --json --model " + model() + " --ids 15,18,21").out, r.out);  // deterministic
}

TEST_F(EncoderCli, DumpWritesEveryNamedIntermediate) {
  RunResult r = Run("encode --json --model " + model() + " --ids 15,18,21 --dump " + dir_ / "i.safetensors");
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto hidden = nlohmann::json::parse(r.out)["last_hidden_state"];
  const encoder::SafetensorsFile f = encoder::SafetensorsFile::Open(dir_ / "i.safetensors");
  // 2 layers x 8 names + embeddings + pooler.
  EXPECT_EQ(f.header().tensors.size(), 18u);
  const std::vector<float> out = f.ReadFloat(*f.Find("layer1.output"), {3, 16});
  for (size_t t = 0; t < 3; ++t) {
    for (size_t h = 0; h < 16; ++h) EXPECT_FLOAT_EQ(out[t * 16 + h], hidden[t][h].get<float>());
  }
  const std::vector<float> probs = f.ReadFloat(*f.Find("layer0.attn.probs"), {1 * 2 * 3, 3});  // B*heads*T, T
  for (size_t row = 0; row < 6; ++row) EXPECT_NEAR(probs[row * 3] + probs[row * 3 + 1] + probs[row * 3 + 2], 1.0, 1e-5);
  EXPECT_NE(f.Find("layer1.ffn.intermediate"), nullptr);
}

TEST_F(EncoderCli, BadIdsAndMissingModelsAreErrors) {
  RunResult r = Run("encode --model " + model() + " --ids 15,999");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("id 999 at position 1 is outside [0, 41)"), std::string::npos) << r.err;
  r = Run("encode --model " + dir_ / "none" + " --ids 1");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("config.json"), std::string::npos) << r.err;
}

TEST_F(EncoderCli, BenchEncoderReportsTokensPerSecond) {
  WriteFile(dir_ / "c.json",
            R"({"model_type":"bert","hidden_size":16,"num_hidden_layers":1,"num_attention_heads":2,)"
            R"("intermediate_size":32,"vocab_size":50,"max_position_embeddings":16})");
  RunResult r = Run("bench encoder --config " + dir_ / "c.json" + " --batch 2 --seq 8 --json --seconds 0.1");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_GT(nlohmann::json::parse(r.out)["tokens_per_second"].get<double>(), 0.0);
  r = Run("bench encoder --config " + dir_ / "c.json" + " --batch 2 --seq 8 --train --json --seconds 0.1");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_GT(nlohmann::json::parse(r.out)["tokens_per_second"].get<double>(), 0.0);
}

}  // namespace
}  // namespace spade::testing
