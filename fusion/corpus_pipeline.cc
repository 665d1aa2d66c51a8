#include "fusion/corpus_pipeline.h"

#include <utf8proc.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <unordered_map>

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
std::vector<std::string> SampleSentences(const std::string& train_path, uint64_t total, uint64_t target,
                                         uint64_t seed) {
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

corpus::TokenizerInfo TrainWordPiece(const fs::path& root, const std::vector<std::string>& texts, int vocab_size,
                                     const std::string& probe) {
  auto start = std::chrono::steady_clock::now();
  const fs::path dir = root / "tokenizers" / "wordpiece";
  fs::create_directories(dir);
  encoder::WordPieceTrainOptions o;
  o.vocab_size = vocab_size;
  std::vector<std::string> vocab = encoder::TrainWordPieceVocab(texts, o);
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
  if (tok.Encode(probe).size() < 3) throw Corruption(dir.string() + ": the trained vocabulary encodes nothing");
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

corpus::TokenizerInfo TrainSentencePiece(const fs::path& root, const std::vector<std::string>& sample, int vocab_size,
                                         const std::string& probe) {
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
  if (tok.Encode(probe).size() < 3) throw Corruption(dir.string() + ": the trained model encodes nothing");
  corpus::TokenizerInfo info;
  info.name = "sentencepiece";
  info.dir = "tokenizers/sentencepiece";
  info.files = {"spiece.model", "spiece.vocab", "tokenizer_config.json"};
  info.vocab_size = tok.vocab_size();
  info.sample = note;  // completed by the caller
  info.seconds = Seconds(start);
  return info;
}

corpus::TokenizerInfo TrainBpe(const fs::path& root, const std::vector<std::string>& texts, int vocab_size,
                               const std::string& probe) {
  auto start = std::chrono::steady_clock::now();
  const fs::path dir = root / "tokenizers" / "bpe";
  encoder::BpeTrainOptions o;
  o.vocab_size = vocab_size;
  encoder::ByteLevelBpe::Train(texts, o).Save(dir.string());
  encoder::ByteLevelBpe tok = encoder::ByteLevelBpe::FromModelDir(dir.string());
  if (tok.Decode(tok.Encode(probe)) != probe) {
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

std::string MergeNote(const WordCounts& c, uint64_t scale, uint64_t sentences) {
  char coverage[32];
  std::snprintf(coverage, sizeof coverage, "%.2f%%", c.tokens ? 100.0 * c.kept_tokens / c.tokens : 0.0);
  std::string note = "word counts of all " + std::to_string(sentences) + " train sentences, ";
  if (c.kept.size() < c.types) {
    note += "restricted to the " + std::to_string(c.kept.size()) + " most frequent of " + std::to_string(c.types) +
            " distinct words (" + coverage + " of " + std::to_string(c.tokens) + " running words)";
  } else {
    note += "all " + std::to_string(c.types) + " distinct words";
  }
  if (scale > 1) note += ", counts divided by " + std::to_string(scale);
  return note;
}

std::vector<corpus::TokenizerInfo> TrainTokenizers(const CorpusPipelineOptions& o, const corpus::CorpusCallbacks& cb,
                                                   const std::string& tmp_dir, const corpus::CorpusManifest& m) {
  const fs::path root(tmp_dir);
  const std::string train = (root / "train.txt").string();
  const uint64_t total = m.train.sentences;
  const std::string probe = "The shovel is used for digging the ground.";
  std::vector<corpus::TokenizerInfo> out;
  for (const std::string& name : o.tokenizers) {
    corpus::TokenizerInfo info;
    std::string what;
    try {
      if (name == "sentencepiece") {
        std::vector<std::string> sample =
            SampleSentences(train, total, o.sentencepiece_sample_sentences, o.corpus.seed);
        if (sample.empty()) sample = SampleSentences(train, total, total, o.corpus.seed);
        what = std::to_string(sample.size()) + " sentences";
        if (cb.on_phase) cb.on_phase("tokenizer sentencepiece on " + what);
        info = TrainSentencePiece(root, sample, o.vocab_size, probe);
        info.trained_on_sentences = sample.size();
        info.sample = SampleNote(sample.size(), total) + info.sample;
      } else {
        MergeTrainer kind = name == "wordpiece" ? MergeTrainer::kWordPiece : MergeTrainer::kBpe;
        if (cb.on_phase) cb.on_phase("tokenizer " + name + ": counting words");
        WordCounts counts = CountTrainingWords(train, kind, o.merge_max_types);
        uint64_t scale = 1;
        std::vector<std::string> texts = TrainingTexts(counts, kind, o.merge_max_occurrences, &scale);
        what = std::to_string(counts.kept.size()) + " distinct words";
        if (cb.on_phase) cb.on_phase("tokenizer " + name + " on " + what);
        info = kind == MergeTrainer::kWordPiece ? TrainWordPiece(root, texts, o.vocab_size, probe)
                                                : TrainBpe(root, texts, o.vocab_size, probe);
        info.trained_on_sentences = total;
        info.sample = MergeNote(counts, scale, total);
      }
    } catch (const encoder::Error& e) {
      throw Error(ErrorCode::kInvalidArgument,
                  "training the " + name + " tokenizer on " + what + " failed: " + e.what());
    } catch (const fs::filesystem_error& e) {
      throw IOError("writing the " + name + " tokenizer failed: " + e.code().message());
    }
    info.requested_vocab_size = o.vocab_size;
    out.push_back(std::move(info));
  }
  return out;
}

}  // namespace

WordCounts CountTrainingWords(const std::string& path, MergeTrainer trainer, uint64_t max_types) {
  // The same word splitting as the trainers': TrainWordPieceVocab's BasicTokenize with default
  // options (a tokenizer whose only token is [UNK]), ByteLevelBpe::PreTokenize.
  const encoder::WordPieceTokenizer basic({encoder::WordPieceOptions().unk_token}, encoder::WordPieceOptions());
  std::unordered_map<std::string, int64_t> counts;
  WordCounts c;
  LineReader reader(path);
  std::string_view line;
  while (reader.Next(&line) == LineReader::Status::kLine) {
    if (line.empty()) continue;
    std::vector<std::string> words =
        trainer == MergeTrainer::kWordPiece ? basic.BasicTokenize(line) : encoder::ByteLevelBpe::PreTokenize(line);
    for (std::string& w : words) {
      // Whitespace pieces (BPE) would merge with the separators of TrainingTexts; single spaces
      // between words are part of the next piece, so these are only runs of spaces.
      if (trainer == MergeTrainer::kBpe && w.find_first_not_of(" \t\n\r\v\f") == std::string::npos) continue;
      ++counts[std::move(w)];
      ++c.tokens;
    }
  }
  c.types = counts.size();
  c.kept.assign(counts.begin(), counts.end());
  std::sort(c.kept.begin(), c.kept.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (max_types > 0 && c.kept.size() > max_types) c.kept.resize(max_types);
  for (const auto& [w, n] : c.kept) c.kept_tokens += static_cast<uint64_t>(n);
  return c;
}

std::vector<std::string> TrainingTexts(const WordCounts& counts, MergeTrainer trainer, uint64_t max_occurrences,
                                       uint64_t* scale) {
  // WordPiece's BasicTokenize splits on spaces; GPT-2's pattern makes each '\n' its own
  // one-byte piece, which has no pair to merge and so changes no count the trainer uses.
  const char sep = trainer == MergeTrainer::kWordPiece ? ' ' : '\n';
  *scale = max_occurrences == 0 || counts.kept_tokens <= max_occurrences
               ? 1
               : (counts.kept_tokens + max_occurrences - 1) / max_occurrences;
  std::vector<std::string> texts;
  texts.reserve(counts.kept.size());
  for (const auto& [word, n] : counts.kept) {
    uint64_t times = std::max<uint64_t>(1, (static_cast<uint64_t>(n) + *scale / 2) / *scale);
    std::string t;
    t.reserve(times * (word.size() + 1));
    for (uint64_t i = 0; i < times; ++i) {
      if (i > 0) t.push_back(sep);
      t += word;
    }
    texts.push_back(std::move(t));
  }
  return texts;
}

std::string AlbertPreprocess(const std::string& text) {
  std::string s;  // words split on ASCII whitespace, one space between (what `istream >> word` does)
  for (size_t i = 0; i < text.size();) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    size_t j = i;
    while (j < text.size() && !std::isspace(static_cast<unsigned char>(text[j]))) ++j;
    if (j > i) {
      if (!s.empty()) s.push_back(' ');
      s.append(text, i, j - i);
    }
    i = j;
  }
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

data::corpus::CorpusManifest BuildCorpus(const CorpusPipelineOptions& options,
                                         data::corpus::CorpusCallbacks callbacks) {
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
