// BuildCorpus: de-duplication, document boundaries, filters, the held-out split, the
// manifest, bad input and atomic replacement.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "data/corpus/build.h"
#include "data/error.h"
#include "data/line_reader.h"
#include "tests/test_util.h"

namespace spade::data::corpus {
namespace {

namespace fs = std::filesystem;
using spade::testing::SourcePath;
using spade::testing::TempDir;
using spade::testing::WriteFile;

std::string Fixture(const std::string& name) { return SourcePath("tests/data/fixtures/corpus/" + name); }

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

CorpusOptions Options(const std::string& out, std::vector<std::string> paths, double heldout = 0) {
  CorpusOptions o;
  o.out = out;
  for (auto& p : paths) o.sources.push_back({p, SourceFormat::kAuto});
  o.heldout_fraction = heldout;
  return o;
}

// Documents of a split file: blank-line separated groups of lines.
std::vector<std::vector<std::string>> Documents(const std::string& path) {
  std::vector<std::vector<std::string>> docs(1);
  std::istringstream in(Slurp(path));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) {
      docs.emplace_back();
    } else {
      docs.back().push_back(line);
    }
  }
  if (docs.back().empty()) docs.pop_back();
  return docs;
}

bool NoTempsBeside(const std::string& out) {
  std::string prefix = fs::path(out).filename().string() + ".tmp-";
  for (const auto& e : fs::directory_iterator(fs::path(out).parent_path())) {
    if (e.path().filename().string().starts_with(prefix)) return false;
  }
  return true;
}

TEST(CorpusBuild, DeduplicatesSentencesAndKeepsDocumentBoundaries) {
  TempDir dir;
  WriteFile(dir / "notes.txt",
            "Yes.\nYes.\nOCEANS dominate the earth's surface, and greatly affect daily life!\nA new sentence here.\n");
  const std::string out = dir / "corpus";
  CorpusManifest m = BuildCorpus(Options(out, {Fixture("genericskb_additional.tsv"), dir / "notes.txt"}));
  EXPECT_EQ(Slurp(out + "/train.txt"),
            "Motility is an action.\n"
            "\n"
            "Oceans have a major effect on climate, because water in the oceans holds a large amount of heat.\n"
            "Oceans dominate the Earth's surface and greatly affect daily life.\n"
            "\n"
            "Wood storks are wetland birds.\n"
            "Wood storks eat small fish.\n"
            "Wood storks make their nests in the tops of tall trees, and they live in colonies.\n"
            "\n"
            "Yes.\n"  // short sentences are never duplicates
            "Yes.\n"
            "A new sentence here.\n"
            "\n");
  EXPECT_EQ(Slurp(out + "/heldout.txt"), "");
  ASSERT_EQ(m.sources.size(), 2u);
  EXPECT_EQ(m.sources[0].format, "genericskb");
  EXPECT_EQ(m.sources[0].documents, 3u);
  EXPECT_EQ(m.sources[0].sentences, 6u);
  EXPECT_EQ(m.sources[0].duplicates, 2u);
  EXPECT_EQ(m.sources[0].sha256, Sha256File(Fixture("genericskb_additional.tsv")));
  EXPECT_EQ(m.sources[1].format, "text");
  EXPECT_EQ(m.sources[1].duplicates, 1u);
  EXPECT_EQ(m.sources[1].sentences, 3u);
  EXPECT_EQ(m.train.documents, 4u);
  EXPECT_EQ(m.train.sentences, 9u);
  EXPECT_EQ(m.train.words, m.sources[0].words + m.sources[1].words);
  EXPECT_EQ(m.train.bytes, Slurp(out + "/train.txt").size());

  // manifest.json says the same and reads back.
  nlohmann::json j = nlohmann::json::parse(Slurp(out + "/manifest.json"));
  EXPECT_EQ(j["format"], "spade-corpus");
  EXPECT_EQ(j["sources"][0]["path"], Fixture("genericskb_additional.tsv"));
  EXPECT_EQ(j["sources"][0]["duplicates"], 2);
  EXPECT_EQ(j["totals"]["sentences"], 9);
  EXPECT_EQ(j["splits"]["train"]["documents"], 4);
  EXPECT_EQ(j["splits"]["heldout"]["documents"], 0);
  CorpusManifest back = ReadManifest(out);
  EXPECT_EQ(back.train.sentences, 9u);
  EXPECT_EQ(back.sources[1].duplicates, 1u);
}

