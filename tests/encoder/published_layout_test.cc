// Directories laid out as the published bert-base-uncased, albert-base-v2 and gpt2 are
// (tools/reference/make_published_layout.py: every config.json field, tensor names,
// dtypes and buffers as published; random weights, shrunken dimensions) load unchanged,
// and their hidden states and every named intermediate match the PyTorch reference to 1e-4.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unistd.h>

#include "encoder/checkpoint.h"
#include "encoder/gpt2.h"
#include "encoder/safetensors.h"
#include "encoder/wordpiece.h"

namespace spade::encoder {
namespace {

const std::string kDir = std::string(SPADE_SOURCE_DIR) + "/tests/encoder/fixtures/published/";

nlohmann::json ReadJson(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::json::parse(ss.str());
}

Batch OneSequence(const nlohmann::json& expected) {
  Batch b;
  b.batch = 1;
  b.input_ids = expected["ids"].get<std::vector<int32_t>>();
  b.seq = static_cast<int>(b.input_ids.size());
  return b;
}

void ExpectHidden(const Matrix& got, const nlohmann::json& expected) {
  const auto& rows = expected["last_hidden_state"];
  ASSERT_EQ(got.rows(), static_cast<Eigen::Index>(rows.size()));
  double worst = 0;
  for (size_t t = 0; t < rows.size(); ++t) {
    ASSERT_EQ(got.cols(), static_cast<Eigen::Index>(rows[t].size()));
    for (size_t h = 0; h < rows[t].size(); ++h) {
      worst = std::max(worst, std::abs(double(got(Eigen::Index(t), Eigen::Index(h))) - rows[t][h].get<double>()));
    }
  }
  EXPECT_LT(worst, 1e-4);
}

// Every named intermediate (transformer.h) against PyTorch's, layer by layer.
void ExpectIntermediates(const Model& model, const EncoderState& st, const std::string& dir) {
  const SafetensorsFile ref = SafetensorsFile::Open(dir + "/intermediates.safetensors");
  size_t seen = 0;
  model.encoder().VisitIntermediates(st, [&](const std::string& name, const Matrix& m) {
    const TensorEntry* t = ref.Find(name);
    ASSERT_NE(t, nullptr) << name << " has no PyTorch counterpart";
    const std::vector<float> want = ref.ReadFloat(*t, {m.rows(), m.cols()});
    double worst = 0;
    for (Eigen::Index i = 0; i < m.size(); ++i) worst = std::max(worst, double(std::abs(m.data()[i] - want[size_t(i)])));
    EXPECT_LT(worst, 1e-4) << name;
    ++seen;
  });
  EXPECT_EQ(seen, ref.header().tensors.size());  // and PyTorch has none we lack
}

TEST(PublishedLayout, BertBaseUncasedLoadsWithGammaBetaNamesAndItsHeads) {
  const std::string dir = kDir + "bert-base-uncased";
  LoadReport report;
  HeadsConfig heads;
  heads.mlm = true;
  heads.sentence = SentenceHead::kNsp;
  auto model = LoadModelDir(dir, heads, LoadOptions{.allow_missing_heads = false}, &report);
  EXPECT_TRUE(report.unused.empty()) << report.unused.front();
  const nlohmann::json expected = ReadJson(dir + "/expected.json");
  const Batch b = OneSequence(expected);
  Outputs out;
  model->Forward(b, {}, {}, &out);
  ExpectHidden(out.enc.hidden, expected);
  ExpectIntermediates(*model, out.enc, dir);
  // Its tokenizer files load: one vocab.txt line per embedding row.
  EXPECT_EQ(WordPieceTokenizer::FromModelDir(dir).vocab_size(), model->config().vocab_size);

  // Without heads, the head tensors are reported unused rather than failing the load.
  LoadReport bare;
  LoadModelDir(dir, HeadsConfig{}, {}, &bare);
  EXPECT_NE(std::find(bare.unused.begin(), bare.unused.end(), "cls.seq_relationship.weight"), bare.unused.end());
  EXPECT_NE(std::find(bare.unused.begin(), bare.unused.end(), "cls.predictions.transform.LayerNorm.gamma"),
            bare.unused.end());
}

TEST(PublishedLayout, AlbertBaseV2LoadsIgnoringItsBuffersAndTiedDecoder) {
  const std::string dir = kDir + "albert-base-v2";
  LoadReport report;
  HeadsConfig heads;
  heads.mlm = true;
  auto model = LoadModelDir(dir, heads, LoadOptions{.allow_missing_heads = false}, &report);
  EXPECT_EQ(report.unused, std::vector<std::string>{"albert.embeddings.position_ids"});
  EXPECT_EQ(model->config().hidden_act, Activation::kGeluNew);
  const nlohmann::json expected = ReadJson(dir + "/expected.json");
  Outputs out;
  model->Forward(OneSequence(expected), {}, {}, &out);
  ExpectHidden(out.enc.hidden, expected);
  ExpectIntermediates(*model, out.enc, dir);  // includes embeddings.projected (E=8 -> H=16)
}

TEST(PublishedLayout, Gpt2LoadsUnprefixedNamesIgnoringMaskBuffers) {
  const std::string dir = kDir + "gpt2";
  auto model = LoadGpt2Dir(dir);
  EXPECT_EQ(model->config().n_layer, 2);
  const nlohmann::json expected = ReadJson(dir + "/expected.json");
  Gpt2Outputs out;
  model->Forward(OneSequence(expected), {}, {}, &out);
  ExpectHidden(out.hidden, expected);
}

TEST(PublishedLayout, MaskedLmCheckpointWithoutPoolerLoadsAndReportsIt) {
  // BertForMaskedLM saves no pooler (add_pooling_layer=False): the pooler keeps its
  // initialisation and is reported, as transformers reports "newly initialized" weights.
  const std::string src = kDir + "bert-base-uncased";
  const auto dir = std::filesystem::temp_directory_path() / ("spade_nopooler_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(src + "/config.json", dir / "config.json");
  const SafetensorsFile file = SafetensorsFile::Open(src + "/model.safetensors");
  std::vector<std::vector<float>> keep;
  keep.reserve(file.header().tensors.size());  // data() pointers below stay valid
  std::vector<TensorToWrite> out;
  for (const auto& t : file.header().tensors) {
    if (t.name.rfind("bert.pooler.", 0) == 0) continue;
    keep.push_back(file.ReadFloat(t, t.shape));
    out.push_back({t.name, t.shape, keep.back().data()});
  }
  WriteSafetensors((dir / "model.safetensors").string(), out);
  LoadReport report;
  HeadsConfig heads;
  heads.mlm = true;
  auto model = LoadModelDir(dir.string(), heads, {}, &report);
  EXPECT_EQ(report.missing_heads, (std::vector<std::string>{"pooler.dense.weight", "pooler.dense.bias"}));
  const nlohmann::json expected = ReadJson(src + "/expected.json");
  Outputs o;
  model->Forward(OneSequence(expected), {}, {}, &o);
  ExpectHidden(o.enc.hidden, expected);  // the pooler plays no part in the hidden states
  // Strict loading still names it.
  try {
    LoadModelDir(dir.string(), heads, LoadOptions{.allow_missing_heads = false});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing tensor 'bert.pooler.dense.weight'"), std::string::npos)
        << e.what();
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace spade::encoder
