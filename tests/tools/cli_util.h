// Runs the built `spade` binary for end-to-end tests.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace spade::testing {

struct RunResult {
  int rc = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

inline std::string SpadeBinary() { return std::string(SPADE_BINARY_DIR) + "/tools/spade"; }

inline RunResult RunSpade(const std::string& args, const std::string& err_file) {
  RunResult r;
  std::string cmd = SpadeBinary() + " " + args + " 2>" + err_file;
  FILE* p = popen(cmd.c_str(), "r");
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int status = pclose(p);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (FILE* e = fopen(err_file.c_str(), "r")) {
    while ((n = fread(buf.data(), 1, buf.size(), e)) > 0) r.err.append(buf.data(), n);
    fclose(e);
  }
  return r;
}

}  // namespace spade::testing