TEST(CorpusBuild, FiltersMisEncodedText) {
  TempDir dir;
  CorpusManifest m = BuildCorpus(Options(dir / "corpus", {Fixture("nlp-corpus-fixture.tgz")}));
  EXPECT_EQ(Documents(dir / "corpus/train.txt"),
            (std::vector<std::vector<std::string>>{
                {"Creakiness and atmosphere this film has, but so unfortunately does the print I just viewed."},
                {"It wasn't worth it."},
                {"Even the film is a metaphor."}}));
  EXPECT_EQ(m.sources[0].filtered, 3u);  // one fragment, one U+FFFD, one C1 control
}

// 2000 documents of three sentences, "d<N> s<K>" marking where each sentence belongs.
std::string ManyDocuments(int n, int offset = 0) {
  std::string text;
  for (int d = 0; d < n; ++d) {
    for (int s = 0; s < 3; ++s) {
      text += "This is document d" + std::to_string(d + offset) + " and its sentence s" + std::to_string(s) + ".\n";
    }
    text += "\n";
  }
  return text;
}

std::set<std::string> HeldOutDocs(const std::string& corpus) {
  std::set<std::string> ids;
  for (const auto& doc : Documents(corpus + "/heldout.txt")) {
    // Whole documents only: three sentences of one document, in order.
    EXPECT_EQ(doc.size(), 3u);
    std::string id = doc[0].substr(17, doc[0].find(' ', 17) - 17);
    for (size_t s = 0; s < doc.size(); ++s) {
      EXPECT_EQ(doc[s], "This is document " + id + " and its sentence s" + std::to_string(s) + ".");
    }
    ids.insert(id);
  }
  return ids;
}

TEST(CorpusBuild, HeldOutSplitIsWholeDocumentsAndDeterministic) {
  TempDir dir;
  WriteFile(dir / "many.txt", ManyDocuments(2000));
  WriteFile(dir / "more.txt", ManyDocuments(500, 5000));
  CorpusOptions o = Options(dir / "a", {dir / "many.txt"}, 0.1);
  o.seed = 7;
  CorpusManifest a = BuildCorpus(o);
  o.out = dir / "b";
  BuildCorpus(o);
  EXPECT_EQ(Slurp(dir / "a/train.txt"), Slurp(dir / "b/train.txt"));
  EXPECT_EQ(Slurp(dir / "a/heldout.txt"), Slurp(dir / "b/heldout.txt"));
  std::set<std::string> held = HeldOutDocs(dir / "a");
  EXPECT_EQ(held.size(), a.heldout.documents);
  EXPECT_GT(held.size(), 140u);  // 10% of 2000, within sampling noise
  EXPECT_LT(held.size(), 260u);
  EXPECT_EQ(a.train.documents + a.heldout.documents, 2000u);
  EXPECT_EQ(a.sources[0].heldout_documents, a.heldout.documents);
  for (const auto& doc : Documents(dir / "a/train.txt")) EXPECT_EQ(doc.size(), 3u);

  // A document's fate depends on its own text and the seed, not on the other sources.
  o.out = dir / "c";
  o.sources.push_back({dir / "more.txt", SourceFormat::kAuto});
  BuildCorpus(o);
  std::set<std::string> held_c = HeldOutDocs(dir / "c");
  std::set<std::string> held_c_first;
  for (const std::string& id : held_c) {
    if (std::stoi(id.substr(1)) < 5000) held_c_first.insert(id);
  }
  EXPECT_EQ(held_c_first, held);

  o.sources.pop_back();
  o.out = dir / "d";
  o.seed = 8;
  BuildCorpus(o);
  EXPECT_NE(HeldOutDocs(dir / "d"), held);
}

