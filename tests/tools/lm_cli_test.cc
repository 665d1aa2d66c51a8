// End-to-end tests of `spade lm ask`, `spade lm eval` and `spade lm generate` on a tiny
// GPT-2 trained in the test on four facts (tests/encoder/tiny_lm.h), so the right answers
// are known, and on the same model untrained.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "encoder/generate.h"
#include "tests/encoder/tiny_lm.h"
#include "tests/test_util.h"
#include "tests/tools/cli_util.h"

namespace spade::testing {
namespace {

// CommonsenseQA-style jsonl for the facts, labels A-D.
std::string FactsJsonl() {
  std::string out;
  int n = 0;
  for (const auto& f : LmFacts()) {
    nlohmann::json j = {{"id", "fact" + std::to_string(n++)}, {"answerKey", std::string(1, char('A' + f.answer))}};
    j["question"]["stem"] = f.question;
    for (size_t i = 0; i < f.choices.size(); ++i) {
      j["question"]["choices"].push_back({{"label", std::string(1, char('A' + i))}, {"text", f.choices[i]}});
    }
    out += j.dump() + "\n";
  }
  return out;
}

class LmCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    const encoder::ByteLevelBpe bpe = LmFactBpe();
    encoder::Gpt2Model model(TinyGpt2Config(bpe.vocab_size(), 128));
    model.Init(3);
    encoder::SaveGpt2Dir(model, *dir_ / "untrained");
    bpe.Save(*dir_ / "untrained");
    ASSERT_LT(TrainOnLmFacts(bpe, &model), 0.5f);
    encoder::SaveGpt2Dir(model, *dir_ / "lm");
    bpe.Save(*dir_ / "lm");
    WriteFile(*dir_ / "facts.jsonl", FactsJsonl());
  }
  static void TearDownTestSuite() { delete dir_; }
  RunResult Run(const std::string& args) { return RunSpade(args, *dir_ / "stderr"); }
  std::string lm() const { return *dir_ / "lm"; }
  std::string untrained() const { return *dir_ / "untrained"; }
  std::string facts() const { return *dir_ / "facts.jsonl"; }
  static TempDir* dir_;
};
TempDir* LmCli::dir_ = nullptr;

TEST_F(LmCli, EvalZeroShotAnswersEveryFact) {
  RunResult r = Run("lm eval --json --model " + lm() + " --data " + facts());
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["questions"], 4);
  EXPECT_EQ(j["correct"], 4);
  EXPECT_EQ(j["accuracy"], 1.0);
  EXPECT_EQ(j["shots"], 0);
  EXPECT_EQ(j["norm"], "mean");
}

TEST_F(LmCli, EvalOneShotDrawsOtherQuestionsAndWritesPredictions) {
  RunResult r = Run("lm eval --json --shots 1 --train " + facts() + " --data " + facts() + " --model " + lm() +
                    " --norm sum --predictions " + *dir_ / "pred.jsonl");
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["shots"], 1);
  EXPECT_EQ(j["fitted"], 0);
  // Demonstrations are random other facts, a context it was not trained on for most
  // questions; it must still beat chance (1 of 4).
  EXPECT_GE(j["correct"].get<int>(), 2);
  std::ifstream in(*dir_ / "pred.jsonl");
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    const auto p = nlohmann::json::parse(line);
    EXPECT_EQ(p["id"], "fact" + std::to_string(lines));
    EXPECT_EQ(p["scores"].size(), 4u);
    ++lines;
  }
  EXPECT_EQ(lines, 4);
  // Same seed, same draws, same output.
  EXPECT_EQ(Run("lm eval --json --shots 1 --train " + facts() + " --data " + facts() + " --model " + lm() +
                " --norm sum")
                .out.substr(0, r.out.find("\"seconds\"")),
            r.out.substr(0, r.out.find("\"seconds\"")));
}

TEST_F(LmCli, AskShowsThePromptAndPicksTheLearnedAnswer) {
  RunResult r = Run("lm ask --model " + lm() + " --question 'what do you dig with?' --choice oven --choice shovel");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("Q: what do you dig with?\nA:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("* shovel"), std::string::npos) << r.out;
  r = Run("lm ask --json --model " + lm() + " --question 'what do you bake bread in?' --choice kite --choice oven");
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["prediction"], "oven");
  EXPECT_EQ(j["choices"].size(), 2u);
  EXPECT_EQ(j["context"], "Q: what do you bake bread in?\nA:");
}

