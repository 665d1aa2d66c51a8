// Parity of one whole ELECTRA pretraining step with PyTorch (tools/reference/make_fixtures.py,
// electra_joint_case): a generator and a discriminator whose embeddings are one set of
// tensors in the reference, the draws (masked tokens, the generator's samples) made in
// Python and given to ElectraPretrainer, then one AdamW step over both models. Losses must
// match to 1e-4, every gradient to 1e-3 relative to that tensor's largest reference
// gradient (as parity_test.cc), the parameters after the step to 1e-5 absolute (lr is 1e-3,
// so a step is up to 1e-3 per parameter).
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "encoder/checkpoint.h"
#include "encoder/electra.h"

namespace spade::encoder {
namespace {

const std::string kDir = std::string(SPADE_SOURCE_DIR) + "/tests/encoder/fixtures/electra_joint/";

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(ErrorCode::kNotFound, "cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

template <typename T>
std::vector<T> Flatten(const nlohmann::json& j) {
  std::vector<T> out;
  for (const auto& row : j) {
    if (row.is_array()) {
      for (const auto& e : row) out.push_back(e.get<T>());
    } else {
      out.push_back(row.get<T>());
    }
  }
  return out;
}

// max |a - b| / max(max |b|, floor).
double RelDiff(const float* a, const std::vector<float>& b, double floor) {
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

bool IsShared(const std::string& name) { return name.rfind("embeddings.", 0) == 0; }
// Attention key biases: their true gradient is 0 (softmax ignores a shift shared by every
// key), so the reference holds float64 rounding and we hold float32 rounding, scaled by
// rtd_weight -- noise either way, checked as such.
bool IsKeyBias(const std::string& name) { return name.find("attention.self.key.bias") != std::string::npos; }

class ElectraParity : public ::testing::Test {
 protected:
  void SetUp() override {
    bj_ = nlohmann::json::parse(ReadText(kDir + "batch.json"));
    ElectraConfig c;
    c.generator = LoadConfigJson(kDir + "generator/config.json");
    c.discriminator = LoadConfigJson(kDir + "discriminator/config.json");
    c.rtd_weight = bj_["rtd_weight"].get<float>();
    c.mask_token_id = bj_["mask_token_id"].get<int32_t>();
    p_ = std::make_unique<ElectraPretrainer>(c);
    for (auto [sub, model] : {std::pair{"generator", &p_->generator()}, std::pair{"discriminator", &p_->discriminator()}}) {
      const LoadReport r = LoadWeights(SafetensorsFile::Open(kDir + sub + "/model.safetensors"), model,
                                       LoadOptions{.allow_missing_heads = false});
      EXPECT_TRUE(r.unused.empty()) << sub << ": " << r.unused.front();
    }
    batch_.batch = static_cast<int>(bj_["input_ids"].size());
    batch_.seq = static_cast<int>(bj_["input_ids"][0].size());
    batch_.input_ids = Flatten<int32_t>(bj_["input_ids"]);
    batch_.token_type_ids = Flatten<int32_t>(bj_["token_type_ids"]);
    batch_.attention_mask = Flatten<float>(bj_["attention_mask"]);
    draws_.masked = bj_["masked"].get<std::vector<int32_t>>();
    draws_.replaced = bj_["replaced"].get<std::vector<int32_t>>();
  }
  std::vector<float> Ref(const std::string& name) const {
    const TensorEntry* e = expected_.Find(name);
    if (!e) throw Error(ErrorCode::kNotFound, "expected tensor " + name);
    return expected_.ReadFloat(*e);
  }

  nlohmann::json bj_;
  std::unique_ptr<ElectraPretrainer> p_;
  Batch batch_;
  ElectraCorruption draws_;
  SafetensorsFile expected_ = SafetensorsFile::Open(kDir + "expected.safetensors");
};

TEST_F(ElectraParity, OneStepLossesGradientsAndAdamWMatchPyTorch) {
  ParamArena &gen = p_->generator().params(), &disc = p_->discriminator().params();
  gen.ZeroGrad();
  disc.ZeroGrad();
  const ElectraStep s = p_->ForwardBackward(batch_, draws_, /*dropout_seed=*/0);  // dropout is 0 in the configs
  EXPECT_NEAR(s.generator_loss, Ref("generator_loss")[0], 1e-4);
  EXPECT_NEAR(s.discriminator_loss, Ref("discriminator_loss")[0], 1e-4);
  EXPECT_NEAR(s.loss, Ref("loss")[0], 1e-4);
  // The labels the discriminator was trained on, including a sample equal to its original.
  EXPECT_EQ(p_->last_inputs().discriminator.rtd_labels, Flatten<float>(bj_["rtd_labels"]));

  double worst_grad = 0;
  std::string worst_name;
  auto check_grads = [&](const ParamArena& arena, const std::string& model) {
    for (int id = 0; id < static_cast<int>(arena.params().size()); ++id) {
      const ParamInfo& p = arena.info(id);
      const float* g = arena.Grad(id).data();
      if (model == "generator" && IsShared(p.name)) {  // folded into the discriminator's copy
        EXPECT_EQ(arena.Grad(id).cwiseAbs().maxCoeff(), 0.0f) << p.name;
        continue;
      }
      const std::vector<float> r = Ref("grad." + model + "." + p.name);
      ASSERT_EQ(r.size(), size_t(p.rows) * p.cols) << p.name;
      if (IsKeyBias(p.name)) {
        EXPECT_LE(arena.Grad(id).cwiseAbs().maxCoeff(), 1e-6f) << p.name;
        continue;
      }
      const double d = RelDiff(g, r, 1e-4);
      if (d > worst_grad) worst_grad = d, worst_name = model + "." + p.name;
      EXPECT_LE(d, 1e-3) << "gradient of " << model << "." << p.name;
    }
  };
  check_grads(gen, "generator");
  check_grads(disc, "discriminator");

  // Forward outputs of both models on the inputs the step built.
  const ElectraInputs in = p_->last_inputs();
  Outputs out;
  p_->generator().Forward(in.masked, in.generator, StepOptions{}, &out);
  const double d_mlm = AbsDiff(out.mlm_logits.data(), Ref("mlm_logits"));
  EXPECT_LE(d_mlm, 1e-4);
  p_->discriminator().Forward(in.corrupted, in.discriminator, StepOptions{}, &out);
  const double d_rtd = AbsDiff(out.rtd_logits.data(), Ref("rtd_logits"));
  EXPECT_LE(d_rtd, 1e-4);

  // One AdamW step per model (clipping off: it would clip each model on its own), then the
  // generator's copy of the shared embeddings follows the discriminator's.
  const nlohmann::json& a = bj_["adamw"];
  AdamWConfig oc;
  oc.lr = a["lr"].get<float>();
  oc.beta1 = a["beta1"].get<float>();
  oc.beta2 = a["beta2"].get<float>();
  oc.eps = a["eps"].get<float>();
  oc.weight_decay = a["weight_decay"].get<float>();
  oc.max_grad_norm = 0.0f;
  AdamW gen_opt(gen, oc), disc_opt(disc, oc);
  ASSERT_TRUE(disc_opt.Step(&disc));
  ASSERT_TRUE(gen_opt.Step(&gen));
  p_->SyncSharedEmbeddings();
  double worst_after = 0;
  auto check_after = [&](const ParamArena& arena, const std::string& model) {
    for (int id = 0; id < static_cast<int>(arena.params().size()); ++id) {
      const ParamInfo& p = arena.info(id);
      // Adam's first step is lr * g / (|g| + eps): it turns a key bias's rounding noise into
      // a step of up to lr, so those are left out here (their gradients are checked above).
      if (IsKeyBias(p.name)) continue;
      const std::string ref_model = IsShared(p.name) ? "discriminator" : model;
      const double d = AbsDiff(arena.Value(id).data(), Ref("after." + ref_model + "." + p.name));
      worst_after = std::max(worst_after, d);
      EXPECT_LE(d, 1e-5) << "after AdamW: " << model << "." << p.name;
    }
  };
  check_after(gen, "generator");
  check_after(disc, "discriminator");
  std::printf("[parity] electra_joint losses %.1e/%.1e/%.1e off, logits %.2e, gradient max rel diff %.2e (%s), "
              "parameters after AdamW %.2e\n",
              std::abs(s.generator_loss - Ref("generator_loss")[0]),
              std::abs(s.discriminator_loss - Ref("discriminator_loss")[0]), std::abs(s.loss - Ref("loss")[0]),
              std::max(d_mlm, d_rtd), worst_grad, worst_name.c_str(), worst_after);
}

}  // namespace
}  // namespace spade::encoder
