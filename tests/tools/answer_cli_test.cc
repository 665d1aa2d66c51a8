// End-to-end tests of `spade ask` and `spade eval` with each scorer: a tiny KG built and
// embedded by the binary, a tiny random QA model saved for it in the test, and an untrained
// tiny GPT-2 for the LM scorer.
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "encoder/gpt2.h"
#include "kg/store.h"
#include "kg/transe.h"
#include "tests/encoder/tiny_lm.h"
#include "tests/fusion/tiny_qa_model.h"
#include "tests/test_util.h"
#include "tests/tools/cli_util.h"

namespace spade::testing {
namespace {

class AnswerCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    WriteFile(*dir_ / "t.tsv",
              "shovel\tUsedFor\tdig\nspoon\tUsedFor\teat\ndig\tHasSubevent\thole\nsoup\tAtLocation\tbowl\n"
              "spoon\tAtLocation\tbowl\nshovel\tAtLocation\tgarden\n");
    ASSERT_EQ(RunSpade("kg build --quiet --out " + *dir_ / "kg" + " " + *dir_ / "t.tsv", *dir_ / "stderr").rc, 0);
    ASSERT_EQ(RunSpade("kg embed --json --kg " + *dir_ / "kg" + " --dim 8 --epochs 3 --threads 1", *dir_ / "stderr").rc,
              0);
    {
      auto store = kg::KgStore::Open(*dir_ / "kg");  // closed before the binary opens it again
      const kg::Graph graph = store->LoadGraph();
      const std::optional<kg::TransE> transe = kg::TransE::Load(*store);
      ASSERT_TRUE(transe.has_value());
      fusion::testing::SaveTinyQaModel(graph, *transe, *dir_ / "qa");
    }
    const encoder::ByteLevelBpe bpe = LmFactBpe();
    encoder::Gpt2Model lm(TinyGpt2Config(bpe.vocab_size(), 128));
    lm.Init(3);
    encoder::SaveGpt2Dir(lm, *dir_ / "lm");
    bpe.Save(*dir_ / "lm");
    const std::string q1 =
        R"({"id":"a","answerKey":"A","question":{"stem":"What do you dig with?","choices":[{"label":"A","text":"shovel"},{"label":"B","text":"spoon"}]}})";
    const std::string q2 =
        R"({"id":"b","answerKey":"A","question":{"stem":"What do you eat soup with?","choices":[{"label":"A","text":"shovel"},{"label":"B","text":"spoon"}]}})";
    const std::string q3 =
        R"({"id":"c","answerKey":"B","question":{"stem":"Where is soup served?","choices":[{"label":"A","text":"shovel"},{"label":"B","text":"bowl"}]}})";
    WriteFile(*dir_ / "q.jsonl", q1 + "\n" + q2 + "\n" + q3 + "\n");
  }
  static void TearDownTestSuite() { delete dir_; }
  RunResult Run(const std::string& args) { return RunSpade(args, *dir_ / "stderr"); }
  std::string kg() const { return *dir_ / "kg"; }
  std::string qa() const { return *dir_ / "qa"; }
  std::string lm() const { return *dir_ / "lm"; }
  std::string questions() const { return *dir_ / "q.jsonl"; }
  static TempDir* dir_;
};
TempDir* AnswerCli::dir_ = nullptr;

TEST_F(AnswerCli, EvalWithTheKgScorerReportsItsFields) {
  RunResult r = Run("eval --json --scorer kg --format csqa --kg " + kg() + " --data " + questions() + " --predictions " +
                    *dir_ / "p.jsonl");
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["n"], 3);
  EXPECT_EQ(j["scorer"], "kg");
  EXPECT_EQ(j["format"], "csqa");
  for (const char* k : {"accuracy", "correct", "with_answer_key", "no_question_concept", "no_answer_concept",
                        "no_path", "embeddings", "seconds_per_question", "threads", "load_seconds", "data", "kg"}) {
    EXPECT_TRUE(j.contains(k)) << k;
  }
  EXPECT_EQ(r.err.find("\r"), std::string::npos) << "progress only on a terminal";
  std::ifstream in(*dir_ / "p.jsonl");
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    ++lines;
    EXPECT_TRUE(nlohmann::json::parse(line).contains("prediction")) << line;
  }
  EXPECT_EQ(lines, 3);
}

