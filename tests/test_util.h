// Helpers shared by the test binaries.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace spade::testing {

// A fresh directory under /tmp, removed at scope exit.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "spade-test-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
}

inline std::string SourcePath(const std::string& rel) { return std::string(SPADE_SOURCE_DIR) + "/" + rel; }

}  // namespace spade::testing
