#include "encoder/threads.h"

#include <Eigen/Core>
#include <thread>

#ifdef _OPENMP
#include <omp.h>
#endif

#ifdef SPADE_HAVE_OPENBLAS
extern "C" void openblas_set_num_threads(int num_threads);
#endif

namespace spade::encoder {
namespace {
int g_threads = 0;  // 0 until SetNumThreads
}  // namespace

void SetNumThreads(int n) {
  if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  g_threads = n;
#ifdef _OPENMP
  omp_set_num_threads(n);
#endif
  Eigen::setNbThreads(n);
#ifdef SPADE_HAVE_OPENBLAS
  openblas_set_num_threads(n);
#endif
}

int NumThreads() { return g_threads > 0 ? g_threads : Eigen::nbThreads(); }

}  // namespace spade::encoder
