// Thread count for the encoder's math (OpenMP loops and Eigen's GEMMs). Process-wide,
// like OpenMP itself: call before work starts, not concurrently with it.
#pragma once

namespace spade::encoder {

// n <= 0 means "all cores" (the OpenMP default). Without OpenMP support this is a no-op
// and everything runs on one core.
void SetNumThreads(int n);
int NumThreads();

}  // namespace spade::encoder
