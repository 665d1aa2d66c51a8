// The models that ship in data/models/ (tools/make_models.sh): they load through the CLI as
// the README's quick start uses them, are the shapes data/models/README.md documents, and
// are trained — a trained LM prefers a sentence to the same words reversed, which an
// untrained one does only by chance.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/test_util.h"
#include "tests/tools/cli_util.h"

namespace spade::testing {
namespace {

const std::string kModels = std::string(SPADE_SOURCE_DIR) + "/data/models";

nlohmann::json ReadJson(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  return nlohmann::json::parse(in);
}

TEST(ShippedModels, EncoderIsTheDocumentedAlbertAndEncodes) {
  const nlohmann::json c = ReadJson(kModels + "/encoder/config.json");
  EXPECT_EQ(c["model_type"], "albert");
  EXPECT_EQ(c["hidden_size"], 128);
  EXPECT_EQ(c["embedding_size"], 128);
  EXPECT_EQ(c["num_hidden_layers"], 4);
  EXPECT_EQ(c["spade_cross_layer_sharing"], "ffn");
  TempDir d;
  const RunResult r = RunSpade("encode --threads 1 --json --model " + kModels + "/encoder \"a shovel is used for digging\"",
                               d.path() + "/err");
  ASSERT_EQ(r.rc, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_GE(j["ids"].size(), 7u);
  EXPECT_EQ(j["ids"][0], 2);  // [CLS]
  ASSERT_EQ(j["last_hidden_state"].size(), j["ids"].size());
  for (const auto& row : j["last_hidden_state"]) {
    ASSERT_EQ(row.size(), 128u);
    for (const auto& v : row) ASSERT_TRUE(std::isfinite(v.get<double>()));
  }
}

TEST(ShippedModels, ClmPrefersEachSentenceToItsWordsReversed) {
  TempDir d;
  for (const char* s : {"a dog is an animal that barks", "the sun rises in the east every morning",
                        "people use a shovel to dig holes in the ground"}) {
    std::string reversed;
    std::string text = s;
    std::vector<std::string> words;
    for (size_t i = 0, j; i < text.size(); i = j + 1) {
      j = text.find(' ', i);
      if (j == std::string::npos) j = text.size();
      words.push_back(text.substr(i, j - i));
    }
    for (auto it = words.rbegin(); it != words.rend(); ++it) reversed += (reversed.empty() ? "" : " ") + *it;
    const RunResult r = RunSpade("lm ask --threads 1 --json --norm sum --model " + kModels +
                                     "/clm --question \"Say something true.\" --choice \"" + text +
                                     "\" --choice \"" + reversed + "\"",
                                 d.path() + "/err");
    ASSERT_EQ(r.rc, 0) << r.err;
    const nlohmann::json j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["prediction"], text) << r.out;
  }
}

TEST(ShippedModels, ClmGeneratesGreedilyAndDeterministically) {
  TempDir d;
  const std::string cmd = "lm generate --threads 1 --json --temperature 0 --max-tokens 8 --model " + kModels +
                          "/clm --prompt \"A shovel is used for\"";
  const RunResult a = RunSpade(cmd, d.path() + "/err");
  ASSERT_EQ(a.rc, 0) << a.err;
  const RunResult b = RunSpade(cmd, d.path() + "/err");
  EXPECT_EQ(a.out, b.out);
  EXPECT_FALSE(nlohmann::json::parse(a.out)["text"].get<std::string>().empty());
}

}  // namespace
}  // namespace spade::testing
