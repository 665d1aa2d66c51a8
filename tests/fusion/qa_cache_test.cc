// The evidence cache (fusion/qa_cache.h): a round trip keeps every field; a changed data
// file, KG (vectors) or option makes a new key and a rebuild; a truncated or altered file is
// reported corrupt and rebuilt, never used.
#include "fusion/qa_cache.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/fusion/dig_knowledge.h"
#include "tests/test_util.h"

namespace spade::fusion {
namespace {

using spade::testing::TempDir;
using spade::testing::WriteFile;

class QaCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(d_.path() + "/tok");
    std::filesystem::copy_file(std::string(SPADE_SOURCE_DIR) + "/data/tokenizers/bert-base-uncased-vocab.txt",
                               d_.path() + "/tok/vocab.txt");
    tok_ = encoder::LoadTextTokenizer(d_.path() + "/tok");
    data_ = d_.path() + "/q.jsonl";
    WriteFile(data_, Line("I dug the ground to plant flowers. What did I dig with?", "spoon", "shovel") +
                         Line("Where do flowers grow?", "garden", "bird"));
  }
  static std::string Line(const std::string& stem, const std::string& a, const std::string& b) {
    return "{\"id\": \"x\", \"question\": {\"question_concept\": \"dig\", \"stem\": \"" + stem +
           "\", \"choices\": [{\"label\": \"A\", \"text\": \"" + a + "\"}, {\"label\": \"B\", \"text\": \"" + b +
           "\"}]}, \"answerKey\": \"B\"}\n";
  }
  std::vector<data::McqItem> Items() const { return data::ReadMcqJsonl(data_); }
  std::string Cache() const { return d_.path() + "/cache"; }
  std::string CacheFile() const {
    for (const auto& e : std::filesystem::directory_iterator(Cache())) return e.path().string();
    return "";
  }
  TempDir d_;
  testing::DigKnowledge dig_{5};
  QaKnowledge& k_ = dig_.k;
  encoder::TextTokenizer tok_;
  std::string data_;
};

void ExpectSame(const std::vector<QaExample>& a, const std::vector<QaExample>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].id, b[i].id);
    EXPECT_EQ(a[i].source, b[i].source);
    EXPECT_EQ(a[i].label, b[i].label);
    ASSERT_EQ(a[i].choices.size(), b[i].choices.size());
    for (size_t c = 0; c < a[i].choices.size(); ++c) {
      const QaChoice &x = a[i].choices[c], &y = b[i].choices[c];
      EXPECT_EQ(x.ids, y.ids);
      EXPECT_EQ(x.type_ids, y.type_ids);
      EXPECT_EQ(x.entity, y.entity);
      EXPECT_EQ(x.kg_features, y.kg_features);
      EXPECT_EQ(x.dropped_mentions, y.dropped_mentions);
      ASSERT_EQ(x.pairs.size(), y.pairs.size());
      for (size_t p = 0; p < x.pairs.size(); ++p) {
        EXPECT_EQ(x.pairs[p].question, y.pairs[p].question);
        ASSERT_EQ(x.pairs[p].paths.size(), y.pairs[p].paths.size());
        for (size_t k = 0; k < x.pairs[p].paths.size(); ++k) {
          EXPECT_EQ(x.pairs[p].paths[k].concepts, y.pairs[p].paths[k].concepts);
          EXPECT_EQ(x.pairs[p].paths[k].score, y.pairs[p].paths[k].score);
          ASSERT_EQ(x.pairs[p].paths[k].edges.size(), y.pairs[p].paths[k].edges.size());
          for (size_t e = 0; e < x.pairs[p].paths[k].edges.size(); ++e) {
            EXPECT_EQ(x.pairs[p].paths[k].edges[e].relation, y.pairs[p].paths[k].edges[e].relation);
            EXPECT_EQ(x.pairs[p].paths[k].edges[e].forward, y.pairs[p].paths[k].edges[e].forward);
          }
        }
      }
    }
  }
}

TEST_F(QaCacheTest, BuiltThenReadBackWithEveryField) {
  std::string note;
  const auto built = CachedQaExamples(data_, Items(), k_, tok_, {}, 2, Cache(), &note);
  EXPECT_EQ(note.rfind("built ", 0), 0u) << note;
  ASSERT_FALSE(built[0].choices[1].pairs.empty());  // dig <-UsedFor- shovel
  const auto read = CachedQaExamples(data_, Items(), k_, tok_, {}, 2, Cache(), &note);
  EXPECT_EQ(note.rfind("read ", 0), 0u) << note;
  ExpectSame(built, read);
  ExpectSame(built, BuildQaExamples(Items(), k_, tok_, {}, 1));
}

TEST_F(QaCacheTest, ChangedDataKgOrOptionsMakeANewKey) {
  const std::string base = QaCacheKey(data_, k_, tok_, {});
  QaExampleOptions o;
  o.max_seq = 32;
  EXPECT_NE(QaCacheKey(data_, k_, tok_, o), base);
  QaKnowledge other = k_;
  other.identity.probe_vectors[0] += 0.5f;  // re-embedded KG
  EXPECT_NE(QaCacheKey(data_, other, tok_, {}), base);
  other = k_;
  other.scorer.paths.max_hops = 2;
  EXPECT_NE(QaCacheKey(data_, other, tok_, {}), base);
  WriteFile(data_, Line("Where do flowers grow?", "garden", "bird"));
  EXPECT_NE(QaCacheKey(data_, k_, tok_, {}), base);
}

TEST_F(QaCacheTest, StaleKeyIsNotUsed) {
  std::string note, why;
  CachedQaExamples(data_, Items(), k_, tok_, {}, 1, Cache(), &note);
  EXPECT_FALSE(LoadQaExamples(CacheFile(), std::string(64, 'a'), &why).has_value());
  EXPECT_EQ(why.rfind("stale: built for key", 0), 0u) << why;
}

TEST_F(QaCacheTest, CorruptFilesAreRebuiltNeverUsed) {
  std::string note, why;
  const auto built = CachedQaExamples(data_, Items(), k_, tok_, {}, 1, Cache(), &note);
  const std::string file = CacheFile(), key = QaCacheKey(data_, k_, tok_, {});
  std::string bytes;
  {
    std::ifstream in(file, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  // One flipped byte inside the examples: the checksum catches it.
  std::string flipped = bytes;
  flipped[bytes.size() / 2] ^= 0x5a;
  WriteFile(file, flipped);
  EXPECT_FALSE(LoadQaExamples(file, key, &why).has_value());
  EXPECT_EQ(why, "corrupt: checksum mismatch");
  // Every truncation is refused.
  for (size_t n : {size_t{0}, size_t{5}, size_t{80}, bytes.size() / 2, bytes.size() - 1}) {
    WriteFile(file, bytes.substr(0, n));
    EXPECT_FALSE(LoadQaExamples(file, key, &why).has_value()) << n;
    EXPECT_EQ(why.rfind("corrupt", 0), 0u) << why;
  }
  const auto again = CachedQaExamples(data_, Items(), k_, tok_, {}, 1, Cache(), &note);
  EXPECT_EQ(note.rfind("rebuilt (corrupt", 0), 0u) << note;
  ExpectSame(built, again);
  CachedQaExamples(data_, Items(), k_, tok_, {}, 1, Cache(), &note);
  EXPECT_EQ(note.rfind("read ", 0), 0u) << note;
}

}  // namespace
}  // namespace spade::fusion
