// `spade train`'s library side (fusion/qa_train.h, fusion/qa_model_io.h) on the hand-made dig
// graph: an interrupted and resumed run ends with the same weights as an uninterrupted one;
// the saved model directory loads back and scores exactly as the model did; a model used
// with another KG, or with re-made TransE vectors, is a clear error naming both.
#include "fusion/qa_train.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "encoder/checkpoint.h"
#include "encoder/error.h"
#include "tests/fusion/dig_knowledge.h"
#include "tests/test_util.h"

namespace spade::fusion {
namespace {

using spade::testing::TempDir;
using spade::testing::WriteFile;

void WriteTinyEncoder(const std::string& dir) {
  std::filesystem::create_directories(dir);
  std::string vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";
  for (const char* w : {"i", "dug", "the", "ground", "to", "plant", "flowers", "what", "did", "dig", "with", "?", ".",
                        "shovel", "spoon", "goose", "garden", "bird", "where", "do", "grow", "build", "a", "house",
                        "excavator", "fork"}) {
    vocab.append(w).append("\n");
  }
  WriteFile(dir + "/vocab.txt", vocab);
  encoder::EncoderConfig c;
  c.vocab_size = 5 + 26;
  c.hidden_size = c.embedding_size = 16;
  c.num_hidden_layers = 1;
  c.num_attention_heads = 2;
  c.intermediate_size = 32;
  c.max_position_embeddings = 32;
  encoder::Model m(c, encoder::HeadsConfig{});
  m.Init(7);
  encoder::SaveModelDir(m, dir);
}

std::string Line(const std::string& id, const std::string& stem, const std::vector<std::string>& choices, char key) {
  std::string s = "{\"id\": \"" + id + "\", \"question\": {\"question_concept\": \"dig\", \"stem\": \"" + stem +
                  "\", \"choices\": [";
  for (size_t k = 0; k < choices.size(); ++k) {
    s += std::string(k ? ", " : "") + "{\"label\": \"" + std::string(1, static_cast<char>('A' + k)) +
         "\", \"text\": \"" + choices[k] + "\"}";
  }
  return s + "]}, \"answerKey\": \"" + std::string(1, key) + "\"}\n";
}

class QaTrainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteTinyEncoder(d_.path() + "/enc");
    std::string train;
    for (int i = 0; i < 6; ++i) {
      train += Line("t" + std::to_string(i), "I dug the ground to plant flowers. What did I dig with?",
                    {"spoon", "shovel", "goose"}, 'B');
      train += Line("u" + std::to_string(i), "Where do flowers grow?", {"garden", "bird", "spoon"}, 'A');
    }
    WriteFile(d_.path() + "/train.jsonl", train);
    WriteFile(d_.path() + "/dev.jsonl", Line("d0", "I dug the ground to build a house. What did I dig with?",
                                             {"fork", "excavator", "goose"}, 'B'));
  }
  QaTrainConfig Config(const std::string& out) const {
    QaTrainConfig c;
    c.init_dir = d_.path() + "/enc";
    c.train_paths = {d_.path() + "/train.jsonl"};
    c.dev_path = d_.path() + "/dev.jsonl";
    c.out_dir = out;
    c.model.fusion_layers = 2;
    c.model.path_hidden = 4;
    c.examples.max_seq = 24;
    c.questions_per_step = 2;
    c.threads = 2;
    return c;
  }
  static encoder::TrainLoopConfig Loop(const std::string& out, bool resume) {
    encoder::TrainLoopConfig lc;
    lc.steps = 8;
    lc.save_every = 4;
    lc.eval_every = 4;
    lc.out_dir = out;
    lc.resume = resume;
    lc.optimizer.lr = 1e-3f;
    lc.optimizer.warmup_steps = 2;
    lc.optimizer.total_steps = 8;
    return lc;
  }
  static std::vector<float> Weights(encoder::TrainTask* t) {
    std::vector<float> w;
    for (encoder::ParamArena* a : t->Arenas()) w.insert(w.end(), a->values(), a->values() + a->size());
    return w;
  }
  TempDir d_;
  testing::DigKnowledge dig_;
  const kg::Graph& graph_ = dig_.graph;
  const kg::TransE& transe_ = dig_.transe;
  QaKnowledge& k_ = dig_.k;
};

