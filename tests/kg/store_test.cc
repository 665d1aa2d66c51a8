#include "kg/store.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "data/error.h"
#include "kg/builder.h"
#include "tests/test_util.h"

namespace spade::kg {
namespace {

using testing::TempDir;
using testing::WriteFile;

void BuildSmall(const std::string& out, const std::string& dir) {
  WriteFile(dir + "/t.tsv",
            "shovel\tUsedFor\tdig\t3\nshovel\tIsA\ttool\nshovel\tAtLocation\tshed\nspade\tIsA\ttool\n"
            "garden\tHasA\tshovel\n");
  BuildOptions o;
  o.out = out;
  o.inputs = {{dir + "/t.tsv", InputFormat::kTsv}};
  BuildKg(o);
}

ErrorCode OpenError(const std::string& dir, std::string* msg) {
  try {
    KgStore::Open(dir);
  } catch (const Error& e) {
    *msg = e.what();
    return e.code();
  }
  ADD_FAILURE() << "opened " << dir;
  return ErrorCode::kIOError;
}

TEST(KgStore, NeighboursComeOrderedByDirectionThenRelation) {
  TempDir dir;
  BuildSmall(dir / "kg", dir.path());
  auto s = KgStore::Open(dir / "kg");
  auto id = s->FindConcept("shovel");
  ASSERT_TRUE(id);
  std::vector<std::string> got;
  for (const Neighbor& n : s->Neighbors(*id, std::nullopt, Direction::kBoth)) {
    got.push_back(std::string(n.direction == Direction::kOut ? "out " : "in ") + s->relations()[n.relation] + " " + n.name);
  }
  std::vector<std::string> want = {"out AtLocation shed", "out IsA tool", "out UsedFor dig", "in HasA garden"};
  EXPECT_EQ(got, want);
  EXPECT_EQ(s->Neighbors(*id, std::nullopt, Direction::kBoth, /*limit=*/2).size(), 2u);
  auto tool = s->FindConcept("tool");
  EXPECT_EQ(s->Neighbors(*tool, s->FindRelation("IsA"), Direction::kIn).size(), 2u);
  EXPECT_EQ(s->FindConcept("excavator"), std::nullopt);
  EXPECT_THROW(s->ConceptName(999), Error);
}

TEST(KgStore, GraphMatchesTheStore) {
  TempDir dir;
  BuildSmall(dir / "kg", dir.path());
  auto s = KgStore::Open(dir / "kg");
  Graph g = s->LoadGraph();
  EXPECT_EQ(g.num_concepts(), s->metadata().concepts);
  EXPECT_EQ(g.num_edges(), s->metadata().edges);
  ConceptId shovel = *g.find("shovel");
  EXPECT_EQ(g.out_edges(shovel).size(), 3u);
  ASSERT_EQ(g.in_edges(shovel).size(), 1u);
  EXPECT_EQ(g.concept_name(g.in_edges(shovel)[0].other), "garden");
}

TEST(KgStore, ClearErrorsForWhatIsNotAKg) {
  TempDir dir;
  std::string msg;
  EXPECT_EQ(OpenError(dir / "missing", &msg), ErrorCode::kNotFound);
  EXPECT_NE(msg.find("no such KG directory"), std::string::npos);
  std::filesystem::create_directories(dir / "empty");
  EXPECT_EQ(OpenError(dir / "empty", &msg), ErrorCode::kCorruption);
  EXPECT_NE(msg.find("is not a Spade KG"), std::string::npos) << msg;
  // A RocksDB database that Spade did not write.
  rocksdb::Options o;
  o.create_if_missing = true;
  rocksdb::DB* db = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(o, dir / "other", &db).ok());
  db->Put(rocksdb::WriteOptions(), "k", "v");
  delete db;
  EXPECT_EQ(OpenError(dir / "other", &msg), ErrorCode::kCorruption);
  EXPECT_NE(msg.find("is a RocksDB database but not a Spade KG"), std::string::npos) << msg;
}

TEST(KgStore, AnotherFormatVersionSaysSo) {
  TempDir dir;
  BuildSmall(dir / "kg", dir.path());
  {
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options(), dir / "kg", &db).ok());
    db->Put(rocksdb::WriteOptions(), "Mformat_version", "999");
    delete db;
  }
  std::string msg;
  EXPECT_EQ(OpenError(dir / "kg", &msg), ErrorCode::kFormatVersion);
  EXPECT_NE(msg.find("KG format version 999, but this spade reads version 1"), std::string::npos) << msg;
}

TEST(KgStore, SeveralProcessesReadAtOnce) {
  TempDir dir;
  BuildSmall(dir / "kg", dir.path());
  auto a = KgStore::Open(dir / "kg");
  auto b = KgStore::Open(dir / "kg");
  pid_t children[3];
  for (pid_t& child : children) {
    child = fork();
    if (child == 0) {
      int ok = 0;
      try {
        auto s = KgStore::Open(dir / "kg");
        ok = s->FindConcept("shovel").has_value() && s->LoadGraph().num_edges() == 5;
      } catch (...) {
      }
      _exit(ok ? 0 : 1);
    }
  }
  for (pid_t child : children) {
    int status = 0;
    waitpid(child, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  EXPECT_EQ(a->FindConcept("dig"), b->FindConcept("dig"));
}

TEST(KgStore, BlobsRoundTrip) {
  TempDir dir;
  BuildSmall(dir / "kg", dir.path());
  EXPECT_EQ(KgStore::Open(dir / "kg")->ReadBlob("transe"), std::nullopt);
  std::string bytes("\0\1\2binary", 9);
  KgStore::WriteBlob(dir / "kg", "transe", bytes);
  EXPECT_EQ(KgStore::Open(dir / "kg")->ReadBlob("transe"), bytes);
  EXPECT_EQ(KgStore::Open(dir / "kg")->metadata().edges, 5u);
}

}  // namespace
}  // namespace spade::kg
