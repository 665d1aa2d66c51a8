// Terminal display shared by the training commands (pretrain, distill): a progress line
// per logged step on a terminal (silent when stderr is piped) and the held-out summary.
#pragma once

#include "encoder/train_loop.h"

namespace spade::tools {

// "\rstep 120/6000  loss 7.1234  4100 tok/s  ETA 0:23:51" on stderr when it is a terminal.
encoder::ProgressCallback TerminalTrainProgress();
// "  held-out mlm_accuracy = 0.4120" per metric on stdout.
void PrintHeldOut(const encoder::Metrics& metrics);

}  // namespace spade::tools
