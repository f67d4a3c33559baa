// The product stack below HTTP, as server/server.cc wires it (RocksDB catalog, persisted
// tiered index shards on a shared executor, the ONNX models, the engine), for benchmarks
// that drive the engine directly or put their own HTTP servers in front of it.
//
//   ASSIGN_OR_RETURN(auto models, features::OpenModelRegistry(model_dir, {}));
//   ASSIGN_OR_RETURN(std::unique_ptr<bench::Stack> s, bench::Stack::Open(dir, models.get()));
//   s->engine->CreateGallery("p", spec);
#ifndef ISS_BENCH_STACK_H_
#define ISS_BENCH_STACK_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "blob/http_source.h"
#include "common/env.h"
#include "common/executor.h"
#include "engine/engine.h"
#include "features/model_registry.h"
#include "index/local_snapshot_store.h"
#include "index/shard_factory.h"
#include "store/kv.h"
#include "store/rocks_catalog.h"

namespace iss::bench {

struct Stack {
  std::unique_ptr<store::Database> db;
  std::unique_ptr<blob::HttpSource> blobs;
  std::unique_ptr<Executor> background;
  std::unique_ptr<engine::CatalogStore> catalog;
  std::unique_ptr<index::LocalSnapshotStore> snapshots;
  std::unique_ptr<index::TieredShardFactory> shards;
  std::unique_ptr<engine::Engine> engine;

  // Closes the engine first (final snapshots), then the background work.
  ~Stack() {
    engine.reset();
    if (background) background->Shutdown();
  }

  // `models` is borrowed (opened once per benchmark, outside what it measures).
  static absl::StatusOr<std::unique_ptr<Stack>> Open(const std::string& dir,
                                                     const engine::ModelRegistry* models,
                                                     const index::TieredOptions& index = {},
                                                     const engine::EngineOptions& options = {}) {
    auto s = std::make_unique<Stack>();
    auto db = store::Database::Open(dir + "/db", {});
    if (!db.ok()) return db.status();
    s->db = std::move(*db);
    s->blobs = std::make_unique<blob::HttpSource>(blob::HttpSourceOptions{});
    s->background = std::make_unique<Executor>(ExecutorOptions{.threads = 2, .name = "index"});
    auto catalog = store::OpenCatalog(s->db.get());
    if (!catalog.ok()) return catalog.status();
    s->catalog = std::move(*catalog);
    s->snapshots = std::make_unique<index::LocalSnapshotStore>(dir + "/index", Env::Default());
    s->shards = std::make_unique<index::TieredShardFactory>(index, s->background.get(),
                                                            Env::Default(), s->snapshots.get());
    engine::EnginePorts ports;
    ports.catalog = s->catalog.get();
    ports.index = s->shards.get();
    ports.models = models;
    ports.blobs = s->blobs.get();
    ports.snapshots = s->snapshots.get();
    auto e = engine::Engine::Open(options, ports);
    if (!e.ok()) return e.status();
    s->engine = std::move(*e);
    return s;
  }
};

}  // namespace iss::bench

#endif  // ISS_BENCH_STACK_H_
