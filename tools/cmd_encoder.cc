// `spade encode` and `spade bench encoder`: run the encoder on one input, and measure its
// throughput (inference or a full training step) on random data.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "encoder/bpe.h"
#include "encoder/checkpoint.h"
#include "encoder/gpt2.h"
#include "encoder/optim.h"
#include "encoder/safetensors.h"
#include "encoder/sentencepiece.h"
#include "encoder/threads.h"
#include "encoder/transformer.h"
#include "encoder/wordpiece.h"
#include "tools/commands.h"

namespace spade::tools {
namespace {

namespace enc = spade::encoder;

struct EncodeFlags {
  std::string model;
  std::string ids;   // "2,7,9": skip the tokenizer
  std::string text;
  bool json = false;
  int threads = 0;   // 0 = all cores
  std::string dump;  // safetensors file for the named intermediates
};

std::vector<int32_t> ParseIds(const std::string& s) {
  std::vector<int32_t> ids;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    size_t used = 0;
    long v = 0;
    try {
      v = std::stol(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || v < 0 || v > INT32_MAX) {
      throw enc::Error(enc::ErrorCode::kInvalidArgument, "--ids: '" + item + "' is not a token id");
    }
    ids.push_back(static_cast<int32_t>(v));
  }
  if (ids.empty()) throw enc::Error(enc::ErrorCode::kInvalidArgument, "--ids: no ids given");
  return ids;
}

void PrintStates(const EncodeFlags& f, const std::vector<std::string>& tokens, const std::vector<int32_t>& ids,
                 const enc::Matrix& h);

std::string ModelType(const std::string& dir) {
  std::ifstream in(dir + "/config.json");
  if (!in) throw enc::Error(enc::ErrorCode::kNotFound, dir + "/config.json: cannot open");
  try {
    return nlohmann::json::parse(in).value("model_type", std::string("bert"));
  } catch (const nlohmann::json::exception& e) {
    throw enc::Error(enc::ErrorCode::kCorruption, dir + "/config.json: " + e.what());
  }
}

// GPT-2 directories: byte-level BPE (vocab.json + merges.txt), hidden states after ln_f.
int RunEncodeGpt2(const EncodeFlags& f) {
  auto model = enc::LoadGpt2Dir(f.model);
  std::unique_ptr<enc::ByteLevelBpe> bpe;
  if (std::filesystem::exists(f.model + "/vocab.json") && std::filesystem::exists(f.model + "/merges.txt")) {
    bpe = std::make_unique<enc::ByteLevelBpe>(enc::ByteLevelBpe::FromModelDir(f.model));
  }
  std::vector<int32_t> ids;
  if (!f.ids.empty()) {
    ids = ParseIds(f.ids);
  } else if (bpe) {
    ids = bpe->Encode(f.text);
  } else {
    throw enc::Error(enc::ErrorCode::kNotFound,
                     f.model + ": no vocab.json + merges.txt in the model directory (pass --ids to skip the tokenizer)");
  }
  std::vector<std::string> tokens;
  for (int32_t id : ids) tokens.push_back(bpe ? bpe->Decode({id}) : std::to_string(id));
  enc::Batch batch;
  batch.batch = 1;
  batch.seq = static_cast<int>(ids.size());
  batch.input_ids = ids;
  enc::Gpt2Outputs out;
  model->Forward(batch, {}, {}, &out);
  PrintStates(f, tokens, ids, out.hidden);
  return 0;
}

// Every named intermediate (transformer.h) as an F32 tensor of its matrix shape (atomic).
void DumpIntermediates(const enc::Encoder& encoder, const enc::EncoderState& st, const std::string& path) {
  std::vector<enc::TensorToWrite> tensors;  // views into st
  encoder.VisitIntermediates(st, [&](const std::string& name, const enc::Matrix& m) {
    tensors.push_back({name, {m.rows(), m.cols()}, m.data()});
  });
  enc::WriteSafetensors(path, tensors);
}

int RunEncode(const EncodeFlags& f) {
  enc::SetNumThreads(f.threads);
  if (ModelType(f.model) == "gpt2") {
    if (!f.dump.empty()) throw enc::Error(enc::ErrorCode::kInvalidArgument, "--dump: BERT, ALBERT and ELECTRA only");
    return RunEncodeGpt2(f);
  }
  enc::LoadReport report;
  auto model = enc::LoadModelDir(f.model, enc::HeadsConfig{}, {}, &report);
  // Tokenizer files as Hugging Face lays them out: vocab.txt (WordPiece) or spiece.model.
  std::unique_ptr<enc::WordPieceTokenizer> wordpiece;
  std::unique_ptr<enc::SentencePieceTokenizer> spm;
  if (std::filesystem::exists(f.model + "/vocab.txt")) {
    wordpiece = std::make_unique<enc::WordPieceTokenizer>(enc::WordPieceTokenizer::FromModelDir(f.model));
  } else if (std::filesystem::exists(f.model + "/spiece.model")) {
    spm = std::make_unique<enc::SentencePieceTokenizer>(enc::SentencePieceTokenizer::FromModelDir(f.model));
  }
  std::vector<int32_t> ids;
  if (!f.ids.empty()) {
    ids = ParseIds(f.ids);
  } else if (wordpiece) {
    ids = wordpiece->Encode(f.text);
  } else if (spm) {
    ids = spm->Encode(f.text);
  } else {
    throw enc::Error(enc::ErrorCode::kNotFound, f.model +
                                                    ": no vocab.txt or spiece.model in the model directory "
                                                    "(pass --ids to skip the tokenizer)");
  }
  std::vector<std::string> tokens;
  for (int32_t id : ids) {
    if (wordpiece && id < wordpiece->vocab_size()) {
      tokens.push_back(wordpiece->IdToToken(id));
    } else if (spm && id < spm->vocab_size()) {
      tokens.push_back(spm->IdToPiece(id));
    } else {
      tokens.push_back(std::to_string(id));
    }
  }
  enc::Batch batch;
  batch.batch = 1;
  batch.seq = static_cast<int>(ids.size());
  batch.input_ids = ids;
  enc::Outputs out;
  model->Forward(batch, {}, {}, &out);
  if (!f.dump.empty()) DumpIntermediates(model->encoder(), out.enc, f.dump);
  PrintStates(f, tokens, ids, out.enc.hidden);
  return 0;
}

void PrintStates(const EncodeFlags& f, const std::vector<std::string>& tokens, const std::vector<int32_t>& ids,
                 const enc::Matrix& h) {
  if (f.json) {
    nlohmann::json j;
    j["tokens"] = tokens;
    j["ids"] = ids;
    nlohmann::json rows = nlohmann::json::array();
    for (Eigen::Index r = 0; r < h.rows(); ++r) {
      rows.push_back(std::vector<float>(h.row(r).data(), h.row(r).data() + h.cols()));
    }
    j["last_hidden_state"] = std::move(rows);
    std::cout << j.dump() << "\n";
  } else {
    std::printf("%zu tokens, hidden size %ld\n", ids.size(), static_cast<long>(h.cols()));
    for (Eigen::Index r = 0; r < h.rows(); ++r) {
      std::printf("%-16s %6d  [", tokens[static_cast<size_t>(r)].c_str(), ids[static_cast<size_t>(r)]);
      for (Eigen::Index c = 0; c < std::min<Eigen::Index>(4, h.cols()); ++c) std::printf(" %+.4f", h(r, c));
      std::printf(" ... ]\n");
    }
  }
}

struct BenchFlags {
  std::string config;
  int batch = 1;
  int seq = 128;
  int threads = 0;
  bool train = false;
  bool json = false;
  double seconds = 3.0;  // measure at least this long (after one warm-up step)
};

// Multiply-adds x2 per token of one forward pass through the trunk (projections, FFN and
// attention scores/context); the MLM head on 15% of tokens when training.
double ForwardFlopsPerToken(const enc::EncoderConfig& c, int seq, bool mlm) {
  const double H = c.hidden_size, F = c.intermediate_size, T = seq, E = c.embedding_size;
  double layer = 2.0 * (4.0 * H * H + 2.0 * H * F) + 2.0 * 2.0 * T * H;
  double total = layer * c.num_hidden_layers * std::max(1, c.inner_group_num);
  if (E != H) total += 2.0 * E * H;
  if (mlm) total += 0.15 * 2.0 * (H * E + E * c.vocab_size);
  return total;
}

int RunBench(const BenchFlags& f) {
  enc::SetNumThreads(f.threads);
  enc::EncoderConfig c = enc::LoadConfigJson(f.config);
  if (f.train) {
    c.hidden_dropout_prob = std::max(c.hidden_dropout_prob, 0.0f);
  }
  enc::HeadsConfig heads;
  heads.mlm = f.train;
  enc::Model model(c, heads);
  model.Init(1);
  std::mt19937 rng(7);
  std::uniform_int_distribution<int32_t> tok(5, c.vocab_size - 1);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  enc::Batch batch;
  batch.batch = f.batch;
  batch.seq = f.seq;
  enc::Targets targets;
  for (int i = 0; i < f.batch * f.seq; ++i) {
    batch.input_ids.push_back(tok(rng));
    if (f.train) targets.mlm_labels.push_back(u(rng) < 0.15f ? tok(rng) : -100);
  }
  enc::AdamW opt(model.params(), enc::AdamWConfig{});
  enc::Outputs out;
  enc::StepOptions step;
  step.train = f.train;
  auto run = [&](uint64_t i) {
    step.seed = i;
    model.Forward(batch, targets, step, &out);
    if (f.train) {
      model.Backward(batch, targets, &out);
      opt.Step(&model.params());
    }
  };
  run(0);  // warm-up: allocations happen here
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  int iters = 0;
  double elapsed = 0;
  do {
    run(static_cast<uint64_t>(++iters));
    elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  } while (elapsed < f.seconds || iters < 2);
  const double tokens = static_cast<double>(f.batch) * f.seq * iters;
  const double tps = tokens / elapsed;
  const double gflops = tps * ForwardFlopsPerToken(c, f.seq, f.train) * (f.train ? 3.0 : 1.0) / 1e9;
  if (f.json) {
    nlohmann::json j;
    j["tokens_per_second"] = tps;
    std::cout << j.dump() << "\n";
  } else {
    std::printf("%s %s B=%d T=%d threads=%d: %.1f tokens/s, %.1f GFLOP/s (%d steps in %.2f s)\n",
                enc::ArchName(c.arch).c_str(), f.train ? "train step" : "inference", f.batch, f.seq,
                enc::NumThreads(), tps, gflops, iters, elapsed);
  }
  return 0;
}

}  // namespace

void RegisterEncoderCommands(CLI::App& app, int* rc) {
  auto ef = std::make_shared<EncodeFlags>();
  CLI::App* encode = app.add_subcommand("encode", "Run the encoder on one text (or token ids) and print its states");
  encode->add_option("--model", ef->model, "Model directory (config.json, model.safetensors, vocab.txt)")->required();
  encode->add_option("--ids", ef->ids, "Comma-separated token ids; skips the tokenizer");
  encode->add_option("text", ef->text, "Text to tokenize (with [CLS] ... [SEP])");
  encode->add_flag("--json", ef->json, "Print {\"tokens\", \"ids\", \"last_hidden_state\"} as JSON");
  encode->add_option("--threads", ef->threads, "Threads for the math (0 = all cores)");
  encode->add_option("--dump", ef->dump,
                     "Also write every named intermediate (layer{i}.attn.probs, ...) to this .safetensors file");
  encode->callback([ef, encode, rc] {
    if (ef->ids.empty() == ef->text.empty()) {
      throw CLI::ValidationError("encode", "give exactly one of --ids or TEXT");
    }
    *rc = RunEncode(*ef);
  });

  CLI::App* bench = nullptr;
  try {
    bench = app.get_subcommand("bench");  // shared with other benchmark commands
  } catch (const CLI::OptionNotFound&) {
    bench = app.add_subcommand("bench", "Benchmarks");
    bench->require_subcommand(1);
  }
  auto bf = std::make_shared<BenchFlags>();
  CLI::App* be = bench->add_subcommand("encoder", "Encoder tokens/s for inference or a training step, random data");
  be->add_option("--config", bf->config, "config.json (BertConfig/AlbertConfig/ElectraConfig fields)")->required();
  be->add_option("--batch", bf->batch, "Sequences per batch")->check(CLI::PositiveNumber);
  be->add_option("--seq", bf->seq, "Tokens per sequence")->check(CLI::PositiveNumber);
  be->add_option("--threads", bf->threads, "Threads (0 = all cores)");
  be->add_flag("--train", bf->train, "Time forward + backward + AdamW (MLM loss) instead of inference");
  be->add_option("--seconds", bf->seconds, "Minimum measuring time");
  be->add_flag("--json", bf->json, "Print {\"tokens_per_second\": x}");
  be->callback([bf, rc] { *rc = RunBench(*bf); });
}

}  // namespace spade::tools
