// The safetensors reader/writer and model-directory checkpoints: round trips, the
// published naming variants, atomic saves, and one test per corruption the reader must
// name (truncated file, lying header, missing tensor, wrong shape, wrong dtype).
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "encoder/checkpoint.h"
#include "encoder/safetensors.h"

namespace spade::encoder {
namespace {

namespace fs = std::filesystem;

std::string TempDir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("spade_encoder_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

std::vector<uint8_t> Build(const std::string& header, size_t data_bytes) {
  std::vector<uint8_t> out(8 + header.size() + data_bytes, 0);
  const uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  std::memcpy(out.data() + 8, header.data(), header.size());
  return out;
}

// Expects `fn` to throw an encoder::Error whose message contains every needle.
template <typename Fn>
void ExpectError(Fn&& fn, std::initializer_list<std::string> needles) {
  try {
    fn();
    ADD_FAILURE() << "no error thrown";
  } catch (const Error& e) {
    for (const auto& n : needles) EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << e.what();
  }
}

TEST(Safetensors, RoundTripsTensorsAndMetadata) {
  const std::string dir = TempDir("roundtrip");
  std::vector<float> a = {1, 2, 3, 4, 5, 6}, b = {-1.5f};
  WriteSafetensors(dir + "/x.safetensors", {{"a", {2, 3}, a.data()}, {"b.bias", {1}, b.data()}});
  SafetensorsFile f = SafetensorsFile::Open(dir + "/x.safetensors");
  EXPECT_EQ(f.header().metadata.at("format"), "pt");
  EXPECT_EQ(f.header().data_offset % 8, 0u);
  ASSERT_NE(f.Find("a"), nullptr);
  EXPECT_EQ(f.ReadFloat(*f.Find("a"), {2, 3}), a);
  EXPECT_EQ(f.ReadFloat(*f.Find("b.bias")), b);
  EXPECT_EQ(f.Find("c"), nullptr);
  // No temporary file is left behind.
  int files = 0;
  for (auto& e : fs::directory_iterator(dir)) files += e.is_regular_file();
  EXPECT_EQ(files, 1);
  fs::remove_all(dir);
}

TEST(Safetensors, ConvertsHalfAndBfloat16) {
  // F16 1.0 = 0x3C00, -2.0 = 0xC000; BF16 1.0 = 0x3F80.
  std::string h = R"({"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[1],"data_offsets":[4,6]}})";
  auto bytes = Build(h, 6);
  const uint16_t vals[3] = {0x3C00, 0xC000, 0x3F80};
  std::memcpy(bytes.data() + 8 + h.size(), vals, 6);
  SafetensorsFile f = SafetensorsFile::FromBytes(bytes, "mem");
  EXPECT_EQ(f.ReadFloat(*f.Find("h")), (std::vector<float>{1.0f, -2.0f}));
  EXPECT_EQ(f.ReadFloat(*f.Find("b")), (std::vector<float>{1.0f}));
}

TEST(Safetensors, TruncatedFileNamesTheTensor) {
  std::string h = R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})";
  auto bytes = Build(h, 10);  // 6 bytes missing
  ExpectError([&] { SafetensorsFile::FromBytes(bytes, "m.safetensors"); },
              {"m.safetensors", "tensor 'w'", "past the 10-byte data buffer"});
  ExpectError([&] { SafetensorsFile::FromBytes(std::vector<uint8_t>(5, 0), "m"); }, {"truncated"});
}

TEST(Safetensors, HeaderLongerThanFile) {
  auto bytes = Build("{}", 0);
  const uint64_t lie = 1000;
  std::memcpy(bytes.data(), &lie, 8);
  ExpectError([&] { SafetensorsFile::FromBytes(bytes, "m"); }, {"header length 1000", "truncated"});
}

TEST(Safetensors, LyingOffsetsAreRejected) {
  // Size disagreeing with shape.
  ExpectError([&] {
    SafetensorsFile::FromBytes(Build(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8), "m");
  }, {"tensor 'w'", "span 8 bytes", "needs 12"});
  // Two tensors sharing bytes.
  ExpectError([&] {
    SafetensorsFile::FromBytes(Build(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},
                                         "b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                                     12),
                               "m");
  }, {"overlaps"});
  // begin > end, negative, non-integer.
  ExpectError([&] {
    SafetensorsFile::FromBytes(Build(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}})", 8), "m");
  }, {"tensor 'a'"});
  ExpectError([&] {
    SafetensorsFile::FromBytes(Build(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4), "m");
  }, {"tensor 'a'", "non-negative"});
  // Unknown dtype, bad JSON, bytes not described by the header.
  ExpectError([&] {
    SafetensorsFile::FromBytes(Build(R"({"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}})", 1), "m");
  }, {"unknown dtype 'Q4'"});
  ExpectError([&] { SafetensorsFile::FromBytes(Build("{\"a\":", 0), "m"); }, {"not valid JSON"});
  ExpectError([&] { SafetensorsFile::FromBytes(Build("{}", 4), "m"); }, {"4 bytes after the last tensor"});
}

TEST(Safetensors, WrongDtypeForAWeight) {
  std::string h = R"({"ids":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})";
  SafetensorsFile f = SafetensorsFile::FromBytes(Build(h, 8), "m");
  ExpectError([&] { f.ReadFloat(*f.Find("ids")); }, {"tensor 'ids'", "I64"});
}

EncoderConfig TinyBert() {
  EncoderConfig c;
  c.vocab_size = 20;
  c.hidden_size = c.embedding_size = 8;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 2;
  c.intermediate_size = 12;
  c.max_position_embeddings = 10;
  return c;
}

