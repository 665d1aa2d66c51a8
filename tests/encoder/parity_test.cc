// Parity with the PyTorch reference (tools/reference/make_fixtures.py): each fixture is a
// tiny random model in a Hugging Face-style directory plus a fixed batch and the float64
// reference outputs and gradients. Forward outputs must match to 1e-4, every parameter's
// gradient to 1e-3 relative to that tensor's largest reference gradient.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "encoder/checkpoint.h"
#include "encoder/gpt2.h"

namespace spade::encoder {
namespace {

const std::string kFixtures = std::string(SPADE_SOURCE_DIR) + "/tests/encoder/fixtures/";

struct Case {
  const char* name;
  HeadsConfig heads;
};

nlohmann::json ReadJson(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::json::parse(ss.str());
}

template <typename T>
std::vector<T> Flatten(const nlohmann::json& j) {
  std::vector<T> out;
  if (j.is_array()) {
    for (const auto& e : j) {
      auto sub = Flatten<T>(e);
      out.insert(out.end(), sub.begin(), sub.end());
    }
  } else {
    out.push_back(j.get<T>());
  }
  return out;
}

// max |a - b| / max(max |b|, floor) over the tensor.
double RelDiff(const float* a, const std::vector<float>& b, double floor = 1e-6) {
  double diff = 0, scale = floor;
  for (size_t i = 0; i < b.size(); ++i) {
    diff = std::max(diff, std::abs(double(a[i]) - b[i]));
    scale = std::max(scale, std::abs(double(b[i])));
  }
  return diff / scale;
}

double AbsDiff(const float* a, const std::vector<float>& b) {
  double diff = 0;
  for (size_t i = 0; i < b.size(); ++i) diff = std::max(diff, std::abs(double(a[i]) - b[i]));
  return diff;
}

class Parity : public ::testing::TestWithParam<Case> {};

TEST_P(Parity, ForwardAndGradientsMatchPyTorch) {
  const Case& c = GetParam();
  const std::string dir = kFixtures + c.name;
  LoadReport report;
  auto model = LoadModelDir(dir, c.heads, LoadOptions{.allow_missing_heads = false}, &report);
  EXPECT_TRUE(report.unused.empty()) << report.unused.front();
  const nlohmann::json bj = ReadJson(dir + "/batch.json");
  Batch batch;
  batch.batch = static_cast<int>(bj["input_ids"].size());
  batch.seq = static_cast<int>(bj["input_ids"][0].size());
  batch.input_ids = Flatten<int32_t>(bj["input_ids"]);
  batch.token_type_ids = Flatten<int32_t>(bj["token_type_ids"]);
  batch.attention_mask = Flatten<float>(bj["attention_mask"]);
  Targets t;
  if (bj.contains("mlm_labels")) t.mlm_labels = Flatten<int32_t>(bj["mlm_labels"]);
  if (bj.contains("sentence_labels")) t.sentence_labels = Flatten<int32_t>(bj["sentence_labels"]);
  if (bj.contains("num_choices")) t.num_choices = bj["num_choices"].get<int>();
  if (bj.contains("choice_labels")) t.choice_labels = Flatten<int32_t>(bj["choice_labels"]);
  if (bj.contains("rtd_labels")) t.rtd_labels = Flatten<float>(bj["rtd_labels"]);

  Outputs out;
  StepOptions opt;
  opt.mlm_all_rows = true;
  model->params().ZeroGrad();
  const float loss = model->Forward(batch, t, opt, &out);
  model->Backward(batch, t, &out);

  const SafetensorsFile expected = SafetensorsFile::Open(dir + "/expected.safetensors");
  auto ref = [&](const std::string& name) {
    const TensorEntry* e = expected.Find(name);
    if (!e) throw Error(ErrorCode::kNotFound, "expected tensor " + name);
    return expected.ReadFloat(*e);
  };
  double worst_fwd = 0;
  auto check_fwd = [&](const std::string& name, const Matrix& m) {
    SCOPED_TRACE(name);
    const std::vector<float> r = ref(name);
    ASSERT_EQ(static_cast<size_t>(m.size()), r.size());
    const double d = AbsDiff(m.data(), r);
    worst_fwd = std::max(worst_fwd, d);
    EXPECT_LE(d, 1e-4) << name;
  };
  check_fwd("last_hidden_state", out.enc.hidden);
  if (out.enc.pooled.size()) check_fwd("pooled", out.enc.pooled);
  if (c.heads.mlm) check_fwd("mlm_logits", out.mlm_logits);
  if (c.heads.sentence != SentenceHead::kNone) check_fwd("sentence_logits", out.sentence_logits);
  if (c.heads.multiple_choice) check_fwd("choice_logits", out.choice_logits);
  if (c.heads.rtd) check_fwd("rtd_logits", out.rtd_logits);
  EXPECT_NEAR(loss, ref("loss")[0], 1e-4);

  double worst_grad = 0, worst_informative = 0;  // the latter skips key biases (true gradient 0)
  std::string worst_name;
  const std::string prefix = ModelPrefix(model->config().arch);
  const ParamArena& arena = model->params();
  for (int id = 0; id < static_cast<int>(arena.params().size()); ++id) {
    const ParamInfo& p = arena.info(id);
    std::string file_name = p.name;
    if (!expected.Find("grad." + file_name)) file_name = prefix + p.name;
    const std::vector<float> r = ref("grad." + file_name);
    ASSERT_EQ(r.size(), static_cast<size_t>(p.rows) * p.cols) << p.name;
    const double d = RelDiff(arena.Grad(id).data(), r, 1e-4);
    if (d > worst_grad) {
      worst_grad = d;
      worst_name = p.name;
    }
    if (p.name.find("key.bias") == std::string::npos) worst_informative = std::max(worst_informative, d);
    EXPECT_LE(d, 1e-3) << "gradient of " << p.name;
  }
  std::printf("[parity] %-24s forward max abs diff %.2e, gradient max rel diff %.2e (%s; %.2e without the "
              "key biases, whose true gradient is 0)\n",
              c.name, worst_fwd, worst_grad, worst_name.c_str(), worst_informative);
}

// What we save carries exactly the reference's tensor names (Hugging Face's, as its class
// saves them) and names that class in config.json, so transformers maps every tensor.
TEST_P(Parity, SavedNamesAndArchitectureAreTheReferenceOnes) {
  const Case& c = GetParam();
  const std::string dir = kFixtures + c.name;
  auto model = LoadModelDir(dir, c.heads, LoadOptions{.allow_missing_heads = false});
  const std::string out = ::testing::TempDir() + "/spade_saved_" + c.name;
  SaveModelDir(*model, out);
  auto names = [](const std::string& path) {
    std::vector<std::string> n;
    const SafetensorsFile f = SafetensorsFile::Open(path);
    for (const auto& t : f.header().tensors) n.push_back(t.name);
    std::sort(n.begin(), n.end());
    return n;
  };
  EXPECT_EQ(names(out + "/model.safetensors"), names(dir + "/model.safetensors"));
  EXPECT_EQ(ReadJson(out + "/config.json")["architectures"], ReadJson(dir + "/config.json")["architectures"]);
  std::filesystem::remove_all(out);
}

HeadsConfig Heads(bool mlm, SentenceHead s, bool mc = false, bool rtd = false) {
  HeadsConfig h;
  h.mlm = mlm;
  h.sentence = s;
  h.multiple_choice = mc;
  h.rtd = rtd;
  return h;
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, Parity,
    ::testing::Values(Case{"bert_pretraining", Heads(true, SentenceHead::kNsp)},
                      Case{"bert_classification", Heads(false, SentenceHead::kClassification)},
                      Case{"bert_multiple_choice", Heads(false, SentenceHead::kNone, true)},
                      Case{"albert_all", Heads(true, SentenceHead::kSop)},
                      Case{"albert_groups", Heads(true, SentenceHead::kSop)},
                      Case{"albert_none", Heads(true, SentenceHead::kSop)},
                      Case{"albert_attention", Heads(true, SentenceHead::kSop)},
                      Case{"albert_ffn", Heads(true, SentenceHead::kSop)},
                      Case{"electra_discriminator", Heads(false, SentenceHead::kNone, false, true)},
                      Case{"electra_generator", Heads(true, SentenceHead::kNone)},
                      Case{"electra_multiple_choice", Heads(false, SentenceHead::kNone, true)},
                      Case{"electra_classification", Heads(false, SentenceHead::kClassification)}),
    [](const ::testing::TestParamInfo<Case>& i) { return std::string(i.param.name); });

TEST(Parity, Gpt2ForwardGradientsAndScoresMatchPyTorch) {
  const std::string dir = kFixtures + "gpt2";
  auto model = LoadGpt2Dir(dir);
  const nlohmann::json bj = ReadJson(dir + "/batch.json");
  Batch batch;
  batch.batch = static_cast<int>(bj["input_ids"].size());
  batch.seq = static_cast<int>(bj["input_ids"][0].size());
  batch.input_ids = Flatten<int32_t>(bj["input_ids"]);
  batch.attention_mask = Flatten<float>(bj["attention_mask"]);
  const std::vector<int32_t> labels = Flatten<int32_t>(bj["labels"]);
  Gpt2Outputs out;
  model->params().ZeroGrad();
  const float loss = model->Forward(batch, labels, {}, &out);
  model->Backward(batch, &out);
  const SafetensorsFile expected = SafetensorsFile::Open(dir + "/expected.safetensors");
  auto ref = [&](const std::string& name) { return expected.ReadFloat(*expected.Find(name)); };
  const double d_hidden = AbsDiff(out.hidden.data(), ref("last_hidden_state"));
  const double d_logits = AbsDiff(out.logits.data(), ref("logits"));
  EXPECT_LE(d_hidden, 1e-4);
  EXPECT_LE(d_logits, 1e-4);
  EXPECT_NEAR(loss, ref("loss")[0], 1e-4);
  double worst = 0;
  const ParamArena& arena = model->params();
  for (int id = 0; id < static_cast<int>(arena.params().size()); ++id) {
    const ParamInfo& p = arena.info(id);
    const double d = RelDiff(arena.Grad(id).data(), ref("grad.transformer." + p.name), 1e-4);
    worst = std::max(worst, d);
    EXPECT_LE(d, 1e-3) << "gradient of " << p.name;
  }
  const std::vector<float> scores = model->ScoreContinuations(batch, bj["score_starts"].get<std::vector<int>>());
  const std::vector<float> ref_scores = ref("scores");
  for (size_t b = 0; b < scores.size(); ++b) EXPECT_NEAR(scores[b], ref_scores[b], 1e-4) << b;
  std::printf("[parity] %-24s forward max abs diff %.2e, gradient max rel diff %.2e\n", "gpt2",
              std::max(d_hidden, d_logits), worst);
}

TEST(Parity, Gpt2SaveLoadRoundTrip) {
  const std::string dir = kFixtures + "gpt2";
  auto a = LoadGpt2Dir(dir);
  const std::string tmp = ::testing::TempDir() + "/spade_gpt2_roundtrip";
  SaveGpt2Dir(*a, tmp);
  auto b = LoadGpt2Dir(tmp);
  ASSERT_EQ(a->params().size(), b->params().size());
  EXPECT_EQ(0, std::memcmp(a->params().values(), b->params().values(), a->params().size() * sizeof(float)));
}

}  // namespace
}  // namespace spade::encoder
