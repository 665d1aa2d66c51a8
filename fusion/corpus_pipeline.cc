#include "fusion/corpus_pipeline.h"

#include <utf8proc.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "data/corpus/text.h"
#include "data/error.h"
#include "data/line_reader.h"
#include "encoder/bpe.h"
#include "encoder/error.h"
#include "encoder/sentencepiece.h"
#include "encoder/wordpiece.h"
#include "encoder/wordpiece_train.h"
#include "kg/verbalize.h"

namespace spade::fusion {
namespace fs = std::filesystem;
namespace corpus = data::corpus;
namespace {

constexpr uint64_t kSampleSalt = 0x746f6b656e697a65ULL;  // "tokenize": the sample differs from the split

// Sentences of train.txt chosen by hash: each kept with probability target / total.
std::vector<std::string> SampleSentences(const std::string& train_path, uint64_t total, uint64_t target, uint64_t seed) {
  const bool all = target >= total;
  const uint64_t threshold = all ? 0 : static_cast<uint64_t>(std::ldexp(static_cast<double>(target) / total, 63)) * 2;
  std::vector<std::string> out;
  LineReader reader(train_path);
  std::string_view line;
  while (reader.Next(&line) == LineReader::Status::kLine) {
    if (line.empty()) continue;
    if (all || corpus::Hash64(line, seed ^ kSampleSalt) < threshold) out.emplace_back(line);
  }
  return out;
}

std::string SampleNote(uint64_t used, uint64_t total) {
  if (used >= total) return "all " + std::to_string(total) + " train sentences";
  return "a deterministic sample (by sentence hash and seed) of " + std::to_string(used) + " of the " +
         std::to_string(total) + " train sentences";
}

void WriteJson(const fs::path& path, const nlohmann::ordered_json& j) {
  std::ofstream out(path);
  out << j.dump(2) << "\n";
  out.close();
  if (!out) throw IOError(path.string() + ": write failed");
}

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

corpus::TokenizerInfo TrainWordPiece(const fs::path& root, const std::vector<std::string>& sample, int vocab_size) {
  auto start = std::chrono::steady_clock::now();
  const fs::path dir = root / "tokenizers" / "wordpiece";
  fs::create_directories(dir);
  encoder::WordPieceTrainOptions o;
  o.vocab_size = vocab_size;
  std::vector<std::string> vocab = encoder::TrainWordPieceVocab(sample, o);
  encoder::SaveVocabTxt(vocab, (dir / "vocab.txt").string());
  WriteJson(dir / "tokenizer_config.json", {{"tokenizer_class", "BertTokenizer"},
                                            {"do_lower_case", true},
                                            {"tokenize_chinese_chars", true},
                                            {"unk_token", "[UNK]"},
                                            {"cls_token", "[CLS]"},
                                            {"sep_token", "[SEP]"},
                                            {"pad_token", "[PAD]"},
                                            {"mask_token", "[MASK]"},
                                            {"model_max_length", 512}});
  encoder::WordPieceTokenizer tok = encoder::WordPieceTokenizer::FromModelDir(dir.string());
  if (tok.Encode(sample.front()).size() < 2) throw Corruption(dir.string() + ": the trained vocabulary encodes nothing");
  corpus::TokenizerInfo info;
  info.name = "wordpiece";
  info.dir = "tokenizers/wordpiece";
  info.files = {"vocab.txt", "tokenizer_config.json"};
  info.vocab_size = tok.vocab_size();
  info.seconds = Seconds(start);
  return info;
}

// sentencepiece refuses a vocabulary larger than the text supports and says how large it may
// be ("... Please set it to a value <= 1234."); returns that bound, or 0.
int SentencePieceVocabBound(const std::string& message) {
  size_t pos = message.find("value <= ");
  if (pos == std::string::npos) return 0;
  return std::atoi(message.c_str() + pos + 9);
}

corpus::TokenizerInfo TrainSentencePiece(const fs::path& root, const std::vector<std::string>& sample, int vocab_size) {
  auto start = std::chrono::steady_clock::now();
  const fs::path dir = root / "tokenizers" / "sentencepiece";
  fs::create_directories(dir);
  const fs::path text = root / "tokenizers" / "sentencepiece.train.txt";
  {
    std::ofstream out(text);
    for (const std::string& s : sample) out << AlbertPreprocess(s) << "\n";
    out.close();
    if (!out) throw IOError(text.string() + ": write failed");
  }
  encoder::SentencePieceTrainOptions o;
  o.vocab_size = vocab_size;
  o.model_type = "unigram";
  std::string note;
  try {
    encoder::SentencePieceTokenizer::Train({text.string()}, (dir / "spiece").string(), o);
  } catch (const encoder::Error& e) {
    int bound = SentencePieceVocabBound(e.what());
    if (bound <= 0 || bound >= vocab_size) throw;
    o.vocab_size = bound;  // a small corpus: train the largest vocabulary it supports
    encoder::SentencePieceTokenizer::Train({text.string()}, (dir / "spiece").string(), o);
    note = "; vocabulary reduced to " + std::to_string(bound) + ", the most this text supports";
  }
  fs::remove(text);
  WriteJson(dir / "tokenizer_config.json", {{"tokenizer_class", "AlbertTokenizer"},
                                            {"do_lower_case", true},
                                            {"keep_accents", false},
                                            {"remove_space", true},
                                            {"unk_token", "<unk>"},
                                            {"pad_token", "<pad>"},
                                            {"cls_token", "[CLS]"},
                                            {"sep_token", "[SEP]"},
                                            {"mask_token", "[MASK]"},
                                            {"model_max_length", 512}});
  encoder::SentencePieceTokenizer tok = encoder::SentencePieceTokenizer::FromModelDir(dir.string());
  if (tok.Encode(sample.front()).size() < 3) throw Corruption(dir.string() + ": the trained model encodes nothing");
  corpus::TokenizerInfo info;
  info.name = "sentencepiece";
  info.dir = "tokenizers/sentencepiece";
  info.files = {"spiece.model", "spiece.vocab", "tokenizer_config.json"};
  info.vocab_size = tok.vocab_size();
  info.sample = note;  // completed by the caller
  info.seconds = Seconds(start);
  return info;
}

corpus::TokenizerInfo TrainBpe(const fs::path& root, const std::vector<std::string>& sample, int vocab_size) {
  auto start = std::chrono::steady_clock::now();
  const fs::path dir = root / "tokenizers" / "bpe";
  encoder::BpeTrainOptions o;
  o.vocab_size = vocab_size;
  encoder::ByteLevelBpe::Train(sample, o).Save(dir.string());
  encoder::ByteLevelBpe tok = encoder::ByteLevelBpe::FromModelDir(dir.string());
  if (tok.Decode(tok.Encode(sample.front())) != sample.front()) {
    throw Corruption(dir.string() + ": the trained BPE does not round-trip its own training text");
  }
  corpus::TokenizerInfo info;
  info.name = "bpe";
  info.dir = "tokenizers/bpe";
  info.files = {"vocab.json", "merges.txt"};
  info.vocab_size = tok.vocab_size();
  info.seconds = Seconds(start);
  return info;
}

std::vector<corpus::TokenizerInfo> TrainTokenizers(const CorpusPipelineOptions& o, const corpus::CorpusCallbacks& cb,
                                                   const std::string& tmp_dir, const corpus::CorpusManifest& m) {
  const fs::path root(tmp_dir);
  const std::string train = (root / "train.txt").string();
  const uint64_t total = m.train.sentences;
  std::vector<std::string> merge_sample, sp_sample;
  std::vector<corpus::TokenizerInfo> out;
  for (const std::string& name : o.tokenizers) {
    bool sp = name == "sentencepiece";
    std::vector<std::string>& sample = sp ? sp_sample : merge_sample;
    if (sample.empty()) {
      sample = SampleSentences(train, total, sp ? o.sentencepiece_sample_sentences : o.merge_sample_sentences, o.corpus.seed);
      if (sample.empty()) sample = SampleSentences(train, total, total, o.corpus.seed);  // tiny corpora
    }
    if (cb.on_phase) cb.on_phase("tokenizer " + name + " on " + std::to_string(sample.size()) + " sentences");
    corpus::TokenizerInfo info;
    try {
      if (name == "wordpiece") {
        info = TrainWordPiece(root, sample, o.vocab_size);
      } else if (sp) {
        info = TrainSentencePiece(root, sample, o.vocab_size);
      } else if (name == "bpe") {
        info = TrainBpe(root, sample, o.vocab_size);
      } else {
        throw InvalidArgument("unknown tokenizer '" + name + "' (expected wordpiece, sentencepiece or bpe)");
      }
    } catch (const encoder::Error& e) {
      throw Error(ErrorCode::kInvalidArgument, "training the " + name + " tokenizer on " +
                                                   std::to_string(sample.size()) + " sentences failed: " + e.what());
    } catch (const fs::filesystem_error& e) {
      throw IOError("writing the " + name + " tokenizer failed: " + e.code().message());
    }
    info.requested_vocab_size = o.vocab_size;
    info.trained_on_sentences = sample.size();
    info.sample = SampleNote(sample.size(), total) + info.sample;
    out.push_back(std::move(info));
  }
  return out;
}

}  // namespace

std::string AlbertPreprocess(const std::string& text) {
  std::string s = corpus::CleanWhitespace(text);
  std::string q;
  q.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (i + 1 < s.size() && ((s[i] == '`' && s[i + 1] == '`') || (s[i] == '\'' && s[i + 1] == '\''))) {
      q.push_back('"');
      ++i;
    } else {
      q.push_back(s[i]);
    }
  }
  utf8proc_uint8_t* mapped = nullptr;
  const auto opts = static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT |
                                                   UTF8PROC_STRIPMARK | UTF8PROC_CASEFOLD);
  const auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(q.data()),
                              static_cast<utf8proc_ssize_t>(q.size()), &mapped, opts);
  if (n < 0) return q;
  std::string out(reinterpret_cast<char*>(mapped), static_cast<size_t>(n));
  std::free(mapped);
  return out;
}

data::corpus::CorpusManifest BuildCorpus(const CorpusPipelineOptions& options, data::corpus::CorpusCallbacks callbacks) {
  for (const std::string& name : options.tokenizers) {
    if (name != "wordpiece" && name != "sentencepiece" && name != "bpe") {
      throw InvalidArgument("unknown tokenizer '" + name + "' (expected wordpiece, sentencepiece, bpe or none)");
    }
  }
  if (!options.tokenizers.empty() && options.vocab_size < 300) {
    throw InvalidArgument("vocabulary size " + std::to_string(options.vocab_size) +
                          " is too small: byte-level BPE alone needs 256 byte tokens (use at least 300)");
  }
  callbacks.read_kg = kg::ReadKgCorpusSource;
  if (!options.tokenizers.empty()) {
    callbacks.train_tokenizers = [&options, cb = callbacks](const std::string& tmp, const corpus::CorpusManifest& m) {
      return TrainTokenizers(options, cb, tmp, m);
    };
  }
  return corpus::BuildCorpus(options.corpus, callbacks);
}

}  // namespace spade::fusion