TEST(CorpusBuild, EmptyCorpusIsAnError) {
  TempDir dir;
  WriteFile(dir / "blank.txt", "\n\n   \n");
  try {
    BuildCorpus(Options(dir / "corpus", {dir / "blank.txt"}));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("empty corpus"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("blank.txt"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir / "corpus"));
  EXPECT_TRUE(NoTempsBeside(dir / "corpus"));
}

TEST(CorpusBuild, MissingOrRefusedSourcesFailBeforeAnythingIsWritten) {
  TempDir dir;
  WriteFile(dir / "ok.txt", "A fine sentence of text.\n");
  try {
    BuildCorpus(Options(dir / "corpus", {dir / "ok.txt", dir / "missing.txt"}));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
    EXPECT_NE(std::string(e.what()).find(dir / "missing.txt"), std::string::npos) << e.what();
  }
  WriteFile(dir / "test.txt", "Held-out text.\n");
  EXPECT_THROW(BuildCorpus(Options(dir / "corpus", {dir / "ok.txt", dir / "test.txt"})), Error);
  CorpusOptions kg = Options(dir / "corpus", {"kg:" + (dir / "kg")});
  EXPECT_THROW(BuildCorpus(kg), Error);  // no KG reader given to data/ alone
  EXPECT_FALSE(fs::exists(dir / "corpus"));
}

TEST(CorpusBuild, AFailedBuildLeavesThePreviousCorpusIntact) {
  TempDir dir;
  const std::string out = dir / "corpus";
  WriteFile(dir / "v1.txt", "The first version of the corpus.\n");
  BuildCorpus(Options(out, {dir / "v1.txt"}));
  const std::string v1 = Slurp(out + "/train.txt");
  const std::string v1_manifest = Slurp(out + "/manifest.json");

  // Fails while reading the second source (strict), after the first was written to the temp dir.
  WriteFile(dir / "v2.txt", "The second version of the corpus.\n");
  WriteFile(dir / "bad.txt", "Fine.\nNot \xC3 fine.\n");
  CorpusOptions o = Options(out, {dir / "v2.txt", dir / "bad.txt"});
  o.strict = true;
  EXPECT_THROW(BuildCorpus(o), ParseError);
  EXPECT_EQ(Slurp(out + "/train.txt"), v1);
  EXPECT_EQ(Slurp(out + "/manifest.json"), v1_manifest);
  EXPECT_TRUE(NoTempsBeside(out));

  // Fails in the last step before the swap (tokenizer training).
  CorpusCallbacks failing;
  failing.train_tokenizers = [](const std::string&, const CorpusManifest&) -> std::vector<TokenizerInfo> {
    throw IOError("disk full");
  };
  EXPECT_THROW(BuildCorpus(Options(out, {dir / "v2.txt"}), failing), Error);
  EXPECT_EQ(Slurp(out + "/train.txt"), v1);
  EXPECT_TRUE(NoTempsBeside(out));

  // Succeeds: replaced whole.
  BuildCorpus(Options(out, {dir / "v2.txt"}));
  EXPECT_EQ(Slurp(out + "/train.txt"), "The second version of the corpus.\n\n");
  EXPECT_TRUE(NoTempsBeside(out));
}

TEST(CorpusBuild, RefusesToReplaceADirectoryThatIsNotACorpus) {
  TempDir dir;
  fs::create_directories(dir / "precious");
  WriteFile(dir / "precious/thesis.tex", "years of work");
  WriteFile(dir / "ok.txt", "A fine sentence of text.\n");
  try {
    BuildCorpus(Options(dir / "precious", {dir / "ok.txt"}));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("refusing to replace"), std::string::npos) << e.what();
  }
  EXPECT_EQ(Slurp(dir / "precious/thesis.tex"), "years of work");
}

TEST(CorpusBuild, BadLinesAreCountedPerSource) {
  TempDir dir;
  WriteFile(dir / "a.txt", "Good one here.\n\xFF\xFE\nAnother good one.\n");
  std::vector<std::string> reported;
  CorpusCallbacks cb;
  cb.on_bad_line = [&](const std::string& where, const std::string& reason) {
    reported.push_back(where + ": " + reason);
  };
  CorpusManifest m = BuildCorpus(Options(dir / "corpus", {dir / "a.txt"}), cb);
  EXPECT_EQ(reported, (std::vector<std::string>{dir / "a.txt:2: invalid UTF-8"}));
  EXPECT_EQ(m.sources[0].skipped_lines, 1u);
  EXPECT_EQ(m.sources[0].invalid_utf8, 1u);
  EXPECT_EQ(m.sources[0].sentences, 2u);
}

}  // namespace
}  // namespace spade::data::corpus
