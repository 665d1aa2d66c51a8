// `spade pretrain`: trains an encoder (mlm, albert, electra) or a causal LM (clm) from a
// corpus directory (`spade corpus build`) with encoder/pretrain.h and the shared training
// loop (encoder/train_loop.h: checkpoints, --resume, jsonl log).
#include <cstdio>

#include "data/error.h"
#include "encoder/pretrain.h"
#include "encoder/threads.h"
#include "tools/commands.h"
#include "tools/train_progress.h"

namespace spade::tools {
namespace {

namespace enc = spade::encoder;

struct PretrainFlags {
  std::string objective = "mlm";
  std::string corpus;
  std::string tokenizer;
  std::string preset;
  std::string config;
  std::string out;
  std::string log;
  std::string sentence;  // none|sop|nsp; default by objective
  int64_t steps = 0;     // 0 = the preset's
  int batch = 0, seq = 0;
  float lr = 0;
  float warmup = 0.06f;
  float mask_rate = 0.15f;
  bool whole_word = false;
  float generator_fraction = 0.25f;
  std::string sharing;   // ALBERT: all|none|attention|ffn
  int embedding_size = 0;
  uint64_t seed = 1;
  int threads = 0;
  int64_t save_every = 200, eval_every = 200, log_every = 10;
  int eval_batches = 8;
  bool resume = false;
};

enc::SentenceTask ParseSentence(const std::string& s) {
  if (s == "none") return enc::SentenceTask::kNone;
  if (s == "sop") return enc::SentenceTask::kSop;
  if (s == "nsp") return enc::SentenceTask::kNsp;
  throw Error(ErrorCode::kInvalidArgument, "--sentence-task must be none, sop or nsp, got '" + s + "'");
}

enc::Sharing ParseSharing(const std::string& s) {
  if (s == "all") return enc::Sharing::kAll;
  if (s == "none") return enc::Sharing::kNone;
  if (s == "attention") return enc::Sharing::kAttention;
  if (s == "ffn") return enc::Sharing::kFfn;
  throw Error(ErrorCode::kInvalidArgument, "--sharing must be all, none, attention or ffn, got '" + s + "'");
}

int RunPretrain(const PretrainFlags& f) {
  enc::PretrainConfig c;
  c.objective = enc::ParseObjective(f.objective);
  if (f.preset.empty() == f.config.empty()) {
    throw Error(ErrorCode::kInvalidArgument, "give exactly one of --preset and --config");
  }
  enc::PretrainPreset p = enc::MakePreset(f.preset.empty() ? "tiny" : f.preset, c.objective);
  if (!f.config.empty()) {
    if (c.objective == enc::Objective::kClm) {
      std::FILE* fp = std::fopen(f.config.c_str(), "rb");
      if (!fp) throw Error(ErrorCode::kNotFound, f.config + ": cannot open the config file");
      std::string text;
      char buf[4096];
      size_t n;
      while ((n = std::fread(buf, 1, sizeof buf, fp)) > 0) text.append(buf, n);
      std::fclose(fp);
      p.gpt2 = enc::ParseGpt2ConfigJson(text, f.config);
    } else {
      p.encoder = enc::LoadConfigJson(f.config);
    }
  }
  if (!f.sharing.empty()) p.encoder.sharing = ParseSharing(f.sharing);
  if (f.embedding_size > 0) p.encoder.embedding_size = f.embedding_size;
  c.encoder = p.encoder;
  c.gpt2 = p.gpt2;
  c.corpus_dir = f.corpus;
  c.tokenizer_dir = f.tokenizer;
  c.batch = f.batch > 0 ? f.batch : p.batch;
  c.seq = f.seq > 0 ? f.seq : p.seq;
  c.seed = f.seed;
  c.threads = f.threads > 0 ? f.threads : 2;
  c.sentence = f.sentence.empty() ? (c.objective == enc::Objective::kAlbert ? enc::SentenceTask::kSop
                                                                             : enc::SentenceTask::kNone)
                                  : ParseSentence(f.sentence);
  if (c.sentence != enc::SentenceTask::kNone &&
      (c.objective == enc::Objective::kElectra || c.objective == enc::Objective::kClm)) {
    throw Error(ErrorCode::kInvalidArgument, "--sentence-task applies to mlm and albert only");
  }
  if (!(f.mask_rate > 0 && f.mask_rate < 1)) throw Error(ErrorCode::kInvalidArgument, "--mask-rate must be in (0, 1)");
  c.masking.rate = f.mask_rate;
  c.masking.whole_word = f.whole_word;
  c.generator_fraction = f.generator_fraction;
  c.eval_batches = f.eval_batches;
  enc::SetNumThreads(f.threads);

  enc::TrainLoopConfig lc;
  lc.steps = f.steps > 0 ? f.steps : p.steps;
  lc.save_every = f.save_every;
  lc.eval_every = f.eval_every;
  lc.log_every = f.log_every;
  lc.out_dir = f.out;
  lc.log_path = f.log;
  lc.resume = f.resume;
  lc.optimizer.lr = f.lr > 0 ? f.lr : p.lr;
  lc.optimizer.warmup_steps = static_cast<int64_t>(f.warmup * static_cast<float>(lc.steps));
  lc.optimizer.total_steps = lc.steps;

  std::unique_ptr<enc::TrainTask> task = enc::MakePretrainTask(c);
  const enc::TrainResult r = enc::RunTrainLoop(task.get(), lc, TerminalTrainProgress());
  std::printf("trained %lld steps%s; model in %s\n", static_cast<long long>(r.steps_run),
              r.resumed_from ? (" (resumed at step " + std::to_string(r.resumed_from) + ")").c_str() : "",
              f.out.c_str());
  PrintHeldOut(r.final_eval);
  return 0;
}

}  // namespace

void RegisterPretrainCommands(CLI::App& app, int* rc) {
  auto f = std::make_shared<PretrainFlags>();
  CLI::App* cmd = app.add_subcommand("pretrain", "Pretrain an encoder (mlm, albert, electra) or a causal LM (clm) from a corpus");
  cmd->add_option("--objective", f->objective, "mlm | albert | electra | clm")->capture_default_str();
  cmd->add_option("--corpus", f->corpus, "Corpus directory from `spade corpus build`")->required();
  cmd->add_option("--tokenizer", f->tokenizer, "Tokenizer directory (default: the corpus's, by objective)");
  cmd->add_option("--preset", f->preset, "tiny | small | base");
  cmd->add_option("--config", f->config, "config.json with the architecture (instead of --preset)");
  cmd->add_option("--out", f->out, "Output model directory (checkpoint, log, final model)")->required();
  cmd->add_option("--steps", f->steps, "Total optimizer steps (default: the preset's)");
  cmd->add_option("--batch", f->batch, "Sequences per step (default: the preset's)");
  cmd->add_option("--seq", f->seq, "Tokens per sequence (default: the preset's)");
  cmd->add_option("--lr", f->lr, "Peak learning rate (default: the preset's)");
  cmd->add_option("--warmup", f->warmup, "Warm-up as a fraction of the steps")->capture_default_str();
  cmd->add_option("--mask-rate", f->mask_rate, "Fraction of tokens predicted")->capture_default_str();
  cmd->add_flag("--whole-word", f->whole_word, "Mask whole words");
  cmd->add_option("--sentence-task", f->sentence, "none | sop | nsp (default: sop for albert, none for mlm)");
  cmd->add_option("--sharing", f->sharing, "ALBERT cross-layer sharing: all | none | attention | ffn");
  cmd->add_option("--embedding-size", f->embedding_size, "Embedding width E (ALBERT factorisation)");
  cmd->add_option("--generator-fraction", f->generator_fraction, "ELECTRA generator size / discriminator size")
      ->capture_default_str();
  cmd->add_option("--seed", f->seed, "Seed of initialisation, data order and dropout")->capture_default_str();
  cmd->add_option("--threads", f->threads, "Threads (0 = all cores)")->capture_default_str();
  cmd->add_option("--log", f->log, "jsonl log (default OUT/log.jsonl)");
  cmd->add_option("--save-every", f->save_every, "Checkpoint every K steps")->capture_default_str();
  cmd->add_option("--eval-every", f->eval_every, "Held-out metrics every K steps")->capture_default_str();
  cmd->add_option("--log-every", f->log_every, "A log line every K steps")->capture_default_str();
  cmd->add_option("--eval-batches", f->eval_batches, "Held-out batches per evaluation")->capture_default_str();
  cmd->add_flag("--resume", f->resume, "Continue from OUT/checkpoint.safetensors");
  cmd->callback([f, rc] { *rc = RunPretrain(*f); });
}

}  // namespace spade::tools
