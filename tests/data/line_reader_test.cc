#include "data/line_reader.h"

#include <gtest/gtest.h>

#include "tests/data/gzip_util.h"
#include <zlib.h>

#include <vector>

#include "data/error.h"
#include "data/sha256.h"
#include "tests/test_util.h"

namespace spade {
namespace {

using testing::TempDir;
using testing::WriteFile;

using testing::Gzip;

std::vector<std::string> ReadAll(const std::string& path) {
  LineReader r(path);
  std::vector<std::string> lines;
  std::string_view line;
  while (r.Next(&line) == LineReader::Status::kLine) lines.emplace_back(line);
  return lines;
}

TEST(LineReader, PlainAndGzipGiveTheSameLines) {
  TempDir dir;
  std::string text = "first\r\nsecond\n\nlast without newline";
  WriteFile(dir / "a.txt", text);
  WriteFile(dir / "a.txt.gz", Gzip(text));
  std::vector<std::string> want = {"first", "second", "", "last without newline"};
  EXPECT_EQ(ReadAll(dir / "a.txt"), want);
  EXPECT_EQ(ReadAll(dir / "a.txt.gz"), want);
}

TEST(LineReader, LinesStraddlingBufferRefillsAreWhole) {
  TempDir dir;
  std::string text;
  for (int i = 0; i < 200000; ++i) text += "row number " + std::to_string(i) + "\n";  // > 1 MiB buffer
  WriteFile(dir / "big.gz", Gzip(text));
  std::vector<std::string> lines = ReadAll(dir / "big.gz");
  ASSERT_EQ(lines.size(), 200000u);
  EXPECT_EQ(lines[123456], "row number 123456");
}

TEST(LineReader, ChunksHoldWholeLinesAndCountThem) {
  TempDir dir;
  std::string text;
  for (int i = 0; i < 50000; ++i) text += "line " + std::to_string(i) + "\n";
  text += "tail";
  WriteFile(dir / "c.txt", text);
  LineReader r(dir / "c.txt");
  std::string chunk, all;
  size_t lines = 0, n;
  while ((n = r.NextChunk(64 * 1024, &chunk)) > 0) {
    ASSERT_EQ(chunk.back(), '\n');
    lines += n;
    all += chunk;
  }
  EXPECT_EQ(lines, 50001u);
  EXPECT_EQ(all, text + "\n");
  EXPECT_EQ(r.line_number(), 50001u);
}

TEST(LineReader, OverLongLineIsReportedAndSkipped) {
  TempDir dir;
  WriteFile(dir / "long.txt", "ok\n" + std::string(5000, 'x') + "\nafter\n");
  LineReader r(dir / "long.txt", /*max_line_bytes=*/1000);
  std::string_view line;
  ASSERT_EQ(r.Next(&line), LineReader::Status::kLine);
  EXPECT_EQ(r.Next(&line), LineReader::Status::kTooLong);
  EXPECT_EQ(r.line_number(), 2u);
  ASSERT_EQ(r.Next(&line), LineReader::Status::kLine);
  EXPECT_EQ(line, "after");
}

TEST(LineReader, TruncatedGzipIsACorruptionErrorNamingTheFile) {
  TempDir dir;
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "some row " + std::to_string(i) + "\n";
  std::string gz = Gzip(text);
  WriteFile(dir / "cut.gz", gz.substr(0, gz.size() / 2));
  try {
    ReadAll(dir / "cut.gz");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kCorruption);
    EXPECT_NE(std::string(e.what()).find("cut.gz: truncated gzip stream"), std::string::npos) << e.what();
  }
}

TEST(LineReader, MissingFileIsNotFound) {
  try {
    LineReader r("/nonexistent/file.txt");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/file.txt"), std::string::npos);
  }
}

TEST(Sha256, MatchesFips180Vectors) {
  Sha256 a;
  a.Update("abc");
  EXPECT_EQ(a.HexDigest(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256 b;
  b.Update("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq");
  EXPECT_EQ(b.HexDigest(), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  Sha256 c;
  EXPECT_EQ(c.HexDigest(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  TempDir dir;
  WriteFile(dir / "m", std::string(1000000, 'a'));  // the million-'a' vector, through the file path
  EXPECT_EQ(Sha256File(dir / "m"), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

}  // namespace
}  // namespace spade