TEST_F(QaTrainTest, InterruptedAndResumedEqualsUninterrupted) {
  const std::string a = d_.path() + "/a", b = d_.path() + "/b";
  auto whole = MakeQaTrainTask(Config(a), k_);
  encoder::RunTrainLoop(whole.get(), Loop(a, false));
  // Run b stops after step 4 (its checkpoint), then a fresh process-like task resumes it.
  {
    auto first = MakeQaTrainTask(Config(b), k_);
    encoder::TrainLoopConfig half = Loop(b, false);
    half.steps = 4;
    half.optimizer.total_steps = 8;
    encoder::RunTrainLoop(first.get(), half);
  }
  QaTrainConfig rc = Config(b);
  rc.resume = true;
  auto resumed = MakeQaTrainTask(rc, k_);
  const encoder::TrainResult r = encoder::RunTrainLoop(resumed.get(), Loop(b, true));
  EXPECT_EQ(r.resumed_from, 4);
  EXPECT_EQ(Weights(whole.get()), Weights(resumed.get()));
  EXPECT_TRUE(std::filesystem::exists(a + "/best/spade.json"));
  EXPECT_TRUE(std::filesystem::exists(a + "/spade.json"));
  EXPECT_TRUE(std::filesystem::exists(a + "/vocab.txt"));
}

TEST_F(QaTrainTest, PatienceStopsEarlyAndAResumedStoppedRunStaysStopped) {
  const std::string out = d_.path() + "/p";
  QaTrainConfig c = Config(out);
  c.patience = 1;
  encoder::TrainLoopConfig lc = Loop(out, false);
  lc.eval_every = 2;
  lc.optimizer.lr = 1e-9f;  // no evaluation can beat the first one
  auto task = MakeQaTrainTask(c, k_);
  const encoder::TrainResult r = encoder::RunTrainLoop(task.get(), lc);
  EXPECT_TRUE(r.stopped_early);
  EXPECT_EQ(r.steps_run, 4);  // evaluations at 2 (the best) and 4 (not better): stop
  EXPECT_TRUE(std::filesystem::exists(out + "/spade.json"));
  const std::vector<float> w = Weights(task.get());
  c.resume = true;
  lc.resume = true;
  auto again = MakeQaTrainTask(c, k_);
  const encoder::TrainResult r2 = encoder::RunTrainLoop(again.get(), lc);
  EXPECT_TRUE(r2.stopped_early);
  EXPECT_EQ(r2.steps_run, 0);
  EXPECT_EQ(Weights(again.get()), w);
  // Without --resume the directory is refused and nothing of the stopped run is lost.
  c.resume = false;
  lc.resume = false;
  auto fresh = MakeQaTrainTask(c, k_);
  EXPECT_THROW(encoder::RunTrainLoop(fresh.get(), lc), encoder::Error);
  EXPECT_TRUE(std::filesystem::exists(out + "/best/spade.json"));
  EXPECT_TRUE(std::filesystem::exists(out + "/early_stop.json"));
}

// Task-specific distillation: a student with one fusion layer fitted to a trained teacher's
// soft choice scores alone (soft weight 1) moves toward them: the logged KL falls.
TEST_F(QaTrainTest, DistillationFitsTheTeachersScores) {
  const std::string teacher = d_.path() + "/teacher", student = d_.path() + "/student";
  auto t = MakeQaTrainTask(Config(teacher), k_);
  encoder::RunTrainLoop(t.get(), Loop(teacher, false));
  QaTrainConfig c = Config(student);
  c.model.fusion_layers = 1;
  c.teacher_dir = teacher;
  c.soft_weight = 1.0f;
  c.temperature = 1.0f;
  encoder::TrainLoopConfig lc = Loop(student, false);
  lc.steps = lc.optimizer.total_steps = 40;
  lc.save_every = lc.eval_every = 0;
  lc.log_every = 1;
  lc.optimizer.lr = 3e-3f;
  auto s = MakeQaTrainTask(c, k_);
  encoder::RunTrainLoop(s.get(), lc);
  std::ifstream log(student + "/log.jsonl");
  std::vector<double> kl;
  for (std::string line; std::getline(log, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j.contains("distill_kl")) kl.push_back(j["distill_kl"].get<double>());
  }
  ASSERT_EQ(kl.size(), 40u);
  double first = 0, last = 0;
  for (int i = 0; i < 10; ++i) first += kl[static_cast<size_t>(i)], last += kl[kl.size() - 1 - static_cast<size_t>(i)];
  EXPECT_LT(last, 0.5 * first) << "first 10 steps " << first / 10 << ", last 10 " << last / 10;
  // Inputs must match: a teacher built for another sequence length is refused.
  QaTrainConfig other = Config(d_.path() + "/x");
  other.examples.max_seq = 20;
  other.teacher_dir = teacher;
  try {
    MakeQaTrainTask(other, k_);
    FAIL() << "expected an error";
  } catch (const encoder::Error& e) {
    EXPECT_NE(std::string(e.what()).find("differ from the student's"), std::string::npos) << e.what();
  }
}

