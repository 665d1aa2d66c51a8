// The downstream probes (fusion/probe_*.h): pair encoding and truncation, padding, the data
// order, the dev1 threshold, the ConceptNet-100k reader's errors, and that each probe's
// fine-tuning learns a task a tiny encoder can learn (dev accuracy far above its untrained
// value), through the shared training loop.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <string>

#include "encoder/checkpoint.h"
#include "encoder/error.h"
#include "encoder/train_loop.h"
#include "fusion/probe_common.h"
#include "fusion/probe_mc.h"
#include "fusion/probe_triples.h"
#include "tests/test_util.h"

namespace spade::fusion {
namespace {

using spade::testing::TempDir;
using spade::testing::WriteFile;

constexpr int kWords = 40;  // good0..good9 bad0..bad9 a0..a9 b0..b9 after 5 specials

// A model directory: a 2-layer BERT (H=32) with random weights and a WordPiece vocabulary of
// [PAD] [UNK] [CLS] [SEP] [MASK] then good0..9 bad0..9 a0..9 b0..9 and relation words.
void WriteTinyEncoder(const std::string& dir) {
  std::filesystem::create_directories(dir);
  std::string vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";
  for (const char* p : {"good", "bad", "a", "b"}) {
    for (int k = 0; k < 10; ++k) vocab.append(p).append(std::to_string(k)).append("\n");
  }
  vocab += "is\nwhich\nrel\n";
  WriteFile(dir + "/vocab.txt", vocab);
  encoder::EncoderConfig c;
  c.vocab_size = 5 + kWords + 3;
  c.hidden_size = 32;
  c.embedding_size = 32;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 2;
  c.intermediate_size = 64;
  c.max_position_embeddings = 32;
  encoder::HeadsConfig h;
  h.mlm = true;
  encoder::Model m(c, h);
  m.Init(7);
  encoder::SaveModelDir(m, dir);
}

encoder::TextTokenizer Tok(const std::string& dir) { return encoder::LoadTextTokenizer(dir); }

TEST(EncodePair, LayoutAndTokenTypes) {
  TempDir d;
  WriteTinyEncoder(d.path());
  const encoder::TextTokenizer tok = Tok(d.path());
  const PairIds p = EncodePair(tok, "which is good1", "bad2", 32);
  // [CLS]=2 which=46 is=45 good1=6 [SEP]=3 bad2=17 [SEP]=3
  EXPECT_EQ(p.ids, (std::vector<int32_t>{2, 46, 45, 6, 3, 17, 3}));
  EXPECT_EQ(p.types, (std::vector<int32_t>{0, 0, 0, 0, 0, 1, 1}));
}

TEST(EncodePair, CutsTheFirstTextFromItsFrontThenTheSecondFromItsBack) {
  TempDir d;
  WriteTinyEncoder(d.path());
  const encoder::TextTokenizer tok = Tok(d.path());
  // Budget 8 - 3 = 5: b (2 tokens) fits, a keeps its last 3 of 6.
  PairIds p = EncodePair(tok, "a0 a1 a2 a3 a4 a5", "b0 b1", 8);
  EXPECT_EQ(p.ids, (std::vector<int32_t>{2, 28, 29, 30, 3, 35, 36, 3}));
  // A long b: a keeps at least half the budget (2 of 5), b is cut from its back.
  p = EncodePair(tok, "a0 a1 a2 a3", "b0 b1 b2 b3 b4 b5", 8);
  EXPECT_EQ(p.ids, (std::vector<int32_t>{2, 27, 28, 3, 35, 36, 37, 3}));
  EXPECT_LE(p.ids.size(), 8u);
}

TEST(PadRows, PadsToTheLongestWithMaskAndTypes) {
  PairIds x{{2, 9, 3}, {0, 0, 0}}, y{{2, 9, 3, 8, 3}, {0, 0, 0, 1, 1}};
  const encoder::Batch b = PadRows({&x, &y}, 0);
  EXPECT_EQ(b.batch, 2);
  EXPECT_EQ(b.seq, 5);
  EXPECT_EQ(b.input_ids, (std::vector<int32_t>{2, 9, 3, 0, 0, 2, 9, 3, 8, 3}));
  EXPECT_EQ(b.token_type_ids, (std::vector<int32_t>{0, 0, 0, 0, 0, 0, 0, 0, 1, 1}));
  EXPECT_EQ(b.attention_mask, (std::vector<float>{1, 1, 1, 0, 0, 1, 1, 1, 1, 1}));
  b.Validate();
}

TEST(EpochOrder, EachEpochIsAPermutationAndEpochsDiffer) {
  const int64_t n = 37;
  std::vector<int64_t> e0, e1;
  for (int64_t i = 0; i < n; ++i) e0.push_back(EpochOrderItem(5, n, i));
  for (int64_t i = n; i < 2 * n; ++i) e1.push_back(EpochOrderItem(5, n, i));
  EXPECT_EQ(std::set<int64_t>(e0.begin(), e0.end()).size(), static_cast<size_t>(n));
  EXPECT_EQ(std::set<int64_t>(e1.begin(), e1.end()).size(), static_cast<size_t>(n));
  EXPECT_NE(e0, e1);
  // A pure function: asking out of order gives the same items.
  EXPECT_EQ(EpochOrderItem(5, n, 3), e0[3]);
  EXPECT_EQ(EpochOrderItem(5, n, n + 4), e1[4]);
  EXPECT_NE(EpochOrderItem(6, n, 0) * 1000 + EpochOrderItem(6, n, 1), e0[0] * 1000 + e0[1]);
  EXPECT_THROW(EpochOrderItem(5, 0, 0), encoder::Error);
}

TEST(BestThreshold, ByHand) {
  // Sorted: 0.1(0) 0.2(0) 0.4(1) 0.5(0) 0.9(1): a cut between 0.2 and 0.4 gets 4/5.
  const auto [t, acc] = BestThreshold({0.5, 0.1, 0.9, 0.2, 0.4}, {0, 0, 1, 0, 1});
  EXPECT_DOUBLE_EQ(t, 0.3);
  EXPECT_DOUBLE_EQ(acc, 0.8);
  // All true: a threshold below every score.
  const auto [t2, acc2] = BestThreshold({1, 2, 3}, {1, 1, 1});
  EXPECT_LT(t2, 1);
  EXPECT_DOUBLE_EQ(acc2, 1.0);
  // Tied scores are never split.
  const auto [t3, acc3] = BestThreshold({1, 1, 2}, {0, 1, 1});
  EXPECT_DOUBLE_EQ(acc3, 2.0 / 3.0);
  EXPECT_THROW(BestThreshold({}, {}), encoder::Error);
}

TEST(RelationWords, SplitsCamelCase) {
  EXPECT_EQ(RelationWords("AtLocation"), "at location");
  EXPECT_EQ(RelationWords("HasA"), "has a");
  EXPECT_EQ(RelationWords("IsA"), "is a");
}

TEST(ConceptNet100k, ReadsRowsAndNamesBadLines) {
  TempDir d;
  const std::string good = d.path() + "/dev.txt";
  WriteFile(good, "IsA\ttool\tobject\t1\r\nAtLocation\tferret\tpet store\t0\n\n");
  const std::vector<TripleRow> rows = ReadConceptNet100k(good, true);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].tail, "pet store");
  EXPECT_EQ(rows[0].label, 1);
  EXPECT_EQ(rows[1].label, 0);
  EXPECT_EQ(ReadConceptNet100k(good, false)[1].label, 1);  // a weight column is not a label

