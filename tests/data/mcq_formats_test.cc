#include "data/mcq_formats.h"

#include <gtest/gtest.h>

#include "tests/data/gzip_util.h"
#include <zlib.h>

#include <functional>

#include "data/error.h"
#include "tests/test_util.h"

namespace spade::data {
namespace {

using testing::TempDir;
using testing::WriteFile;

// The first 5 rows of Social IQa train (Sap et al., EMNLP 2019), copied byte for byte from
// /work/shared/data/qa/siqa/train.jsonl and train-labels.lst. PROVENANCE.md states no
// licence for Social IQa; AI2 releases it for research use.
const char* kSiqaJsonl =
    R"({"context": "Cameron decided to have a barbecue and gathered her friends together.", "question": "How would Others feel as a result?", "answerA": "like attending", "answerB": "like staying home", "answerC": "a good friend to have"})" "\n"
    R"({"context": "Jan needed to give out jobs for an upcoming project at work.", "question": "What will Others want to do next?", "answerA": "disagree with Jan", "answerB": "get to work", "answerC": "argue with the assignments"})" "\n"
    R"({"context": "Remy was an expert fisherman and was on the water with Kai. Remy baited Kai's hook.", "question": "What will Remy want to do next?", "answerA": "cast the line", "answerB": "put the boat in the water", "answerC": "invite Kai out on the boat"})" "\n"
    R"({"context": "Addison gave a hug to Skylar's son when they were feeling down.", "question": "Why did Addison do this?", "answerA": "better", "answerB": "wrong", "answerC": "keep hugging the son"})" "\n"
    R"({"context": "Kai found one for sale online but it was too much money for her.", "question": "What does Kai need to do before this?", "answerA": "cheaper", "answerB": "Open up her laptop", "answerC": "save money"})" "\n";
const char* kSiqaLabels = "1\n2\n1\n1\n2\n";

// PIQA (Bisk et al., AAAI 2020) rows written by hand in its published format (no PIQA data
// is on this machine): {"goal", "sol1", "sol2"} and a labels file of 0/1, one per line.
const char* kPiqaJsonl =
    R"({"goal": "To keep bread from going stale,", "sol1": "store it in a sealed bag.", "sol2": "store it in an open bowl of water."})" "\n"
    R"({"goal": "How do I loosen a stuck jar lid?", "sol1": "Put the jar in the freezer lid first.", "sol2": "Run the lid under hot water, then twist."})" "\n"
    R"({"goal": "Dry wet shoes overnight", "sol1": "Stuff them with newspaper.", "sol2": "Fill them with ice."})" "\n";
const char* kPiqaLabels = "0\n1\n0\n";

// First line of CommonsenseQA v1.11 train (/work/shared/data/qa/csqa/train.jsonl; MIT).
const char* kCsqaLine =
    R"({"answerKey": "A", "id": "075e483d21c29a511267ef62bedc0461", "question": {"question_concept": "punishing", "choices": [{"label": "A", "text": "ignore"}, {"label": "B", "text": "enforce"}, {"label": "C", "text": "authoritarian"}, {"label": "D", "text": "yell at"}, {"label": "E", "text": "avoid"}], "stem": "The sanctions against the school were a punishing blow, and they seemed to what the efforts the school had made to change?"}})";

// First line of OpenBookQA Main train (/work/shared/data/qa/obqa/train.jsonl).
const char* kObqaLine =
    R"({"id": "7-980", "question": {"stem": "The sun is responsible for", "choices": [{"text": "puppies learning new tricks", "label": "A"}, {"text": "children growing up and getting old", "label": "B"}, {"text": "flowers wilting in a vase", "label": "C"}, {"text": "plants sprouting, blooming and wilting", "label": "D"}]}, "answerKey": "D"})";

using testing::Gzip;

// The message of the spade::Error `f` throws, or "" when it throws none.
std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

McqReadOptions WithFormat(McqFormat f) {
  McqReadOptions o;
  o.format = f;
  return o;
}

TEST(McqFormats, ReadsSocialIqaRowsWithTheirLabels) {
  TempDir dir;
  WriteFile(dir / "train.jsonl", kSiqaJsonl);
  WriteFile(dir / "train-labels.lst", kSiqaLabels);
  McqSource src = ResolveMcqSource(dir / "train.jsonl");
  EXPECT_EQ(src.format, McqFormat::kSocialIqa);
  EXPECT_EQ(src.labels_path, dir / "train-labels.lst");

  std::vector<McqItem> items = ReadMcqFile(dir / "train.jsonl");
  ASSERT_EQ(items.size(), 5u);
  const McqItem& q = items[0];
  EXPECT_EQ(q.stem,
            "Cameron decided to have a barbecue and gathered her friends together. "
            "How would Others feel as a result?");
  ASSERT_EQ(q.choices.size(), 3u);
  EXPECT_EQ(q.choices[0].label, "A");
  EXPECT_EQ(q.choices[0].text, "like attending");
  EXPECT_EQ(q.choices[2].label, "C");
  EXPECT_EQ(q.choices[2].text, "a good friend to have");
  EXPECT_EQ(q.id, "train.jsonl:1");
  EXPECT_EQ(q.source, dir / "train.jsonl:1");
  EXPECT_TRUE(q.question_concept.empty());
  std::vector<std::string> keys;
  for (const McqItem& it : items) keys.push_back(it.answer_key);
  EXPECT_EQ(keys, (std::vector<std::string>{"A", "B", "A", "A", "B"}));
  EXPECT_EQ(items[1].answer_index(), 1);
  EXPECT_EQ(items[4].choices[1].text, "Open up her laptop");
  EXPECT_EQ(items[4].id, "train.jsonl:5");
}

TEST(McqFormats, ReadsPiqaRowsWithTheirLabels) {
  TempDir dir;
  WriteFile(dir / "valid.jsonl", kPiqaJsonl);
  WriteFile(dir / "valid-labels.lst", kPiqaLabels);
  std::vector<McqItem> items = ReadMcqFile(dir / "valid.jsonl");
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].stem, "To keep bread from going stale,");
  ASSERT_EQ(items[0].choices.size(), 2u);
  EXPECT_EQ(items[0].choices[0].label, "A");
  EXPECT_EQ(items[0].choices[1].label, "B");
  EXPECT_EQ(items[0].choices[1].text, "store it in an open bowl of water.");
  EXPECT_EQ(items[0].answer_key, "A");
  EXPECT_EQ(items[1].answer_key, "B");
  EXPECT_EQ(items[1].answer_index(), 1);
  EXPECT_EQ(items[2].answer_key, "A");
  EXPECT_EQ(items[2].id, "valid.jsonl:3");
  EXPECT_EQ(items[2].source, dir / "valid.jsonl:3");
}

