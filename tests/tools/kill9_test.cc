// A `spade kg build` killed with SIGKILL at any moment leaves the previous KG at --out
// whole and readable (or, if the kill came after the swap, the complete new one).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "kg/store.h"
#include "tests/test_util.h"
#include "tests/tools/cli_util.h"

namespace spade::testing {
namespace {

TEST(Kill9, InterruptedBuildsNeverDamageTheStore) {
  TempDir dir;
  WriteFile(dir / "small.tsv", "shovel\tUsedFor\tdig\nspade\tIsA\ttool\n");
  ASSERT_EQ(RunSpade("kg build --quiet --out " + dir / "kg " + dir / "small.tsv", dir / "err").rc, 0);
  std::string big;
  for (int i = 0; i < 600000; ++i) {
    big += "IsA\tthing number " + std::to_string(i) + "\tclass " + std::to_string(i % 997) + "\t1\n";
  }
  WriteFile(dir / "big.txt", big);
  const uint64_t kBigEdges = 600000;
  int old_seen = 0, new_seen = 0;
  for (int delay_ms : {5, 40, 120, 250, 400, 600, 900, 1300, 1800, 2500, 3500}) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      std::string out = dir / "kg";
      std::string in = dir / "big.txt";
      execl(SpadeBinary().c_str(), "spade", "kg", "build", "--quiet", "--out", out.c_str(), in.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    std::unique_ptr<kg::KgStore> s;
    ASSERT_NO_THROW(s = kg::KgStore::Open(dir / "kg")) << "after kill at " << delay_ms << " ms";
    uint64_t edges = s->metadata().edges;
    ASSERT_TRUE(edges == 2 || edges == kBigEdges) << edges;
    ASSERT_EQ(s->LoadGraph().num_edges(), edges);
    (edges == 2 ? old_seen : new_seen)++;
    if (edges == kBigEdges) break;  // the build finished before the kill
  }
  EXPECT_GT(old_seen, 0);
  // The next build cleans up what killed builds left behind.
  ASSERT_EQ(RunSpade("kg build --quiet --out " + dir / "kg " + dir / "small.tsv", dir / "err").rc, 0);
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    EXPECT_EQ(e.path().filename().string().find("kg.tmp-"), std::string::npos) << "leftover " << e.path();
  }
}

}  // namespace
}  // namespace spade::testing
