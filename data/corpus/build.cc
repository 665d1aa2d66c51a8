#include "data/corpus/build.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "data/corpus/text.h"
#include "data/error.h"
#include "data/line_reader.h"
#include "data/sha256.h"

namespace spade::data::corpus {
namespace fs = std::filesystem;
namespace {

std::string NowIso8601() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

// A buffered output file whose every failure is a spade::Error naming it.
class OutFile {
 public:
  explicit OutFile(const fs::path& path) : path_(path.string()) {
    f_ = std::fopen(path_.c_str(), "wb");
    if (f_ == nullptr) throw IOError(path_ + ": cannot create: " + std::strerror(errno));
    std::setvbuf(f_, nullptr, _IOFBF, 1 << 20);
  }
  ~OutFile() {
    if (f_ != nullptr) std::fclose(f_);
  }
  void Write(std::string_view s) {
    if (std::fwrite(s.data(), 1, s.size(), f_) != s.size())
      throw IOError(path_ + ": write failed: " + std::strerror(errno));
    bytes_ += s.size();
  }
  // Flushes, syncs and closes.
  void Close() {
    if (std::fflush(f_) != 0 || ::fsync(::fileno(f_)) != 0)
      throw IOError(path_ + ": write failed: " + std::strerror(errno));
    int rc = std::fclose(f_);
    f_ = nullptr;
    if (rc != 0) throw IOError(path_ + ": close failed: " + std::strerror(errno));
  }
  uint64_t bytes() const { return bytes_; }

 private:
  std::string path_;
  std::FILE* f_ = nullptr;
  uint64_t bytes_ = 0;
};

void SyncDir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// Removes temporary directories left by builds that were killed.
void RemoveStaleTemps(const fs::path& out) {
  std::error_code ec;
  fs::path parent = out.parent_path().empty() ? fs::path(".") : out.parent_path();
  std::string prefix = out.filename().string() + ".tmp-";
  for (const auto& entry : fs::directory_iterator(parent, ec)) {
    std::string name = entry.path().filename().string();
    if (!name.starts_with(prefix)) continue;
    long pid = std::strtol(name.c_str() + prefix.size(), nullptr, 10);
    if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) fs::remove_all(entry.path(), ec);
  }
}

// Refuses to replace a non-empty directory that is not a Spade corpus (someone's data).
void CheckReplaceable(const fs::path& out) {
  std::error_code ec;
  if (!fs::exists(out, ec)) return;
  if (!fs::is_directory(out, ec)) throw InvalidArgument(out.string() + ": exists and is not a directory");
  if (fs::is_empty(out, ec)) return;
  try {
    ReadManifest(out.string());
  } catch (const Error& e) {
    if (e.code() != ErrorCode::kFormatVersion) {
      throw InvalidArgument("refusing to replace " + out.string() + ": it is not a Spade corpus (" + e.what() + ")");
    }
  }
}

void SwapIntoPlace(const fs::path& tmp, const fs::path& out) {
  std::error_code ec;
  if (fs::exists(out, ec)) {
    if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, out.c_str(), RENAME_EXCHANGE) != 0) {
      throw IOError("cannot swap " + tmp.string() + " into " + out.string() + ": " + std::strerror(errno));
    }
    fs::remove_all(tmp, ec);  // now holds the previous corpus
  } else if (::rename(tmp.c_str(), out.c_str()) != 0) {
    throw IOError("cannot rename " + tmp.string() + " to " + out.string() + ": " + std::strerror(errno));
  }
  SyncDir(out.parent_path().empty() ? fs::path(".") : out.parent_path());
}

std::string SourceSha256(const std::string& path, SourceFormat format) {
  if (format == SourceFormat::kWordNet) {
    Sha256 sha;
    for (const char* pos : {"noun", "verb", "adj", "adv"}) Sha256Update(&sha, path + "/data." + pos);
    return sha.HexDigest();
  }
  return Sha256File(path);
}

