// End-to-end tests of `spade ground / paths / ask / eval` on a tiny hand-made KG.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/test_util.h"
#include "tests/tools/cli_util.h"

namespace spade::testing {
namespace {

class RetrievalCli : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteFile(dir_ / "t.tsv",
              "shovel\tUsedFor\tdig\nspoon\tUsedFor\teat\ndig\tHasSubevent\thole\nsoup\tAtLocation\tbowl\n"
              "spoon\tAtLocation\tbowl\n");
    ASSERT_EQ(Run("kg build --quiet --out " + kg() + " " + dir_ / "t.tsv").rc, 0);
  }
  RunResult Run(const std::string& args) { return RunSpade(args, dir_ / "stderr"); }
  std::string kg() const { return dir_ / "kg"; }
  TempDir dir_;
};

TEST_F(RetrievalCli, GroundLemmatisesAndKeepsSpans) {
  RunResult r = Run("ground --json --kg " + kg() + " 'I dug a hole'");
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["mentions"].size(), 2u);
  EXPECT_EQ(j["mentions"][0]["concept"], "dig");
  EXPECT_EQ(j["mentions"][0]["surface"], "dug");
  EXPECT_EQ(j["mentions"][0]["begin"], 2);
  EXPECT_EQ(j["mentions"][1]["concept"], "hole");
}

TEST_F(RetrievalCli, PathsAreReadable) {
  RunResult r = Run("paths --kg " + kg() + " --question 'What do you dig with?' --answer shovel --json");
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["paths"].size(), 1u);
  EXPECT_EQ(j["paths"][0]["path"], "dig <-UsedFor- shovel");
  r = Run("paths --kg " + kg() + " --question 'What do you dig with?' --answer shovel --dot");
  EXPECT_NE(r.out.find("digraph"), std::string::npos) << r.out;
}

TEST_F(RetrievalCli, AskRanksTheChoiceWithEvidenceFirst) {
  RunResult r = Run("ask --json --kg " + kg() + " 'What do you dig with?' --choices 'spoon|shovel'");
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["answer"]["text"], "shovel");
  EXPECT_EQ(j["scorer"], "kg");
  r = Run("ask --kg " + kg() + " 'What do you dig with?' --choices 'shovel'");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("at least two choices"), std::string::npos) << r.err;
  r = Run("ask --kg " + kg() + " '  ' --choices 'shovel|spoon'");
  EXPECT_EQ(r.rc, 1);
}

TEST_F(RetrievalCli, EvalReportsAccuracyAndNamesBadLines) {
  const std::string q1 =
      R"({"id":"a","answerKey":"A","question":{"stem":"What do you dig with?","choices":[{"label":"A","text":"shovel"},{"label":"B","text":"spoon"}]}})";
  const std::string q2 =
      R"({"id":"b","answerKey":"A","question":{"stem":"What do you eat soup with?","choices":[{"label":"A","text":"shovel"},{"label":"B","text":"spoon"}]}})";
  WriteFile(dir_ / "q.jsonl", q1 + "\n" + q2 + "\n");
  RunResult r = Run("eval --json --kg " + kg() + " --data " + dir_ / "q.jsonl" + " --predictions " + dir_ / "p.jsonl");
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["n"], 2);
  EXPECT_DOUBLE_EQ(j["accuracy"].get<double>(), 0.5);  // q2's key is deliberately wrong
  EXPECT_EQ(j["scorer"], "kg");
  WriteFile(dir_ / "bad.jsonl", q1 + "\n{oops\n");
  r = Run("eval --kg " + kg() + " --data " + dir_ / "bad.jsonl");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find(dir_ / "bad.jsonl" + ":2: not valid JSON"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace spade::testing