TEST(Checkpoint, SaveThenLoadReproducesEveryTensor) {
  const std::string dir = TempDir("ckpt");
  HeadsConfig heads;
  heads.mlm = true;
  heads.sentence = SentenceHead::kNsp;
  Model a(TinyBert(), heads);
  a.Init(7);
  SaveModelDir(a, dir);
  // The published names with the model prefix.
  SafetensorsFile f = SafetensorsFile::Open(dir + "/model.safetensors");
  EXPECT_NE(f.Find("bert.encoder.layer.1.attention.self.query.weight"), nullptr);
  EXPECT_NE(f.Find("bert.embeddings.LayerNorm.weight"), nullptr);
  EXPECT_NE(f.Find("cls.predictions.transform.dense.weight"), nullptr);
  EXPECT_NE(f.Find("cls.seq_relationship.bias"), nullptr);
  std::ifstream cj(dir + "/config.json");
  const auto config = nlohmann::json::parse(cj);
  EXPECT_EQ(config["architectures"][0], "BertForPreTraining");
  EXPECT_EQ(config["model_type"], "bert");
  LoadReport report;
  auto b = LoadModelDir(dir, heads, {}, &report);
  EXPECT_TRUE(report.missing_heads.empty());
  EXPECT_TRUE(report.unused.empty());
  ASSERT_EQ(a.params().size(), b->params().size());
  EXPECT_EQ(0, std::memcmp(a.params().values(), b->params().values(), a.params().size() * sizeof(float)));
  fs::remove_all(dir);
}

// Published checkpoints come with or without the model prefix, with old gamma/beta names,
// with a tied decoder copy and stray buffers; all load.
TEST(Checkpoint, AcceptsUnprefixedGammaBetaNamesAndIgnoresBuffers) {
  Model a(TinyBert(), {});
  a.Init(3);
  std::vector<TensorToWrite> ts;
  const ParamArena& ar = a.params();
  std::vector<float> ids(10, 0.0f);
  for (const ParamInfo& p : ar.params()) {
    std::string name = p.name;  // no "bert." prefix
    if (name.find("LayerNorm.weight") != std::string::npos) name.replace(name.size() - 6, 6, "gamma");
    if (name.find("LayerNorm.bias") != std::string::npos) name.replace(name.size() - 4, 4, "beta");
    ts.push_back({name, p.is_vector ? std::vector<int64_t>{p.cols} : std::vector<int64_t>{p.rows, p.cols},
                  ar.values() + p.offset});
  }
  ts.push_back({"embeddings.position_ids", {1, 10}, ids.data()});
  const std::string dir = TempDir("compat");
  WriteSafetensors(dir + "/model.safetensors", ts);
  Model b(TinyBert(), {});
  LoadReport r = LoadWeights(SafetensorsFile::Open(dir + "/model.safetensors"), &b);
  EXPECT_EQ(0, std::memcmp(a.params().values(), b.params().values(), a.params().size() * sizeof(float)));
  ASSERT_EQ(r.unused.size(), 1u);
  EXPECT_EQ(r.unused[0], "embeddings.position_ids");
  fs::remove_all(dir);
}

TEST(Checkpoint, MissingTensorAndWrongShapeNameTheTensor) {
  Model a(TinyBert(), {});
  a.Init(1);
  const std::string dir = TempDir("bad");
  SaveWeights(a, dir + "/m.safetensors");
  EncoderConfig wider = TinyBert();
  wider.intermediate_size = 16;
  Model b(wider, {});
  ExpectError([&] { LoadWeights(SafetensorsFile::Open(dir + "/m.safetensors"), &b); },
              {"encoder.layer.0.intermediate.dense.weight", "expected shape (16, 8), got (12, 8)"});
  EncoderConfig deeper = TinyBert();
  deeper.num_hidden_layers = 3;
  Model c(deeper, {});
  ExpectError([&] { LoadWeights(SafetensorsFile::Open(dir + "/m.safetensors"), &c); },
              {"missing tensor 'bert.encoder.layer.2.attention.self.query.weight'"});
  // Heads may be missing (fresh fine-tuning head) unless the caller forbids it.
  HeadsConfig cls;
  cls.sentence = SentenceHead::kClassification;
  Model d(TinyBert(), cls);
  LoadReport r = LoadWeights(SafetensorsFile::Open(dir + "/m.safetensors"), &d);
  EXPECT_EQ(r.missing_heads, (std::vector<std::string>{"classifier.weight", "classifier.bias"}));
  ExpectError([&] { LoadWeights(SafetensorsFile::Open(dir + "/m.safetensors"), &d, {.allow_missing_heads = false}); },
              {"missing tensor 'classifier.weight'"});
  fs::remove_all(dir);
}

TEST(Checkpoint, FailedSaveLeavesTheOldFile) {
  const std::string dir = TempDir("atomic");
  std::vector<float> a = {1, 2};
  WriteSafetensors(dir + "/m.safetensors", {{"a", {2}, a.data()}});
  // A duplicate name is rejected before anything is written.
  EXPECT_THROW(WriteSafetensors(dir + "/m.safetensors", {{"a", {2}, a.data()}, {"a", {2}, a.data()}}), Error);
  // An unwritable destination fails without touching the original.
  EXPECT_THROW(WriteSafetensors(dir + "/missing_dir/m.safetensors", {{"a", {2}, a.data()}}), Error);
  SafetensorsFile f = SafetensorsFile::Open(dir + "/m.safetensors");
  EXPECT_EQ(f.ReadFloat(*f.Find("a")), a);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace spade::encoder
