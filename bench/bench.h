// Sub-command registry of imagesearch-bench.
//
//   ISS_BENCH_COMMAND(speed, "decode + forward timing") (std::vector<std::string> args) {...}
//
// Each *_bench.cc registers one or more commands; main.cc dispatches on argv[1].
// A command returns the process exit code and prints `name=value` figures.
#ifndef ISS_BENCH_BENCH_H_
#define ISS_BENCH_BENCH_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace iss::bench {

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

#define ISS_BENCH_COMMAND(name, help)                                        \
  static int IssBench_##name(const std::vector<std::string>& args);         \
  static ::iss::bench::Registrar iss_bench_registrar_##name(#name, help,    \
                                                            IssBench_##name); \
  static int IssBench_##name

#endif  // ISS_BENCH_BENCH_H_
