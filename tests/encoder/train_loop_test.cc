// The shared training loop: a run interrupted after a checkpoint and resumed ends with
// bit-identical weights to an uninterrupted run; a non-finite loss stops the run naming the
// step and keeps the last checkpoint; foreign checkpoints are refused; the loss falls.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "encoder/pretrain.h"
#include "encoder/safetensors.h"
#include "tests/encoder/pretrain_fixture.h"

namespace spade::encoder {
namespace {

using spade::testing::SyntheticCorpus;
using spade::testing::TempDir;

PretrainConfig TinyConfig(const SyntheticCorpus& sc, Objective objective) {
  PretrainConfig c;
  c.objective = objective;
  c.corpus_dir = sc.dir.path();
  c.tokenizer_dir = sc.dir / "tokenizers/wordpiece";
  EncoderConfig e;
  e.arch = objective == Objective::kAlbert ? Arch::kAlbert : objective == Objective::kElectra ? Arch::kElectra : Arch::kBert;
  e.hidden_size = 32;
  e.embedding_size = objective == Objective::kAlbert ? 16 : 32;
  e.num_hidden_layers = 2;
  e.num_attention_heads = 2;
  e.intermediate_size = 64;
  e.max_position_embeddings = 32;
  c.encoder = e;
  c.batch = 8;
  c.seq = 16;
  c.seed = 5;
  c.eval_batches = 2;
  if (objective == Objective::kAlbert) c.sentence = SentenceTask::kSop;
  return c;
}

TrainLoopConfig Loop(const std::string& out, int64_t steps) {
  TrainLoopConfig l;
  l.steps = steps;
  l.save_every = 4;
  l.eval_every = 0;
  l.log_every = 1;
  l.out_dir = out;
  l.optimizer.lr = 2e-3f;
  l.optimizer.warmup_steps = 2;
  return l;
}

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Forwards to a real task, but fails at a chosen step: a crash (throw) or a NaN loss.
class Faulty : public TrainTask {
 public:
  Faulty(std::unique_ptr<TrainTask> inner, int64_t fail_step, bool nan) : inner_(std::move(inner)), fail_(fail_step), nan_(nan) {}
  std::vector<ParamArena*> Arenas() override { return inner_->Arenas(); }
  Metrics ForwardBackward(int64_t step) override {
    Metrics m = inner_->ForwardBackward(step);
    if (step == fail_) {
      if (!nan_) throw std::runtime_error("simulated crash");
      m[0].second = std::numeric_limits<double>::quiet_NaN();
    }
    return m;
  }
  void AfterUpdate() override { inner_->AfterUpdate(); }
  Metrics Evaluate() override { return inner_->Evaluate(); }
  void SaveModel(const std::string& dir) const override { inner_->SaveModel(dir); }
  int64_t TokensPerStep() const override { return inner_->TokensPerStep(); }
  std::string Fingerprint() const override { return inner_->Fingerprint(); }

 private:
  std::unique_ptr<TrainTask> inner_;
  int64_t fail_;
  bool nan_;
};

class ResumeTest : public ::testing::TestWithParam<Objective> {};

TEST_P(ResumeTest, InterruptedAndResumedEqualsUninterrupted) {
  SyntheticCorpus sc;
  const PretrainConfig c = TinyConfig(sc, GetParam());
  TempDir out;
  RunTrainLoop(MakePretrainTask(c).get(), Loop(out / "straight", 12));
  // Crash during step 10 (after the checkpoint at 8), then resume.
  Faulty crashing(MakePretrainTask(c), /*fail_step=*/9, /*nan=*/false);
  EXPECT_THROW(RunTrainLoop(&crashing, Loop(out / "resumed", 12)), std::runtime_error);
  TrainLoopConfig again = Loop(out / "resumed", 12);
  again.resume = true;
  const TrainResult r = RunTrainLoop(MakePretrainTask(c).get(), again);
  EXPECT_EQ(r.resumed_from, 8);
  EXPECT_EQ(r.steps_run, 4);
  const std::string a = ReadBytes(out / "straight/model.safetensors");
  ASSERT_FALSE(a.empty());
  EXPECT_TRUE(a == ReadBytes(out / "resumed/model.safetensors")) << "weights differ after resume";
  EXPECT_TRUE(ReadBytes(out / "straight/checkpoint.safetensors") == ReadBytes(out / "resumed/checkpoint.safetensors"))
      << "optimizer state differs after resume";
  // The resumed log reads as one run: steps 1..12 once each.
  std::ifstream log(out / "resumed/log.jsonl");
  std::string line;
  int lines = 0;
  while (std::getline(log, line)) lines += line.find("\"tokens_per_second\"") != std::string::npos;
  EXPECT_EQ(lines, 12);
}

INSTANTIATE_TEST_SUITE_P(Objectives, ResumeTest,
                         ::testing::Values(Objective::kMlm, Objective::kAlbert, Objective::kElectra),
                         [](const auto& info) { return ObjectiveName(info.param); });

TEST(TrainLoop, NonFiniteLossStopsNamingTheStepAndKeepsTheCheckpoint) {
  SyntheticCorpus sc;
  TempDir out;
  Faulty nan(MakePretrainTask(TinyConfig(sc, Objective::kMlm)), /*fail_step=*/5, /*nan=*/true);
  try {
    RunTrainLoop(&nan, Loop(out.path(), 12));
    FAIL() << "a NaN loss must stop the run";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNumerical);
    EXPECT_NE(std::string(e.what()).find("step 6"), std::string::npos) << e.what();
  }
  const SafetensorsFile ck = SafetensorsFile::Open(out / "checkpoint.safetensors");
  EXPECT_EQ(ck.header().metadata.at("step"), "4");
}

TEST(TrainLoop, RefusesForeignOrUnrequestedCheckpoints) {
  SyntheticCorpus sc;
  TempDir out;
  PretrainConfig c = TinyConfig(sc, Objective::kMlm);
  RunTrainLoop(MakePretrainTask(c).get(), Loop(out.path(), 4));
  // Same directory without --resume: an error, not a silent overwrite.
  EXPECT_THROW(RunTrainLoop(MakePretrainTask(c).get(), Loop(out.path(), 4)), Error);
  // --resume with another configuration: an error naming both.
  c.batch = 4;
  TrainLoopConfig l = Loop(out.path(), 8);
  l.resume = true;
  try {
    RunTrainLoop(MakePretrainTask(c).get(), l);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("different configuration"), std::string::npos) << e.what();
  }
}

TEST(TrainLoop, MaskedLmLossFallsOnATinyCorpus) {
  // Each sentence repeats its word ("sK sKx"), so a masked sK is predictable from its twin.
  SyntheticCorpus sc;
  TempDir out;
  PretrainConfig c = TinyConfig(sc, Objective::kMlm);
  c.eval_batches = 4;
  auto task = MakePretrainTask(c);
  const double before = task->Evaluate()[1].second;  // mlm_loss
  TrainLoopConfig l = Loop(out.path(), 400);
  l.optimizer.lr = 3e-3f;
  l.optimizer.warmup_steps = 10;
  l.save_every = 0;
  const TrainResult r = RunTrainLoop(task.get(), l);
  ASSERT_EQ(r.final_eval[1].first, "mlm_loss");
  EXPECT_LT(r.final_eval[1].second, 0.7 * before) << "held-out MLM loss " << before << " -> " << r.final_eval[1].second;
  EXPECT_GT(r.final_eval[0].second, 0.2);  // mlm_accuracy, chance is ~1/126
}

}  // namespace
}  // namespace spade::encoder
