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
  std::string sentence;  // none|sop|nsp; default by objective
  int batch = 0, seq = 0;
  float mask_rate = 0.15f;
  bool whole_word = false;
  float generator_fraction = 0.25f;
  std::string sharing;   // ALBERT: all|none|attention|ffn
  int embedding_size = 0;
  int eval_batches = 8;
  TrainLoopFlags loop;  // --steps/--lr default to the preset's
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
  c.seed = f.loop.seed;
  c.threads = f.loop.threads > 0 ? f.loop.threads : 2;
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
  const enc::TrainLoopConfig lc = MakeTrainLoopConfig(f.loop, f.out, p.steps, p.lr);

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
  cmd->add_option("--batch", f->batch, "Sequences per step (default: the preset's)");
  cmd->add_option("--seq", f->seq, "Tokens per sequence (default: the preset's)");
  cmd->add_option("--mask-rate", f->mask_rate, "Fraction of tokens predicted")->capture_default_str();
  cmd->add_flag("--whole-word", f->whole_word, "Mask whole words");
  cmd->add_option("--sentence-task", f->sentence, "none | sop | nsp (default: sop for albert, none for mlm)");
  cmd->add_option("--sharing", f->sharing, "ALBERT cross-layer sharing: all | none | attention | ffn");
  cmd->add_option("--embedding-size", f->embedding_size, "Embedding width E (ALBERT factorisation)");
  cmd->add_option("--generator-fraction", f->generator_fraction, "ELECTRA generator size / discriminator size")
      ->capture_default_str();
  cmd->add_option("--eval-batches", f->eval_batches, "Held-out batches per evaluation")->capture_default_str();
  AddTrainLoopFlags(cmd, &f->loop);
  cmd->callback([f, rc] { *rc = RunPretrain(*f); });
}

}  // namespace spade::tools
