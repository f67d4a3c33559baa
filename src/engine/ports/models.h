// Port: image bytes in, L2-normalised feature vector out; and the registry of models by
// name. features/ (ONNX on OpenCV DNN) implements both.
//
//   const Embedder* e = models->Find("common-search");
//   ASSIGN_OR_RETURN(Embedding emb, e->Embed(bytes, {.purpose = Purpose::kQuery}));
//
// Failures: Reason::kImageFormat, kImageCorrupt, kImageTooBig, kImageTooSmall, kBadCrop,
// kEmbeddingFailed (common/status.h).
// Thread contract: Embed() and every registry method may be called concurrently.
#ifndef ISS_ENGINE_PORTS_MODELS_H_
#define ISS_ENGINE_PORTS_MODELS_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "model/types.h"

namespace iss::engine {

enum class Purpose {
  kStore,  // an image added to a gallery: one pass, fastest path
  kQuery,  // a search query: may spend more (e.g. rotated variants) for quality
};

struct EmbedOptions {
  Purpose purpose = Purpose::kStore;
  std::optional<model::Box> box;  // crop before embedding (after EXIF orientation)
};

// A query may produce several vectors (e.g. rotated variants); a stored image one.
struct Embedding {
  std::vector<float> vector;                 // primary vector, L2-normalised, size dim()
  std::vector<std::vector<float>> variants;  // extra query variants (may be empty)
  // Opaque local features for Embedder::Verify (empty unless verify_candidates() > 0).
  // The engine stores a stored image's beside its vector.
  std::string local_features;
};

class Embedder {
 public:
  virtual ~Embedder() = default;
  virtual const std::string& name() const = 0;  // "common-search"
  virtual int dim() const = 0;                  // e.g. 576
  virtual absl::StatusOr<Embedding> Embed(std::string_view image_bytes,
                                          const EmbedOptions& options) const = 0;
  // The similarity served as `sim` for an inner product of two of this model's vectors: a
  // fixed monotone map (the ranking is the inner product's), the same for every gallery.
  virtual float Similarity(float inner_product) const { return inner_product; }
  // What a vector made now records as its model (ItemRecord::model): the name, and the
  // revision of the model's calibration when it has one ("common-search@pca-1a2b3c4d5e6f").
  // A gallery never serves vectors of two revisions side by side.
  virtual std::string vector_model() const { return name(); }
  // Whether a vector recorded as made by `from` (an earlier revision of this model) can be
  // brought into this revision's space without the image; Upgrade does it. The engine
  // migrates such vectors once, at start-up (engine/recovery.cc).
  virtual bool Upgrades(std::string_view from) const {
    (void)from;
    return false;
  }
  // REQUIRES: Upgrades(the vector's recorded model). Returns a vector of size dim().
  virtual std::vector<float> Upgrade(const std::vector<float>& old) const { return old; }

  // Geometric verification, for models that have it (copy detection): how many of a
  // search's best hits (by Similarity) the engine re-scores with Verify before it pages
  // them; 0: none. The same number for every page of a search, so pages stay one order.
  virtual int verify_candidates() const { return 0; }
  // The `sim` to serve for a hit whose Similarity was `sim`, given the local features of
  // the query and of the stored image (either may be empty: not verifiable).
  virtual float Verify(float sim, std::string_view query_features,
                       std::string_view stored_features) const {
    (void)query_features;
    (void)stored_features;
    return sim;
  }
};

class ModelRegistry {
 public:
  virtual ~ModelRegistry() = default;
  // nullptr when no model of that name is installed.
  virtual const Embedder* Find(std::string_view name) const = 0;
  virtual std::vector<std::string> Names() const = 0;
};

}  // namespace iss::engine

#endif  // ISS_ENGINE_PORTS_MODELS_H_
