// imagesearch-bench: dispatches to the registered benchmark sub-commands.
#include <cstdio>
#include <string>
#include <vector>

#include "bench.h"

namespace iss::bench {
std::map<std::string, BenchCommand>& Registry() {
  static std::map<std::string, BenchCommand> registry;
  return registry;
}
}  // namespace iss::bench

int main(int argc, char** argv) {
  auto& registry = iss::bench::Registry();
  if (argc < 2 || registry.find(argv[1]) == registry.end()) {
    std::fprintf(stderr, "usage: imagesearch-bench COMMAND [ARGS...]\ncommands:\n");
    for (const auto& [name, cmd] : registry) {
      std::fprintf(stderr, "  %-10s %s\n", name.c_str(), cmd.help.c_str());
    }
    return argc < 2 ? 2 : 1;
  }
  std::vector<std::string> args(argv + 2, argv + argc);
  return registry[argv[1]].fn(args);
}
