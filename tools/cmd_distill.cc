// `spade distill`: distils a masked-LM teacher (a model directory) into a smaller student with
// DistilBERT's or TinyBERT's losses (encoder/distill_task.h), on a corpus directory's masked
// batches, through the shared training loop (encoder/train_loop.h: checkpoints, --resume,
// jsonl log). The output is a model directory `spade encode` loads, with the teacher's
// tokenizer files.
#include <cstdio>

#include "data/error.h"
#include "encoder/config.h"
#include "encoder/distill_task.h"
#include "encoder/threads.h"
#include "tools/commands.h"
#include "tools/train_progress.h"

namespace spade::tools {
namespace {

namespace enc = spade::encoder;

struct DistillFlags {
  std::string teacher;
  std::string student_config;
  std::string student_preset;
  std::string corpus;
  std::string out;
  std::string method = "distilbert";
  int batch = 32, seq = 128;
  float temperature = 0;  // 0 = the method's default
  float intermediate_fraction = 0.5f;
  float mask_rate = 0.15f;
  bool ce_masked_only = false;
  std::string init;  // teacher|random; default by method
  int eval_batches = 8;
  TrainLoopFlags loop = [] {  // --steps defaults to 1000, --lr to 5e-4
    TrainLoopFlags l;
    l.warmup = 0.05f;
    return l;
  }();
};

int RunDistill(const DistillFlags& f) {
  enc::DistillConfig c;
  c.method = enc::ParseDistillMethod(f.method);
  c.teacher_dir = f.teacher;
  c.corpus_dir = f.corpus;
  c.student = f.student_config.empty()
                  ? enc::StudentPreset(f.student_preset, enc::LoadConfigJson(f.teacher + "/config.json"))
                  : enc::LoadConfigJson(f.student_config);
  c.batch = f.batch;
  c.seq = f.seq;
  c.seed = f.loop.seed;
  c.threads = f.loop.threads > 0 ? f.loop.threads : 2;
  if (!(f.mask_rate > 0 && f.mask_rate < 1)) throw Error(ErrorCode::kInvalidArgument, "--mask-rate must be in (0, 1)");
  c.masking.rate = f.mask_rate;
  if (f.temperature < 0) throw Error(ErrorCode::kInvalidArgument, "--temperature must be positive");
  c.temperature = f.temperature;
  c.ce_masked_only = f.ce_masked_only;
  if (!f.init.empty()) c.init_from_teacher = f.init == "teacher";
  c.intermediate_fraction = f.intermediate_fraction;
  const enc::TrainLoopConfig lc = MakeTrainLoopConfig(f.loop, f.out, 1000, 5e-4f);
  c.total_steps = lc.steps;
  c.eval_batches = f.eval_batches;
  std::unique_ptr<enc::TrainTask> task = enc::MakeDistillTask(c);
  const enc::TrainResult r = enc::RunTrainLoop(task.get(), lc, TerminalTrainProgress());
  std::printf("distilled %lld steps (%s)%s; student in %s\n", static_cast<long long>(r.steps_run), f.method.c_str(),
              r.resumed_from ? (", resumed at step " + std::to_string(r.resumed_from)).c_str() : "", f.out.c_str());
  PrintHeldOut(r.final_eval);
  return 0;
}

}  // namespace

void RegisterDistillCommands(CLI::App& app, int* rc) {
  auto f = std::make_shared<DistillFlags>();
  CLI::App* cmd = app.add_subcommand("distill", "Distil a masked-LM teacher into a smaller student (DistilBERT, TinyBERT)");
  cmd->add_option("--teacher", f->teacher, "Teacher model directory (config.json, model.safetensors with its MLM head, vocab)")
      ->required();
  cmd->add_option("--student-config", f->student_config, "config.json with the student's architecture");
  cmd->add_option("--student-preset", f->student_preset,
                  "small: the teacher's widths, half its layers (DistilBERT) | tiny: a third of the layers, "
                  "312/768 of the width (TinyBERT-4L-312D)")
      ->check(CLI::IsMember({"tiny", "small"}));
  cmd->add_option("--corpus", f->corpus, "Corpus directory from `spade corpus build` (train.txt, heldout.txt)")
      ->required();
  cmd->add_option("--out", f->out, "Output directory (checkpoint, log, the student model)")->required();
  cmd->add_option("--method", f->method,
                  "distilbert (5 KL_T + 2 MLM + 1 cosine) | tinybert (embedding/hidden/attention MSE, then "
                  "prediction-layer soft cross-entropy)")
      ->capture_default_str()
      ->check(CLI::IsMember({"distilbert", "tinybert"}));
  cmd->add_option("--batch", f->batch, "Sequences per step")->capture_default_str();
  cmd->add_option("--seq", f->seq, "Tokens per sequence")->capture_default_str();
  cmd->add_option("--temperature", f->temperature, "Soft-target temperature (default 2 for distilbert, 1 for tinybert)");
  cmd->add_option("--intermediate-fraction", f->intermediate_fraction,
                  "tinybert: fraction of the steps on the intermediate losses before the prediction layer")
      ->capture_default_str();
  cmd->add_option("--mask-rate", f->mask_rate, "Fraction of tokens masked")->capture_default_str();
  cmd->add_flag("--ce-masked-only", f->ce_masked_only, "Soft targets at the masked positions only (default: every token)");
  cmd->add_option("--init", f->init, "Student initialisation: teacher (every other layer) | random "
                                     "(default: teacher for distilbert, random for tinybert)")
      ->check(CLI::IsMember({"teacher", "random"}));
  AddTrainLoopFlags(cmd, &f->loop);
  cmd->add_option("--eval-batches", f->eval_batches, "Held-out batches per evaluation")->capture_default_str();
  cmd->callback([f, rc] {
    if (f->student_config.empty() == f->student_preset.empty()) {
      throw CLI::ValidationError("distill", "give exactly one of --student-config and --student-preset");
    }
    *rc = RunDistill(*f);
  });
}

}  // namespace spade::tools