TEST_F(AnswerCli, DefaultScorerIsNamedOnStderr) {
  // Whichever default ships (data/models/qa or none), it is named; a shipped model trained
  // on another KG than this tiny one falls back to the KG-only scorer.
  RunResult r = Run("ask --json --kg " + kg() + " 'What do you dig with?' --choices 'spoon|shovel'");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.err.find("using --scorer"), std::string::npos) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["scorer"], "kg");
  RunResult e = Run("ask --json --scorer kg --kg " + kg() + " 'What do you dig with?' --choices 'spoon|shovel'");
  EXPECT_EQ(e.err.find("using --scorer"), std::string::npos) << e.err;
}

TEST_F(AnswerCli, AskWithTheModelScorerExplains) {
  RunResult r = Run("ask --json --scorer model --model " + qa() + " --kg " + kg() +
                    " 'What do you dig with?' --choices 'spoon|shovel'");
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["scorer"], "model");
  double sum = 0;
  for (const auto& c : j["choices"]) sum += c["probability"].get<double>();
  EXPECT_NEAR(sum, 1.0, 1e-9);
  EXPECT_TRUE(j["choices"][0].contains("attended_entities")) << r.out;
  r = Run("ask --scorer model --model " + qa() + " --kg " + kg() + " 'What do you dig with?' --choices 'spoon|shovel'");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("attended entities:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("answer: "), std::string::npos) << r.out;
  r = Run("eval --json --scorer model --model " + qa() + " --kg " + kg() + " --data " + questions());
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["scorer"], "model");
}

// `spade train` end to end: a few steps from the tiny model's encoder, the evidence cached
// (and read back by a second run), then the trained directory answers through `eval`.
TEST_F(AnswerCli, TrainThenEvalTheTrainedModel) {
  const std::string out = *dir_ / "trained", cache = *dir_ / "cache";
  const std::string train = "train --kg " + kg() + " --init " + qa() + " --train " + questions() + " --dev " +
                            questions() + " --steps 4 --batch 2 --seq 48 --eval-every 2 --save-every 2 --threads 1" +
                            " --data-threads 1 --cache " + cache + " --out ";
  RunResult r = Run(train + out);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("held-out dev_accuracy"), std::string::npos) << r.out;
  EXPECT_TRUE(std::filesystem::exists(out + "/spade.json"));
  EXPECT_TRUE(std::filesystem::exists(out + "/best/best.json"));
  size_t cached = 0;
  for (const auto& e : std::filesystem::directory_iterator(cache)) cached += e.path().extension() == ".qaex";
  EXPECT_EQ(cached, 1u);  // train and dev are the same file here: one key
  r = Run(train + *dir_ / "trained2");
  ASSERT_EQ(r.rc, 0) << r.err;
  r = Run("eval --json --scorer model --model " + out + " --kg " + kg() + " --data " + questions());
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["scorer"], "model");
  EXPECT_EQ(j["n"], 3);
  // A bad training file is a clear error naming it, and no model is written.
  WriteFile(*dir_ / "bad.jsonl", "{not json\n");
  r = Run("train --kg " + kg() + " --init " + qa() + " --train " + *dir_ / "bad.jsonl" + " --dev " + questions() +
          " --steps 2 --seq 48 --threads 1 --out " + *dir_ / "never");
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.err.find("bad.jsonl:1"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(*dir_ / "never/spade.json"));
}

TEST_F(AnswerCli, ModelScorerWithAnotherKgIsAClearError) {
  WriteFile(*dir_ / "other.tsv", "cat\tIsA\tanimal\n");
  ASSERT_EQ(Run("kg build --quiet --out " + *dir_ / "other" + " " + *dir_ / "other.tsv").rc, 0);
  RunResult r = Run("ask --scorer model --model " + qa() + " --kg " + *dir_ / "other" +
                    " 'What does a cat be?' --choices 'animal|cat'");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("spade: error: " + qa() + ": the model was trained with another KG"), std::string::npos)
      << r.err;
}

TEST_F(AnswerCli, LmScorerAsksAndEvaluates) {
  RunResult r = Run("ask --json --scorer lm --model " + lm() + " 'what do you dig with?' --choices 'oven|shovel'");
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["scorer"], "lm");
  EXPECT_EQ(j["shots"], 0);
  r = Run("eval --json --scorer lm --shots 1 --train " + questions() + " --model " + lm() + " --data " + questions());
  ASSERT_EQ(r.rc, 0) << r.err;
  j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["shots"], 1);
  EXPECT_EQ(j["n"], 3);
  r = Run("eval --scorer lm --shots 1 --model " + lm() + " --data " + questions());
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("needs --train"), std::string::npos) << r.err;
  r = Run("eval --scorer kg --shots 1 --kg " + kg() + " --data " + questions());
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("are for --scorer lm"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace spade::testing
