// The merge trainers' compressed input (word counts written back as text) against the plain
// reference, training on the raw sentences: same vocabulary, same merges.
#include "fusion/corpus_pipeline.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "data/line_reader.h"
#include "encoder/bpe.h"
#include "encoder/wordpiece_train.h"
#include "tests/test_util.h"

namespace spade::fusion {
namespace {

using testing::SourcePath;
using testing::TempDir;

// The first n sentences of the shipped GenericsKB sample, as a train split file and as lines.
std::vector<std::string> WriteSentences(const std::string& path, size_t n) {
  LineReader reader(SourcePath("data/corpus/genericskb/GenericsKB_additional10k.txt.gz"));
  std::vector<std::string> lines;
  std::ofstream out(path);
  std::string_view line;
  while (lines.size() < n && reader.Next(&line) == LineReader::Status::kLine) {
    std::string_view sentence = line.substr(line.find('\t') + 1);
    sentence = sentence.substr(0, sentence.find('\t'));
    lines.emplace_back(sentence);
    out << sentence << "\n" << (lines.size() % 5 == 0 ? "\n" : "");  // blank lines end documents
  }
  return lines;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(CorpusPipeline, WordPieceFromCountsEqualsWordPieceFromText) {
  TempDir dir;
  std::vector<std::string> lines = WriteSentences(dir / "train.txt", 400);
  WordCounts counts = CountTrainingWords(dir / "train.txt", MergeTrainer::kWordPiece, /*max_types=*/0);
  EXPECT_EQ(counts.kept.size(), counts.types);
  EXPECT_EQ(counts.kept_tokens, counts.tokens);
  uint64_t scale = 0;
  std::vector<std::string> texts = TrainingTexts(counts, MergeTrainer::kWordPiece, /*max_occurrences=*/0, &scale);
  EXPECT_EQ(scale, 1u);
  encoder::WordPieceTrainOptions o;
  o.vocab_size = 700;
  std::vector<std::string> reference = encoder::TrainWordPieceVocab(lines, o);
  EXPECT_EQ(encoder::TrainWordPieceVocab(texts, o), reference);
  EXPECT_EQ(reference.size(), 700u);
}

TEST(CorpusPipeline, BpeFromCountsEqualsBpeFromText) {
  TempDir dir;
  std::vector<std::string> lines = WriteSentences(dir / "train.txt", 400);
  WordCounts counts = CountTrainingWords(dir / "train.txt", MergeTrainer::kBpe, /*max_types=*/0);
  uint64_t scale = 0;
  std::vector<std::string> texts = TrainingTexts(counts, MergeTrainer::kBpe, /*max_occurrences=*/0, &scale);
  encoder::BpeTrainOptions o;
  o.vocab_size = 600;
  encoder::ByteLevelBpe::Train(lines, o).Save(dir / "reference");
  encoder::ByteLevelBpe::Train(texts, o).Save(dir / "counts");
  EXPECT_EQ(Slurp(dir / "counts/merges.txt"), Slurp(dir / "reference/merges.txt"));
  EXPECT_EQ(Slurp(dir / "counts/vocab.json"), Slurp(dir / "reference/vocab.json"));
  EXPECT_GT(encoder::ByteLevelBpe::FromModelDir(dir / "reference").vocab_size(), 500);
}

TEST(CorpusPipeline, MostFrequentWordsAndScaledCounts) {
  TempDir dir;
  {
    std::ofstream out(dir / "train.txt");
    out << "the cat and the dog\n\nthe cat\nthe end\n";
  }
  WordCounts c = CountTrainingWords(dir / "train.txt", MergeTrainer::kWordPiece, /*max_types=*/2);
  EXPECT_EQ(c.kept, (std::vector<std::pair<std::string, int64_t>>{{"the", 4}, {"cat", 2}}));
  EXPECT_EQ(c.types, 5u);
  EXPECT_EQ(c.tokens, 9u);
  EXPECT_EQ(c.kept_tokens, 6u);
  uint64_t scale = 0;
  EXPECT_EQ(TrainingTexts(c, MergeTrainer::kWordPiece, /*max_occurrences=*/3, &scale),
            (std::vector<std::string>{"the the", "cat"}));
  EXPECT_EQ(scale, 2u);
  WordCounts b = CountTrainingWords(dir / "train.txt", MergeTrainer::kBpe, /*max_types=*/1);
  // GPT-2 pieces keep their leading space: "the" starts three lines, " the" is mid-line once.
  EXPECT_EQ(b.kept, (std::vector<std::pair<std::string, int64_t>>{{"the", 3}}));
  EXPECT_EQ(b.types, 6u);
}

}  // namespace
}  // namespace spade::fusion