TEST(McqFormats, RowIdIsKeptWhenPresent) {
  McqItem q = ParsePiqaLine(R"({"id": "p-7", "goal": "g", "sol1": "a", "sol2": "b"})", "/d/x.jsonl:2");
  EXPECT_EQ(q.id, "p-7");
  EXPECT_EQ(ParsePiqaLine(R"({"goal": "g", "sol1": "a", "sol2": "b"})", "/d/x.jsonl:2").id, "x.jsonl:2");
}

TEST(McqFormats, DetectsAllFourFormatsFromTheFirstLine) {
  EXPECT_EQ(DetectMcqFormatFromLine(kCsqaLine, "c:1"), McqFormat::kCommonsenseQa);
  EXPECT_EQ(DetectMcqFormatFromLine(kObqaLine, "o:1"), McqFormat::kOpenBookQa);
  std::string siqa_first(kSiqaJsonl, std::string_view(kSiqaJsonl).find('\n'));
  EXPECT_EQ(DetectMcqFormatFromLine(siqa_first, "s:1"), McqFormat::kSocialIqa);
  std::string piqa_first(kPiqaJsonl, std::string_view(kPiqaJsonl).find('\n'));
  EXPECT_EQ(DetectMcqFormatFromLine(piqa_first, "p:1"), McqFormat::kPiqa);

  TempDir dir;
  WriteFile(dir / "c.jsonl", std::string("\n  \n") + kCsqaLine + "\n");  // leading blanks: detection skips them
  WriteFile(dir / "o.jsonl", std::string(kObqaLine) + "\n");
  WriteFile(dir / "s.jsonl", kSiqaJsonl);
  WriteFile(dir / "p.jsonl.gz", Gzip(kPiqaJsonl));
  EXPECT_EQ(DetectMcqFormat(dir / "c.jsonl"), McqFormat::kCommonsenseQa);
  EXPECT_EQ(DetectMcqFormat(dir / "o.jsonl"), McqFormat::kOpenBookQa);
  EXPECT_EQ(DetectMcqFormat(dir / "s.jsonl"), McqFormat::kSocialIqa);
  EXPECT_EQ(DetectMcqFormat(dir / "p.jsonl.gz"), McqFormat::kPiqa);
}