// Streams documents into the two split files, applying filters, de-duplication and the split.
class CorpusWriter {
 public:
  CorpusWriter(const fs::path& dir, const CorpusOptions& o)
      : options_(o), train_(dir / "train.txt"), heldout_(dir / "heldout.txt") {
    // heldout_fraction in [0, 1) as a threshold on a uniform 64-bit hash (2^63 scaled twice
    // so that the conversion never overflows).
    threshold_ = static_cast<uint64_t>(std::ldexp(o.heldout_fraction, 63)) * 2;
  }

  void Add(Document&& doc, SourceStats* stats) {
    std::string keys;  // the document's identity for the split
    std::vector<std::string> kept;
    for (std::string& s : doc.sentences) {
      if (MisEncodingReason(s) != nullptr || ContainsSlur(s)) {
        ++stats->filtered;
        continue;
      }
      std::string key = DedupKey(s);
      if (key.empty()) {
        ++stats->filtered;
        continue;
      }
      if (CountWords(s) >= static_cast<uint64_t>(options_.min_dedup_words) && !seen_.insert(Hash64(key)).second) {
        ++stats->duplicates;
        continue;
      }
      keys += key;
      keys.push_back('\n');
      kept.push_back(std::move(s));
    }
    if (kept.empty()) return;
    bool held = threshold_ > 0 && Hash64(keys, options_.seed) < threshold_;
    SplitStats& split = held ? heldout_stats_ : train_stats_;
    OutFile& out = held ? heldout_ : train_;
    buffer_.clear();
    for (const std::string& s : kept) {
      uint64_t words = CountWords(s);
      stats->words += words;
      split.words += words;
      buffer_ += s;
      buffer_.push_back('\n');
    }
    buffer_.push_back('\n');  // a blank line ends the document
    out.Write(buffer_);
    stats->sentences += kept.size();
    split.sentences += kept.size();
    ++stats->documents;
    ++split.documents;
    if (held) ++stats->heldout_documents;
  }

  void Close(SplitStats* train, SplitStats* heldout) {
    train_.Close();
    heldout_.Close();
    *train = train_stats_;
    *heldout = heldout_stats_;
    train->file = "train.txt";
    heldout->file = "heldout.txt";
    train->bytes = train_.bytes();
    heldout->bytes = heldout_.bytes();
  }

  uint64_t sentences() const { return train_stats_.sentences + heldout_stats_.sentences; }

 private:
  const CorpusOptions& options_;
  OutFile train_, heldout_;
  SplitStats train_stats_, heldout_stats_;
  std::unordered_set<uint64_t> seen_;
  uint64_t threshold_ = 0;
  std::string buffer_;
};

struct ResolvedSource {
  std::string path;  // without "kg:" for KG sources
  SourceFormat format;
};

// Every source checked before anything is read or written: exists, not dev/test, format known.
std::vector<ResolvedSource> ResolveSources(const CorpusOptions& o, const CorpusCallbacks& cb) {
  std::vector<ResolvedSource> out;
  for (const SourceSpec& s : o.sources) {
    bool kg = s.format == SourceFormat::kKg || s.path.starts_with("kg:");
    if (kg) {
      std::string dir = s.path.starts_with("kg:") ? s.path.substr(3) : s.path;
      if (!cb.read_kg) throw InvalidArgument(s.path + ": KG sources need the KG verbaliser (kg/verbalize.h)");
      if (dir.empty()) throw InvalidArgument("kg: source without a directory (write kg:DIR)");
      std::error_code ec;
      if (!fs::is_directory(dir, ec)) throw NotFound(dir + ": no KG store here (kg: source)");
      out.push_back({dir, SourceFormat::kKg});
      continue;
    }
    RefuseDevOrTest(s.path);
    SourceFormat f = s.format == SourceFormat::kAuto ? DetectFormat(s.path) : s.format;
    std::error_code ec;
    if (!fs::exists(s.path, ec)) throw NotFound(s.path + ": no such file or directory");
    if (f != SourceFormat::kWordNet && fs::is_directory(s.path, ec)) {
      throw InvalidArgument(s.path + ": is a directory, expected a " + FormatName(f) + " file");
    }
    if (f != SourceFormat::kWordNet && ::access(s.path.c_str(), R_OK) != 0) {
      throw IOError(s.path + ": cannot read: " + std::strerror(errno));
    }
    out.push_back({s.path, f});
  }
  return out;
}

}  // namespace