TEST_F(QaTrainTest, SavedModelLoadsBackAndScoresTheSame) {
  const std::string out = d_.path() + "/m";
  auto task = MakeQaTrainTask(Config(out), k_);
  encoder::RunTrainLoop(task.get(), Loop(out, false));
  LoadedQaModel m = LoadQaModel(out, &transe_, k_.identity);
  EXPECT_EQ(m.info.model.fusion_layers, 2);
  EXPECT_EQ(m.info.kg.names_sha256, k_.identity.names_sha256);
  // The loaded model's dev scores equal the training task's best evaluation: same accuracy.
  const std::vector<data::McqItem> dev = data::ReadMcqJsonl(d_.path() + "/dev.jsonl");
  const std::vector<QaExample> ex = BuildQaExamples(dev, k_, m.tok, m.info.examples, 1);
  QaBatchState st;
  m.model->Forward({&ex[0]}, false, 0, &st);
  QaBatchState st2;
  LoadedQaModel again = LoadQaModel(out, &transe_, k_.identity);
  again.model->Forward({&ex[0]}, false, 0, &st2);
  EXPECT_EQ(st.scores, st2.scores);  // deterministic load
  EXPECT_EQ(st.scores.cols(), 3);
}

TEST_F(QaTrainTest, AnotherKgOrOtherVectorsAreClearErrors) {
  const std::string out = d_.path() + "/m";
  auto task = MakeQaTrainTask(Config(out), k_);
  encoder::RunTrainLoop(task.get(), Loop(out, false));
  const kg::Graph other = retrieval::testing::MakeGraph({{"cat", "IsA", "animal"}});
  try {
    LoadQaModel(out, &transe_, ComputeKgIdentity(other, nullptr));
    FAIL() << "expected an error";
  } catch (const encoder::Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("trained with another KG (" + k_.identity.description + ")"), std::string::npos) << msg;
    EXPECT_NE(msg.find("2 concepts, 1 relations"), std::string::npos) << msg;
  }
  kg::TransEOptions o;
  o.dim = 8;
  o.epochs = 20;
  o.threads = 1;
  o.seed = 99;
  const kg::TransE remade = kg::TransE::Train(graph_, o);
  try {
    LoadQaModel(out, &remade, ComputeKgIdentity(graph_, &remade));
    FAIL() << "expected an error";
  } catch (const encoder::Error& e) {
    EXPECT_NE(std::string(e.what()).find("not the ones the model was trained with"), std::string::npos) << e.what();
  }
  EXPECT_THROW(LoadQaModel(d_.path() + "/enc", &transe_, k_.identity), encoder::Error);  // an encoder, not a QA model
}

TEST_F(QaTrainTest, BadDataIsAClearError) {
  WriteFile(d_.path() + "/nokey.jsonl", "{\"id\": \"x\", \"question\": {\"question_concept\": \"dig\", \"stem\": "
                                        "\"What did I dig with?\", \"choices\": [{\"label\": \"A\", \"text\": "
                                        "\"spoon\"}, {\"label\": \"B\", \"text\": \"shovel\"}]}}\n");
  QaTrainConfig c = Config(d_.path() + "/x");
  c.dev_path = d_.path() + "/nokey.jsonl";
  try {
    MakeQaTrainTask(c, k_);
    FAIL() << "expected an error";
  } catch (const encoder::Error& e) {
    EXPECT_NE(std::string(e.what()).find("nokey.jsonl:1: a dev question without an answer key"), std::string::npos)
        << e.what();
  }
  c = Config(d_.path() + "/y");
  c.train_paths = {d_.path() + "/missing.jsonl"};
  EXPECT_THROW(MakeQaTrainTask(c, k_), encoder::Error);
}

}  // namespace
}  // namespace spade::fusion
