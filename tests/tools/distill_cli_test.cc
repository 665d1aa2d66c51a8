// End-to-end tests of `spade distill`: a tiny random teacher distilled into a half-depth
// student through the CLI; the student is a model directory `spade encode` loads; usage and
// configuration errors get their exit codes. (Resume equivalence and the losses are tested at
// library level in tests/encoder/distill_test.cc.)
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "encoder/checkpoint.h"
#include "tests/encoder/pretrain_fixture.h"
#include "tests/test_util.h"
#include "tests/tools/cli_util.h"

namespace spade::testing {
namespace {

class DistillCli : public ::testing::Test {
 protected:
  void SetUp() override {
    encoder::EncoderConfig c;
    c.vocab_size = sc_.tok.vocab_size;
    c.hidden_size = c.embedding_size = 32;
    c.num_hidden_layers = 4;
    c.num_attention_heads = 2;
    c.intermediate_size = 64;
    c.max_position_embeddings = 32;
    c.initializer_range = 0.2f;
    encoder::HeadsConfig h;
    h.mlm = true;
    encoder::Model m(c, h);
    m.Init(3);
    encoder::SaveModelDir(m, teacher());
    encoder::CopyTokenizerFiles(sc_.tok, teacher());
  }
  RunResult Run(const std::string& args) { return RunSpade("distill " + args, dir_ / "stderr"); }
  std::string teacher() const { return dir_ / "teacher"; }
  std::string Common() const {
    return "--teacher " + teacher() + " --corpus " + sc_.dir.path() + " --batch 8 --seq 16 --threads 1 ";
  }
  SyntheticCorpus sc_;
  TempDir dir_;
};

std::vector<double> Losses(const std::string& log) {
  std::ifstream in(log);
  std::vector<double> out;
  std::string line;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);
    if (j.contains("loss")) out.push_back(j["loss"].get<double>());
  }
  return out;
}

TEST_F(DistillCli, DistilBertStudentLoadsInEncode) {
  const std::string out = dir_ / "student";
  RunResult r = Run(Common() + "--student-preset small --method distilbert --steps 30 --lr 2e-3 --log-every 1 "
                    "--save-every 10 --eval-every 10 --out " + out);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("held-out teacher_agreement"), std::string::npos) << r.out;
  const std::vector<double> loss = Losses(out + "/log.jsonl");
  ASSERT_EQ(loss.size(), 30u);
  EXPECT_LT(loss[27] + loss[28] + loss[29], 0.8 * (loss[0] + loss[1] + loss[2]));
  const auto config = nlohmann::json::parse(std::ifstream(out + "/config.json"));
  EXPECT_EQ(config["num_hidden_layers"], 2);
  EXPECT_EQ(config["architectures"][0], "BertForMaskedLM");
  RunResult e = RunSpade("encode --json --model " + out + " --ids 2,10,11,3", dir_ / "stderr");
  ASSERT_EQ(e.rc, 0) << e.err;
  EXPECT_EQ(nlohmann::json::parse(e.out)["last_hidden_state"].size(), 4u);
  // The same --out again without --resume is refused; with --resume at the end, nothing to do.
  r = Run(Common() + "--student-preset small --steps 30 --out " + out);
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("--resume"), std::string::npos) << r.err;
}

TEST_F(DistillCli, TinyBertWithAProjectedStudent) {
  const std::string out = dir_ / "tiny";
  RunResult r = Run(Common() + "--student-preset tiny --method tinybert --steps 12 --save-every 0 --eval-every 0 "
                    "--log-every 1 --out " + out);
  ASSERT_EQ(r.rc, 0) << r.err;
  std::ifstream log(out + "/log.jsonl");
  std::string line;
  std::vector<double> phases;
  while (std::getline(log, line)) {
    const auto j = nlohmann::json::parse(line);
    if (j.contains("phase")) phases.push_back(j["phase"].get<double>());
  }
  EXPECT_EQ(phases, (std::vector<double>{1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2}));  // --intermediate-fraction 0.5
  EXPECT_EQ(nlohmann::json::parse(std::ifstream(out + "/config.json"))["hidden_size"], 14);
}

TEST_F(DistillCli, UsageAndConfigurationErrors) {
  EXPECT_EQ(Run(Common() + "--out " + dir_ / "x").rc, 2);  // no student
  EXPECT_EQ(Run(Common() + "--student-preset small --student-config c.json --out " + dir_ / "x").rc, 2);
  EXPECT_EQ(Run(Common() + "--student-preset huge --out " + dir_ / "x").rc, 2);
  EXPECT_EQ(Run(Common() + "--student-preset small --method foo --out " + dir_ / "x").rc, 2);
  RunResult r = Run(Common() + "--student-preset tiny --method distilbert --out " + dir_ / "x");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("use --method tinybert"), std::string::npos) << r.err;
  r = RunSpade("distill --teacher " + dir_ / "none" + " --corpus " + sc_.dir.path() + " --student-preset small --out " +
                   dir_ / "x",
               dir_ / "stderr");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("config.json"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace spade::testing