CorpusManifest BuildCorpus(const CorpusOptions& options, const CorpusCallbacks& callbacks) {
  auto start = std::chrono::steady_clock::now();
  if (options.out.empty()) throw InvalidArgument("no output directory given");
  if (options.sources.empty()) throw InvalidArgument("no corpus sources given");
  if (!(options.heldout_fraction >= 0 && options.heldout_fraction < 1)) {
    throw InvalidArgument("held-out fraction " + std::to_string(options.heldout_fraction) + " is not in [0, 1)");
  }
  std::vector<ResolvedSource> sources = ResolveSources(options, callbacks);
  fs::path out = fs::absolute(options.out).lexically_normal();
  if (out.filename().empty()) out = out.parent_path();
  CheckReplaceable(out);
  std::error_code ec;
  fs::create_directories(out.parent_path(), ec);
  if (ec) throw IOError(out.parent_path().string() + ": cannot create directory: " + ec.message());
  RemoveStaleTemps(out);
  fs::path tmp = out;
  tmp += ".tmp-" + std::to_string(::getpid());
  fs::remove_all(tmp, ec);
  if (!fs::create_directory(tmp, ec)) throw IOError(tmp.string() + ": cannot create directory: " + ec.message());

  CorpusManifest m;
  m.heldout_fraction = options.heldout_fraction;
  m.seed = options.seed;
  m.min_dedup_words = options.min_dedup_words;
  try {
    {
      CorpusWriter writer(tmp, options);
      for (const ResolvedSource& src : sources) {
        const std::string label = src.format == SourceFormat::kKg ? "kg:" + src.path : src.path;
        if (callbacks.on_phase) callbacks.on_phase("read " + label);
        SourceStats stats;
        stats.path = label;
        stats.format = FormatName(src.format);
        ReadContext ctx;
        ctx.strict = options.strict;
        ctx.on_bad_line = callbacks.on_bad_line;
        ctx.emit = [&](Document&& doc) { writer.Add(std::move(doc), &stats); };
        if (callbacks.on_progress) {
          ctx.on_progress = [&](uint64_t done, uint64_t total) {
            callbacks.on_progress(label, done, total, writer.sentences());
          };
        }
        if (src.format == SourceFormat::kKg) {
          callbacks.read_kg(src.path, ctx, &stats.sha256);
        } else {
          stats.sha256 = SourceSha256(src.path, src.format);
          ReadSource(src.path, src.format, ctx);
        }
        stats.skipped_lines = ctx.bad_lines;
        stats.invalid_utf8 = ctx.invalid_utf8;
        stats.filtered += ctx.filtered;
        m.sources.push_back(stats);
      }
      writer.Close(&m.train, &m.heldout);
    }
    if (m.train.sentences + m.heldout.sentences == 0) {
      std::string names;
      for (const ResolvedSource& s : sources) {
        if (!names.empty()) names += ", ";
        names += s.path;
      }
      throw InvalidArgument("empty corpus: the sources (" + names + ") gave no sentences after cleaning");
    }
    if (m.train.sentences == 0) {
      throw InvalidArgument("the train split is empty: every document was held out (held-out fraction " +
                            std::to_string(options.heldout_fraction) + ", " + std::to_string(m.heldout.documents) +
                            " documents)");
    }
    if (callbacks.train_tokenizers) {
      if (callbacks.on_phase) callbacks.on_phase("tokenizers");
      m.tokenizers = callbacks.train_tokenizers(tmp.string(), m);
    }
    m.built_at = NowIso8601();
    m.build_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    {
      OutFile manifest(tmp / "manifest.json");
      manifest.Write(ManifestToJson(m).dump(2) + "\n");
      manifest.Close();
    }
    SyncDir(tmp);
    if (callbacks.on_phase) callbacks.on_phase("swap");
    SwapIntoPlace(tmp, out);
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  return m;
}

}  // namespace spade::data::corpus