TEST(McqFormats, UndetectableFormatNamesTheKeysItSaw) {
  EXPECT_EQ(ErrorOf([] { DetectMcqFormatFromLine(R"({"sentence": "x", "option1": "a", "answer": "1"})", "w.jsonl:1"); }),
            "w.jsonl:1: cannot tell the question format from the keys [answer, option1, sentence]; "
            "expected CommonsenseQA/OpenBookQA (question.stem), Social IQa (context, question, "
            "answerA-C) or PIQA (goal, sol1, sol2); name the format (csqa, obqa, siqa or piqa) "
            "to read it anyway");
  TempDir dir;
  WriteFile(dir / "w.jsonl", "\n[1, 2]\n");
  EXPECT_EQ(ErrorOf([&] { ReadMcqFile(dir / "w.jsonl"); }), dir / "w.jsonl:2: expected a JSON object");
  WriteFile(dir / "e.jsonl", "\n\n");
  EXPECT_EQ(ErrorOf([&] { DetectMcqFormat(dir / "e.jsonl"); }),
            dir / "e.jsonl: no lines to tell the question format from (empty file)");
}

TEST(McqFormats, ExplicitFormatOverridesDetection) {
  TempDir dir;
  WriteFile(dir / "c.jsonl", std::string(kCsqaLine) + "\n");
  McqSource src = ResolveMcqSource(dir / "c.jsonl", WithFormat(McqFormat::kOpenBookQa));
  EXPECT_EQ(src.format, McqFormat::kOpenBookQa);
  EXPECT_EQ(ReadMcqFile(dir / "c.jsonl", WithFormat(McqFormat::kOpenBookQa)).size(), 1u);

  // A Social IQa file read as PIQA is not rescued by detection.
  WriteFile(dir / "s.jsonl", kSiqaJsonl);
  WriteFile(dir / "s-labels.lst", kSiqaLabels);
  EXPECT_EQ(ErrorOf([&] { ReadMcqFile(dir / "s.jsonl", WithFormat(McqFormat::kPiqa)); }),
            dir / "s.jsonl:1: missing field 'goal'");
}

TEST(McqFormats, FormatNamesRoundTrip) {
  for (McqFormat f : {McqFormat::kCommonsenseQa, McqFormat::kOpenBookQa, McqFormat::kSocialIqa, McqFormat::kPiqa}) {
    EXPECT_EQ(ParseMcqFormat(McqFormatName(f)), f);
  }
  EXPECT_EQ(McqFormatName(McqFormat::kSocialIqa), "siqa");
  EXPECT_EQ(ErrorOf([] { ParseMcqFormat("hellaswag"); }),
            "unknown question format 'hellaswag' (expected csqa, obqa, siqa or piqa)");
}

