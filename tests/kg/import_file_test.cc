#include <gtest/gtest.h>
#include <zlib.h>

#include "data/error.h"
#include "kg/import.h"
#include "tests/test_util.h"

namespace spade::kg {
namespace {

using testing::SourcePath;
using testing::TempDir;
using testing::WriteFile;

struct Collected {
  std::vector<RawAssertion> rows;
  std::vector<std::string> bad;
  ImportCallbacks callbacks() {
    ImportCallbacks cb;
    cb.sink = [this](std::vector<RawAssertion>&& b) { rows.insert(rows.end(), b.begin(), b.end()); };
    cb.on_bad_row = [this](const std::string& where, const std::string& reason) { bad.push_back(where + ": " + reason); };
    return cb;
  }
};

TEST(DetectFormat, RecognisesEveryShippedFile) {
  EXPECT_EQ(DetectFormat(SourcePath("data/kg/conceptnet5_sample/cn55_api_en_edges.csv.gz")), InputFormat::kConceptNet5);
  EXPECT_EQ(DetectFormat(SourcePath("data/kg/conceptnet100k/train100k.txt.gz")), InputFormat::kConceptNet100k);
  EXPECT_EQ(DetectFormat(SourcePath("data/kg/conceptnet4/cn4_en_triples.tsv.gz")), InputFormat::kConceptNet4);
  EXPECT_EQ(DetectFormat("/usr/share/wordnet"), InputFormat::kWordNet);
  TempDir dir;
  WriteFile(dir / "t.tsv", "# my triples\nshovel\tUsedFor\tdig\n");
  EXPECT_EQ(DetectFormat(dir / "t.tsv"), InputFormat::kTsv);
  WriteFile(dir / "x.txt", "hello world\n");
  EXPECT_THROW(DetectFormat(dir / "x.txt"), Error);
}

TEST(ImportFile, ConceptNet5SampleImportsEveryRow) {
  Collected c;
  ImportOptions opt;
  ImportStats st = ImportFile(SourcePath("data/kg/conceptnet5_sample/cn55_api_en_edges.csv.gz"),
                              InputFormat::kConceptNet5, opt, c.callbacks());
  EXPECT_EQ(st.rows, 15766u);
  EXPECT_EQ(st.bad_rows, 0u);
  EXPECT_EQ(st.assertions + st.skipped, 15766u);
  EXPECT_EQ(c.rows.size(), st.assertions);
  EXPECT_TRUE(c.bad.empty());
  // The sample's first row: /c/en/0/n -Antonym-> /c/en/1, in file order.
  EXPECT_EQ(c.rows[0].head, "0");
  EXPECT_EQ(c.rows[0].relation, "Antonym");
  EXPECT_EQ(c.rows[0].tail, "1");
}

TEST(ImportFile, BadRowsAreReportedWithFileLineAndSkipped) {
  TempDir dir;
  std::string path = dir / "t.tsv";
  WriteFile(path, "dog\tIsA\tanimal\n" "cat\tIsA\n" "c\xfft\tIsA\tanimal\n" + std::string(2 << 20, 'x') +
                      "\n" "bird\tCapableOf\tfly\t0.5\n");
  Collected c;
  ImportStats st = ImportFile(path, InputFormat::kTsv, ImportOptions{}, c.callbacks());
  EXPECT_EQ(st.rows, 5u);
  EXPECT_EQ(st.bad_rows, 3u);
  ASSERT_EQ(c.rows.size(), 2u);
  EXPECT_EQ(c.rows[1].head, "bird");
  ASSERT_EQ(c.bad.size(), 3u);
  EXPECT_EQ(c.bad[0], path + ":2: expected 3 or 4 tab-separated columns, got 2");
  EXPECT_EQ(c.bad[1], path + ":3: invalid UTF-8");
  EXPECT_EQ(c.bad[2], path + ":4: line longer than 1048576 bytes");
}

TEST(ImportFile, StrictStopsAtTheFirstBadRow) {
  TempDir dir;
  std::string path = dir / "t.tsv";
  WriteFile(path, "dog\tIsA\tanimal\ncat\tIsA\n");
  ImportOptions opt;
  opt.strict = true;
  Collected c;
  try {
    ImportFile(path, InputFormat::kTsv, opt, c.callbacks());
    FAIL();
  } catch (const ParseError& e) {
    EXPECT_EQ(std::string(e.what()), path + ":2: expected 3 or 4 tab-separated columns, got 2");
  }
}

TEST(ImportFile, TruncatedGzipFailsTheImport) {
  TempDir dir;
  std::string text;
  for (int i = 0; i < 100000; ++i) text += "IsA\tthing" + std::to_string(i) + "\tobject\t1\n";
  std::string gz = dir / "full.gz";
  gzFile f = gzopen(gz.c_str(), "wb");
  gzwrite(f, text.data(), static_cast<unsigned>(text.size()));
  gzclose(f);
  std::string bytes;
  {
    std::ifstream in(gz, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  WriteFile(dir / "cut.gz", bytes.substr(0, bytes.size() * 2 / 3));
  Collected c;
  try {
    ImportFile(dir / "cut.gz", InputFormat::kConceptNet100k, ImportOptions{}, c.callbacks());
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kCorruption);
    EXPECT_NE(std::string(e.what()).find("cut.gz: truncated gzip stream"), std::string::npos) << e.what();
  }
}

TEST(ImportFile, ChunkedParallelParseKeepsFileOrder) {
  TempDir dir;
  std::string text;
  for (int i = 0; i < 300000; ++i) text += "IsA\tthing" + std::to_string(i) + "\tobject\t1\n";  // many chunks
  WriteFile(dir / "big.txt", text);
  Collected c;
  ImportOptions opt;
  opt.threads = 2;
  ImportStats st = ImportFile(dir / "big.txt", InputFormat::kConceptNet100k, opt, c.callbacks());
  ASSERT_EQ(st.assertions, 300000u);
  for (int i = 0; i < 300000; i += 9973) EXPECT_EQ(c.rows[static_cast<size_t>(i)].head, "thing" + std::to_string(i));
}

}  // namespace
}  // namespace spade::kg