TEST_F(LmCli, BadInputsAreNamedErrors) {
  RunResult r = Run("lm eval --model " + lm() + " --data " + facts() + " --shots 2");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("--shots 2 needs --train FILE"), std::string::npos) << r.err;
  r = Run("lm eval --model " + lm() + " --data " + facts() + " --shots 4 --train " + facts());
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("4 labelled questions; --shots 4 needs more"), std::string::npos) << r.err;
  WriteFile(*dir_ / "bad.jsonl", FactsJsonl() + "{\"id\": 1}\n");
  r = Run("lm eval --model " + lm() + " --data " + *dir_ / "bad.jsonl");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("bad.jsonl:5"), std::string::npos) << r.err;
  r = Run("lm ask --model " + *dir_ / "nowhere" + " --question q --choice a --choice b");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("nowhere/config.json"), std::string::npos) << r.err;
  r = Run("lm ask --model " + lm() + " --question q --choice a --choice b --norm avg");
  EXPECT_EQ(r.rc, 2);  // flag validation
}

TEST_F(LmCli, GenerateGreedyContinuesALearnedFact) {
  RunResult r = Run("lm generate --json --temperature 0 --max-tokens 4 --model " + lm() +
                    " --prompt 'Q: what do you dig with?\nA:'");
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["text"].get<std::string>().rfind(" shovel", 0), 0u) << j["text"];
  EXPECT_EQ(j["stop"], "max_tokens");
  EXPECT_EQ(j["tokens"].size(), 4u);
  EXPECT_EQ(j["prompt_tokens_dropped"], 0);
  // The tool is the library: the same ids as Generate() on the saved model.
  const encoder::ByteLevelBpe bpe = encoder::ByteLevelBpe::FromModelDir(lm());
  encoder::GenerateConfig c;
  c.temperature = 0;
  c.max_tokens = 4;
  c.eos_token_id = bpe.TokenToId("<|endoftext|>");
  EXPECT_EQ(j["tokens"].get<std::vector<int32_t>>(),
            encoder::Generate(*encoder::LoadGpt2Dir(lm()), bpe.Encode("Q: what do you dig with?\nA:"), c).tokens);
  // Plain output is the continuation and a newline.
  r = Run("lm generate --temperature 0 --max-tokens 4 --model " + lm() + " --prompt 'Q: what do you dig with?\nA:'");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, j["text"].get<std::string>() + "\n");
}

TEST_F(LmCli, GenerateSampledIsAFunctionOfTheSeed) {
  auto gen = [&](int seed) {
    RunResult r = Run("lm generate --json --max-tokens 24 --temperature 1 --top-k 40 --top-p 0.95 --seed " +
                      std::to_string(seed) + " --model " + untrained() + " --prompt 'what do you'");
    EXPECT_EQ(r.rc, 0) << r.err;
    return nlohmann::json::parse(r.out)["tokens"].get<std::vector<int32_t>>();
  };
  const std::vector<int32_t> a = gen(5);
  EXPECT_EQ(a.size(), 24u);
  EXPECT_EQ(gen(5), a);
  EXPECT_NE(gen(6), a);
}

TEST_F(LmCli, GenerateCutsALongPromptFromTheLeft) {
  std::string prompt;
  for (int i = 0; i < 100; ++i) prompt += "dig with a shovel ";
  RunResult r = Run("lm generate --json --temperature 0 --max-tokens 3 --model " + lm() + " --prompt '" + prompt + "'");
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["prompt_tokens_dropped"].get<int>(), j["prompt_tokens"].get<int>() - 128);
  EXPECT_GT(j["prompt_tokens_dropped"].get<int>(), 0);
  EXPECT_EQ(j["tokens"].size(), 3u);
  EXPECT_NE(r.err.find("dropped to fit n_positions = 128"), std::string::npos) << r.err;
}

TEST_F(LmCli, GenerateBadFlagsAreNamedErrors) {
  const std::string base = "lm generate --model " + lm() + " --prompt hi ";
  RunResult r = Run(base + "--temperature -1");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("--temperature"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("must be >= 0, got -1"), std::string::npos) << r.err;
  for (const char* p : {"0", "1.5", "-0.2"}) {
    r = Run(base + "--top-p " + p);
    EXPECT_EQ(r.rc, 2) << p;
    EXPECT_NE(r.err.find("--top-p"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("must be in (0, 1], got " + std::string(p)), std::string::npos) << r.err;
  }
  r = Run(base + "--top-k -3");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("--top-k"), std::string::npos) << r.err;
  r = Run(base + "--top-p 1");  // 1 is allowed: no nucleus cut
  EXPECT_EQ(r.rc, 0) << r.err;
  r = Run("lm generate --model " + *dir_ / "nowhere" + " --prompt hi");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("spade: error:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nowhere/config.json"), std::string::npos) << r.err;
  r = Run("lm generate --model " + lm());
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("--prompt"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace spade::testing