  auto error_of = [&](const std::string& text, bool labelled) {
    const std::string p = d.path() + "/bad.txt";
    WriteFile(p, text);
    try {
      ReadConceptNet100k(p, labelled);
    } catch (const encoder::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error_of("IsA\ttool\t1\n", false).find("bad.txt:1: expected 4 tab-separated fields"), std::string::npos);
  EXPECT_NE(error_of("IsA\ta\tb\t1\nIsA\t\tb\t1\n", false).find("bad.txt:2: empty head"), std::string::npos);
  EXPECT_NE(error_of("IsA\ta\tb\t0.7\n", true).find("bad.txt:1: label must be 0 or 1"), std::string::npos);
  EXPECT_NE(error_of("", true).find("no triples"), std::string::npos);
  EXPECT_THROW(ReadConceptNet100k(d.path() + "/missing.txt", true), encoder::Error);
}

// Multiple choice where the answer is the one "goodK" among three "badK" distractors; the stem,
// the words and the answer's position are drawn from `rng`, so that the training questions are
// all different and a model has to learn good-vs-bad rather than memorise questions.
std::string McLine(int i, std::mt19937* rng) {
  std::uniform_int_distribution<int> digit(0, 9), position(0, 3);
  const int answer = position(*rng);
  std::string s = "{\"id\": \"q" + std::to_string(i) + "\", \"question\": {\"stem\": \"which is a" +
                  std::to_string(digit(*rng)) + "\", \"choices\": [";
  for (int k = 0; k < 4; ++k) {
    const std::string w = (k == answer ? "good" : "bad") + std::to_string(digit(*rng));
    s += std::string(k ? ", " : "") + "{\"label\": \"" + std::string(1, static_cast<char>('A' + k)) +
         "\", \"text\": \"" + w + "\"}";
  }
  return s + "]}, \"answerKey\": \"" + std::string(1, static_cast<char>('A' + answer)) + "\"}\n";
}

encoder::TrainLoopConfig Loop(const std::string& out, int64_t steps) {
  encoder::TrainLoopConfig lc;
  lc.steps = steps;
  lc.save_every = 0;
  lc.eval_every = 0;
  lc.out_dir = out;
  lc.optimizer.lr = 3e-3f;
  lc.optimizer.warmup_steps = 5;
  return lc;
}

double MetricOf(const encoder::Metrics& m, const std::string& key) {
  for (const auto& [k, v] : m) {
    if (k == key) return v;
  }
  ADD_FAILURE() << key << " missing";
  return -1;
}

TEST(McProbe, FineTuningLearnsWhatTheUntrainedEncoderCannot) {
  TempDir d;
  WriteTinyEncoder(d.path() + "/enc");
  std::string train, dev;
  std::mt19937 rng(11);
  for (int i = 0; i < 200; ++i) train += McLine(i, &rng);
  for (int i = 0; i < 40; ++i) dev += McLine(1000 + i, &rng);
  WriteFile(d.path() + "/train.jsonl", train);
  WriteFile(d.path() + "/dev.jsonl", dev);
  McProbeConfig c;
  c.encoder_dir = d.path() + "/enc";
  c.train_path = d.path() + "/train.jsonl";
  c.dev_path = d.path() + "/dev.jsonl";
  c.questions_per_step = 8;
  c.max_seq = 16;
  auto task = MakeMcProbeTask(c);
  const double before = MetricOf(task->Evaluate(), "dev_accuracy");
  const encoder::TrainResult r = encoder::RunTrainLoop(task.get(), Loop(d.path() + "/out", 150));
  const double after = MetricOf(r.final_eval, "dev_accuracy");
  EXPECT_LT(before, 0.6);
  EXPECT_GT(after, 0.95) << "before " << before;
  EXPECT_TRUE(std::filesystem::exists(d.path() + "/out/model.safetensors"));
  EXPECT_TRUE(std::filesystem::exists(d.path() + "/out/vocab.txt"));
}

TEST(McProbe, RandomInitIgnoresTheWeightsFile) {
  TempDir d;
  WriteTinyEncoder(d.path() + "/enc");
  std::mt19937 rng(1);
  WriteFile(d.path() + "/q.jsonl", McLine(1, &rng) + McLine(2, &rng));
  McProbeConfig c;
  c.encoder_dir = d.path() + "/enc";
  c.train_path = c.dev_path = d.path() + "/q.jsonl";
  c.random_init = true;
  c.max_seq = 16;
  std::filesystem::remove(d.path() + "/enc/model.safetensors");
  EXPECT_NO_THROW(MakeMcProbeTask(c));
  c.random_init = false;
  EXPECT_THROW(MakeMcProbeTask(c), encoder::Error);
}

TEST(McProbe, ErrorsNameTheFileAndLine) {
  TempDir d;
  WriteTinyEncoder(d.path() + "/enc");
  std::mt19937 rng(1);
  const std::string one = McLine(1, &rng);
  std::string three = McLine(2, &rng);
  three.replace(three.find(", {\"label\": \"D\""), three.find("]}") - three.find(", {\"label\": \"D\""), "");
  WriteFile(d.path() + "/mixed.jsonl", one + three);
  WriteFile(d.path() + "/ok.jsonl", one);
  McProbeConfig c;
  c.encoder_dir = d.path() + "/enc";
  c.train_path = d.path() + "/mixed.jsonl";
  c.dev_path = d.path() + "/ok.jsonl";
  c.max_seq = 16;
  try {
    MakeMcProbeTask(c);
    ADD_FAILURE() << "no error";
  } catch (const encoder::Error& e) {
    EXPECT_NE(std::string(e.what()).find("mixed.jsonl:2: 3 choices where the file's first question has 4"),
              std::string::npos)
        << e.what();
  }
  c.train_path = d.path() + "/ok.jsonl";
  c.max_seq = 64;  // the encoder has 32 positions
  EXPECT_THROW(MakeMcProbeTask(c), encoder::Error);
  c.max_seq = 16;
  c.encoder_dir = d.path() + "/nothing";
  EXPECT_THROW(MakeMcProbeTask(c), encoder::Error);
}

TEST(TripleProbe, FineTuningSeparatesTrueFromCorruptedTriples) {
  // A true triple links an "aK" head to a "bJ" tail. Training sees 80 of the 100 pairs (and
  // negatives sampled by corrupting a head or a tail); dev1 and dev2 hold the other 20, beside
  // triples of the wrong shape (b..b on dev1, a..a on dev2), so only a learned rule passes.
  TempDir d;
  WriteTinyEncoder(d.path() + "/enc");
  std::string train, dev1, dev2;
  auto triple = [](const char* h, int k, const char* t, int j, const char* label) {
    return std::string("Rel\t").append(h).append(std::to_string(k)).append("\t").append(t).append(
        std::to_string(j)).append("\t").append(label).append("\n");
  };
  for (int k = 0; k < 10; ++k) {
    for (int j = 0; j < 10; ++j) {
      if ((k + j) % 5 != 0) {
        train += triple("a", k, "b", j, "1.0");
      } else {
        std::string& dev = k < 5 ? dev1 : dev2;
        dev += triple("a", k, "b", j, "1");
        dev += k < 5 ? triple("b", k, "b", j, "0") : triple("a", k, "a", j, "0");
      }
    }
  }
  WriteFile(d.path() + "/train.txt", train);
  WriteFile(d.path() + "/dev1.txt", dev1);
  WriteFile(d.path() + "/dev2.txt", dev2);
  TripleProbeConfig c;
  c.encoder_dir = d.path() + "/enc";
  c.train_path = d.path() + "/train.txt";
  c.dev1_path = d.path() + "/dev1.txt";
  c.dev2_path = d.path() + "/dev2.txt";
  c.positives_per_step = 10;
  c.max_seq = 12;
  auto task = MakeTripleProbeTask(c);
  const encoder::TrainResult r = encoder::RunTrainLoop(task.get(), Loop(d.path() + "/out", 300));
  EXPECT_GT(MetricOf(r.final_eval, "dev1_accuracy"), 0.9);
  EXPECT_GT(MetricOf(r.final_eval, "dev2_accuracy"), 0.9);
}

}  // namespace
}  // namespace spade::fusion
