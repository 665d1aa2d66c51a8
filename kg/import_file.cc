// ImportFile: one reader thread (the caller) decompresses and cuts the input into chunks
// of whole lines; worker threads parse chunks; results are consumed in file order.
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <thread>

#include "data/error.h"
#include "data/line_reader.h"
#include "data/sha256.h"
#include "kg/import.h"

namespace spade::kg {
namespace {

constexpr size_t kChunkBytes = 4 << 20;
constexpr size_t kMaxLineBytes = 1 << 20;

struct ChunkResult {
  std::vector<RawAssertion> assertions;
  std::vector<std::pair<uint64_t, std::string>> errors;  // (line number, reason)
  ImportStats stats;
};

ChunkResult ParseChunk(const std::string& chunk, uint64_t first_line, InputFormat format,
                       const RowOptions& options) {
  ChunkResult r;
  RawAssertion a;
  std::string reason;
  size_t start = 0;
  uint64_t line_no = first_line;
  while (start < chunk.size()) {
    size_t nl = chunk.find('\n', start);
    std::string_view line(chunk.data() + start, nl - start);
    start = nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    RowResult res;
    if (line.size() > kMaxLineBytes) {
      reason = "line longer than " + std::to_string(kMaxLineBytes) + " bytes";
      res = RowResult::kError;
    } else if (format == InputFormat::kConceptNet5) {
      res = ParseConceptNet5Row(line, options, &a, &reason);
    } else if (format == InputFormat::kTsv) {
      res = ParseTsvRow(line, &a, &reason);
    } else {
      res = ParseRelHeadTailRow(line, &a, &reason);
    }
    switch (res) {
      case RowResult::kIgnored:
        break;
      case RowResult::kSkipped:
        ++r.stats.rows;
        ++r.stats.skipped;
        break;
      case RowResult::kError:
        ++r.stats.rows;
        ++r.stats.bad_rows;
        r.errors.emplace_back(line_no, reason);
        break;
      case RowResult::kAssertion:
        ++r.stats.rows;
        ++(a.negated ? r.stats.negated : r.stats.assertions);
        a.head_hash = std::hash<std::string_view>()(a.head);
        a.tail_hash = std::hash<std::string_view>()(a.tail);
        a.hashed = true;
        r.assertions.push_back(std::move(a));
        break;
    }
    ++line_no;
  }
  return r;
}

}  // namespace

namespace {

// Chunks of whole lines handed from the reader thread (which only decompresses) to the
// importing thread; bounded so memory stays flat. An exception in the reader (a truncated
// gzip stream) travels through the queue and is rethrown by Pop.
class ChunkQueue {
 public:
  struct Chunk {
    std::shared_ptr<std::string> text;
    uint64_t first_line = 0;
    uint64_t file_offset = 0;
  };
  explicit ChunkQueue(size_t capacity) : capacity_(capacity) {}

  bool Push(Chunk c) {  // false once the consumer has given up
    std::unique_lock lock(mu_);
    not_full_.wait(lock, [&] { return items_.size() < capacity_ || cancelled_; });
    if (cancelled_) return false;
    items_.push_back(std::move(c));
    not_empty_.notify_one();
    return true;
  }
  void Close(std::exception_ptr error) {
    std::lock_guard lock(mu_);
    closed_ = true;
    error_ = error;
    not_empty_.notify_one();
  }
  std::optional<Chunk> Pop() {
    std::unique_lock lock(mu_);
    not_empty_.wait(lock, [&] { return !items_.empty() || closed_; });
    if (items_.empty()) {
      if (error_) std::rethrow_exception(error_);
      return std::nullopt;
    }
    Chunk c = std::move(items_.front());
    items_.pop_front();
    not_full_.notify_one();
    return c;
  }
  void Cancel() {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    not_full_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable not_full_, not_empty_;
  std::deque<Chunk> items_;
  size_t capacity_;
  bool closed_ = false, cancelled_ = false;
  std::exception_ptr error_;
};

}  // namespace

ImportStats ImportFile(const std::string& path, InputFormat format, const ImportOptions& options,
                       const ImportCallbacks& callbacks) {
  if (format == InputFormat::kAuto || format == InputFormat::kWordNet) {
    throw InvalidArgument("ImportFile: format must be a concrete text format");
  }
  auto reader = std::make_shared<LineReader>(path, kMaxLineBytes);
  const uint64_t file_size = reader->file_size();
  ImportStats total;
  std::deque<std::future<ChunkResult>> in_flight;
  const size_t max_in_flight = static_cast<size_t>(std::max(1, options.threads)) + 1;
  ChunkQueue queue(max_in_flight + 1);
  // Decompression is the one inherently serial step; it gets a thread of its own.
  std::thread reader_thread([&queue, reader] {
    try {
      for (;;) {
        ChunkQueue::Chunk c{std::make_shared<std::string>(), reader->line_number() + 1, 0};
        if (reader->NextChunk(kChunkBytes, c.text.get()) == 0) break;
        c.file_offset = reader->file_offset();
        if (!queue.Push(std::move(c))) break;
      }
      queue.Close(nullptr);
    } catch (...) {
      queue.Close(std::current_exception());
    }
  });

  auto consume = [&](ChunkResult r) {
    for (const auto& [line, reason] : r.errors) {
      std::string where = path + ":" + std::to_string(line);
      if (options.strict) throw ParseError(where, reason);
      if (callbacks.on_bad_row) callbacks.on_bad_row(where, reason);
    }
    total.rows += r.stats.rows;
    total.bad_rows += r.stats.bad_rows;
    total.skipped += r.stats.skipped;
    total.assertions += r.stats.assertions;
    total.negated += r.stats.negated;
    if (callbacks.sink && !r.assertions.empty()) callbacks.sink(std::move(r.assertions));
  };
  auto consume_front = [&] {
    ChunkResult r = in_flight.front().get();
    in_flight.pop_front();
    consume(std::move(r));
  };
  try {
    while (std::optional<ChunkQueue::Chunk> c = queue.Pop()) {
      RowOptions row_options = options.rows;
      in_flight.push_back(std::async(std::launch::async, [text = c->text, first = c->first_line, format,
                                                          row_options] {
        return ParseChunk(*text, first, format, row_options);
      }));
      while (in_flight.size() >= max_in_flight) consume_front();
      if (callbacks.on_progress) callbacks.on_progress(c->file_offset, file_size, total.rows);
    }
    while (!in_flight.empty()) consume_front();
  } catch (...) {
    queue.Cancel();
    reader_thread.join();
    for (auto& f : in_flight) {
      if (f.valid()) f.wait();  // never leave a worker running past this call
    }
    throw;
  }
  reader_thread.join();
  return total;
}

std::string InputSha256(const std::string& path, InputFormat format) {
  if (format != InputFormat::kWordNet) return Sha256File(path);
  Sha256 sha;
  for (const char* name : {"data.noun", "data.verb", "data.adj", "data.adv"}) {
    Sha256Update(&sha, path + "/" + name);
  }
  return sha.HexDigest();
}

}  // namespace spade::kg
