// fn(i) for every i in [0, n) on `threads` threads (the calling thread is one of them),
// items handed out one at a time in index order. The first exception stops the other
// workers after their current item and is rethrown on the calling thread. `done(k)`, when
// given, is called after each finished item with the count so far, one call at a time.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace spade {

template <typename Fn>
void ParallelFor(size_t n, int threads, Fn&& fn, const std::function<void(size_t)>& done = {}) {
  threads = std::max(1, threads);
  std::atomic<size_t> next{0};
  size_t finished = 0;
  std::exception_ptr failure;
  std::mutex mu;
  auto worker = [&] {
    try {
      for (size_t i; (i = next.fetch_add(1)) < n;) {
        fn(i);
        if (done) {
          std::lock_guard<std::mutex> lock(mu);
          done(++finished);
        }
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu);
      if (!failure) failure = std::current_exception();
      next = n;
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads && static_cast<size_t>(t) < n; ++t) pool.emplace_back(worker);
  worker();
  for (auto& th : pool) th.join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace spade