TEST(McqFormats, CommonsenseQaReadsAsReadMcqJsonlDoes) {
  TempDir dir;
  WriteFile(dir / "c.jsonl", std::string(kCsqaLine) + "\n" + kObqaLine + "\n");
  std::vector<McqItem> a = ReadMcqFile(dir / "c.jsonl");
  std::vector<McqItem> b = ReadMcqJsonl(dir / "c.jsonl");
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), 2u);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].id, b[i].id);
    EXPECT_EQ(a[i].stem, b[i].stem);
    EXPECT_EQ(a[i].answer_key, b[i].answer_key);
    EXPECT_EQ(a[i].source, b[i].source);
    EXPECT_EQ(a[i].choices.size(), b[i].choices.size());
  }
  EXPECT_EQ(a[0].id, "075e483d21c29a511267ef62bedc0461");
  EXPECT_EQ(a[0].question_concept, "punishing");
  EXPECT_EQ(a[1].answer_key, "D");
}

TEST(McqFormats, LabelsPathDefaults) {
  TempDir dir;
  EXPECT_EQ(LabelsPathCandidates("/d/train.jsonl"),
            (std::vector<std::string>{"/d/train-labels.lst", "/d/train-labels.txt", "/d/train-labels.lst.gz",
                                      "/d/train-labels.txt.gz"}));
  EXPECT_EQ(LabelsPathCandidates("/d/dev.jsonl.gz")[0], "/d/dev-labels.lst");
  EXPECT_EQ(DefaultLabelsPath(dir / "train.jsonl"), std::nullopt);
  WriteFile(dir / "train-labels.txt", "1\n");
  EXPECT_EQ(DefaultLabelsPath(dir / "train.jsonl"), dir / "train-labels.txt");
  WriteFile(dir / "train-labels.lst", "1\n");
  EXPECT_EQ(DefaultLabelsPath(dir / "train.jsonl"), dir / "train-labels.lst");  // .lst first
  EXPECT_EQ(DefaultLabelsPath(dir / "train.jsonl.gz"), dir / "train-labels.lst");
}

TEST(McqFormats, ExplicitLabelsPathIsUsed) {
  TempDir dir;
  WriteFile(dir / "qs.jsonl", kPiqaJsonl);
  WriteFile(dir / "answers.txt", "1\n1\n1\n");
  McqReadOptions o;
  o.labels_path = dir / "answers.txt";
  std::vector<McqItem> items = ReadMcqFile(dir / "qs.jsonl", o);
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].answer_key, "B");
}

TEST(McqFormats, ReadsGzipJsonlAndLabels) {
  TempDir dir;
  WriteFile(dir / "train.jsonl.gz", Gzip(kSiqaJsonl));
  WriteFile(dir / "train-labels.lst.gz", Gzip(kSiqaLabels));
  std::vector<McqItem> items = ReadMcqFile(dir / "train.jsonl.gz");
  ASSERT_EQ(items.size(), 5u);
  EXPECT_EQ(items[3].answer_key, "A");
  EXPECT_EQ(items[3].choices[2].text, "keep hugging the son");
  EXPECT_EQ(items[3].id, "train.jsonl.gz:4");
  EXPECT_EQ(items[3].source, dir / "train.jsonl.gz:4");
}

TEST(McqFormats, TrailingBlankLinesAndCrlfAreAccepted) {
  TempDir dir;
  std::string crlf;
  for (char c : std::string(kPiqaJsonl)) {
    if (c == '\n') crlf += '\r';
    crlf += c;
  }
  WriteFile(dir / "p.jsonl", crlf + "\n  \n");
  WriteFile(dir / "p-labels.lst", "0\r\n1 \r\n0\n\n\n");
  std::vector<McqItem> items = ReadMcqFile(dir / "p.jsonl");
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[1].answer_key, "B");
  EXPECT_EQ(items[2].choices[1].text, "Fill them with ice.");
}

