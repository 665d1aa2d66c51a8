// Pretraining batches: masking statistics, whole-word masking, sentence pairs drawn from
// consecutive segments (swapped exactly when labelled), NSP negatives, causal-LM windows,
// and the (seed, step, rank) purity of every draw.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "encoder/pretrain_data.h"
#include "tests/encoder/pretrain_fixture.h"

namespace spade::encoder {
namespace {

using spade::testing::SyntheticCorpus;

TEST(PretrainData, TokenizesDocumentsAndSentences) {
  SyntheticCorpus sc;
  EXPECT_EQ(sc.corpus.documents(), SyntheticCorpus::kDocs);
  EXPECT_EQ(sc.corpus.sentences(), SyntheticCorpus::kDocs * SyntheticCorpus::kSentencesPerDoc);
  // Sentence k is "sK sK ##x": 3 tokens, the first two the word sK, the last its continuation.
  EXPECT_EQ(sc.corpus.sentence_begin[1] - sc.corpus.sentence_begin[0], 3);
  EXPECT_EQ(sc.SentenceOf(sc.corpus.ids[0]), 0);
  EXPECT_EQ(sc.corpus.multi_sentence_docs.size(), size_t(SyntheticCorpus::kDocs));
}

TEST(PretrainData, MaskingProportionsAndExactCount) {
  SyntheticCorpus sc;
  MaskingOptions o;  // 15%, 80/10/10
  int64_t predicted = 0, masked = 0, random = 0, kept = 0;
  for (uint64_t seed = 0; seed < 400; ++seed) {
    std::vector<int32_t> ids;
    for (int i = 0; i < 100; ++i) ids.push_back(sc.tok.vocab_size - 1 - (i % 20));
    std::vector<uint8_t> cand(ids.size(), 1);
    cand[0] = cand[99] = 0;  // e.g. [CLS] / [SEP] positions
    const std::vector<int32_t> orig = ids;
    const std::vector<int32_t> labels = MaskTokens(&ids, cand, sc.tok, o, seed);
    int64_t here = 0;
    for (size_t i = 0; i < ids.size(); ++i) {
      if (labels[i] == -100) {
        ASSERT_EQ(ids[i], orig[i]) << "an unpredicted position changed";
        continue;
      }
      ASSERT_TRUE(cand[i]) << "a non-candidate position was predicted";
      ASSERT_EQ(labels[i], orig[i]);
      ++here;
      if (ids[i] == sc.tok.mask_id) {
        ++masked;
      } else if (ids[i] != orig[i]) {
        ++random;
        ASSERT_FALSE(sc.tok.special[size_t(ids[i])]) << "a random replacement was a special token";
      } else {
        ++kept;
      }
    }
    EXPECT_EQ(here, 15) << "round(0.15 * 98 candidates)";
    predicted += here;
  }
  const double p = static_cast<double>(predicted);
  EXPECT_NEAR(masked / p, 0.8, 0.02);
  // A random draw can hit the original token; then it counts as kept (~1/V of 10%).
  EXPECT_NEAR(random / p, 0.1, 0.015);
  EXPECT_NEAR(kept / p, 0.1, 0.015);
}

TEST(PretrainData, WholeWordMaskingPredictsWholeWords) {
  SyntheticCorpus sc;
  BatchOptions o;
  o.batch = 8;
  o.seq = 32;
  o.masking.whole_word = true;
  o.masking.rate = 0.3f;
  int64_t words = 0;
  for (int64_t step = 0; step < 50; ++step) {
    const PretrainBatch pb = MakeMlmBatch(sc.corpus, sc.tok, o, step);
    for (int b = 0; b < o.batch; ++b) {
      for (int t = 1; t + 1 < o.seq; ++t) {
        const size_t n = size_t(b) * o.seq + t;
        const int32_t id = pb.original_ids[n];
        if (id == sc.tok.pad_id || sc.tok.special[size_t(id)]) continue;
        if (!sc.tok.word_start[size_t(id)]) {  // a continuation: same fate as the token before it
          ASSERT_EQ(pb.mlm_labels[n] == -100, pb.mlm_labels[n - 1] == -100) << "word split at step " << step;
        } else if (pb.mlm_labels[n] != -100) {
          ++words;
        }
      }
    }
  }
  EXPECT_GT(words, 100);
  // Without the option the same draws split words.
  o.masking.whole_word = false;
  int64_t split = 0;
  for (int64_t step = 0; step < 50; ++step) {
    const PretrainBatch pb = MakeMlmBatch(sc.corpus, sc.tok, o, step);
    for (size_t n = 1; n < pb.original_ids.size(); ++n) {
      const int32_t id = pb.original_ids[n];
      if (id == sc.tok.pad_id || sc.tok.special[size_t(id)] || sc.tok.word_start[size_t(id)]) continue;
      split += (pb.mlm_labels[n] == -100) != (pb.mlm_labels[n - 1] == -100);
    }
  }
  EXPECT_GT(split, 0);
}

// Splits a pair sequence into the sentence ids of A and B.
void SplitPair(const SyntheticCorpus& sc, const PretrainBatch& pb, int b, int T, std::vector<int64_t>* a,
               std::vector<int64_t>* bs) {
  int seps = 0;
  for (int t = 1; t < T; ++t) {
    const size_t n = size_t(b) * T + t;
    const int32_t id = pb.original_ids[n];
    if (id == sc.tok.sep_id) {
      if (++seps == 2) break;
      continue;
    }
    ASSERT_EQ(pb.batch.token_type_ids[n], seps) << "token type must be 0 in A, 1 in B";
    std::vector<int64_t>* dst = seps == 0 ? a : bs;
    const int64_t s = sc.SentenceOf(id);
    if (s >= 0 && (dst->empty() || dst->back() != s)) dst->push_back(s);
  }
}

TEST(PretrainData, SentenceOrderPairsAreConsecutiveAndSwappedExactlyWhenLabelled) {
  SyntheticCorpus sc;
  BatchOptions o;
  o.batch = 16;
  o.seq = 24;
  o.sentence = SentenceTask::kSop;
  int swapped = 0, total = 0;
  for (int64_t step = 0; step < 40; ++step) {
    const PretrainBatch pb = MakeMlmBatch(sc.corpus, sc.tok, o, step);
    ASSERT_EQ(pb.sentence_labels.size(), size_t(o.batch));
    for (int b = 0; b < o.batch; ++b) {
      std::vector<int64_t> a, bs;
      SplitPair(sc, pb, b, o.seq, &a, &bs);
      ASSERT_FALSE(a.empty());
      ASSERT_FALSE(bs.empty());
      const std::vector<int64_t>& first = pb.sentence_labels[size_t(b)] ? bs : a;
      const std::vector<int64_t>& second = pb.sentence_labels[size_t(b)] ? a : bs;
      // In document order, `first` then `second` are consecutive sentences of one document.
      std::vector<int64_t> all = first;
      all.insert(all.end(), second.begin(), second.end());
      for (size_t i = 1; i < all.size(); ++i) {
        ASSERT_EQ(all[i], all[i - 1] + 1) << "segments are not consecutive (step " << step << ", row " << b << ")";
        ASSERT_EQ(sc.DocOf(all[i]), sc.DocOf(all[0])) << "segments cross a document";
      }
      swapped += pb.sentence_labels[size_t(b)];
      ++total;
    }
  }
  EXPECT_NEAR(static_cast<double>(swapped) / total, 0.5, 0.08);
}

TEST(PretrainData, NextSentenceNegativesComeFromAnotherDocument) {
  SyntheticCorpus sc;
  BatchOptions o;
  o.batch = 16;
  o.seq = 24;
  o.sentence = SentenceTask::kNsp;
  int negatives = 0;
  for (int64_t step = 0; step < 20; ++step) {
    const PretrainBatch pb = MakeMlmBatch(sc.corpus, sc.tok, o, step);
    for (int b = 0; b < o.batch; ++b) {
      std::vector<int64_t> a, bs;
      SplitPair(sc, pb, b, o.seq, &a, &bs);
      if (pb.sentence_labels[size_t(b)]) {
        ++negatives;
        EXPECT_NE(sc.DocOf(bs.front()), sc.DocOf(a.front()));
      } else {
        EXPECT_EQ(bs.front(), a.back() + 1);
      }
    }
  }
  EXPECT_GT(negatives, 100);
}

TEST(PretrainData, DrawsArePureFunctionsOfSeedStepRank) {
  SyntheticCorpus sc;
  BatchOptions o;
  o.batch = 4;
  o.seq = 16;
  const PretrainBatch a = MakeMlmBatch(sc.corpus, sc.tok, o, 7);
  MakeMlmBatch(sc.corpus, sc.tok, o, 3);  // no hidden state between calls
  const PretrainBatch b = MakeMlmBatch(sc.corpus, sc.tok, o, 7);
  EXPECT_EQ(a.batch.input_ids, b.batch.input_ids);
  EXPECT_EQ(a.mlm_labels, b.mlm_labels);
  o.rank = 1;
  EXPECT_NE(MakeMlmBatch(sc.corpus, sc.tok, o, 7).batch.input_ids, a.batch.input_ids);
  o.rank = 0;
  o.seed = 2;
  EXPECT_NE(MakeMlmBatch(sc.corpus, sc.tok, o, 7).batch.input_ids, a.batch.input_ids);
}

TEST(PretrainData, CausalWindowsAreContiguousSlices) {
  SyntheticCorpus sc;
  BatchOptions o;
  o.batch = 3;
  o.seq = 10;
  const PretrainBatch pb = MakeClmBatch(sc.corpus, sc.tok, o, 0);
  for (int b = 0; b < o.batch; ++b) {
    const auto row = pb.batch.input_ids.begin() + b * o.seq;
    auto it = std::search(sc.corpus.ids.begin(), sc.corpus.ids.end(), row, row + o.seq);
    EXPECT_NE(it, sc.corpus.ids.end()) << "window " << b << " is not a slice of the stream";
  }
  EXPECT_EQ(pb.mlm_labels, pb.batch.input_ids);
}

TEST(PretrainData, ErrorsNameTheInput) {
  SyntheticCorpus sc;
  try {
    TokenizeCorpusFile(sc.dir / "missing.txt", sc.tok, 1);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing.txt"), std::string::npos) << e.what();
  }
  spade::testing::WriteFile(sc.dir / "blank.txt", "\n\n  \n");
  EXPECT_THROW(TokenizeCorpusFile(sc.dir / "blank.txt", sc.tok, 1), Error);
  try {
    LoadTextTokenizer(sc.dir.path());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no tokenizer"), std::string::npos) << e.what();
  }
}

TEST(PretrainData, TokenizationIsTheSameOnAnyThreadCount) {
  SyntheticCorpus sc;
  const TokenizedCorpus two = TokenizeCorpusFile(sc.dir / "train.txt", sc.tok, 2);
  EXPECT_EQ(two.ids, sc.corpus.ids);
  EXPECT_EQ(two.sentence_begin, sc.corpus.sentence_begin);
  EXPECT_EQ(two.doc_begin, sc.corpus.doc_begin);
}

}  // namespace
}  // namespace spade::encoder
