// Sub-command registry of imagesearch-bench.
//
//   ISS_BENCH_COMMAND(speed, "decode + forward timing") (std::vector<std::string> args) {...}
//
// Each *_bench.cc registers one or more commands; main.cc dispatches on argv[1].
// A command returns the process exit code and prints `name=value` figures.
#ifndef ISS_BENCH_BENCH_H_
#define ISS_BENCH_BENCH_H_

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace iss::bench {

using Clock = std::chrono::steady_clock;

// Seconds from `t` to now.
inline double Sec(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// This process's anonymous resident memory (heap, not file pages), in KiB.
inline long RssAnonKb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("RssAnon:", 0) == 0) return std::atol(line.c_str() + 8);
  }
  return 0;
}

using BenchFn = std::function<int(const std::vector<std::string>& args)>;

struct BenchCommand {
  std::string help;
  BenchFn fn;
};

std::map<std::string, BenchCommand>& Registry();

struct Registrar {
  Registrar(const std::string& name, const std::string& help, BenchFn fn) {
    Registry()[name] = BenchCommand{help, std::move(fn)};
  }
};

}  // namespace iss::bench

#define ISS_BENCH_COMMAND(name, help)                                                      \
  static int IssBench_##name(const std::vector<std::string>& args);                        \
  static ::iss::bench::Registrar iss_bench_registrar_##name(#name, help, IssBench_##name); \
  static int IssBench_##name

#endif  // ISS_BENCH_BENCH_H_