TEST(McqFormats, BlankLineInsideAFileIsAnError) {
  TempDir dir;
  std::string rows(kPiqaJsonl);
  std::string with_gap = rows.substr(0, rows.find('\n') + 1) + "\n" + rows.substr(rows.find('\n') + 1);
  WriteFile(dir / "p.jsonl", with_gap);
  WriteFile(dir / "p-labels.lst", kPiqaLabels);
  EXPECT_EQ(ErrorOf([&] { ReadMcqFile(dir / "p.jsonl"); }),
            dir / "p.jsonl:2: blank line before the end of the file");
  WriteFile(dir / "p.jsonl", kPiqaJsonl);
  WriteFile(dir / "p-labels.lst", "0\n\n1\n0\n");
  EXPECT_EQ(ErrorOf([&] { ReadMcqFile(dir / "p.jsonl"); }),
            dir / "p-labels.lst:2: blank line before the end of the file");
}

TEST(McqFormats, RowErrorsNameFileAndLine) {
  TempDir dir;
  std::string good(kSiqaJsonl);
  auto with_line3 = [&](const std::string& line) {
    std::string first_two = good.substr(0, good.find('\n', good.find('\n') + 1) + 1);
    WriteFile(dir / "dev.jsonl", first_two + line + "\n");
    WriteFile(dir / "dev-labels.lst", "1\n2\n3\n");
    return ErrorOf([&] { ReadMcqFile(dir / "dev.jsonl"); });
  };
  std::string at3 = dir / "dev.jsonl:3: ";
  EXPECT_EQ(with_line3(R"({"context": "c", "question": )"), at3 + "not valid JSON");
  EXPECT_EQ(with_line3(R"({"context": "c", "question": "q?", "answerA": "a", "answerC": "c"})"),
            at3 + "missing field 'answerB'");
  EXPECT_EQ(with_line3(R"({"context": " ", "question": "q?", "answerA": "a", "answerB": "b", "answerC": "c"})"),
            at3 + "field 'context' is empty");
  EXPECT_EQ(with_line3(R"({"context": "c", "question": "q?", "answerA": 1, "answerB": "b", "answerC": "c"})"),
            at3 + "field 'answerA' is not a string");
  EXPECT_EQ(with_line3(R"({"context": "c", "question": "q?", "answerA": "a", "answerB": "b", "answerC": "c"})"), "");

  EXPECT_EQ(ErrorOf([] { ParsePiqaLine(R"({"goal": "g", "sol1": "", "sol2": "b"})", "p.jsonl:4"); }),
            "p.jsonl:4: field 'sol1' is empty");
  EXPECT_EQ(ErrorOf([] { ParsePiqaLine(R"({"goal": "g", "sol1": "a"})", "p.jsonl:4"); }),
            "p.jsonl:4: missing field 'sol2'");
}

TEST(McqFormats, LabelCountMismatchNamesBothFiles) {
  TempDir dir;
  std::string rows, labels;
  for (int i = 0; i < 1954; ++i) {
    rows.append(R"({"context": "c", "question": "q", "answerA": "a", "answerB": "b", "answerC": "c"})").append("\n");
    if (i < 1953) labels.append("2\n");
  }
  WriteFile(dir / "dev.jsonl", rows);
  WriteFile(dir / "dev-labels.lst", labels);
  EXPECT_EQ(ErrorOf([&] { ReadMcqFile(dir / "dev.jsonl"); }),
            std::string(dir / "dev-labels.lst").append(" has 1,953 lines, ").append(dir / "dev.jsonl").append(" 1,954"));
  WriteFile(dir / "dev-labels.lst", labels + "2\n2\n");
  EXPECT_EQ(ErrorOf([&] { ReadMcqFile(dir / "dev.jsonl"); }),
            std::string(dir / "dev-labels.lst").append(" has 1,955 lines, ").append(dir / "dev.jsonl").append(" 1,954"));
  WriteFile(dir / "dev-labels.lst", labels + "2\n");
  EXPECT_EQ(ReadMcqFile(dir / "dev.jsonl").size(), 1954u);
}

