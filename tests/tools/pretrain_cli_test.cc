// `spade pretrain` end to end: a run killed with SIGKILL at arbitrary moments and restarted
// with --resume ends with the same bytes as an uninterrupted run; bad flags and inputs are
// clear errors.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/encoder/pretrain_fixture.h"
#include "tests/test_util.h"
#include "tests/tools/cli_util.h"

namespace spade::testing {
namespace {

const char* kConfig = R"({"model_type": "bert", "hidden_size": 32, "num_hidden_layers": 2,
  "num_attention_heads": 2, "intermediate_size": 64, "max_position_embeddings": 32})";

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Args(const SyntheticCorpus& sc, const std::string& out) {
  return "pretrain --objective mlm --corpus " + sc.dir.path() + " --config " + sc.dir / "config.json" + " --out " + out +
         " --steps 800 --batch 8 --seq 16 --save-every 7 --eval-every 400 --eval-batches 2 --threads 1 --seed 3";
}

TEST(PretrainCli, Kill9AndResumeEqualsAnUninterruptedRun) {
  SyntheticCorpus sc;
  WriteFile(sc.dir / "config.json", kConfig);
  const RunResult straight = RunSpade(Args(sc, sc.dir / "straight"), sc.dir / "err");
  ASSERT_EQ(straight.rc, 0) << straight.err;
  EXPECT_NE(straight.out.find("held-out mlm_accuracy"), std::string::npos) << straight.out;

  const std::string out = sc.dir / "killed";
  int kills = 0;
  bool done = false;
  for (int attempt = 0; attempt < 40 && !done; ++attempt) {
    const bool resume = std::filesystem::exists(out + "/checkpoint.safetensors");
    const std::string cmd = SpadeBinary() + " " + Args(sc, out) + (resume ? " --resume" : "") + " >/dev/null 2>&1";
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      execl("/bin/sh", "sh", "-c", ("exec " + cmd).c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(80 + 61 * (attempt % 7)));
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == 0) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      ++kills;
    } else {
      ASSERT_TRUE(WIFEXITED(status)) << "attempt " << attempt;
      ASSERT_EQ(WEXITSTATUS(status), 0) << "attempt " << attempt;
      done = true;
    }
  }
  if (!done) {
    const RunResult last = RunSpade(Args(sc, out) + " --resume", sc.dir / "err");
    ASSERT_EQ(last.rc, 0) << last.err;
  }
  EXPECT_GT(kills, 0) << "the run finished before any kill: make it longer";
  EXPECT_TRUE(ReadBytes(sc.dir / "straight/model.safetensors") == ReadBytes(out + "/model.safetensors"))
      << "after " << kills << " kills the weights differ from the uninterrupted run";
}

TEST(PretrainCli, ErrorsNameWhatIsWrong) {
  SyntheticCorpus sc;
  WriteFile(sc.dir / "config.json", kConfig);
  RunResult r = RunSpade("pretrain --corpus " + sc.dir / "nope" + " --preset tiny --out " + sc.dir / "o", sc.dir / "err");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("nope"), std::string::npos) << r.err;
  r = RunSpade("pretrain --corpus " + sc.dir.path() + " --preset tiny --config " + sc.dir / "config.json" + " --out " +
                   sc.dir / "o",
               sc.dir / "err");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("exactly one of --preset and --config"), std::string::npos) << r.err;
  r = RunSpade("pretrain --objective bogus --corpus " + sc.dir.path() + " --preset tiny --out " + sc.dir / "o", sc.dir / "err");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("unknown objective 'bogus'"), std::string::npos) << r.err;
  r = RunSpade("pretrain --corpus " + sc.dir.path() + " --config " + sc.dir / "config.json" + " --out " + sc.dir / "o" +
                   " --resume --steps 3 --batch 2 --seq 16",
               sc.dir / "err");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("no checkpoint"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace spade::testing
