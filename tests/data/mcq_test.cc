#include "data/mcq.h"

#include <gtest/gtest.h>

#include "data/error.h"
#include "tests/test_util.h"

namespace spade::data {
namespace {

const char* kGood =
    R"({"answerKey": "A", "id": "q1", "question": {"question_concept": "revolving door", "choices": [)"
    R"({"label": "A", "text": "bank"}, {"label": "B", "text": "library"}], "stem": "A revolving door is at a what?"}})";

std::string ErrorOf(const std::string& line) {
  try {
    ParseMcqLine(line, "x.jsonl:7");
  } catch (const ParseError& e) {
    return e.what();
  }
  return "";
}

TEST(Mcq, ParsesCommonsenseQaLine) {
  McqItem item = ParseMcqLine(kGood, "x.jsonl:1");
  EXPECT_EQ(item.id, "q1");
  EXPECT_EQ(item.stem, "A revolving door is at a what?");
  ASSERT_EQ(item.choices.size(), 2u);
  EXPECT_EQ(item.choices[1].label, "B");
  EXPECT_EQ(item.choices[1].text, "library");
  EXPECT_EQ(item.answer_index(), 0);
  EXPECT_EQ(item.question_concept, "revolving door");
}

TEST(Mcq, BadLinesNameFileLineAndReason) {
  EXPECT_EQ(ErrorOf("{not json"), "x.jsonl:7: not valid JSON");
  EXPECT_EQ(ErrorOf(R"({"question": {"choices": []}})"), "x.jsonl:7: missing field 'question.stem'");
  EXPECT_EQ(ErrorOf(R"({"question": {"stem": "q?", "choices": [{"label": "A", "text": "x"}]}})"),
            "x.jsonl:7: a question needs at least two choices, got 1");
  EXPECT_EQ(ErrorOf(R"({"question": {"stem": "q?", "choices": [{"label": "A", "text": "x"}, {"label": "A", "text": "y"}]}})"),
            "x.jsonl:7: duplicate choice label 'A'");
  EXPECT_EQ(ErrorOf(R"({"answerKey": "F", "question": {"stem": "q?", "choices": [{"label": "A", "text": "x"}, {"label": "E", "text": "y"}]}})"),
            "x.jsonl:7: choice 'F' is not among the labels A-E");
  EXPECT_EQ(ErrorOf(R"({"question": {"stem": "  ", "choices": [{"label": "A", "text": "x"}, {"label": "B", "text": "y"}]}})"),
            "x.jsonl:7: empty question stem");
  EXPECT_EQ(ErrorOf(R"({"question": {"stem": "q", "choices": [{"label": "A"}, {"label": "B", "text": "y"}]}})"),
            "x.jsonl:7: missing field 'question.choices[0].text'");
}

TEST(Mcq, ReadsShippedDevSets) {
  std::vector<McqItem> csqa = ReadMcqJsonl(testing::SourcePath("data/qa/csqa/dev.jsonl.gz"));
  ASSERT_EQ(csqa.size(), 1221u);
  for (const McqItem& q : csqa) {
    ASSERT_EQ(q.choices.size(), 5u);
    ASSERT_GE(q.answer_index(), 0);
    ASSERT_FALSE(q.question_concept.empty());
  }
  std::vector<McqItem> obqa = ReadMcqJsonl(testing::SourcePath("data/qa/obqa/dev.jsonl.gz"));
  ASSERT_EQ(obqa.size(), 500u);
  EXPECT_EQ(obqa[0].choices.size(), 4u);
}

TEST(Mcq, FileErrorsCarryTheLineNumber) {
  testing::TempDir dir;
  testing::WriteFile(dir / "q.jsonl", std::string(kGood) + "\n\n" + R"({"question": 3})" + "\n");
  try {
    ReadMcqJsonl(dir / "q.jsonl");
    FAIL();
  } catch (const ParseError& e) {
    EXPECT_EQ(std::string(e.what()), dir / "q.jsonl" + ":3: missing object 'question'");
  }
}

}  // namespace
}  // namespace spade::data