TEST(McqFormats, LabelOutOfRangeNamesTheLine) {
  TempDir dir;
  std::string rows;
  for (int i = 0; i < 8; ++i) {
    rows.append(R"({"context": "c", "question": "q", "answerA": "a", "answerB": "b", "answerC": "c"})").append("\n");
  }
  WriteFile(dir / "dev.jsonl", rows);
  WriteFile(dir / "dev-labels.lst", "1\n2\n3\n1\n2\n3\n4\n1\n");
  EXPECT_EQ(ErrorOf([&] { ReadMcqFile(dir / "dev.jsonl"); }),
            dir / "dev-labels.lst:7: label '4' is not one of 1-3");
  WriteFile(dir / "dev-labels.lst", "1\n2\n3\n1\n2\n3\n0\n1\n");
  EXPECT_EQ(ErrorOf([&] { ReadMcqFile(dir / "dev.jsonl"); }),
            dir / "dev-labels.lst:7: label '0' is not one of 1-3");

  WriteFile(dir / "p.jsonl", kPiqaJsonl);
  WriteFile(dir / "p-labels.lst", "0\n2\n1\n");
  EXPECT_EQ(ErrorOf([&] { ReadMcqFile(dir / "p.jsonl"); }), dir / "p-labels.lst:2: label '2' is not one of 0-1");
  WriteFile(dir / "p-labels.lst", "0\n10\n1\n");
  EXPECT_EQ(ErrorOf([&] { ReadMcqFile(dir / "p.jsonl"); }), dir / "p-labels.lst:2: label '10' is not one of 0-1");
  EXPECT_EQ(ErrorOf([] { McqLabelToKey(McqFormat::kPiqa, " ", "x:1"); }), "x:1: empty label");
}

TEST(McqFormats, MissingLabelsFileIsNamed) {
  TempDir dir;
  WriteFile(dir / "dev.jsonl", kSiqaJsonl);
  std::string d = dir.path();
  EXPECT_EQ(ErrorOf([&] { ReadMcqFile(dir / "dev.jsonl"); }),
            std::string(d).append("/dev.jsonl: no labels file for this siqa file (looked for ")
                .append(d).append("/dev-labels.lst, ")
                .append(d).append("/dev-labels.txt, ")
                .append(d).append("/dev-labels.lst.gz, ")
                .append(d).append("/dev-labels.txt.gz); name one, or read it as an unlabelled test set"));
  McqReadOptions o;
  o.labels_path = dir / "nope.lst";
  EXPECT_EQ(ErrorOf([&] { ReadMcqFile(dir / "dev.jsonl", o); }),
            std::string("labels file ").append(dir / "nope.lst").append(" does not exist"));
  try {
    ReadMcqFile(dir / "dev.jsonl", o);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  }
  EXPECT_EQ(ErrorOf([&] { ReadMcqFile(dir / "missing.jsonl"); }), dir / "missing.jsonl: no such file");
}

TEST(McqFormats, UnlabelledTestSetWhenAllowed) {
  TempDir dir;
  WriteFile(dir / "tests.jsonl", kPiqaJsonl);
  McqReadOptions o;
  o.require_labels = false;
  std::vector<McqItem> items = ReadMcqFile(dir / "tests.jsonl", o);
  ASSERT_EQ(items.size(), 3u);
  for (const McqItem& q : items) {
    EXPECT_TRUE(q.answer_key.empty());
    EXPECT_EQ(q.answer_index(), -1);
  }
  EXPECT_EQ(ResolveMcqSource(dir / "tests.jsonl", o).labels_path, "");
}

TEST(McqFormats, LabelsFileWithInlineAnswerFormatIsRejected) {
  TempDir dir;
  WriteFile(dir / "c.jsonl", std::string(kCsqaLine) + "\n");
  WriteFile(dir / "c-labels.lst", "1\n");
  McqReadOptions o;
  o.labels_path = dir / "c-labels.lst";
  EXPECT_EQ(ErrorOf([&] { ReadMcqFile(dir / "c.jsonl", o); }),
            std::string("labels file ")
                .append(dir / "c-labels.lst")
                .append(" given for ")
                .append(dir / "c.jsonl")
                .append(", but csqa carries its answers inline (answerKey)"));
  // An unrequested sibling labels file is simply not used for csqa.
  EXPECT_EQ(ResolveMcqSource(dir / "c.jsonl").labels_path, "");
}

}  // namespace
}  // namespace spade::data
